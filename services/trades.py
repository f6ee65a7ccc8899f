"""Payments at Alipay and WeChat Pay: opening a trade for a channel, believing a provider's
signed word that it was paid, asking before an unpaid payment expires, closing before it is
cancelled.

No database lock is held while a provider is called, except for refunds (services/ledger.py):
a trade row is written first, the provider called after, so a slow provider never blocks a
checkout."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from models.inventory import ReservationStatus
from models.orders import Order
from models.orders import Payment
from models.orders import PaymentStatus
from models.payments import PaymentTrade
from models.payments import ProviderRefund
from models.payments import TradeStatus
from services import inventory
from services import ledger
from services import members
from services import orders
from services import payments
from services.errors import DomainError
from services.errors import ErrorCode
from services.unit_of_work import in_new_session

log = logging.getLogger("zhongtai.payments")
T = TypeVar("T")
# While the provider cannot be asked, an expiring payment's stock is held this much longer,
# for at most HOLD_LIMIT past its deadline; then it is cancelled anyway (money that turns up
# later is recorded and flagged for refund, like any late payment).
HOLD_STEP = timedelta(minutes=5)
HOLD_LIMIT = timedelta(hours=1)


def out_trade_no(payment_id: int, provider: str, channel: str) -> str:
    """Ours, unique per payment, provider and channel (WeChat allows [0-9A-Za-z_-], ≤32)."""
    return f"ZT{payment_id:08d}-{provider[:2]}-{channel}"[:32]


def reopened_number(number: str, last: str) -> str:
    """The next number of a trade reopened: ZT…-AL-WEB, then ZT…-AL-WEB-2, -3, …"""
    revision = int(last.rsplit("-", 1)[1]) + 1 if last != number else 2
    return f"{number[: 31 - len(str(revision))]}-{revision}"


# --- starting a payment ---------------------------------------------------------------------


@dataclass
class Opened:
    trade: PaymentTrade
    request: payments.TradeRequest


async def open_trade(
    session: AsyncSession,
    payment_id: int,
    customer_id: int,
    provider: str,
    channel: str,
    currency: str,
    now: datetime,
    *,
    openid: str | None = None,
    payer_ip: str | None = None,
) -> Opened:
    """The customer's own payment, still payable: its trade for this provider and channel
    (made once, reused when the customer comes back)."""
    payments.provider(provider)  # enabled here, or refused before anything is written
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.customer_id != customer_id:
        raise DomainError(ErrorCode.NOT_FOUND, "No such payment.", "paymentId")
    if payment.status != PaymentStatus.PENDING or payment.expires_at <= now:
        raise DomainError(
            ErrorCode.PAYMENT_CLOSED,
            f"This payment is {payment.status.value if payment.expires_at > now else 'EXPIRED'}.",
            "paymentId",
        )
    number = out_trade_no(payment.id, provider, channel)
    trade = await session.scalar(
        select(PaymentTrade).where(
            PaymentTrade.payment_id == payment.id,
            PaymentTrade.provider == provider,
            PaymentTrade.channel == channel,
        )
    )
    if trade is not None and trade.status == TradeStatus.CLOSED:
        # closed at the provider while the payment stayed payable (its amount changed: a
        # coupon followed the customer elsewhere): a closed number can't be paid, so the
        # trade reopens under the next one, for the amount due now
        trade.out_trade_no = reopened_number(number, trade.out_trade_no)
        trade.status, trade.created_at = TradeStatus.OPEN, now
        await session.flush()
    if trade is None:
        trade = PaymentTrade(
            payment_id=payment.id,
            provider=provider,
            channel=channel,
            out_trade_no=number,
            status=TradeStatus.OPEN,
            created_at=now,
        )
        session.add(trade)
        await session.flush()
    return Opened(
        trade,
        payments.TradeRequest(
            out_trade_no=trade.out_trade_no,
            amount=payment.amount_due,
            currency=currency,
            subject=await _subject(session, payment),
            channel=channel,
            expires_at=payment.expires_at,
            openid=openid,
            payer_ip=payer_ip,
        ),
    )


async def _subject(session: AsyncSession, payment: Payment) -> str:
    numbers = (
        await session.scalars(
            select(Order.number)
            .where((Order.payment_id == payment.id) | (Order.balance_payment_id == payment.id))
            .order_by(Order.id)
        )
    ).all()
    return ("Zhongtai " + " ".join(numbers))[:120]


# --- believing a provider ---------------------------------------------------------------------


async def accept(
    session: AsyncSession,
    provider: str,
    paid: payments.Paid,
    currency: str,
    now: datetime,
    points: members.PointsRules,
) -> orders.Confirmation:
    """A verified payment (notification or query) for one of our trades: amount and currency
    checked, then recorded exactly once. Anything wrong is a DomainError: nothing changes."""
    # Locked: a provider retrying while the first notification is still being recorded
    # waits for it, then finds it done (never two refunds of money paid twice).
    trade = await session.scalar(
        select(PaymentTrade)
        .where(PaymentTrade.out_trade_no == paid.out_trade_no, PaymentTrade.provider == provider)
        .with_for_update()
    )
    if trade is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No trade {paid.out_trade_no}.", "outTradeNo")
    if paid.currency != currency:
        raise DomainError(
            ErrorCode.PAYMENT_AMOUNT_MISMATCH,
            f"Paid in {paid.currency}, due in {currency}.",
            "currency",
        )
    payment = await session.get(Payment, trade.payment_id)
    if (
        payment is not None
        and payment.transaction_id is not None
        and (payment.provider, payment.transaction_id) != (provider, paid.transaction_id)
    ):
        return await _refund_second_payment(session, trade, payment, paid, now)
    confirmed = await orders.record_payment(
        session,
        trade.payment_id,
        provider,
        paid.transaction_id,
        paid.amount,
        now,
        points=points,
        paid_at=paid.paid_at,
    )
    trade.status = TradeStatus.PAID
    await session.flush()
    return confirmed


async def _refund_second_payment(
    session: AsyncSession, trade: PaymentTrade, payment: Payment, paid: payments.Paid, now: datetime
) -> orders.Confirmation:
    """The customer paid the same payment twice (a second provider or channel): the first
    money pays the orders; this one goes straight back through the provider that took it, on
    the refund ledger under its own transaction. Idempotent: a repeated notification finds the
    refund already asked for."""
    reference = f"dup-{trade.out_trade_no}"[:64]
    asked = await session.scalar(
        select(ProviderRefund).where(
            ProviderRefund.provider == trade.provider, ProviderRefund.reference == reference
        )
    )
    if asked is None:
        await ledger.refund_at_provider(
            session,
            payment.id,
            trade.provider,
            paid.transaction_id,
            trade.out_trade_no,
            reference,
            paid.amount,
            paid.amount,
            now,
            "paid twice",
        )
        log.warning(
            "payment %s paid twice (%s %s): the second is refunded",
            payment.id,
            trade.provider,
            paid.transaction_id,
        )
    trade.status = TradeStatus.PAID
    await session.flush()
    return orders.Confirmation(payment, False)


async def refund_settled(
    session: AsyncSession, provider: str, notice: payments.RefundNotice, now: datetime
) -> None:
    await ledger.settle(session, provider, notice, now)


async def record_offline(
    session: AsyncSession,
    payment_id: int,
    reference: str,
    amount: int,
    now: datetime,
    points: members.PointsRules,
) -> orders.Confirmation:
    """Staff saw a bank transfer arrive: the reference is the bank's."""
    reference = reference.strip()
    if not reference or len(reference) > 100:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "Give the transfer's reference (at most 100 characters).",
            "reference",
        )
    return await orders.record_payment(
        session, payment_id, payments.OFFLINE.name, reference, amount, now, points=points
    )


