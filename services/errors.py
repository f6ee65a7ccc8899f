"""Typed domain errors with stable codes; resolvers turn them into `userErrors`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    # generic
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_URL = "INVALID_URL"
    # catalog
    CATEGORY_TOO_DEEP = "CATEGORY_TOO_DEEP"
    CATEGORY_NOT_LEAF = "CATEGORY_NOT_LEAF"
    CATEGORY_HAS_PRODUCTS = "CATEGORY_HAS_PRODUCTS"
    CATEGORY_HAS_CHILDREN = "CATEGORY_HAS_CHILDREN"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    BRAND_IN_USE = "BRAND_IN_USE"
    MISSING_REQUIRED_ATTRIBUTE = "MISSING_REQUIRED_ATTRIBUTE"
    INVALID_ATTRIBUTE = "INVALID_ATTRIBUTE"
    INVALID_ATTRIBUTE_VALUE = "INVALID_ATTRIBUTE_VALUE"
    SKU_SPEC_MISMATCH = "SKU_SPEC_MISMATCH"
    DUPLICATE_SKU_SPEC = "DUPLICATE_SKU_SPEC"
    DUPLICATE_SKU_CODE = "DUPLICATE_SKU_CODE"
    NO_SKUS = "NO_SKUS"
    MERCHANT_MISMATCH = "MERCHANT_MISMATCH"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    INVALID_SCHEDULE = "INVALID_SCHEDULE"
    PRODUCT_IN_USE = "PRODUCT_IN_USE"
    # inventory
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    RESERVATION_CLOSED = "RESERVATION_CLOSED"
    # purchasing and stocktakes
    OVER_RECEIPT = "OVER_RECEIPT"
    STOCKTAKE_IN_PROGRESS = "STOCKTAKE_IN_PROGRESS"
    SKU_NOT_IN_STOCKTAKE = "SKU_NOT_IN_STOCKTAKE"
    SECOND_APPROVER_REQUIRED = "SECOND_APPROVER_REQUIRED"
    # promotions and cart
    PROMOTION_CONFLICT = "PROMOTION_CONFLICT"
    INVALID_RULE = "INVALID_RULE"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    PROMOTION_NOT_APPLICABLE = "PROMOTION_NOT_APPLICABLE"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    ADD_ON_MUST_RETURN = "ADD_ON_MUST_RETURN"  # a refund breaking an offer keeps its add-on
    ADD_ON_LIMIT_EXCEEDED = "ADD_ON_LIMIT_EXCEEDED"  # more add-on units than the offer allows
    # coupons
    COUPON_SOLD_OUT = "COUPON_SOLD_OUT"
    COUPON_LIMIT_REACHED = "COUPON_LIMIT_REACHED"
    COUPON_NOT_CLAIMABLE = "COUPON_NOT_CLAIMABLE"
    COUPON_UNUSABLE = "COUPON_UNUSABLE"
    COUPON_IN_PAYMENT = "COUPON_IN_PAYMENT"  # the unpaid order holding it is being paid
    AUDIENCE_MISMATCH = "AUDIENCE_MISMATCH"
    INVALID_CODE = "INVALID_CODE"
    CODE_ALREADY_USED = "CODE_ALREADY_USED"
    # checkout and orders
    EMPTY_CHECKOUT = "EMPTY_CHECKOUT"
    PRICE_CHANGED = "PRICE_CHANGED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PROMOTION_SOLD_OUT = "PROMOTION_SOLD_OUT"
    INVALID_ORDER_STATE = "INVALID_ORDER_STATE"
    INVALID_REFUND_STATE = "INVALID_REFUND_STATE"
    INVALID_SHIPMENT = "INVALID_SHIPMENT"
    PAYMENT_AMOUNT_MISMATCH = "PAYMENT_AMOUNT_MISMATCH"
    PAYMENT_ALREADY_PAID = "PAYMENT_ALREADY_PAID"
    PAYMENT_CLOSED = "PAYMENT_CLOSED"
    PRESALE_ALONE = "PRESALE_ALONE"
    TRY_AGAIN = "TRY_AGAIN"
    BALANCE_NOT_DUE = "BALANCE_NOT_DUE"
    # payment providers
    PAYMENT_PROVIDER_DISABLED = "PAYMENT_PROVIDER_DISABLED"  # e.g. TEST in production
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"  # down or slow: try again later
    PROVIDER_REFUSED = "PROVIDER_REFUSED"  # the provider answered no
    DUPLICATE_TRANSACTION = "DUPLICATE_TRANSACTION"  # it already paid another payment
    REFUND_EXCEEDS_CAPTURED = "REFUND_EXCEEDS_CAPTURED"
    # accounts
    DUPLICATE_ACCOUNT = "DUPLICATE_ACCOUNT"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_POSTAL_CODE = "INVALID_POSTAL_CODE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    LOGIN_LOCKED = "LOGIN_LOCKED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_REUSED = "TOKEN_REUSED"
    INVALID_PERMISSION = "INVALID_PERMISSION"
    FORBIDDEN = "FORBIDDEN"
    ROLE_IN_USE = "ROLE_IN_USE"
    # members
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    POINTS_UNUSABLE = "POINTS_UNUSABLE"
    LEVEL_ORDER = "LEVEL_ORDER"
    LEVEL_IN_USE = "LEVEL_IN_USE"
    # red packets
    RED_PACKET_OWN = "RED_PACKET_OWN"
    RED_PACKET_EXPIRED = "RED_PACKET_EXPIRED"
    RED_PACKET_EMPTY = "RED_PACKET_EMPTY"
    RED_PACKET_ALREADY_OPENED = "RED_PACKET_ALREADY_OPENED"
    RED_PACKET_DAILY_LIMIT = "RED_PACKET_DAILY_LIMIT"
    INSUFFICIENT_RED_PACKETS = "INSUFFICIENT_RED_PACKETS"
    RED_PACKETS_UNUSABLE = "RED_PACKETS_UNUSABLE"


@dataclass
class Violation:
    code: ErrorCode
    message: str
    field: str | None = None


class DomainError(Exception):
    """One or more rule violations. Raised before anything is written, or inside a transaction
    that the caller rolls back, so a refused request never leaves a partial write."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.violations = [Violation(code, message, field)]

    @classmethod
    def many(cls, violations: list[Violation]) -> DomainError:
        first = violations[0]
        error = cls(first.code, first.message, first.field)
        error.violations = list(violations)
        return error

    @property
    def code(self) -> ErrorCode:
        return self.violations[0].code


class Violations:
    """Collects every violation of a request so the client can fix them all at once."""

    def __init__(self) -> None:
        self.items: list[Violation] = []

    def add(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        self.items.append(Violation(code, message, field))

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError.many(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)
