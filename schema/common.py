"""Types every domain uses: Node, Money, UserError, PageInfo, Image."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Annotated
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import overload

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from core.money import money as core_money
from resolvers.common import ErrorCode
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import Violation
from resolvers.common import say

E = TypeVar("E", bound=type[Enum])


def describe_values(enum_type: E, descriptions: dict[str, str]) -> E:
    """Give each value of an enum wrapped with strawberry.enum(...) its GraphQL description.
    strawberry.enum takes per-value descriptions only through strawberry.enum_value in the class
    body, and these enums are plain Python enums of the domain layer. Every value must be
    described, and only existing values, so a value added later fails at import."""
    definition = getattr(enum_type, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryEnumDefinition):
        raise TypeError(f"{enum_type!r} is not wrapped with strawberry.enum")
    names = {value.name for value in definition.values}
    if names != descriptions.keys():
        raise ValueError(
            f"{definition.name}: undescribed {sorted(names - descriptions.keys())}, "
            f"unknown {sorted(descriptions.keys() - names)}"
        )
    for value in definition.values:
        value.description = descriptions[value.name]
    return enum_type


UserErrorCode = ErrorCode
strawberry.enum(
    UserErrorCode,
    name="UserErrorCode",
    description="Stable codes for business-rule failures in mutation payloads.",
)
describe_values(
    UserErrorCode,
    {
        # generic
        "INVALID_INPUT": "An input value is missing, malformed or out of range.",
        "NOT_FOUND": "The referenced object does not exist or is not visible to the caller.",
        "INVALID_ID": "Not a valid global ID, or an ID of the wrong type.",
        "DUPLICATE_NAME": "The name or slug is already taken.",
        "INVALID_PRICE": "A price or amount is missing, malformed, not positive or inconsistent "
        "(e.g. a market price below the price).",
        "INVALID_URL": "A URL is missing or not a valid http(s) URL.",
        # catalog
        "CATEGORY_TOO_DEEP": "The category tree would exceed its maximum depth.",
        "CATEGORY_NOT_LEAF": "Products bind to leaf categories only; this one has subcategories.",
        "CATEGORY_HAS_PRODUCTS": "The category has products: it cannot be deleted or get "
        "subcategories.",
        "CATEGORY_HAS_CHILDREN": "The category has subcategories: delete or move them first.",
        "CATEGORY_CYCLE": "A category cannot move under itself or one of its descendants.",
        "BRAND_IN_USE": "Products use this brand, so it cannot be deleted.",
        "MISSING_REQUIRED_ATTRIBUTE": (
            "A required attribute of the product's category has no value."
        ),
        "INVALID_ATTRIBUTE": "Not an attribute of the product's category for this use, or given "
        "twice.",
        "INVALID_ATTRIBUTE_VALUE": (
            "An attribute value does not fit its type (option, text, number) or length."
        ),
        "SKU_SPEC_MISMATCH": "A SKU's specs do not give exactly one value per SALES attribute.",
        "DUPLICATE_SKU_SPEC": "Two SKUs of the product have the same specs.",
        "DUPLICATE_SKU_CODE": "The SKU code is used twice, or by another product of the merchant.",
        "NO_SKUS": "A product needs at least one SKU, and an enabled one to be listed.",
        "MERCHANT_MISMATCH": "The referenced objects belong to different merchants.",
        "INVALID_STATUS_TRANSITION": "The object's current status does not allow this change.",
        "INVALID_SCHEDULE": "Start and end times are out of order or in the past.",
        "PRODUCT_IN_USE": "The product was listed or stocked: delist it instead of deleting it.",
        # inventory
        "INSUFFICIENT_STOCK": "Not enough stock, or on hand would fall below what is reserved.",
        "RESERVATION_CLOSED": "The stock reservation is no longer in a state that allows this.",
        # purchasing and stocktakes
        "OVER_RECEIPT": "A receipt would take a purchase order line past its ordered quantity.",
        "STOCKTAKE_IN_PROGRESS": "The warehouse already has a stocktake that is not decided.",
        "SKU_NOT_IN_STOCKTAKE": "The SKU is not among the warehouse's stock the stocktake froze.",
        "SECOND_APPROVER_REQUIRED": "A stocktake is approved by a staff member who neither "
        "started it nor entered its counts.",
        # promotions and cart
        "PROMOTION_CONFLICT": "The promotion overlaps another one of the same level on the same "
        "products.",
        "INVALID_RULE": "A promotion or coupon rule (tiers, percentages, thresholds) is "
        "inconsistent.",
        "INVALID_QUANTITY": "A quantity or count is out of its allowed range.",
        "PROMOTION_NOT_APPLICABLE": "The chosen promotion is not one of the line's choices.",
        "PRODUCT_UNAVAILABLE": "The product is not on sale now.",
        "ADD_ON_MUST_RETURN": "A refund leaving an add-on offer (加价购) unearned must take its "
        "add-on units back too.",
        "ADD_ON_LIMIT_EXCEEDED": "More add-on units (加价购) than the offer allows per order.",
        # coupons
        "COUPON_SOLD_OUT": "The coupon batch has none left to claim, issue or generate.",
        "COUPON_LIMIT_REACHED": "The customer already holds the per-customer limit of this coupon.",
        "COUPON_NOT_CLAIMABLE": "The coupon cannot be claimed or issued now (distribution, status "
        "or claim window).",
        "COUPON_UNUSABLE": "A chosen coupon cannot be used on this checkout, or the combination is "
        "not allowed.",
        "COUPON_IN_PAYMENT": "The unpaid order holding this coupon is being paid at a provider "
        "and the provider could not settle it: pay or cancel that order, or try again.",
        "AUDIENCE_MISMATCH": "The coupon is not for this customer's audience.",
        "INVALID_CODE": "No such coupon code.",
        "CODE_ALREADY_USED": "The coupon code was already redeemed.",
        # checkout and orders
        "EMPTY_CHECKOUT": "No selected, available cart line to check out.",
        "PRICE_CHANGED": "The total differs from the expected total; review and confirm again.",
        "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used for a different checkout.",
        "PROMOTION_SOLD_OUT": "A promotion's limited stock ran out during checkout, so the price "
        "changed.",
        "INVALID_ORDER_STATE": "The order's status does not allow this action or transition.",
        "INVALID_REFUND_STATE": "The refund was already decided.",
        "INVALID_SHIPMENT": "A shipment quantity exceeds what is outstanding or held in the "
        "warehouse.",
        "PAYMENT_AMOUNT_MISMATCH": "The amount or currency paid differs from what is due.",
        "PAYMENT_ALREADY_PAID": "The payment was already confirmed by another transaction.",
        "PAYMENT_CLOSED": "The payment is no longer pending (paid, expired or cancelled).",
        "PRESALE_ALONE": "A presale (deposit) line must be checked out on its own.",
        "TRY_AGAIN": "Too many concurrent changes to the same data; retry in a moment.",
        "BALANCE_NOT_DUE": "The presale balance cannot be paid yet: deposit unpaid or window not "
        "open.",
        # payment providers
        "PAYMENT_PROVIDER_DISABLED": "The payment provider is not enabled here, or confirms by "
        "signed notification only.",
        "PROVIDER_UNAVAILABLE": "The payment provider cannot be reached now; try again later.",
        "PROVIDER_REFUSED": "The payment provider refused the request.",
        "DUPLICATE_TRANSACTION": "The provider transaction already paid another payment.",
        "REFUND_EXCEEDS_CAPTURED": "The refund exceeds what is left of the captured payment.",
        # accounts
        "DUPLICATE_ACCOUNT": "An account (customer or staff) with this email or phone already "
        "exists.",
        "WEAK_PASSWORD": "The password needs 8–128 characters with a letter and a digit.",
        "INVALID_EMAIL": "Missing or not a valid email address.",
        "INVALID_PHONE": "Missing or not a valid mainland mobile or +country phone number.",
        "INVALID_POSTAL_CODE": "A postal code has six digits.",
        "INVALID_CREDENTIALS": "Wrong login or password.",
        "LOGIN_LOCKED": "Too many failed logins; try again later.",
        "INVALID_TOKEN": "The refresh token is invalid or expired, or the account is disabled.",
        "TOKEN_REUSED": "The refresh token was already used; log in again.",
        "INVALID_PERMISSION": "No known permission given.",
        "FORBIDDEN": "The caller may not do this, e.g. grant a permission they do not hold or act "
        "outside their merchant.",
        "ROLE_IN_USE": "Staff hold this role: take it from them first.",
        # members
        "INSUFFICIENT_POINTS": "More points than the member's balance.",
        "POINTS_UNUSABLE": "Points cannot pay for this checkout (a presale, or nothing left to "
        "pay for goods).",
        "LEVEL_ORDER": "Member levels must keep one rank and one growth threshold each, "
        "thresholds rising with rank.",
        "LEVEL_IN_USE": "A staff override holds customers at this level: clear it first.",
        # red packets
        "RED_PACKET_OWN": "The sharer cannot open their own red packet.",
        "RED_PACKET_EXPIRED": "The red packet no longer opens (past its window, or its order "
        "was cancelled or refunded).",
        "RED_PACKET_EMPTY": "Every open or the whole amount of the red packet is taken.",
        "RED_PACKET_ALREADY_OPENED": "The customer opened this red packet already.",
        "RED_PACKET_DAILY_LIMIT": "The customer opened as many red packets today as allowed.",
        "INSUFFICIENT_RED_PACKETS": "More than the customer's red packet balance.",
        "RED_PACKETS_UNUSABLE": "No line of the checkout takes red packets.",
    },
)


@strawberry.interface(description="An object with a global, opaque ID (Relay).")
class Node:
    # A plain attribute read (models expose `global_id`): no resolver call per object.
    global_id: strawberry.ID = strawberry.field(name="id", description="Relay global id.")


@strawberry.type(description="An amount of the deployment's currency.")
class Money:
    amount: Decimal = strawberry.field(
        description='The amount in yuan (major units), as a Decimal string, e.g. "129.00".'
    )
    currency_code: str = strawberry.field(
        description='ISO 4217 code of the deployment\'s currency, e.g. "CNY".'
    )


@overload
def money(minor: int) -> Money: ...
@overload
def money(minor: None) -> None: ...
@overload
def money(minor: int | None) -> Money | None: ...
def money(minor: int | None) -> Money | None:
    """Money for the API; the objects are core.money.Money values, read field by field."""
    return core_money(minor)  # type: ignore[return-value]


@strawberry.type(description="A business-rule failure: `field` is the input path it refers to.")
class UserError:
    field: str | None = strawberry.field(
        description='Input path it refers to, e.g. "input.skus.0.price"; null for the whole input.'
    )
    code: UserErrorCode = strawberry.field(description="Stable code to branch on.")
    violation: strawberry.Private[Violation]

    @strawberry.field(
        description="Human-readable message a form can show, in the request's language "
        "(Accept-Language: zh-CN or en)."
    )
    def message(self, info: Info) -> str:
        return say(self.violation.message, info.context.language, self.violation.code)


def user_errors_field(**kwargs: Any) -> Any:
    """The `userErrors` field every mutation payload ends with, described once."""
    return strawberry.field(
        description="Business-rule failures; empty when the mutation succeeded.", **kwargs
    )


def deleted_id_field() -> Any:
    """The `deletedId` of a delete mutation's payload, described once."""
    return strawberry.field(description="Relay global id of the deleted object; null when refused.")


