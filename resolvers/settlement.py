"""Settlement glue: the merchant id and period checked, the statement read."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from resolvers.common import query_id
from resolvers.context import Context
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from services import settlement
from services.errors import DomainError


async def statement(
    ctx: Context, merchant_gid: str, start: date, end: date
) -> settlement.Statement:
    merchant_id = query_id(merchant_gid, "Merchant")[1]
    zone = ZoneInfo(ctx.settings.report_timezone)
    try:
        return await ctx.read(lambda s: settlement.statement(s, merchant_id, start, end, zone))
    except DomainError as error:  # a query: refusals are GraphQL errors
        raise api_error(ApiErrorCode.BAD_REQUEST, error.violations[0].message) from error


def figures(found: object) -> dict[str, int]:
    assert isinstance(found, settlement.Statement)
    return settlement.figures(found)
