"""Red packets (红包) shared after payment.

* **Sharing**: a paid checkout (its payment: the master order, 合并付款) gives its customer
  one packet, made the first time they share any of its paid orders (`share`; again: the same
  packet). Its limits — opens and total amount — are the settings when it is made; it opens
  for `share_days`.
* **Opening** (`open_packet`): another logged-in customer, once per packet, at most
  `opens_per_day` packets a day (REPORT_TIMEZONE days); never the sharer; never after the
  checkout behind it was wholly cancelled or refunded. One level only: what a friend receives
  is a balance, not a packet — they get a packet of their own by paying an order of their own.
  The amount is the configured rule (`RedPacketRules.amount`): a draw between the min and max
  (equal: fixed), never more than the packet has left.
* **The balance** is the grants' `remaining`, until each grant's expiry; platform-funded
  exactly like points: spent at checkout with `redPacketsToUse` (before points), on lines of
  products flagged `red_packets_usable`, at most the product's cap per unit (services/members.py
  `spread_balance`), grants expiring soonest first.
* **Refunds** give back the red-packet discount on the refunded units (all of it for a
  cancelled order) to the grants it came from, in proportion to what each gave; a grant keeps
  its expiry, so value returned after it lapsed is not spendable.

Locks: opening locks the opener's customer row (their daily count and once-per-packet rule
stay exact), then the packet row (its opens and budget). Checkout spends under the customer
lock it already holds, after the member account (services/members.py); refunds return after
the member account too."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import from_minor
from core.settings import Settings
from models.accounts import Customer
from models.orders import Order
from models.orders import OrderLine
from models.orders import OrderStatus
from models.red_packets import RedPacket
from models.red_packets import RedPacketGrant
from models.red_packets import RedPacketSpend
from services import members
from services import pricing
from services import settlement
from services.errors import DomainError
from services.errors import ErrorCode

RED_PACKET_SOURCE = "RED_PACKET"
RED_PACKET_LABEL = "红包抵扣"
PAID_STATES = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.COMPLETED}
)


@dataclass(frozen=True)
class RedPacketRules:
    """The platform's red packet settings (amounts in fen)."""

    max_opens: int = 5
    budget: int = 1000
    min_amount: int = 100
    max_amount: int = 300
    opens_per_day: int = 3
    share_days: int = 7
    valid_days: int = 7

    @classmethod
    def of(cls, settings: Settings) -> RedPacketRules:
        low = max(1, settings.red_packet_min_amount)
        return cls(
            max(0, settings.red_packet_max_opens),
            max(0, settings.red_packet_budget),
            low,
            max(low, settings.red_packet_max_amount),
            max(0, settings.red_packet_opens_per_day),
            max(1, settings.red_packet_share_days),
            max(1, settings.red_packet_valid_days),
        )

    def amount(self, draw: int, left: int) -> int:
        """One open's amount: `min + draw mod (max − min + 1)` (fixed when min = max), never
        more than the packet has `left`."""
        return min(left, self.min_amount + draw % (self.max_amount - self.min_amount + 1))


def draw() -> int:
    """The random part of an open's amount (tests replace it to fix the numbers)."""
    return secrets.randbits(32)


# --- sharing and opening -----------------------------------------------------------------------


async def share(
    session: AsyncSession, order_id: int, customer_id: int, now: datetime, rules: RedPacketRules
) -> RedPacket:
    """The packet of a paid order's checkout, made on first share (one statement,
    race-free); the same one every time after."""
    order = await session.get(Order, order_id)
    if order is None or order.customer_id != customer_id:
        raise DomainError(ErrorCode.NOT_FOUND, "No such order.", "orderId")
    if order.status not in PAID_STATES:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            "A red packet is shared once the order is paid (and not refunded).",
            "orderId",
        )
    await session.execute(
        members.dialect_insert(session, RedPacket)
        .values(
            token=secrets.token_urlsafe(32),
            sharer_id=customer_id,
            payment_id=order.payment_id,
            order_id=order.id,
            max_opens=rules.max_opens,
            budget=rules.budget,
            opens=0,
            given=0,
            created_at=now,
            expires_at=now + timedelta(days=rules.share_days),
        )
        .on_conflict_do_nothing(index_elements=[RedPacket.payment_id])
    )
    packet = await session.scalar(
        select(RedPacket)
        .where(RedPacket.payment_id == order.payment_id)
        .execution_options(populate_existing=True)
    )
    assert packet is not None
    return packet