# --- before expiry and before cancellation ------------------------------------------------------

Run = Callable[[Callable[[AsyncSession], Awaitable[T]]], Awaitable[T]]


async def open_trades(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> list[PaymentTrade]:
    return list(
        (
            await session.scalars(
                select(PaymentTrade)
                .join(Payment, Payment.id == PaymentTrade.payment_id)
                .where(
                    PaymentTrade.status == TradeStatus.OPEN,
                    PaymentTrade.provider.in_(
                        [p for p in payments.REMOTE if p in payments.PROVIDERS]
                    ),
                    *where,
                )
                .order_by(PaymentTrade.id)
                .limit(100)
            )
        ).all()
    )


async def settle_trade(
    factory: async_sessionmaker[AsyncSession],
    trade: PaymentTrade,
    currency: str,
    now: datetime,
    points: members.PointsRules,
) -> bool:
    """Ask the provider: paid → record it (True); unpaid → close it there, so it can no
    longer be paid, and mark it closed. Raises PROVIDER_UNAVAILABLE when it can't answer.
    Each answer is recorded in a unit of work of its own, not the caller's: what the provider
    said stays true even when the cancel or sweep that asked goes on to fail."""
    gateway = payments.provider(trade.provider)
    state = await gateway.query(trade.out_trade_no)
    if state.paid is not None:
        paid = state.paid
        await in_new_session(
            factory, lambda s: accept(s, trade.provider, paid, currency, now, points)
        )
        return True
    if not state.closed:
        await gateway.close(trade.out_trade_no)
    await in_new_session(factory, lambda s: _mark(s, trade.id, TradeStatus.CLOSED))
    return False


async def _mark(session: AsyncSession, trade_id: int, status: TradeStatus) -> None:
    trade = await session.get(PaymentTrade, trade_id)
    if trade is not None and trade.status == TradeStatus.OPEN:
        trade.status = status


async def settle_before_expiry(
    factory: async_sessionmaker[AsyncSession],
    currency: str,
    now: datetime,
    points: members.PointsRules,
) -> int:
    """Sweeper step, before reservations expire: every open trade of a payment past its
    deadline is asked about. Money taken in time pays the orders (the sweep then finds the
    reservation committed and leaves them alone); the rest is closed at the provider. A
    provider that can't be asked holds the stock a little longer (HOLD_STEP, up to
    HOLD_LIMIT) rather than cancel what may have been paid."""
    async with factory() as session:
        due = await open_trades(
            session, [Payment.status == PaymentStatus.PENDING, Payment.expires_at <= now]
        )
    paid = 0
    for trade in due:
        try:
            paid += await settle_trade(factory, trade, currency, now, points)
        except DomainError as error:
            log.warning(
                "trade %s not settled before expiry: %s",
                trade.out_trade_no,
                error.violations[0].message,
            )
            if error.code == ErrorCode.PROVIDER_UNAVAILABLE:
                await in_new_session(factory, partial(_hold, trade=trade, now=now))
    return paid


async def _hold(session: AsyncSession, trade: PaymentTrade, now: datetime) -> None:
    payment = await session.get(Payment, trade.payment_id)
    if payment is None or now >= payment.expires_at + HOLD_LIMIT:
        return
    reservation = await inventory.lock_reservation(
        session, payment.reservation_owner, missing_ok=True
    )
    if reservation is not None and reservation.status == ReservationStatus.ACTIVE:
        await inventory.extend(session, payment.reservation_owner, now + HOLD_STEP, now)


async def settle_before_cancel(
    factory: async_sessionmaker[AsyncSession],
    payment_ids: list[int],
    currency: str,
    now: datetime,
    points: members.PointsRules,
) -> None:
    """Before an unpaid order is cancelled, its open trades are settled: a paid one pays the
    order (which then can't be cancelled as unpaid), the others are closed at the provider so
    no money can arrive after the cancellation. PROVIDER_UNAVAILABLE refuses the cancel."""
    async with factory() as session:
        trades = await open_trades(
            session, [Payment.id.in_(payment_ids), Payment.status == PaymentStatus.PENDING]
        )
    for trade in trades:
        await settle_trade(factory, trade, currency, now, points)
