"""Reports (DOMAIN.md §10) over paid orders: GMV, paid orders, units and average order value per
day; top products; promotion and coupon statistics. GMV = Σ payable of orders paid in the range
(refunds are reported separately, never netted). Days are calendar days in the business's time
zone (REPORT_TIMEZONE, Asia/Shanghai by default)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.orders import Order
from models.orders import OrderDiscount
from models.orders import OrderLine

MAX_DAYS = 366


@dataclass
class Day:
    date: date
    gmv: int = 0
    paid_orders: int = 0
    units: int = 0
    refunded: int = 0

    @property
    def average_order_value(self) -> int:
        return self.gmv // self.paid_orders if self.paid_orders else 0


@dataclass
class TopProduct:
    product_id: int
    units: int
    gmv: int


@dataclass
class SalesReport:
    start: date
    end: date
    merchant_id: int | None
    zone: ZoneInfo
    days: list[Day] = field(default_factory=list)

    def window(self) -> tuple[datetime, datetime]:
        """[start 00:00, end + 1 day 00:00) in the business time zone, as UTC."""
        first = datetime.combine(self.start, time(), tzinfo=self.zone)
        last = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=self.zone)
        return first.astimezone(UTC), last.astimezone(UTC)


def _paid_in(report: SalesReport) -> list[ColumnElement[bool]]:
    first, last = report.window()
    where: list[ColumnElement[bool]] = [
        Order.paid_at.is_not(None),
        Order.paid_at >= first,
        Order.paid_at < last,
    ]
    if report.merchant_id is not None:
        where.append(Order.merchant_id == report.merchant_id)
    return where


async def sales_report(
    session: AsyncSession, start: date, end: date, merchant_id: int | None, zone_name: str
) -> SalesReport:
    report = SalesReport(start, end, merchant_id, ZoneInfo(zone_name))
    days = {
        start + timedelta(days=i): Day(start + timedelta(days=i))
        for i in range((end - start).days + 1)
    }
    units_by_order = dict(
        (
            await session.execute(
                select(OrderLine.order_id, func.sum(OrderLine.quantity))
                .join(Order, Order.id == OrderLine.order_id)
                .where(*_paid_in(report), OrderLine.is_gift.is_(False))
                .group_by(OrderLine.order_id)
            )
        ).all()
    )
    rows = (
        await session.execute(
            select(Order.id, Order.paid_at, Order.total, Order.refunded_amount).where(
                *_paid_in(report)
            )
        )
    ).all()
    for order_id, paid_at, total, refunded in rows:
        assert paid_at is not None  # _paid_in keeps paid orders only
        day = days[paid_at.astimezone(report.zone).date()]
        day.gmv += total
        day.paid_orders += 1
        day.units += int(units_by_order.get(order_id, 0))
        day.refunded += refunded
    report.days = [days[d] for d in sorted(days)]
    return report


def _net_units() -> ColumnElement[int]:
    """Units sold net of the units refunded since (rankings; the daily `units` stay gross,
    like GMV, with refunds reported on their own)."""
    return func.sum(OrderLine.quantity - OrderLine.refunded_quantity)


async def top_products(session: AsyncSession, report: SalesReport, limit: int) -> list[TopProduct]:
    units = _net_units()
    rows = (
        await session.execute(
            select(OrderLine.product_id, units, func.sum(OrderLine.total))
            .join(Order, Order.id == OrderLine.order_id)
            .where(*_paid_in(report), OrderLine.is_gift.is_(False))
            .group_by(OrderLine.product_id)
            .order_by(units.desc(), OrderLine.product_id)
            .limit(limit)
        )
    ).all()
    return [TopProduct(product_id, int(u), int(g)) for product_id, u, g in rows]


async def best_sellers(
    session: AsyncSession, since: datetime, limit: int, product_ids: list[int] | None = None
) -> list[tuple[int, int]]:
    """(product id, units) by units, net of refunds, in orders paid since `since` (CMS ranking
    modules); a product whose every unit came back is not ranked."""
    units = _net_units()
    stmt = (
        select(OrderLine.product_id, units)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.paid_at >= since, OrderLine.is_gift.is_(False))
        .group_by(OrderLine.product_id)
        .having(units > 0)
        .order_by(units.desc(), OrderLine.product_id)
        .limit(limit)
    )
    if product_ids is not None:
        stmt = stmt.where(OrderLine.product_id.in_(product_ids))
    return [(int(pid), int(n)) for pid, n in (await session.execute(stmt)).all()]


@dataclass
class DiscountStats:
    orders: int
    discount_cost: int
    order_gmv: int


async def discount_stats(
    session: AsyncSession, *, promotion_id: int | None = None, coupon_template_id: int | None = None
) -> DiscountStats:
    """Over paid orders: how many used the promotion (or a coupon of the batch), what it cost
    the issuer, and the payable of those orders."""
    which: ColumnElement[bool]
    if promotion_id is not None:
        which = (OrderDiscount.source == "PROMOTION") & (OrderDiscount.source_id == promotion_id)
    else:
        which = OrderDiscount.coupon_template_id == coupon_template_id
    paid = Order.paid_at.is_not(None)
    cost, orders = (
        await session.execute(
            select(
                func.coalesce(func.sum(OrderDiscount.amount), 0),
                func.count(distinct(OrderDiscount.order_id)),
            )
            .join(Order, Order.id == OrderDiscount.order_id)
            .where(which, paid)
        )
    ).one()
    used_by = select(OrderDiscount.order_id).where(which)
    gmv = await session.scalar(
        select(func.coalesce(func.sum(Order.total), 0)).where(Order.id.in_(used_by), paid)
    )
    return DiscountStats(int(orders), int(cost), int(gmv or 0))