async def open_packet(
    session: AsyncSession,
    token: str,
    customer_id: int,
    now: datetime,
    rules: RedPacketRules,
    zone: ZoneInfo,
) -> RedPacketGrant:
    """Open a friend's packet: a grant of the rule's amount, spendable until it expires."""
    await session.scalar(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    packet = await session.scalar(
        select(RedPacket)
        .where(RedPacket.token == token)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if packet is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such red packet.", "token")
    if packet.sharer_id == customer_id:
        raise DomainError(
            ErrorCode.RED_PACKET_OWN, "Share it with friends: a sharer cannot open it.", "token"
        )
    if now >= packet.expires_at or not await _backed(session, packet):
        raise DomainError(ErrorCode.RED_PACKET_EXPIRED, "This red packet no longer opens.", "token")
    opened = await session.scalar(
        select(RedPacketGrant.id).where(
            RedPacketGrant.packet_id == packet.id, RedPacketGrant.customer_id == customer_id
        )
    )
    if opened is not None:
        raise DomainError(
            ErrorCode.RED_PACKET_ALREADY_OPENED, "You opened this red packet already.", "token"
        )
    today = now.astimezone(zone).date()
    start, end = settlement.window(today, today, zone)
    count = await session.scalar(
        select(func.count())
        .select_from(RedPacketGrant)
        .where(
            RedPacketGrant.customer_id == customer_id,
            RedPacketGrant.opened_at >= start,
            RedPacketGrant.opened_at < end,
        )
    )
    if (count or 0) >= rules.opens_per_day:
        raise DomainError(
            ErrorCode.RED_PACKET_DAILY_LIMIT,
            f"At most {rules.opens_per_day} red packets a day: come back tomorrow.",
            "token",
        )
    amount = rules.amount(draw(), packet.budget - packet.given)
    if packet.opens >= packet.max_opens or amount <= 0:
        raise DomainError(ErrorCode.RED_PACKET_EMPTY, "This red packet is all taken.", "token")
    packet.opens += 1
    packet.given += amount
    grant = RedPacketGrant(
        packet_id=packet.id,
        customer_id=customer_id,
        amount=amount,
        remaining=amount,
        opened_at=now,
        expires_at=now + timedelta(days=rules.valid_days),
    )
    session.add(grant)
    await session.flush()
    return grant


async def _backed(session: AsyncSession, packet: RedPacket) -> bool:
    """Some order of the packet's checkout is still paid (not cancelled or refunded)."""
    return bool(
        await session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.payment_id == packet.payment_id, Order.status.in_(PAID_STATES))
        )
    )


# --- reading -------------------------------------------------------------------------------------


async def balance(session: AsyncSession, customer_id: int, now: datetime) -> int:
    """What the customer's grants have left, until each expires."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(RedPacketGrant.remaining), 0)).where(
                RedPacketGrant.customer_id == customer_id, RedPacketGrant.expires_at > now
            )
        )
        or 0
    )


async def packets_page(
    session: AsyncSession, sharer_id: int, offset: int, limit: int
) -> tuple[list[RedPacket], int]:
    """The packets a customer shares, newest first."""
    return await _page(session, RedPacket, RedPacket.sharer_id == sharer_id, offset, limit)


async def grants_page(
    session: AsyncSession, customer_id: int, offset: int, limit: int
) -> tuple[list[RedPacketGrant], int]:
    """What a customer received, newest first."""
    return await _page(
        session, RedPacketGrant, RedPacketGrant.customer_id == customer_id, offset, limit
    )


async def _page(
    session: AsyncSession, model: Any, where: Any, offset: int, limit: int
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(model).where(where))
    rows = await session.scalars(
        select(model).where(where).order_by(model.id.desc()).offset(offset).limit(limit)
    )
    return list(rows.all()), int(total or 0)


# --- checkout ------------------------------------------------------------------------------------


@dataclass
class RedPacketUse:
    balance: int
    max_usable: int  # the most this checkout could take (caps and balance)
    used: int  # minor units


class Terms(Protocol):
    """What red packets ask of a line's product: a Product now, or what an order line
    recorded of it when placed (services/orders.py `PlacedTerms`)."""

    @property
    def red_packets_usable(self) -> bool: ...

    @property
    def red_packet_cap(self) -> int | None: ...


def usable_lines(
    result: pricing.PricingResult, products: Mapping[str, Terms]
) -> list[tuple[pricing.LineResult, int]]:
    """Lines red packets may pay for, each with the most it may take: a line points could pay
    for, of a product flagged usable, at most the product's cap per unit."""
    found = []
    for r in members.usable_lines(result):
        product = products.get(r.line_id)
        if product is None or not product.red_packets_usable:
            continue
        cap = product.red_packet_cap
        most = r.total if cap is None else min(r.total, cap * r.quantity)
        if most > 0:
            found.append((r, most))
    return found


def max_discount(result: pricing.PricingResult, products: Mapping[str, Terms], held: int) -> int:
    return min(held, sum(most for _, most in usable_lines(result, products)))


