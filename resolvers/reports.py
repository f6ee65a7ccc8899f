"""Report glue: date ranges checked, merchant staff held to their merchant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from resolvers.common import MutationResult
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from services import exports as exporting
from services import reports
from services.errors import DomainError
from services.errors import ErrorCode


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


@dataclass(frozen=True)
class ExportLink:
    url: str
    expires_at: datetime


EXPORT_KINDS = {k.name: k for k in (*exporting.KINDS, exporting.SETTLEMENT)}
_REFUSED_AS = {"INVALID_ID": ErrorCode.INVALID_ID, "FORBIDDEN": ErrorCode.FORBIDDEN}


def export_link(
    ctx: Context, kind: exporting.Kind, asked: dict[str, str | None]
) -> MutationResult[ExportLink]:
    """Sign one download for the staff member asking (services/exports.py, download links).
    Its parameters are checked now as the download will check them, so a bad range or another
    merchant's id is refused here rather than in the browser."""
    params = {name: value for name, value in asked.items() if value}
    try:
        found = exporting.parse(
            kind, params, ctx.viewer.merchant_id, ZoneInfo(ctx.settings.report_timezone)
        )
    except exporting.Refused as refused:
        code = _REFUSED_AS.get(refused.code, ErrorCode.INVALID_INPUT)
        return MutationResult.refused(DomainError(code, str(refused), "input"))
    if kind is exporting.SETTLEMENT and found.merchant_id is None:
        return MutationResult.refused(
            DomainError(ErrorCode.INVALID_ID, "Name the Merchant to settle.", "merchantId")
        )
    viewer = ctx.viewer
    claims = {
        "sub": f"staff:{viewer.staff_id}",
        "perms": sorted(p.value for p in viewer.permissions),
        "mid": viewer.merchant_id,
        "ver": viewer.token_version,
    }
    url, expires = exporting.sign_link(
        ctx.settings.jwt_secret, claims, exporting.link_path(kind), params, ctx.now
    )
    return MutationResult(ExportLink(url, expires), [])
