"""Money is integer minor units (分/cents) inside; Decimal strings at the API edge."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from decimal import Decimal
from decimal import InvalidOperation
from functools import lru_cache

MAX_MINOR = 10**12  # ten billion in major units: far above any real price, far below int64
_MAX_AMOUNT = Decimal(MAX_MINOR) / 100


class InvalidMoney(ValueError):
    pass


def to_minor(amount: Decimal) -> int:
    """Convert a Decimal amount to minor units; refuse NaN, negatives and sub-cent precision."""
    try:
        if not amount.is_finite():
            raise InvalidMoney("must be a decimal amount such as 129.00")
        if amount < 0:
            raise InvalidMoney("must not be negative")
        # Compared before any arithmetic: 1e999999 × 100 overflows the Decimal context, and
        # int(Decimal("1e900000")) held the event loop for 48 s.
        if amount > _MAX_AMOUNT:
            raise InvalidMoney("is too large")
        minor = amount * 100
        if minor != minor.to_integral_value():
            raise InvalidMoney("must have at most two decimal places")
    except InvalidOperation as exc:
        raise InvalidMoney("must be a decimal amount such as 129.00") from exc
    return int(minor)


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def percent_of(minor: int, percent: Decimal) -> int:
    """`percent`% of an amount, rounded half up to the minor unit."""
    return int((Decimal(minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Money:
    """A presentable amount: what the API shows for any minor-unit integer."""

    amount: Decimal
    currency_code: str


def money(minor: int | None, currency: str | None = None) -> Money | None:
    if minor is None:
        return None
    return _money(minor, currency or _currency())


@lru_cache(maxsize=8192)  # immutable, and pages show the same prices over and over
def _money(minor: int, currency: str) -> Money:
    return Money(from_minor(minor), currency)


@lru_cache(maxsize=1)  # one currency per deployment; read once
def _currency() -> str:
    from core.settings import get_settings

    return get_settings().currency