def apply(
    result: pricing.PricingResult,
    line_merchants: dict[str, int],
    products: Mapping[str, Terms],
    requested: int,
    held: int,
) -> RedPacketUse:
    """Spend up to `requested` (fen) of the balance on a priced checkout, after promotions
    and coupons and before points: spread over the usable lines in proportion to what each
    may take. More than the lines take uses what they take; more than the balance is
    refused."""
    if requested < 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "Use zero or more.", "redPacketsToUse")
    if requested > held:
        raise DomainError(
            ErrorCode.INSUFFICIENT_RED_PACKETS,
            f"The red packet balance is ¥{from_minor(held)}.",
            "redPacketsToUse",
        )
    lines = usable_lines(result, products)
    cap = min(held, sum(most for _, most in lines))
    if requested and cap <= 0:
        raise DomainError(
            ErrorCode.RED_PACKETS_UNUSABLE,
            "Red packets cannot pay for any line of this checkout.",
            "redPacketsToUse",
        )
    used = min(requested, cap)
    members.spread_balance(
        result,
        line_merchants,
        [r for r, _ in lines],
        [most for _, most in lines],
        used,
        RED_PACKET_SOURCE,
        RED_PACKET_LABEL,
    )
    return RedPacketUse(held, cap, used)


def spend_balances(
    result: pricing.PricingResult,
    line_merchants: dict[str, int],
    products: Mapping[str, Terms],
    packets: tuple[int, int],
    points: tuple[int, int],
    rules: members.PointsRules,
) -> tuple[RedPacketUse | None, members.PointsUse | None]:
    """The platform-funded balances a priced checkout pays with, each as (asked, held), in
    their one order: red packets first (they expire), then points; shipping stays as priced.
    Checkout and the re-pricing of an order whose coupon moved both spend through here."""
    used_packets = apply(result, line_merchants, products, *packets) if packets[0] else None
    used_points = (
        members.apply_points(result, line_merchants, *points, rules) if points[0] else None
    )
    return used_packets, used_points


def discount_of(result: pricing.PricingResult) -> int:
    return sum(getattr(m, "red_packet_discount", 0) for m in result.merchants)


async def spend(session: AsyncSession, orders: Sequence[Order], now: datetime) -> None:
    """At checkout, under the customer's lock: each order's red-packet discount taken from
    the grants expiring soonest, one spend row per grant and order."""
    spending = [o for o in sorted(orders, key=lambda o: o.id) if o.red_packet_discount]
    if not spending:
        return
    grants = list(
        (
            await session.scalars(
                select(RedPacketGrant)
                .where(
                    RedPacketGrant.customer_id == spending[0].customer_id,
                    RedPacketGrant.expires_at > now,
                    RedPacketGrant.remaining > 0,
                )
                .order_by(RedPacketGrant.expires_at, RedPacketGrant.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    if sum(g.remaining for g in grants) < sum(o.red_packet_discount for o in spending):
        raise DomainError(
            ErrorCode.INSUFFICIENT_RED_PACKETS,
            "The red packet balance has changed: review and confirm again.",
            "redPacketsToUse",
        )
    for order in spending:
        due = order.red_packet_discount
        for grant in grants:
            take = min(due, grant.remaining)
            if take:
                grant.remaining -= take
                due -= take
                session.add(
                    RedPacketSpend(
                        grant_id=grant.id, order_id=order.id, amount=take, created_at=now
                    )
                )
    await session.flush()


# --- refunds and cancellations -----------------------------------------------------------------


async def on_refunded(session: AsyncSession, order: Order, lines: Sequence[OrderLine]) -> None:
    """After a refund or a cancellation: the red-packet discount on the refunded units (all
    of it for a cancelled order) back to the grants it came from, in proportion to what each
    still has out; what came back before is not given twice (replays give nothing)."""
    if not order.red_packet_discount:
        return
    due = (
        order.red_packet_discount
        if order.status == OrderStatus.CANCELLED
        else members.discount_refunded(lines, RED_PACKET_SOURCE)
    )
    spends = list(
        (
            await session.scalars(
                select(RedPacketSpend)
                .where(RedPacketSpend.order_id == order.id)
                .order_by(RedPacketSpend.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    back = min(due, sum(s.amount for s in spends)) - sum(s.returned for s in spends)
    if back <= 0:
        return
    shares = pricing.allocate(back, [s.amount - s.returned for s in spends])
    for spent, share in zip(spends, shares, strict=True):
        if share:
            spent.returned += share
            await session.execute(
                update(RedPacketGrant)
                .where(RedPacketGrant.id == spent.grant_id)
                .values(remaining=RedPacketGrant.remaining + share)
                .execution_options(synchronize_session=False)
            )
    await session.flush()


async def on_cancelled_unpaid(session: AsyncSession, orders: Sequence[Order]) -> None:
    """Unpaid orders cancelled or expired: what they spent comes back."""
    for order in orders:
        await on_refunded(session, order, ())
