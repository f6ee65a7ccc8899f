"""Query limits, checked on the document before anything executes (so a refused query never
reaches the database): depth, aliases, tokens, fragment spreads and cycles, and a calculated
cost in the manner of Shopify's — every field costs 1, a connection's selection is multiplied
by its `first` (or the argument's default) and a plain list's by an estimate of 10.
Introspection fields are free. Every check is one walk, linear in the document's size."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from typing import NoReturn

import orjson
from graphql import DocumentNode
from graphql import FieldNode
from graphql import FragmentDefinitionNode
from graphql import FragmentSpreadNode
from graphql import GraphQLError
from graphql import GraphQLSchema
from graphql import InlineFragmentNode
from graphql import OperationDefinitionNode
from graphql import SelectionSetNode
from graphql import VariableNode
from graphql import get_named_type
from graphql import get_nullable_type
from graphql import is_list_type
from graphql import is_object_type
from graphql import parse
from graphql import value_from_ast_untyped

from schema.common import DEFAULT_PAGE_SIZE
from schema.common import page_size

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
# The admin client's own AdminProducts (50 products × their SKUs × each SKU's stock levels,
# 10 estimated per plain list) costs 33,951 as execution runs it; costed right (declared
# defaults counted), it must pass as written.
MAX_COST = 40_000
# Fragment spreads as the operation runs them: every use counts, and so do the spreads inside
# the fragment used. Bounds what anything expanding fragments (validation, `selected_fields`)
# can meet, whatever the document's size.
MAX_FRAGMENT_SPREADS = 200
# One response name asked this often in one selection set (inline fragments included): the
# overlapping-fields rule of validation compares such fields pairwise, so 400 × `brands { id }`
# (under every other limit) cost ~2 s of CPU before this bound.
MAX_REPEATED_FIELD = 10
DEFAULT_PAGE = DEFAULT_PAGE_SIZE  # a `first`/`last` that is no Int at all (validation refuses it)
LIST_ESTIMATE = 10  # a plain list of objects (a product's SKUs) is costed as this many


class QueryTooComplex(Exception):
    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass
class Cost:
    requested: int
    maximum: int = MAX_COST


@dataclass(frozen=True, slots=True)
class _Tally:
    """What a selection set holds with its fragments expanded: cost, depth (selection sets
    nested below it), aliases and fragment spreads."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0
    spreads: int = 0


@lru_cache(maxsize=1024)
def parse_document(query: str) -> DocumentNode | None:
    """The document, parsed once per text for every check that reads it (None: a syntax
    error, which execution reports with its location)."""
    try:
        return parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        if "tokens" in error.message:
            raise QueryTooComplex(
                "maxTokens", f"The document has more than {MAX_TOKENS} tokens."
            ) from error
        return None  # a syntax error: execution reports it with its location


def _too_deep() -> NoReturn:
    raise QueryTooComplex("maxDepth", f"The query is deeper than {MAX_DEPTH} levels.")


def _check(cost: int, aliases: int, spreads: int) -> None:
    """Refuse as soon as a running total passes its limit: totals only grow on the way up
    (parts add, pages multiply by ≥ 1), so the walk never counts on into huge numbers."""
    if aliases > MAX_ALIASES:
        raise QueryTooComplex("maxAliases", f"More than {MAX_ALIASES} aliases.")
    if spreads > MAX_FRAGMENT_SPREADS:
        raise QueryTooComplex(
            "maxFragmentSpreads",
            f"More than {MAX_FRAGMENT_SPREADS} fragment spreads, counting each use.",
        )
    if cost > MAX_COST:
        raise QueryTooComplex(
            "maxCost",
            f"The query would cost at least {cost}, over the "
            f"maximum of {MAX_COST}. Ask for fewer items (first) or fields.",
        )


def _count_name(names: dict[str, int], name: str) -> None:
    names[name] = names.get(name, 0) + 1
    if names[name] > MAX_REPEATED_FIELD:
        raise QueryTooComplex(
            "maxRepeatedField",
            f"`{name}` is asked for more than {MAX_REPEATED_FIELD} times in one selection set.",
        )


