"""Scalars: Decimal money strings, timezone-aware DateTime, and Int as GraphQL's own that lets
a live sellable number through as itself (core/response_cache.py)."""

from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

import strawberry
from graphql import GraphQLInt

from core.response_cache import LiveStock


def _parse_decimal(value: Any) -> Decimal:
    # Unparseable text becomes NaN so the service answers with a field-level INVALID_PRICE user
    # error (a business message a form can show) instead of a bare coercion error.
    if isinstance(value, bool):
        return Decimal("NaN")
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal("NaN")


DecimalScalar = strawberry.scalar(
    Decimal,
    name="Decimal",
    description='A decimal amount as a string, e.g. "129.00" (money has two places).',
    serialize=lambda v: f"{v:.2f}" if isinstance(v, Decimal) else str(v),
    parse_value=_parse_decimal,
)


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # A time without a zone is taken as UTC: every time in Zhongtai is UTC.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


DateTimeScalar = strawberry.scalar(
    datetime,
    name="DateTime",
    description='An ISO-8601 date-time; answers are always UTC ("Z").',
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)

DateScalar = strawberry.scalar(
    date,
    name="Date",
    description="An ISO-8601 calendar date (UTC).",
    serialize=lambda v: v.isoformat(),
    parse_value=lambda v: date.fromisoformat(v),
)

_serialize_int = GraphQLInt.coerce_output_value


def _serialize_live_int(value: Any) -> int:
    """GraphQL's Int, except that a live sellable number stays itself (checked the same way),
    so a kept answer knows where its holes are."""
    number = _serialize_int(value)
    return value if type(value) is LiveStock else number


# graphql-core reserves the name Int (no second scalar may carry it), so its one instance
# serializes this way in this process: the same for every value but a LiveStock. Both names:
# graphql-core's executor and the plans (schema/plans.py) call coerce_output_value; serialize
# is its deprecated name, patched alike for any other caller.
GraphQLInt.serialize = _serialize_live_int  # type: ignore[method-assign]
GraphQLInt.coerce_output_value = _serialize_live_int

SCALAR_OVERRIDES: dict[object, Any] = {
    Decimal: DecimalScalar,
    datetime: DateTimeScalar,
    date: DateScalar,
}
