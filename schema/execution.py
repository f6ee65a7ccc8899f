"""The request's deadline during graphql-core's execution (the normal path; known queries run
from plans, schema/plans.py, which keep the same deadline).

`asyncio.wait_for` can only stop a request while it awaits: a long synchronous stretch
(completing a large list, CPU-heavy resolvers) holds the event loop and the timeout cannot
fire. Execution is a sequence of field resolutions, so a query checks the clock every
CHECK_EVERY fields and, once past its deadline, unwinds the whole operation with one TIMEOUT
error. That tick is the only change to graphql-core's execution: fields are executed by
graphql-core itself."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from graphql import GraphQLObjectType
from graphql.language import OperationType
from graphql.pyutils import Path
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

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


class DeadlineExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Queries only: a mutation that committed must still answer with its payload.
        query = self.operation.operation == OperationType.QUERY
        self._deadline: float | None = (
            getattr(self.context_value, "deadline", None) if query else None
        )
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
            self._ticks = CHECK_EVERY
            if self._deadline is not None and time.monotonic() > self._deadline:
                self._ticks = 0  # every later field raises too
                raise DeadlineExceeded()
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


class SettleReads(SchemaExtension):
    """After execution, let the request's reads settle before the session is closed: a field
    that fails cancels its siblings, but their loaders' batches run on (Context.settle)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        settle = getattr(self.execution_context.context, "settle", None)
        if settle is not None:
            await settle()
