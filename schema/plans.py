"""Planned execution of known query operations: each (document, operation) is planned once —
which resolver each field calls, which attribute it reads, which serializer completes it — and
the plan is then run directly, instead of graphql-core walking ~900 fields a page with its
per-field machinery (ResolveInfo, argument lookup, completion chain, Strawberry's extension
wrapper for every resolver).

Same answers by construction:

- the planned path only ever answers an operation that went right: a field error, a null
  for a non-null field, a value a serializer refuses, an abstract type it cannot place —
  anything — abandons the plan (`Abandon`) and the endpoint runs the operation again on the
  normal path, which makes the error exactly as it always did. Queries have no side effects,
  so a second run is safe. A mutation is planned only with one root field, and that field
  runs once per request: its policy gate keeps its outcome (the payload, or the exception),
  and the second run answers from it (schema/policy.py) — a payload the plan gives up on is
  completed again, the mutation is never applied twice;
- root fields, fields with arguments and fields with field extensions run through Strawberry's
  own resolver wrapper with a real ResolveInfo (so the policy gate, argument conversion and
  every extension apply as before); a resolver without arguments or extensions is called as
  Strawberry would call it (self / root / info), with an Info made only if it is read beyond
  `.context`; a plain field is `getattr`;
- values are completed by the schema's own serializers, lists and objects as graphql-core
  does (`is_type_of` checked, abstract types resolved by their `resolve_type`), fields in the
  document's order, fields of one level resolved together (so dataloaders batch as before);
- what the planner does not handle (directives, subscriptions, mutations of several root
  fields, introspection fields other than `__typename`, variables that do not coerce) is
  never planned: None, and the normal path runs.

The request's deadline is kept as schema/execution.py keeps it: checked every CHECK_EVERY
fields, and past it the whole operation stops with one TIMEOUT error (no second run).

tests/api/test_plans.py runs every contract query through both paths on varied data and
requires byte-identical JSON, and completes contract mutations' payloads both ways from one
outcome."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from types import GeneratorType
from typing import Any

from graphql import DocumentNode
from graphql import FieldNode
from graphql import FragmentDefinitionNode
from graphql import FragmentSpreadNode
from graphql import GraphQLAbstractType
from graphql import GraphQLBoolean
from graphql import GraphQLError
from graphql import GraphQLField
from graphql import GraphQLID
from graphql import GraphQLList
from graphql import GraphQLNonNull
from graphql import GraphQLObjectType
from graphql import GraphQLOutputType
from graphql import GraphQLResolveInfo
from graphql import GraphQLSchema
from graphql import GraphQLString
from graphql import InlineFragmentNode
from graphql import OperationDefinitionNode
from graphql import OperationType
from graphql import SelectionSetNode
from graphql import is_abstract_type
from graphql import is_leaf_type
from graphql import is_list_type
from graphql import is_non_null_type
from graphql import is_object_type
from graphql import parse
from graphql import validate
from graphql.execution.values import VariableValues
from graphql.execution.values import get_argument_values
from graphql.execution.values import get_variable_values
from graphql.pyutils import Path
from graphql.pyutils import Undefined
from graphql.pyutils import is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.types import Info

from schema.execution import CHECK_EVERY
from schema.execution import DeadlineExceeded
from schema.limits import actual_cost

_CONTAINERS = (dict, list)

_AWAITABLE: dict[type, bool] = {}


def _awaitable(value: Any) -> bool:
    """graphql-core's is_awaitable, answered once per type (it is asked of every value)."""
    kind = type(value)
    known = _AWAITABLE.get(kind)
    if known is None:
        if kind is GeneratorType:  # a generator-based coroutine is one per instance
            return is_awaitable(value)
        known = _AWAITABLE[kind] = is_awaitable(value)
    return known


class Abandon(Exception):
    """The planned path does not answer this request: the normal path will."""


class _Unplannable(Exception):
    """Planning met something the planner does not handle."""


# --- the plan ---------------------------------------------------------------------------------


