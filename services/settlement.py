"""Merchant settlement (结算, DOMAIN.md §7 "who funds a discount"): what the platform owes one
merchant for a period.

Sales count in the period their order was paid; refunds in the period the money went back
(a refund's decision, or a paid order's cancellation). Days are calendar days in the
business time zone, both ends inclusive, as in the reports.

    goods sold       = gross sales − merchant-funded discounts   (platform-funded ones included:
                                                                  the platform pays them)
    refunded goods   = refunds − refunded shipping + refunded platform-funded discounts
    commission base  = goods sold − refunded goods                (shipping carries none)
    commission       = commission base × rate (basis points), rounded half up to the fen
    net payable      = gross sales − merchant-funded discounts + shipping − refunds
                       − refunded platform-funded discounts − commission

Customers paid gross − all discounts + shipping; the platform adds the discounts it funds
(platform-funded − refunded platform-funded, "platform owes"), so the net payable is what was
collected for the merchant plus what the platform owes, less refunds and commission. A refund
pays the customer back their payable share; the platform-funded share of the refunded units
is no longer owed either (split per line in proportion to units, exact over a whole line)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Merchant
from models.orders import Order
from models.orders import OrderLine
from models.orders import OrderStatus
from models.orders import Refund
from models.orders import RefundLine
from models.orders import RefundStatus
from services.errors import DomainError
from services.errors import ErrorCode

MAX_DAYS = 366
BASIS_POINTS = 10_000


@dataclass
class Statement:
    merchant_id: int
    start: date
    end: date
    commission_rate: int  # basis points
    paid_orders: int = 0
    gross_sales: int = 0  # Σ base price × units of the lines of orders paid in the period
    merchant_discounts: int = 0  # funded by the merchant: never paid to them
    platform_discounts: int = 0  # funded by the platform: owed to the merchant
    shipping: int = 0
    refunds: int = 0  # money paid back to customers in the period
    refunded_shipping: int = 0  # the part of `refunds` that was shipping
    refunded_platform_discounts: int = 0  # platform-funded share of refunded units

    @property
    def collected(self) -> int:
        """What customers paid for the period's orders."""
        return self.gross_sales - self.merchant_discounts - self.platform_discounts + self.shipping

    @property
    def platform_owes(self) -> int:
        return self.platform_discounts - self.refunded_platform_discounts

    @property
    def commission_base(self) -> int:
        refunded_goods = self.refunds - self.refunded_shipping + self.refunded_platform_discounts
        return self.gross_sales - self.merchant_discounts - refunded_goods

    @property
    def commission(self) -> int:
        exact = Decimal(self.commission_base) * self.commission_rate / BASIS_POINTS
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def net_payable(self) -> int:
        return (
            self.gross_sales
            - self.merchant_discounts
            + self.shipping
            - self.refunds
            - self.refunded_platform_discounts
            - self.commission
        )


