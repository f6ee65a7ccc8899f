"""Small validators shared by the services; each adds a Violation instead of raising."""

from decimal import Decimal
from urllib.parse import urlparse

import nh3

from core.money import InvalidMoney
from core.money import to_minor
from services.errors import ErrorCode
from services.errors import Violations
from services.messages import message


def text(
    v: Violations, value: str | None, field: str, *, max_len: int, required: bool = True
) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            v.add(ErrorCode.INVALID_INPUT, message("input.required"), field)
        return None
    if len(cleaned) > max_len:
        v.add(ErrorCode.INVALID_INPUT, message("input.too_long", most=max_len), field)
    return cleaned


def money(
    v: Violations, amount: Decimal | None, field: str, *, required: bool = True
) -> int | None:
    if amount is None:
        if required:
            v.add(ErrorCode.INVALID_PRICE, "A price is required.", field)
        return None
    try:
        return to_minor(amount)
    except InvalidMoney as exc:
        v.add(ErrorCode.INVALID_PRICE, f"Amount {exc}.", field)
        return None


def url(v: Violations, value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(value) > 500:
        v.add(ErrorCode.INVALID_URL, "Must be an http(s) URL of at most 500 characters.", field)
        return None
    return value


def html(value: str | None) -> str | None:
    """Rich text from admins is sanitized once on write, so every client can render it as is."""
    return nh3.clean(value) if value else value


def non_negative_int(v: Violations, value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        v.add(ErrorCode.INVALID_INPUT, "Must not be negative.", field)
        return None
    return value