class _Run:
    """One execution of a plan: the request's context, variables and deadline."""

    __slots__ = ("context", "deadline", "helpers", "plan", "ticks", "values", "variables")

    def __init__(self, plan: Plan, context: Any, variables: VariableValues) -> None:
        self.plan, self.context, self.variables = plan, context, variables
        # Queries only, as on the normal path: a mutation that committed answers its payload.
        query = plan.operation.operation == OperationType.QUERY
        self.deadline: float | None = getattr(context, "deadline", None) if query else None
        self.ticks = CHECK_EVERY
        self.helpers = GraphQLResolveInfoHelpers(_gather, _ignore)
        self.values = 0  # field values answered: the cost actually served (limits.actual_cost)

    def tick(self) -> None:
        self.ticks = CHECK_EVERY
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded()

    def info(self, field: _Field, parent: Path | None) -> GraphQLResolveInfo:
        plan = self.plan
        return GraphQLResolveInfo(
            field.name,
            field.nodes,
            field.definition.type,
            field.parent_type,
            Path(parent, field.key, field.parent_type.name),
            plan.schema,
            plan.fragments,
            None,
            plan.operation,
            self.variables,
            self.context,
            is_awaitable,
            None,
            self.helpers,
        )


async def _gather(values: Any) -> list[Any]:
    return list(await asyncio.gather(*values))


def _ignore(values: Any) -> None:
    return None


class _LazyInfo:
    """What a resolver without arguments gets as `info`: the context at once, anything else
    through a real Strawberry Info, made on first use."""

    __slots__ = ("_field", "_parent", "_real", "_run", "context")

    def __init__(self, run: _Run, field: _Field, parent: Path | None) -> None:
        self.context = run.context
        self._run, self._field, self._parent = run, field, parent
        self._real: Info | None = None

    def __getattr__(self, name: str) -> Any:
        real = self._real
        if real is None:
            field = self._field.strawberry
            assert field is not None  # only Strawberry resolvers are handed a lazy info
            real = self._real = Info(
                _raw_info=self._run.info(self._field, self._parent), _field=field
            )
        return getattr(real, name)


# How a field gets its value (_CALL_INFO: a method taking only `info`, the usual resolver).
_ATTR, _CALL, _RESOLVE, _TYPENAME, _CALL_INFO = range(5)

_new_path = tuple.__new__  # Path(prev, key, typename) without its Python-level __new__


class _Field:
    __slots__ = (
        "attr",
        "complete",
        "definition",
        "func",
        "how",
        "info_kw",
        "key",
        "name",
        "nodes",
        "non_null",
        "obj",
        "parent_type",
        "paths",
        "same",
        "self_arg",
        "serialize",
        "source_kw",
        "strawberry",
    )

    def __init__(
        self,
        key: str,
        nodes: list[FieldNode],
        definition: GraphQLField,
        parent_type: GraphQLObjectType,
        root: bool,
    ) -> None:
        self.key, self.nodes, self.definition = key, nodes, definition
        self.name = nodes[0].name.value
        self.parent_type = parent_type
        self.strawberry = (definition.extensions or {}).get("strawberry-definition")
        self.attr = self.func = self.info_kw = None
        self.source_kw: tuple[str, ...] = ()
        self.self_arg = False
        self.complete: _Completer = _NOT_YET
        self.paths = True  # its completion needs a path (lists, objects): leaves do not
        self.serialize: Callable[[Any], Any] | None = None  # of a leaf type
        self.non_null = False
        self.obj: _Object | None = None  # of an object type (maybe non-null), else None
        self.same: type | None = None  # a leaf's value of this type is its own serialization
        sb = self.strawberry
        resolve = definition.resolve
        if sb is None or resolve is None:
            raise _Unplannable(f"{parent_type.name}.{self.name} is not a Strawberry field")
        if getattr(resolve, "_is_default", False) and sb.base_resolver is None:
            if sb.extensions or definition.args:
                raise _Unplannable("a plain field with extensions or arguments")
            self.how, self.attr = _ATTR, sb.python_name
        elif root or sb.extensions or definition.args or nodes[0].arguments:
            self.how = _RESOLVE  # Strawberry's wrapper: gates, argument conversion, extensions
        else:
            resolver = sb.base_resolver
            if resolver is None:
                raise _Unplannable("a resolver-less field that is not plain")
            self.how, self.func = _CALL, resolver.wrapped_func
            self.self_arg = resolver.self_parameter is not None
            # as Strawberry's get_arguments passes them: self, then parent and root by name
            self.source_kw = tuple(
                p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p
            )
            info = resolver.info_parameter
            self.info_kw = info.name if info is not None else None
            if self.self_arg and not self.source_kw and self.info_kw == "info":
                self.how = _CALL_INFO

    def resolve(self, source: Any, run: _Run, parent: Path | None) -> Any:
        how = self.how
        if how == _ATTR:
            return getattr(source, self.attr)  # type: ignore[arg-type]
        if how == _CALL_INFO:
            return self.func(source, info=_LazyInfo(run, self, parent))  # type: ignore[misc]
        if how == _CALL:
            kwargs: dict[str, Any] = {}
            for name in self.source_kw:
                kwargs[name] = source
            if self.info_kw is not None:
                kwargs[self.info_kw] = _LazyInfo(run, self, parent)
            func: Callable[..., Any] = self.func  # type: ignore[assignment]
            return func(source, **kwargs) if self.self_arg else func(**kwargs)
        info = run.info(self, parent)
        args = get_argument_values(self.definition, self.nodes[0], run.variables)
        return self.definition.resolve(source, info, **args)  # type: ignore[misc]