class _Walk:
    """One pass over the operation in which each fragment is walked once: its tally is kept
    and reused at every further spread, so the walk is linear in the document's size (a
    fragment spreading the next twice, 31 deep, was 2^31 re-walks)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        introspection: bool = True,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.defaults = defaults or {}  # the operation's declared variable defaults
        self.introspection = introspection
        self.walked: dict[str, _Tally] = {}
        self.open: list[str] = []  # fragments being walked: spreading one again is a cycle
        self.read: set[str] = set()  # the variables the cost depends on (page sizes)

    def selections(
        self, node: SelectionSetNode, parent: Any, level: int, names: dict[str, int] | None = None
    ) -> _Tally:
        """`level` (1: the operation's selection set) only refuses depth early; the tally's
        depth is relative, so a fragment's is valid wherever it is spread. `names` counts the
        response names of the set an inline fragment belongs to."""
        if level > MAX_DEPTH:
            _too_deep()
        names = {} if names is None else names
        cost = depth = aliases = spreads = 0
        for selection in node.selections or ():
            if isinstance(selection, FieldNode):
                _count_name(names, (selection.alias or selection.name).value)
                part = self._field(selection, parent, level)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                part = self.selections(selection.selection_set, target, level, names)
            elif isinstance(selection, FragmentSpreadNode):
                part = self._spread(selection.name.value, level)
            else:  # pragma: no cover - there are three kinds of selection
                continue
            cost, aliases = cost + part.cost, aliases + part.aliases
            spreads, depth = spreads + part.spreads, max(depth, part.depth)
            _check(cost, aliases, spreads)
        return _Tally(cost, depth, aliases, spreads)

    def _spread(self, name: str, level: int) -> _Tally:
        fragment = self.fragments.get(name)
        if fragment is None:
            return _Tally(spreads=1)  # an unknown fragment: validation refuses it
        if name in self.open:
            raise QueryTooComplex("fragmentCycle", f"Fragment {name} spreads itself.")
        tally = self.walked.get(name)
        if tally is None:
            # Each open fragment is one more spread: refuse a long chain before recursing on.
            if len(self.open) >= MAX_FRAGMENT_SPREADS:
                _check(0, 0, len(self.open) + 1)
            self.open.append(name)
            target = self.schema.get_type(fragment.type_condition.name.value)
            tally = self.walked[name] = self.selections(fragment.selection_set, target, level)
            self.open.pop()
        elif level + tally.depth > MAX_DEPTH:
            _too_deep()
        return _Tally(tally.cost, tally.depth, tally.aliases, tally.spreads + 1)

    def _field(self, node: FieldNode, parent: Any, level: int) -> _Tally:
        aliases = 0 if node.alias is None else 1
        name = node.name.value
        if name in ("__schema", "__type") and not self.introspection:
            raise QueryTooComplex("introspection", "Introspection is disabled here.")
        if name.startswith("__"):
            return _Tally(aliases=aliases)
        fields = getattr(parent, "fields", {}) if parent is not None else {}
        definition = fields.get(name)
        if definition is None or node.selection_set is None:
            return _Tally(cost=1, aliases=aliases)
        inner = self.selections(node.selection_set, get_named_type(definition.type), level + 1)
        if getattr(parent, "name", "").endswith("Connection"):
            cost = 1 + inner.cost  # edges/nodes: the connection's `first` already counted them
        else:
            cost = 1 + inner.cost * self._page_size(node, definition, getattr(parent, "name", ""))
        return _Tally(cost, 1 + inner.depth, inner.aliases + aliases, inner.spreads)

    def _page_size(self, node: FieldNode, definition: Any, parent: str) -> int:
        if "first" not in definition.args:
            return LIST_ESTIMATE if is_list_type(get_nullable_type(definition.type)) else 1
        default = page_size(parent, node.name.value)
        sizes = [
            self._size(argument.value, default)
            for argument in node.arguments or ()
            if argument.name.value in ("first", "last")
        ]
        if sizes:
            return max(sizes)  # both given is refused, but never cheaper than either
        return default

    def _size(self, value_node: Any, default: int) -> int:
        """The page size execution will use: a variable's value, else its declared default;
        null means the field's own default page. A whole float is an Int to graphql-core."""
        if isinstance(value_node, VariableNode):
            name = value_node.name.value
            self.read.add(name)
            value = self.variables[name] if name in self.variables else self.defaults.get(name)
        else:
            value = value_from_ast_untyped(value_node)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        # Not an Int32 at all: validation refuses it with its own message.
        if isinstance(value, int) and -(2**31) <= value < 2**31:
            return max(1, value)
        return DEFAULT_PAGE


_COSTS: OrderedDict[tuple[Any, ...], int] = OrderedDict()  # what `analyse` found, by request
_COSTS_KEPT = 2048
# A request whose document and variables are longer is worked out each time: kept, a stream
# of 1 MB bodies would hold ~2 GB (2048 entries), and real storefront requests are small.
_COSTS_KEPT_BYTES = 16_384
# Per document: the variables its cost reads (page sizes). Only they join the key, so a
# mutation sent with a new idempotency key or cart id each time is still found.
# The document tuple kept is the first one seen: the costs' keys reuse its query text, so
# one document's text is held once, however many variable values are kept for it.
_READS: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], tuple[str, ...]]] = OrderedDict()


