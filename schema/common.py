"""Types every domain uses: Node, Money, UserError, PageInfo, Image."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from core.money import from_minor
from core.settings import get_settings
from resolvers.common import Page
from services.errors import ErrorCode, Violation

UserErrorCode = strawberry.enum(
    Enum("UserErrorCode", {c.name: c.value for c in ErrorCode}),  # type: ignore[misc]
    description="Stable codes for business-rule failures in mutation payloads.",
)


@strawberry.interface(description="An object with a global, opaque ID (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type
class Money:
    amount: Decimal
    currency_code: str


_CURRENCY = get_settings().currency


def money(minor: int | None) -> Money | None:
    if minor is None:
        return None
    return Money(amount=from_minor(minor), currency_code=_CURRENCY)


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


def page_info(page: Page[object]) -> PageInfo:
    count = len(page.items)
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursor(0) if count else None,
        end_cursor=page.cursor(count - 1) if count else None,
    )


@strawberry.type
class Image:
    url: str
    alt: str | None = None