def window(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in the business time zone, as UTC."""
    first = datetime.combine(start, time(), tzinfo=zone)
    last = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone)
    return first.astimezone(UTC), last.astimezone(UTC)


def check_period(start: date, end: date) -> None:
    if end < start or end - start > timedelta(days=MAX_DAYS - 1):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"`to` must be on or after `from`, at most {MAX_DAYS} days later.",
            "to",
        )


async def statement(
    session: AsyncSession, merchant_id: int, start: date, end: date, zone: ZoneInfo
) -> Statement:
    check_period(start, end)
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such merchant.", "merchantId")
    found = Statement(merchant_id, start, end, merchant.commission_rate)
    first, last = window(start, end, zone)
    await _sales(session, found, first, last)
    await _refunds(session, found, first, last)
    return found


async def _sales(session: AsyncSession, st: Statement, first: datetime, last: datetime) -> None:
    paid = [
        Order.merchant_id == st.merchant_id,
        Order.paid_at.is_not(None),
        Order.paid_at >= first,
        Order.paid_at < last,
    ]
    orders, shipping = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Order.shipping), 0)).where(*paid)
        )
    ).one()
    gross, by_merchant, by_platform = (
        await session.execute(
            select(
                func.coalesce(func.sum(OrderLine.subtotal), 0),
                func.coalesce(func.sum(OrderLine.merchant_discount), 0),
                func.coalesce(func.sum(OrderLine.platform_discount), 0),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(*paid)
        )
    ).one()
    st.paid_orders, st.shipping = int(orders), int(shipping)
    st.gross_sales, st.merchant_discounts = int(gross), int(by_merchant)
    st.platform_discounts = int(by_platform)


async def _refunds(session: AsyncSession, st: Statement, first: datetime, last: datetime) -> None:
    """Refund decisions and paid orders cancelled in the period. Every refund of the orders
    concerned is walked in order, so each line's platform-funded share is reversed exactly
    once over all its refunds, whichever period they fall in."""

    def within(at: datetime | None) -> bool:
        return at is not None and first <= _aware(at) < last

    mine = Order.merchant_id == st.merchant_id
    refunded_ids = set(
        (
            await session.scalars(
                select(Refund.order_id)
                .join(Order, Order.id == Refund.order_id)
                .where(
                    mine,
                    Refund.status == RefundStatus.REFUNDED,
                    Refund.decided_at >= first,
                    Refund.decided_at < last,
                )
            )
        ).all()
    )
    cancelled = list(
        (
            await session.scalars(
                select(Order).where(
                    mine,
                    Order.status == OrderStatus.CANCELLED,
                    Order.paid_at.is_not(None),
                    Order.cancelled_at >= first,
                    Order.cancelled_at < last,
                )
            )
        ).all()
    )
    order_ids = refunded_ids | {o.id for o in cancelled}
    if not order_ids:
        return
    lines = {
        ln.id: ln
        for ln in (
            await session.scalars(select(OrderLine).where(OrderLine.order_id.in_(order_ids)))
        ).all()
    }
    refunds = (
        await session.scalars(
            select(Refund)
            .where(Refund.order_id.in_(order_ids), Refund.status == RefundStatus.REFUNDED)
            .order_by(Refund.decided_at, Refund.id)
        )
    ).all()
    items: dict[int, list[RefundLine]] = defaultdict(list)
    for item in (
        await session.scalars(
            select(RefundLine)
            .where(RefundLine.refund_id.in_([r.id for r in refunds]))
            .order_by(RefundLine.id)
        )
    ).all():
        items[item.refund_id].append(item)
    units_back: dict[int, int] = defaultdict(int)
    paid_back: dict[int, int] = defaultdict(int)  # per order, through refunds
    shipping_back: dict[int, int] = defaultdict(int)
    for refund in refunds:
        reversed_share = 0
        for item in items[refund.id]:
            line = lines[item.order_line_id]
            before = units_back[line.id]
            units_back[line.id] += item.quantity
            reversed_share += _share(line, units_back[line.id]) - _share(line, before)
        shipping = refund.amount - sum(i.amount for i in items[refund.id])
        paid_back[refund.order_id] += refund.amount
        shipping_back[refund.order_id] += shipping
        if within(refund.decided_at):
            st.refunds += refund.amount
            st.refunded_shipping += shipping
            st.refunded_platform_discounts += reversed_share
    for order in cancelled:  # the rest of the order went back at once
        st.refunds += order.refunded_amount - paid_back[order.id]
        st.refunded_shipping += order.shipping - shipping_back[order.id]
        st.refunded_platform_discounts += sum(
            line.platform_discount - _share(line, units_back[line.id])
            for line in lines.values()
            if line.order_id == order.id
        )


def _share(line: OrderLine, units: int) -> int:
    """The platform-funded discount on the first `units` units of a line (floor: the whole
    line gives back exactly its share)."""
    return line.platform_discount * units // line.quantity if line.quantity else 0


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def figures(st: Statement) -> dict[str, int]:
    """The statement's amounts (minor units) by their API names, in the CSV's column order."""
    return {
        "grossSales": st.gross_sales,
        "merchantFundedDiscounts": st.merchant_discounts,
        "platformFundedDiscounts": st.platform_discounts,
        "shipping": st.shipping,
        "collected": st.collected,
        "refunds": st.refunds,
        "refundedShipping": st.refunded_shipping,
        "refundedPlatformFundedDiscounts": st.refunded_platform_discounts,
        "platformOwes": st.platform_owes,
        "commissionBase": st.commission_base,
        "commission": st.commission,
        "netPayable": st.net_payable,
    }
