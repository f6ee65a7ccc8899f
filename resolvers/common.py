"""Shared glue: global-id decoding, cursor pages, and running a mutation as a unit of work."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ids import InvalidGlobalId
from core.ids import decode_cursor
from core.ids import decode_id
from core.ids import decode_id_of
from core.ids import encode_cursor
from core.money import InvalidMoney
from core.money import to_minor
from models.base import Base
from resolvers.context import Context
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violation as Violation
from services.messages import Language as Language
from services.messages import message as message
from services.messages import say as say
from services.unit_of_work import REQUEST
from services.unit_of_work import Audit
from services.unit_of_work import Outcome
from services.unit_of_work import Retry
from services.unit_of_work import UnitOfWork

T = TypeVar("T")

# What a mutation answers: its value, or the violations that refused it.
MutationResult = Outcome


async def mutate(
    ctx: Context,
    run: Callable[[AsyncSession], Awaitable[T]],
    change: Change | None = None,
    retry: Retry = REQUEST,
) -> MutationResult[T]:
    """Run one business operation as the request's unit of work (services/unit_of_work.py):
    committed, or refused with nothing written, or TRY_AGAIN; admin changes (`change` given)
    audited in the same transaction."""
    try:
        audit = change.audit(ctx) if change is not None else None
    except DomainError as error:  # the target's id is malformed
        return MutationResult.refused(error)
    return await UnitOfWork(ctx.session, retry).outcome(run, audit)


@dataclass
class Change:
    """An admin mutation about to happen: its action name, the model it changes and, unless it
    creates, the global id of the target (so `before` can be captured)."""

    action: str
    model: type[Base]
    global_id: str | None = None
    # What to snapshot as "before" when it is not the target row itself (e.g. stock levels).
    before: Callable[[AsyncSession], Awaitable[Any]] | None = None
    # The changed row inside what the operation returns, when it returns more than the row.
    subject: Callable[[Any], Any] | None = None

    def audit(self, ctx: Context) -> Audit:
        """The audit entry to write, by the request's viewer, with the target's id decoded."""
        target_id = input_id(self.global_id, self.model.node_type, "id")  # type: ignore[attr-defined]
        return Audit(
            actor_id=ctx.viewer.staff_id,
            action=self.action,
            model=self.model,
            target_id=target_id,
            request_id=ctx.request_id,
            before=self.before,
            subject=self.subject,
        )


def input_id(global_id: str | None, type_name: str, field: str) -> int | None:
    """Decode an id inside a mutation input; a bad one is the client's mistake: a user error."""
    if global_id is None:
        return None
    try:
        return decode_id_of(global_id, type_name)
    except InvalidGlobalId as exc:
        raise DomainError(ErrorCode.INVALID_ID, str(exc), field) from exc


def paid_amount(amount: Any) -> int:
    """A payment's amount in minor units; a malformed one never matches what is due."""
    try:
        return to_minor(Decimal(amount))
    except InvalidMoney as exc:
        raise DomainError(ErrorCode.PAYMENT_AMOUNT_MISMATCH, f"Amount {exc}.", "amount") from exc


def input_ids(global_ids: list[str] | None, type_name: str, field: str) -> list[int]:
    return [input_id(g, type_name, field) or 0 for g in global_ids or []]


def query_id(global_id: str, type_name: str | None = None) -> tuple[str, int]:
    """Decode an id given as a query argument; a bad one is a GraphQL error (INVALID_ID)."""
    try:
        kind, pk = decode_id(global_id)
    except InvalidGlobalId as exc:
        raise api_error(ApiErrorCode.INVALID_ID, f"{exc} Got {global_id[:40]!r}.") from exc
    if type_name is not None and kind != type_name:
        raise api_error(ApiErrorCode.INVALID_ID, f"Expected an ID of a {type_name}.")
    return kind, pk


@dataclass
class Page(Generic[T]):
    items: list[T]
    offset: int
    total: int
    query: Any = None  # what produced the page, for fields such as facets

    @property
    def has_next_page(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def has_previous_page(self) -> bool:
        return self.offset > 0

    def cursor(self, index: int) -> str:
        return encode_cursor(self.offset + index)


@dataclass(frozen=True)
class PageArgs:
    """A connection's Relay arguments; `default` is the page size when neither `first` nor
    `last` is given."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    default: int = 20


@dataclass(frozen=True)
class Slice:
    """Rows [offset, offset + limit) of the ordered list. `tail` is set for `last` without
    `before`: the window then ends at the total, known only once counted (`within`)."""

    offset: int
    limit: int
    tail: int | None = None

    @property
    def needs_total(self) -> bool:
        return self.tail is not None

    def within(self, total: int) -> Slice:
        if self.tail is None:
            return self
        start = max(self.offset, total - self.tail)
        return Slice(start, max(0, total - start))


def page_window(ctx: Context, args: PageArgs) -> Slice:
    """The rows Relay arguments ask for: `first` after a cursor, or `last` before one (or
    before the end). Sizes are capped with a clear error; `first` and `last` together are
    refused (the page they mean is ambiguous)."""
    if args.first is not None and args.last is not None:
        raise api_error(
            ApiErrorCode.INVALID_PAGINATION,
            "Pass `first` (with `after`) or `last` (with `before`), not both.",
        )
    start = 0 if args.after is None else _cursor(args.after) + 1
    end = None if args.before is None else _cursor(args.before)
    if args.last is not None:
        size = _size(ctx, "last", args.last)
        if end is None:
            return Slice(start, 0, tail=size)
        offset = max(start, end - size)
        return Slice(offset, max(0, end - offset))
    size = _size(ctx, "first", args.default if args.first is None else args.first)
    return Slice(start, size if end is None else max(0, min(size, end - start)))


def _size(ctx: Context, name: str, value: int) -> int:
    maximum = ctx.settings.max_page_size
    if value < 0 or value > maximum:
        raise api_error(
            ApiErrorCode.INVALID_PAGINATION,
            f"`{name}` must be between 0 and {maximum}; got {value}.",
        )
    return value


def _cursor(cursor: str) -> int:
    try:
        return decode_cursor(cursor)
    except InvalidGlobalId as exc:
        raise api_error(
            ApiErrorCode.INVALID_CURSOR,
            "Invalid cursor: pass a startCursor, endCursor or edge cursor from a previous page.",
        ) from exc


async def counted_page(ctx: Context, stmt: Any, order: list[Any], args: PageArgs) -> Page[Any]:
    """A page of `stmt` in `order`: one statement counts, one fetches. The count goes first
    because `last` without `before` ends the window at the total."""
    window = page_window(ctx, args)

    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

    total = await ctx.read(count)
    window = window.within(total)
    items = list(
        await ctx.read(
            lambda s: s.scalars(stmt.order_by(*order).offset(window.offset).limit(window.limit))
        )
    )
    return Page(items, window.offset, total)