class _Completer:
    """Turns a resolved value into its JSON-ready form, or an awaitable of it."""

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        raise NotImplementedError


_NOT_YET = _Completer()


# Leaf types whose serializer hands back a value of this exact type unchanged (graphql-core's
# serialize_string / serialize_id / serialize_boolean): such a value needs no call.
_UNCHANGED: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


class _Leaf(_Completer):
    __slots__ = ("same", "serialize")

    def __init__(self, type_: Any) -> None:
        self.serialize = type_.coerce_output_value  # what graphql-core's executor calls
        self.same: type | None = _UNCHANGED.get(type_)

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        if value is None or value is Undefined:
            return None
        out = self.serialize(value)
        if out is None or out is Undefined:
            raise Abandon("a serializer returned nothing")
        if type(out) in _CONTAINERS:  # a JSON scalar: actual_cost counts inside
            run.values += actual_cost(out)
        return out


class _NonNull(_Completer):
    __slots__ = ("inner",)

    def __init__(self, inner: _Completer) -> None:
        self.inner = inner

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        if value is None or value is Undefined:
            raise Abandon("null for a non-null field")
        out = self.inner.complete(value, run, path)
        if _awaitable(out):
            return _non_null_later(out)
        if out is None:
            raise Abandon("null for a non-null field")
        return out


async def _non_null_later(out: Any) -> Any:
    value = await out
    if value is None:
        raise Abandon("null for a non-null field")
    return value


class _List(_Completer):
    __slots__ = ("item", "non_null", "obj", "same", "serialize")

    def __init__(self, item: _Completer) -> None:
        self.item = item
        inner = item.inner if isinstance(item, _NonNull) else item
        self.non_null = inner is not item
        # items of a leaf or an object type are completed here, without a call per item
        self.serialize = inner.serialize if isinstance(inner, _Leaf) else None
        self.same = inner.same if isinstance(inner, _Leaf) else None
        self.obj = inner if isinstance(inner, _Object) else None

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise Abandon("a list field returned no list")
        item, obj, serialize = self.item, self.obj, self.serialize
        out: list[Any] = []
        later: list[tuple[int, Any]] | None = None
        for index, element in enumerate(value):
            awaitable = _AWAITABLE.get(type(element))
            if awaitable is None:
                awaitable = _awaitable(element)
            if awaitable:
                done: Any = _settle(element, item, run, _new_path(Path, (path, index, None)))
            elif element is None or element is Undefined:
                if self.non_null:
                    raise Abandon("null for a non-null field")
                out.append(None)
                continue
            elif serialize is not None:
                if type(element) is self.same:
                    out.append(element)
                    continue
                serialized = serialize(element)
                if serialized is None or serialized is Undefined:
                    raise Abandon("a serializer returned nothing")
                if type(serialized) in _CONTAINERS:
                    run.values += actual_cost(serialized)
                out.append(serialized)
                continue
            elif obj is not None:
                is_type_of = obj.is_type_of
                if is_type_of is not None and not is_type_of(element, None):  # type: ignore[arg-type]
                    raise Abandon("is_type_of refused the value")
                sub = obj.fields
                if sub is None:
                    sub = obj.plan_fields()
                run.values += obj.values
                done = _complete_fields(sub, element, run, _new_path(Path, (path, index, None)))
                if type(done) is dict:
                    out.append(done)
                    continue
            else:
                done = item.complete(element, run, _new_path(Path, (path, index, None)))
                if not _awaitable(done):
                    out.append(done)
                    continue
            if later is None:
                later = []
            later.append((len(out), done))
            out.append(None)
        if later is None:
            return out
        return _fill(out, later)