def said(info: Info, texts: Sequence[str]) -> list[str]:
    """Notes (cart notices, pricing explanations) in the request's language."""
    return [say(text, info.context.language) for text in texts]


def user_errors(violations: list[Violation]) -> list[UserError]:
    return [UserError(field=v.field, code=v.code, violation=v) for v in violations]


@strawberry.type(description="Relay pagination state of a connection page.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more nodes follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether nodes precede this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first edge; null for an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; null for an empty page."
    )


# Page size of each connection when neither `first` nor `last` is given ("Type.field"); the
# query cost check reads the same table. Others get DEFAULT_PAGE_SIZE.
# The Relay window arguments every connection takes, described once.
First50 = Annotated[
    int | None, strawberry.argument(description="Page size from the start or `after` (default 50).")
]
First20 = Annotated[
    int | None, strawberry.argument(description="Page size from the start or `after` (default 20).")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor: the page starts after this edge.")
]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end or `before`.")]
Before = Annotated[
    str | None, strawberry.argument(description="Cursor: the page ends before this edge.")
]


class RelayWindow(FieldExtension):
    """A connection field's Relay window arguments — first, after, last, before, described
    once, after the field's own arguments — handed to its resolver as one `page` (PageArgs,
    with the field's default page size, see page_args). The resolver declares `page` and
    none of the four: they were written out again for every connection."""

    def __init__(self, default_size: int) -> None:
        self.first_text = f"Page size from the start or `after` (default {default_size})."

    def apply(self, field: StrawberryField) -> None:
        window = [
            ("first", int | None, self.first_text),
            ("after", str | None, "Cursor: the page starts after this edge."),
            ("last", int | None, "Page size from the end or `before`."),
            ("before", str | None, "Cursor: the page ends before this edge."),
        ]
        field.arguments = [
            *(a for a in field.arguments if a.python_name != "page"),
            *(
                StrawberryArgument(
                    python_name=name,
                    graphql_name=None,
                    type_annotation=StrawberryAnnotation(type_),
                    description=text,
                    default=None,
                )
                for name, type_, text in window
            ),
        ]

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        return next_(source, info, page=_window(info, kwargs), **kwargs)

    async def resolve_async(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        return await next_(source, info, page=_window(info, kwargs), **kwargs)


def _window(info: Info, kwargs: dict[str, Any]) -> PageArgs:
    return page_args(
        info, kwargs.pop("first"), kwargs.pop("after"), kwargs.pop("last"), kwargs.pop("before")
    )


PAGE_SIZES: dict[str, int] = {
    "Customer.orders": 10,
    "Query.adminProducts": 50,
    "Query.auditLog": 50,
    "Query.staff": 50,
    "Query.stockLevels": 50,
    "Query.stockMovements": 50,
    "Query.promotions": 50,
    "Query.pages": 50,
    "Query.adminOrders": 50,
    "Query.purchaseOrders": 50,
    "Query.stocktakes": 50,
}
DEFAULT_PAGE_SIZE = 20


def page_size(type_name: str, field_name: str) -> int:
    return PAGE_SIZES.get(f"{type_name}.{field_name}", DEFAULT_PAGE_SIZE)


def page_args(
    info: Any, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
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
        description="Opaque cursor of this edge, for `after` / `before`."
    )
    node: T = strawberry.field(description="The object at this edge.")


# Root: resolvers.common.Page. Not in the schema itself: the fields every connection
# type (Connection below, ProductConnection) starts with.
@strawberry.type
class PagedFields:
    @strawberry.field(description="How many nodes match in all, across pages.")
    def total_count(self) -> int:
        return self.total  # type: ignore[attr-defined]

    @strawberry.field(description="Where this page sits, for fetching the next or previous one.")
    def page_info(self) -> PageInfo:
        return page_info(self)  # type: ignore[arg-type]


# Root: resolvers.common.Page.
@strawberry.type(description="A page of nodes with Relay cursors and the total count.")
class Connection(PagedFields, Generic[T]):
    @strawberry.field(description="The nodes of this page, each with its cursor.")
    def edges(self) -> list[Edge[T]]:
        return [
            Edge(cursor=self.cursor(i), node=item)  # type: ignore[attr-defined]
            for i, item in enumerate(self.items)  # type: ignore[attr-defined]
        ]


@strawberry.type(description="An image.")
class Image:
    url: str = strawberry.field(description="The image's URL.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")