def analyse(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    introspection: bool = True,
) -> Cost | None:
    """The cost of the operation; raises QueryTooComplex over a limit. None when the text
    does not parse or names no operation (execution answers those with its own errors).
    A cost found is kept for the same document, operation and values of the variables the
    cost reads (storefronts ask the same few again and again); refusals and Nones are worked
    out each time."""
    document = (schema, query, operation_name, introspection)
    known = _READS.get(document)
    if known is None or len(query) > _COSTS_KEPT_BYTES:
        return _analyse_and_keep(document, variables, None)
    _READS.move_to_end(document)
    document, reads = known
    key = _cost_key(document, reads, variables)
    if key is None or len(query) + len(key[-1]) > _COSTS_KEPT_BYTES:
        return _analyse(schema, query, operation_name, variables, introspection)
    requested = _COSTS.get(key)
    if requested is not None:
        _COSTS.move_to_end(key)
        return Cost(requested)
    return _analyse_and_keep(document, variables, key)


def _cost_key(
    document: tuple[Any, ...], reads: tuple[str, ...], variables: dict[str, Any] | None
) -> tuple[Any, ...] | None:
    """The memo key: the document and the values of the variables its cost reads. A variable
    not sent is left out, never keyed as null: unsent takes its declared default, null the
    field's own page, and the two cost differently. None: a value that is not plain JSON."""
    sent = {name: variables[name] for name in reads if variables and name in variables}
    try:
        return (*document, orjson.dumps(sent, option=orjson.OPT_SORT_KEYS) if sent else b"")
    except TypeError:  # e.g. an integer beyond 64 bits: not kept
        return None


def _analyse_and_keep(
    document: tuple[Any, ...], variables: dict[str, Any] | None, key: tuple[Any, ...] | None
) -> Cost | None:
    """Work the cost out, learning which variables it reads; keep it under `key`, or, the
    first time, under the key those variables make (when the request is small enough)."""
    schema, query, operation_name, introspection = document
    read: set[str] = set()
    cost = _analyse(schema, query, operation_name, variables, introspection, read)
    if cost is None or len(query) > _COSTS_KEPT_BYTES:
        return cost
    if key is None:
        _READS[document] = (document, tuple(sorted(read)))
        if len(_READS) > _COSTS_KEPT:
            _READS.popitem(last=False)
        key = _cost_key(document, tuple(sorted(read)), variables)
        if key is None or len(query) + len(key[-1]) > _COSTS_KEPT_BYTES:
            return cost
    _COSTS[key] = cost.requested
    if len(_COSTS) > _COSTS_KEPT:
        _COSTS.popitem(last=False)
    return cost


def _analyse(
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    introspection: bool,
    read: set[str] | None = None,
) -> Cost | None:
    """The cost; `read` learns the variables it depended on."""
    document = parse_document(query)
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = {"query": schema.query_type, "mutation": schema.mutation_type}.get(
        chosen.operation.value
    )
    if root is None or not is_object_type(root):
        return None
    defaults = {
        v.variable.name.value: value_from_ast_untyped(v.default_value)
        for v in chosen.variable_definitions or ()
        if v.default_value is not None
    }
    walk = _Walk(schema, fragments, variables or {}, introspection, defaults)
    try:
        requested = walk.selections(chosen.selection_set, root, 1).cost
    except RecursionError:
        requested = None  # inline fragments nested hundreds deep: the stack ran out
    if read is not None:
        read |= walk.read
    if requested is None:  # raised outside the handler, so the deep frames are let go
        raise QueryTooComplex("maxDepth", "The query is nested too deeply.")
    return Cost(requested)


def actual_cost(data: Any) -> int:
    """What the answer really held: one per field value returned (introspection excluded)."""
    if isinstance(data, dict):
        return sum(0 if k.startswith("__") else 1 + actual_cost(v) for k, v in data.items())
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data)
    return 0
