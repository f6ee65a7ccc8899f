"""Types every domain uses: Node, Money, UserError, PageInfo, Image."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry

from core.money import money as core_money
from resolvers.common import Page, PageArgs
from services.errors import ErrorCode, Violation

UserErrorCode = strawberry.enum(
    Enum("UserErrorCode", {c.name: c.value for c in ErrorCode}),
    description="Stable codes for business-rule failures in mutation payloads.",
)


@strawberry.interface(description="An object with a global, opaque ID (Relay).")
class Node:
    # A plain attribute read (models expose `global_id`): no resolver call per object.
    global_id: strawberry.ID = strawberry.field(name="id")


@strawberry.type(description="An amount of the deployment's currency.")
class Money:
    amount: Decimal
    currency_code: str


def money(minor: int | None) -> Money | None:
    """Money for the API; the objects are core.money.Money values, read field by field."""
    return core_money(minor)  # type: ignore[return-value]


@strawberry.type(description="A business-rule failure: `field` is the input path it refers to.")
class UserError:
    field: str | None
    code: UserErrorCode  # type: ignore[valid-type]
    message: str


def user_errors(violations: list[Violation]) -> list[UserError]:
    return [UserError(field=v.field, code=UserErrorCode(v.code.value), message=v.message)
            for v in violations]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


# Page size of each connection when neither `first` nor `last` is given ("Type.field"); the
# query cost check reads the same table. Others get DEFAULT_PAGE_SIZE.
PAGE_SIZES: dict[str, int] = {
    "Customer.orders": 10, "Query.adminProducts": 50, "Query.auditLog": 50, "Query.staff": 50,
    "Query.stockLevels": 50, "Query.stockMovements": 50, "Query.promotions": 50,
    "Query.pages": 50, "Query.adminOrders": 50,
}
DEFAULT_PAGE_SIZE = 20


def page_size(type_name: str, field_name: str) -> int:
    return PAGE_SIZES.get(f"{type_name}.{field_name}", DEFAULT_PAGE_SIZE)


def page_args(info: Any, first: int | None, after: str | None, last: int | None,
              before: str | None) -> PageArgs:
    """A connection field's Relay arguments with its default page size (looked up by the
    GraphQL type and field resolving, the names the cost check sees)."""
    parent = info._raw_info.parent_type.name  # strawberry's Info does not expose it
    return PageArgs(first, after, last, before, page_size(parent, info.field_name))


def page_info(page: Page[object]) -> PageInfo:
    count = len(page.items)
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursor(0) if count else None,
        end_cursor=page.cursor(count - 1) if count else None,
    )


T = TypeVar("T")


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


# Root: resolvers.common.Page.
@strawberry.type(description="A page of nodes with Relay cursors and the total count.")
class Connection(Generic[T]):
    @strawberry.field
    def total_count(self) -> int:
        return self.total  # type: ignore[attr-defined]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return page_info(self)  # type: ignore[arg-type]

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        return [Edge(cursor=self.cursor(i), node=item)  # type: ignore[attr-defined]
                for i, item in enumerate(self.items)]  # type: ignore[attr-defined]


@strawberry.type
class Image:
    url: str
    alt: str | None = None
