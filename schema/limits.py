"""Query limits, checked on the document before anything executes (so a refused query never
reaches the database): depth, aliases, tokens, fragment cycles and a calculated cost in the
manner of Shopify's — every field costs 1, a connection's selection is multiplied by its
`first` (or the argument's default) and a plain list's by an estimate of 10. Introspection
fields are free."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_object_type,
    parse,
    value_from_ast_untyped,
)

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_COST = 20_000
DEFAULT_PAGE = 20
LIST_ESTIMATE = 10  # a plain list of objects (a product's SKUs) is costed as this many


class QueryTooComplex(Exception):
    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass
class Cost:
    requested: int
    maximum: int = MAX_COST


@lru_cache(maxsize=1024)
def parse_document(query: str) -> DocumentNode | None:
    """The document, parsed once per text for every check that reads it (None: a syntax
    error, which execution reports with its location)."""
    try:
        return parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        if "tokens" in error.message:
            raise QueryTooComplex("maxTokens", f"The document has more than {MAX_TOKENS} "
                                  "tokens.") from error
        return None  # a syntax error: execution reports it with its location


class _Walk:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], introspection: bool = True) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.introspection = introspection
        self.aliases = 0

    def cost(self, selections: SelectionSetNode, parent: Any, depth: int,
             spreading: tuple[str, ...]) -> int:
        if depth > MAX_DEPTH:
            raise QueryTooComplex("maxDepth", f"The query is deeper than {MAX_DEPTH} levels.")
        total = 0
        for selection in selections.selections or ():
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, depth, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, target, depth, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in spreading:
                    raise QueryTooComplex("fragmentCycle", f"Fragment {name} spreads itself.")
                fragment = self.fragments.get(name)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.cost(fragment.selection_set, target, depth,
                                       (*spreading, name))
        return total

    def _field(self, node: FieldNode, parent: Any, depth: int,
               spreading: tuple[str, ...]) -> int:
        if node.alias is not None:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise QueryTooComplex("maxAliases", f"More than {MAX_ALIASES} aliases.")
        name = node.name.value
        if name in ("__schema", "__type") and not self.introspection:
            raise QueryTooComplex("introspection", "Introspection is disabled here.")
        if name.startswith("__"):
            return 0
        fields = getattr(parent, "fields", {}) if parent is not None else {}
        definition = fields.get(name)
        if definition is None or node.selection_set is None:
            return 1
        named = get_named_type(definition.type)
        inner = self.cost(node.selection_set, named, depth + 1, spreading)
        if getattr(parent, "name", "").endswith("Connection"):
            return 1 + inner  # edges/nodes: the connection's `first` already counted them
        return 1 + inner * self._page_size(node, definition)

    def _page_size(self, node: FieldNode, definition: Any) -> int:
        if "first" not in definition.args:
            return LIST_ESTIMATE if is_list_type(get_nullable_type(definition.type)) else 1
        for argument in node.arguments or ():
            if argument.name.value == "first":
                value = (self.variables.get(argument.value.name.value)
                         if isinstance(argument.value, VariableNode)
                         else value_from_ast_untyped(argument.value))
                # Not an Int32 at all: validation refuses it with its own message.
                valid = isinstance(value, int) and -(2**31) <= value < 2**31
                return max(1, value) if valid else DEFAULT_PAGE
        default = definition.args["first"].default_value
        return default if isinstance(default, int) and default > 0 else DEFAULT_PAGE


def analyse(schema: GraphQLSchema, query: str, operation_name: str | None,
            variables: dict[str, Any] | None, introspection: bool = True) -> Cost | None:
    """The cost of the operation; raises QueryTooComplex over a limit. None when the text
    does not parse or names no operation (execution answers those with its own errors)."""
    document = parse_document(query)
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if operation_name is None
                   or (o.name and o.name.value == operation_name)), None)
    if chosen is None:
        return None
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    root = {"query": schema.query_type, "mutation": schema.mutation_type}.get(
        chosen.operation.value)
    if root is None or not is_object_type(root):
        return None
    walk = _Walk(schema, fragments, variables or {}, introspection)
    requested = walk.cost(chosen.selection_set, root, 1, ())
    if requested > MAX_COST:
        raise QueryTooComplex("maxCost", f"The query would cost {requested}, over the maximum "
                              f"of {MAX_COST}. Ask for fewer items (first) or fields.")
    return Cost(requested)


def actual_cost(data: Any) -> int:
    """What the answer really held: one per field value returned (introspection excluded)."""
    if isinstance(data, dict):
        return sum(0 if k.startswith("__") else 1 + actual_cost(v) for k, v in data.items())
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data)
    return 0
