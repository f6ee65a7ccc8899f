"""A graphql-core execution context with one fast path: plain fields.

Most fields of a storefront page are scalars read straight off an object (title, code,
amount…). graphql-core treats every field alike: it builds a ResolveInfo, looks for arguments,
calls the resolver, checks for awaitables and walks the completion chain. For a Strawberry
"basic" field (no resolver, no arguments, no extensions) whose type is a scalar or enum, all of
that reduces to `getattr` plus the type's serializer. The same holds for a plain field of an
object type without an `is_type_of` check (Money, Image…): `getattr`, then its sub-selection.
The result, the null checks and the error handling are the same as graphql-core's (errors are
still located and propagated).

It also keeps the request's deadline. `asyncio.wait_for` can only stop a request while it
awaits: a long synchronous stretch (completing a large list, CPU-heavy resolvers) holds the
event loop and the timeout cannot fire. Execution is a sequence of field resolutions, so a
query checks the clock every CHECK_EVERY fields and, once past its deadline, unwinds the
whole operation with one TIMEOUT error."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, NamedTuple

from graphql import (
    GraphQLError,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    is_leaf_type,
    is_object_type,
)
from graphql.language import OperationType
from graphql.pyutils import Path, Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class _Plan(NamedTuple):
    python_name: str
    leaf_type: GraphQLLeafType | None  # None: an object type, completed by its sub-selection
    object_type: GraphQLObjectType | None
    non_null: bool
    return_type: Any


CHECK_EVERY = 64  # fields between two clock reads: a read costs about as much as a field


class DeadlineExceeded(GraphQLError):
    """The request's deadline passed during execution (`context.deadline`, a
    `time.monotonic()` value): never a field's error, it stops the whole operation."""

    def __init__(self) -> None:
        super().__init__(
            "The request took too long and was stopped.", extensions={"code": "TIMEOUT"}
        )


def timed_out(errors: Iterable[GraphQLError] | None) -> bool:
    return any(
        isinstance(e, DeadlineExceeded) or isinstance(e.original_error, DeadlineExceeded)
        for e in errors or ()
    )


_NOT_FAST = None
_plans: dict[tuple[str, str, int], _Plan | None] = {}


def _plan(
    parent_type: GraphQLObjectType, field_name: str, schema_id: int, field_def: Any
) -> _Plan | None:
    key = (parent_type.name, field_name, schema_id)
    if key in _plans:
        return _plans[key]
    plan = None
    strawberry_field = (field_def.extensions or {}).get("strawberry-definition")
    if (
        field_def is not None
        and getattr(field_def.resolve, "_is_default", False)
        and not field_def.args
        and strawberry_field is not None
    ):
        return_type = field_def.type
        non_null = isinstance(return_type, GraphQLNonNull)
        inner = return_type.of_type if non_null else return_type
        if is_leaf_type(inner):
            plan = _Plan(strawberry_field.python_name, inner, None, non_null, return_type)
        elif is_object_type(inner) and inner.is_type_of is None:
            plan = _Plan(strawberry_field.python_name, None, inner, non_null, return_type)
    _plans[key] = plan
    return plan


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Queries only: a mutation that committed must still answer with its payload.
        query = self.operation.operation == OperationType.QUERY
        self._deadline: float | None = (
            getattr(self.context_value, "deadline", None) if query else None
        )
        self._ticks = CHECK_EVERY

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise DeadlineExceeded()  # ticks stay at 0: every later field raises too
        self._ticks = CHECK_EVERY

    def handle_field_error(
        self, raw_error: Exception, return_type: Any, field_details_list: Any, path: Path
    ) -> None:
        if isinstance(raw_error, DeadlineExceeded):
            raise raw_error  # past nullable fields too, up to the operation: no partial data
        super().handle_field_error(raw_error, return_type, field_details_list, path)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        self._ticks -= 1
        if self._ticks <= 0:
            self._check_deadline()
        first = field_details_list[0].node
        if first.arguments:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        name = first.name.value
        field_def = parent_type.fields.get(name)
        plan = _plan(parent_type, name, id(self.schema), field_def) if field_def else None
        if plan is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = getattr(source, plan.python_name)
            if value is None or value is Undefined:
                if plan.non_null:
                    raise TypeError(
                        f"Cannot return null for non-nullable field {parent_type.name}.{name}."
                    )
                return None
            if plan.leaf_type is not None:
                return self.complete_leaf_value(plan.leaf_type, value)
            completed = self.collect_and_execute_subfields(
                plan.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.return_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._settle(completed, plan.return_type, field_details_list, path)
        return completed

    async def _settle(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


class SettleReads(SchemaExtension):
    """After execution, let the request's reads settle before the session is closed: a field
    that fails cancels its siblings, but their loaders' batches run on (Context.settle)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        settle = getattr(self.execution_context.context, "settle", None)
        if settle is not None:
            await settle()