async def _settle(awaitable: Any, completer: _Completer, run: _Run, path: Path | None) -> Any:
    value = await awaitable
    out = completer.complete(value, run, path)
    if _awaitable(out):
        out = await out
    return out


async def _fill(out: Any, later: list[tuple[Any, Any]]) -> Any:
    """Await what is pending at one level together (so loaders batch), every one of them
    even when one fails (nothing is left running on the session), then fill the holes."""
    results = await asyncio.gather(*(aw for _, aw in later), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    for (slot, _), result in zip(later, results, strict=True):
        out[slot] = result
    return out


class _Object(_Completer):
    __slots__ = ("fields", "is_type_of", "planner", "selections", "type", "values")

    def __init__(self, type_: GraphQLObjectType, nodes: list[FieldNode], planner: _Planner):
        self.type, self.is_type_of = type_, type_.is_type_of
        self.fields: list[_Field] | None = None
        self.values = 0
        self.selections, self.planner = nodes, planner

    def plan_fields(self) -> list[_Field]:
        fields = self.fields
        if fields is None:
            fields = self.planner.fields(self.type, self.selections, root=False)
            self.values = _values(fields)
            self.fields = fields
        return fields

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        if value is None or value is Undefined:
            return None
        # Strawberry's is_type_of reads only the value, never the info
        if self.is_type_of is not None and not self.is_type_of(value, None):  # type: ignore[arg-type]
            raise Abandon("is_type_of refused the value")
        fields = self.plan_fields()
        run.values += self.values
        return _complete_fields(fields, value, run, path)


def _values(fields: list[_Field]) -> int:
    """How many values an object of these fields answers, as limits.actual_cost counts
    them (introspection fields excluded)."""
    return sum(1 for f in fields if not f.key.startswith("__"))


def _complete_fields(fields: list[_Field], source: Any, run: _Run, path: Path | None) -> Any:
    """One object's fields in order. What each field needs was settled at plan time (how
    its value is got, whether it is a leaf and its serializer, its object's sub-plan), so
    the common cases — a scalar, a method of `info` alone, an object — are answered here
    without a call per step; anything else goes through its completer."""
    ticks = run.ticks - len(fields)
    run.ticks = ticks
    if ticks <= 0:
        run.tick()
    out: dict[str, Any] = {}
    later: list[tuple[str, Any]] | None = None
    for field in fields:
        key = field.key
        how = field.how
        if how == _ATTR:
            value = getattr(source, field.attr)  # type: ignore[arg-type]
        elif how == _CALL_INFO:
            value = field.func(source, info=_LazyInfo(run, field, path))  # type: ignore[misc]
        elif how == _TYPENAME:
            out[key] = field.attr
            continue
        else:
            value = field.resolve(source, run, path)
        if value is None or value is Undefined:
            if field.non_null:
                raise Abandon("null for a non-null field")
            out[key] = None
            continue
        awaitable = _AWAITABLE.get(type(value))
        if awaitable is None:
            awaitable = _awaitable(value)
        if awaitable:
            if how == _ATTR and field.serialize is not None:
                # as ever: a plain scalar attribute is handed to its serializer, which
                # refuses an awaitable (never answered wrong)
                awaitable = False
            else:
                if later is None:
                    later = []
                here = _new_path(Path, (path, key, None)) if field.paths else None
                later.append((key, _settle(value, field.complete, run, here)))
                out[key] = None
                continue
        serialize = field.serialize
        if serialize is not None:  # a leaf
            if type(value) is field.same:
                out[key] = value
                continue
            serialized = serialize(value)
            if serialized is None or serialized is Undefined:
                raise Abandon("a serializer returned nothing")
            if type(serialized) in _CONTAINERS:  # a JSON scalar: actual_cost counts inside
                run.values += actual_cost(serialized)
            out[key] = serialized
            continue
        obj = field.obj
        here = _new_path(Path, (path, key, None))
        if obj is not None:  # an object: its sub-plan, here
            is_type_of = obj.is_type_of
            # Strawberry's is_type_of reads only the value, never the info
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise Abandon("is_type_of refused the value")
            sub = obj.fields
            if sub is None:
                sub = obj.plan_fields()
            run.values += obj.values
            done: Any = _complete_fields(sub, value, run, here)
            if type(done) is dict:
                out[key] = done
                continue
        else:  # lists, abstract types: their completer (non-null included)
            done = field.complete.complete(value, run, here)
            if not _awaitable(done):
                out[key] = done
                continue
        if later is None:
            later = []
        later.append((key, done))
        out[key] = None
    if later is None:
        return out
    return _fill(out, later)


class _Abstract(_Completer):
    __slots__ = ("by_type", "parent_field", "planner", "selections", "type")

    def __init__(
        self, type_: GraphQLAbstractType, nodes: list[FieldNode], planner: _Planner
    ) -> None:
        self.type, self.selections, self.planner = type_, nodes, planner
        self.by_type: dict[str, _Object] = {}
        self.parent_field: _Field | None = None

    def complete(self, value: Any, run: _Run, path: Path | None) -> Any:
        if value is None or value is Undefined:
            return None
        resolve_type = self.type.resolve_type
        if resolve_type is None or self.parent_field is None:
            raise Abandon("no resolve_type")
        info = run.info(self.parent_field, path.prev if path is not None else None)
        name = resolve_type(value, info, self.type)
        if _awaitable(name) or not isinstance(name, str):
            raise Abandon("an awaitable or odd runtime type")
        runtime = self.by_type.get(name)
        if runtime is None:
            object_type = self.planner.schema.get_type(name)
            if not is_object_type(object_type) or not self.planner.schema.is_sub_type(
                self.type, object_type
            ):
                raise Abandon("not a possible type")
            runtime = self.by_type[name] = _Object(object_type, self.selections, self.planner)
        return runtime.complete(value, run, path)


# --- planning -----------------------------------------------------------------------------------


class _Planner:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema, self.fragments = schema, fragments

    def fields(
        self, parent_type: GraphQLObjectType, nodes: list[FieldNode], root: bool
    ) -> list[_Field]:
        grouped: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._collect(parent_type, node.selection_set, grouped, set())
        planned = []
        for key, field_nodes in grouped.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                typename = _Field.__new__(_Field)
                typename.key, typename.how, typename.attr = key, _TYPENAME, parent_type.name
                typename.complete, typename.paths = _NOT_YET, False
                typename.serialize, typename.non_null, typename.obj = None, False, None
                typename.same = None
                planned.append(typename)
                continue
            if name.startswith("__"):
                raise _Unplannable("introspection")
            definition = parent_type.fields.get(name)
            if definition is None:
                raise _Unplannable(f"no field {parent_type.name}.{name}")
            field = _Field(key, field_nodes, definition, parent_type, root)
            field.complete = self.completer(definition.type, field_nodes, field)
            inner = field.complete.inner if isinstance(field.complete, _NonNull) else None
            leaf = inner or field.complete
            field.paths = not isinstance(leaf, _Leaf)
            field.non_null = inner is not None
            field.serialize = leaf.serialize if isinstance(leaf, _Leaf) else None
            field.obj = leaf if isinstance(leaf, _Object) else None
            field.same = leaf.same if isinstance(leaf, _Leaf) else None
            planned.append(field)
        return planned

    def _collect(
        self,
        runtime: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise _Unplannable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, runtime):
                    self._collect(runtime, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None:
                    raise _Unplannable("unknown fragment")
                if fragment.directives:
                    raise _Unplannable("directives")
                if self._applies(fragment.type_condition, runtime):
                    self._collect(runtime, fragment.selection_set, grouped, visited)
            else:
                raise _Unplannable("an unknown selection")

    def _applies(self, condition: Any, runtime: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = self.schema.get_type(condition.name.value)
        if conditional is runtime:
            return True
        if is_abstract_type(conditional):
            return self.schema.is_sub_type(conditional, runtime)
        return False

    def completer(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], field: _Field
    ) -> _Completer:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            return _NonNull(self.completer(type_.of_type, nodes, field))
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            return _List(self.completer(type_.of_type, nodes, field))
        if is_leaf_type(type_):
            return _Leaf(type_)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            return _Object(type_, nodes, self)
        if is_abstract_type(type_):
            abstract = _Abstract(type_, nodes, self)
            abstract.parent_field = field
            return abstract
        raise _Unplannable(f"type {type_}")


class Plan:
    """One query operation (or one-field mutation) of one document, planned."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None):
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            if len(operations) != 1:
                raise _Unplannable("which operation?")
            operation = operations[0]
        else:
            found = [o for o in operations if o.name and o.name.value == operation_name]
            if len(found) != 1:
                raise _Unplannable("no such operation")
            operation = found[0]
        if operation.operation == OperationType.QUERY:
            root = schema.query_type
        elif operation.operation == OperationType.MUTATION and _one_field(operation):
            # The mutation's one root field runs once, through its policy gate, which keeps
            # its outcome: a payload the plan gives up on is answered by the normal path
            # from that outcome, never by mutating again (schema/policy.py).
            root = schema.mutation_type
        else:
            raise _Unplannable("queries and one-field mutations only")
        if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
            raise _Unplannable("directives")
        if root is None:
            raise _Unplannable("no root type")
        if operation.operation == OperationType.MUTATION and not _kept_once(root, operation):
            raise _Unplannable("a mutation field without its policy gate")
        self.schema, self.operation = schema, operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        planner = _Planner(schema, self.fragments)
        self.root_type = root
        self.fields = planner.fields(root, [_RootNode(operation.selection_set)], root=True)  # type: ignore[list-item]
        self.values = _values(self.fields)
        # plan every reachable object type now (abstract ones plan their types on first use)
        _plan_all(self.fields)

    async def run(self, context: Any, variables: dict[str, Any] | None) -> dict[str, Any]:
        return (await self.answer(context, variables))[0]

    async def answer(
        self, context: Any, variables: dict[str, Any] | None
    ) -> tuple[dict[str, Any], int]:
        """The operation's `data` and how many field values it holds (its actual cost);
        raises Abandon when the normal path must answer, DeadlineExceeded past the request's
        deadline."""
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or [], variables or {}
        )
        if isinstance(coerced, list):
            raise Abandon("variables did not coerce")
        run = _Run(self, context, coerced)
        run.values = self.values
        try:
            data = _complete_fields(self.fields, None, run, None)
            if _awaitable(data):
                data = await data
        except (Abandon, DeadlineExceeded):
            raise
        except GraphQLError as error:
            if isinstance(error.original_error, DeadlineExceeded):
                raise error.original_error from None
            raise Abandon(str(error)) from error
        except Exception as error:
            raise Abandon(f"{type(error).__name__}: {error}") from error
        return data, run.values


def _one_field(operation: OperationDefinitionNode) -> bool:
    selections = operation.selection_set.selections
    return len(selections) == 1 and isinstance(selections[0], FieldNode)


def _kept_once(root: GraphQLObjectType, operation: OperationDefinitionNode) -> bool:
    """Whether the mutation's root field keeps its outcome (its policy gate does, for an
    async resolver): only then may the normal path answer the operation a second time."""
    from schema.policy import PolicyGate  # the gate imports the schema's resolvers

    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    definition = root.fields.get(node.name.value)
    sb = (definition.extensions or {}).get("strawberry-definition") if definition else None
    return sb is not None and sb.is_async and any(isinstance(e, PolicyGate) for e in sb.extensions)


class _RootNode:
    """Stands for the operation as the 'field' whose selection set is the root's."""

    def __init__(self, selection_set: SelectionSetNode) -> None:
        self.selection_set = selection_set


def _plan_all(fields: list[_Field]) -> None:
    for field in fields:
        completer = field.complete
        while isinstance(completer, _NonNull | _List):
            completer = completer.inner if isinstance(completer, _NonNull) else completer.item
        if isinstance(completer, _Object):
            _plan_all(completer.plan_fields())


class Plans:
    """Plans of known operations, keyed by document text and operation name; a
    document the planner cannot handle is remembered as None (the normal path runs)."""

    def __init__(self, schema: GraphQLSchema, entries: int = 512) -> None:
        self.schema, self.entries = schema, entries
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self.planned = self.refused = 0  # documents
        self.answered = self.abandoned = 0  # requests (counted by the endpoint)

    def get(self, query: str, operation: str | None) -> Plan | None:
        key = (query, operation)
        plans = self._plans
        if key in plans:
            plans.move_to_end(key)
            return plans[key]
        plan = self._make(query, operation)
        plans[key] = plan
        if len(plans) > self.entries:
            plans.popitem(last=False)
        return plan

    def _make(self, query: str, operation: str | None) -> Plan | None:
        try:
            document = parse(query)
            if validate(self.schema, document):
                return None
            plan = Plan(self.schema, document, operation)
        except (_Unplannable, GraphQLError, RecursionError):
            self.refused += 1
            return None
        self.planned += 1
        return plan
