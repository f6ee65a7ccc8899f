"""Report glue: date ranges checked, merchant staff held to their merchant."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from resolvers.common import query_id
from resolvers.context import Context
from resolvers.errors import ApiErrorCode, api_error
from services import reports


async def sales_report(
    ctx: Context, start: date, end: date, merchant_gid: str | None
) -> reports.SalesReport:
    if end < start or end - start > timedelta(days=reports.MAX_DAYS - 1):
        raise api_error(
            ApiErrorCode.BAD_REQUEST,
            f"`to` must be on or after `from`, at most {reports.MAX_DAYS} days later.",
        )
    merchant_id = query_id(merchant_gid, "Merchant")[1] if merchant_gid else None
    if ctx.viewer.merchant_id is not None:  # merchant staff: their merchant, whatever asked
        merchant_id = ctx.viewer.merchant_id
    return await ctx.read(
        lambda s: reports.sales_report(s, start, end, merchant_id, ctx.settings.report_timezone)
    )


async def top_products(ctx: Context, report: reports.SalesReport, limit: int) -> list[Any]:
    if not 1 <= limit <= 100:
        raise api_error(ApiErrorCode.BAD_REQUEST, "`limit` must be between 1 and 100.")
    found = await ctx.read(lambda s: reports.top_products(s, report, limit))
    products = await ctx.loaders.product.load_many([t.product_id for t in found])
    return [(product, top) for product, top in zip(products, found, strict=True)]


async def promotion_stats(ctx: Context, promotion_id: int) -> reports.DiscountStats:
    return await ctx.read(lambda s: reports.discount_stats(s, promotion_id=promotion_id))
