"""Types every domain uses: Node, Money, UserError, PageInfo, Image."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry

from core.money import money as core_money
from resolvers.common import ErrorCode, Page, PageArgs, Violation

UserErrorCode = strawberry.enum(
    Enum("UserErrorCode", {c.name: c.value for c in ErrorCode}),
    description="Stable codes for business-rule failures in mutation payloads.",
)


@strawberry.interface(description="An object with a global, opaque ID (Relay).")
class Node:
    # A plain attribute read (models expose `global_id`): no resolver call per object.
    global_id: strawberry.ID = strawberry.field(name="id", description="Relay global id.")


@strawberry.type(description="An amount of the deployment's currency.")
class Money:
    amount: Decimal = strawberry.field(
        description="The amount in yuan (major units), as a Decimal string, e.g. \"129.00\".")
    currency_code: str = strawberry.field(
        description="ISO 4217 code of the deployment's currency, e.g. \"CNY\".")


def money(minor: int | None) -> Money | None:
    """Money for the API; the objects are core.money.Money values, read field by field."""
    return core_money(minor)  # type: ignore[return-value]


@strawberry.type(description="A business-rule failure: `field` is the input path it refers to.")
class UserError:
    field: str | None = strawberry.field(
        description="Input path it refers to, e.g. \"input.skus.0.price\"; null for the whole "
                    "input.")
    code: UserErrorCode = strawberry.field(  # type: ignore[valid-type]
        description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable message a form can show.")


def user_errors(violations: list[Violation]) -> list[UserError]:
    return [UserError(field=v.field, code=UserErrorCode(v.code.value), message=v.message)
            for v in violations]


@strawberry.type(description="Relay pagination state of a connection page.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more nodes follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether nodes precede this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first edge; null for an empty page.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; null for an empty page.")


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


@strawberry.type(description="A node of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque cursor of this edge, for `after` / `before`.")
    node: T = strawberry.field(description="The object at this edge.")


# Root: resolvers.common.Page.
@strawberry.type(description="A page of nodes with Relay cursors and the total count.")
class Connection(Generic[T]):
    @strawberry.field(description="How many nodes match in all, across pages.")
    def total_count(self) -> int:
        return self.total  # type: ignore[attr-defined]

    @strawberry.field(description="Where this page sits, for fetching the next or previous one.")
    def page_info(self) -> PageInfo:
        return page_info(self)  # type: ignore[arg-type]

    @strawberry.field(description="The nodes of this page, each with its cursor.")
    def edges(self) -> list[Edge[T]]:
        return [Edge(cursor=self.cursor(i), node=item)  # type: ignore[attr-defined]
                for i, item in enumerate(self.items)]  # type: ignore[attr-defined]


@strawberry.type(description="An image.")
class Image:
    url: str = strawberry.field(description="The image's URL.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")
