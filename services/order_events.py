"""Order events for the notification side: each is told once per order and kind, however many
sweepers race to publish it — recorded in the `order_events` outbox (models/order_events.py) in the
transaction that makes it true, and emitted through services/events.py, so in-process
subscribers (`events.subscribe(BALANCE_DUE, ...)`) get it after that commit. Out-of-process
subscribers LISTEN on CHANNEL (PostgreSQL, told the newest event id at commit) or poll, and
read `after(their last id)`.

BALANCE_DUE (尾款提醒): a presale order AWAITING_BALANCE whose balance window has opened. The
sweeper publishes it (services/housekeeping.py) the first time it runs after the window
opens, or after the deposit comes in when that is later."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import from_minor
from models.order_events import OrderEvent
from models.order_events import OrderEventKind
from models.orders import Order
from models.orders import OrderStatus
from models.orders import Payment
from models.orders import PaymentKind
from models.orders import PaymentStatus
from services import events

CHANNEL = "zhongtai_order_events"
BALANCE_DUE = "order.balance_due"  # the in-process event name (services/events.py)
BATCH = 500
NAMES = {OrderEventKind.BALANCE_DUE: BALANCE_DUE}


async def publish(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert events not told yet (one per order and kind); how many were new."""
    if not rows:
        return 0
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    stmt = (
        insert(OrderEvent)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["kind", "order_id"])
        .returning(OrderEvent.id)
    )
    ids = list((await session.scalars(stmt)).all())
    told = set(ids)
    for event in await _by_ids(session, told):
        events.emit(session, NAMES[event.kind], **as_message(event))
    if postgres and ids:
        # delivered at commit, never for a rolled-back publish
        await session.execute(
            text("SELECT pg_notify(:channel, :last)"), {"channel": CHANNEL, "last": str(max(ids))}
        )
    return len(ids)


async def _by_ids(session: AsyncSession, ids: set[int]) -> list[OrderEvent]:
    if not ids:
        return []
    stmt = select(OrderEvent).where(OrderEvent.id.in_(sorted(ids))).order_by(OrderEvent.id)
    return list((await session.scalars(stmt)).all())


def as_message(event: OrderEvent) -> dict[str, Any]:
    """What a subscriber is told: the event's ids and its payload."""
    return {
        "eventId": event.id,
        "kind": event.kind.value,
        "orderId": event.order_id,
        "customerId": event.customer_id,
        "merchantId": event.merchant_id,
        **event.payload,
    }


async def publish_balance_due(session: AsyncSession, now: datetime) -> int:
    """BALANCE_DUE for every deposit-paid presale whose balance window is open now and that
    has not been told yet. The caller commits."""
    told = exists().where(
        OrderEvent.order_id == Order.id, OrderEvent.kind == OrderEventKind.BALANCE_DUE
    )
    due = (
        await session.execute(
            select(Order, Payment)
            .join(Payment, Payment.id == Order.balance_payment_id)
            .where(
                Order.status == OrderStatus.AWAITING_BALANCE,
                Payment.kind == PaymentKind.BALANCE,
                Payment.status == PaymentStatus.PENDING,
                Payment.opens_at <= now,
                Payment.expires_at > now,
                ~told,
            )
            .order_by(Order.id)
            .limit(BATCH)
        )
    ).all()
    return await publish(
        session,
        [
            {
                "kind": OrderEventKind.BALANCE_DUE,
                "order_id": order.id,
                "customer_id": order.customer_id,
                "merchant_id": order.merchant_id,
                "created_at": now,
                "payload": {
                    "orderNumber": order.number,
                    "balancePaymentId": balance.id,
                    # this order's share; the balance payment may cover its siblings too
                    "balanceDue": str(from_minor(order.total - order.deposit_amount)),
                    "opensAt": balance.opens_at.isoformat() if balance.opens_at else None,
                    "closesAt": balance.expires_at.isoformat(),
                },
            }
            for order, balance in due
        ],
    )


async def after(session: AsyncSession, last_id: int, limit: int = 100) -> list[OrderEvent]:
    """Events newer than `last_id`, oldest first: what a subscriber reads next."""
    return list(
        (
            await session.scalars(
                select(OrderEvent)
                .where(OrderEvent.id > last_id)
                .order_by(OrderEvent.id)
                .limit(limit)
            )
        ).all()
    )
