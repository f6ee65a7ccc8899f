"""Shared glue: global-id decoding, cursor pages, and running a mutation as one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.ids import InvalidGlobalId, decode_cursor, decode_id, decode_id_of, encode_cursor
from resolvers.context import Context
from resolvers.errors import ApiErrorCode, api_error
from services.errors import DomainError, ErrorCode, Violation

T = TypeVar("T")
log = logging.getLogger("zhongtai.mutations")


@dataclass
class MutationResult(Generic[T]):
    value: T | None
    errors: list[Violation]


async def mutate(ctx: Context, run: Callable[[AsyncSession], Awaitable[T]]) -> MutationResult[T]:
    """Run one business operation in one transaction: commit on success; on a rule violation
    roll back everything, so a refused request never leaves a partial write."""
    try:
        value = await run(ctx.session)
        await ctx.session.commit()
    except DomainError as error:
        await ctx.session.rollback()
        return MutationResult(None, error.violations)
    except BaseException:
        await ctx.session.rollback()
        raise
    return MutationResult(value, [])


def input_id(global_id: str | None, type_name: str, field: str) -> int | None:
    """Decode an id inside a mutation input; a bad one is the client's mistake: a user error."""
    if global_id is None:
        return None
    try:
        return decode_id_of(global_id, type_name)
    except InvalidGlobalId as exc:
        raise DomainError(ErrorCode.INVALID_ID, str(exc), field) from exc


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


def page_window(ctx: Context, first: int | None, after: str | None) -> tuple[int, int]:
    """(offset, limit) from Relay arguments; `first` is capped with a clear error."""
    maximum = ctx.settings.max_page_size
    limit = maximum if first is None else first
    if limit < 0 or limit > maximum:
        raise api_error(ApiErrorCode.INVALID_PAGINATION,
                        f"`first` must be between 0 and {maximum}; got {first}.")
    offset = 0
    if after is not None:
        try:
            offset = decode_cursor(after) + 1
        except InvalidGlobalId as exc:
            raise api_error(ApiErrorCode.INVALID_CURSOR,
                            "Invalid cursor: pass an endCursor or edge cursor from a previous "
                            "page.") from exc
    return offset, limit
