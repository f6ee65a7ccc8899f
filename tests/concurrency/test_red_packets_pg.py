"""Red packets under fire (services/red_packets.py), on PostgreSQL, through GraphQL, from two
OS processes each running the API: one customer with twelve carts checks each out from both
processes at once, every call paying 5.00 from a red packet balance of 10.00 — exactly two
are placed, and the grant never goes below zero."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.db import create_session_factory
from models import Customer
from models import Order
from models import Payment
from models import Product
from models import RedPacket
from models import RedPacketGrant
from models import RedPacketSpend
from models import Sku
from models.orders import OrderStatus
from models.orders import PaymentKind
from models.orders import PaymentStatus
from tests.api.test_batching import seed_listing
from tests.concurrency.conftest import checkout_from_two_processes
from tests.concurrency.shoppers import one_customers_checkouts
from tests.concurrency.shoppers import receive_first_warehouse

pytestmark = pytest.mark.pg

SKU = 1  # P0-red, 10.00; its product takes red packets, no cap
CARTS = 12


async def test_concurrent_checkouts_never_spend_more_red_packets_than_the_balance(
    pg_engine: AsyncEngine, pg_migrated: str, tmp_path: Path
) -> None:
    await seed_listing(pg_engine, 1)
    now = utcnow()
    async with create_session_factory(pg_engine)() as s:
        await receive_first_warehouse(s, SKU, 90, "red packet test")
        sku = await s.get(Sku, SKU)
        assert sku is not None
        await s.execute(
            update(Product).where(Product.id == sku.product_id).values(red_packets_usable=True)
        )
        sharer = Customer(name="分享人", phone="13900000002", password_hash="x")
        friend = Customer(name="红包好友", phone="13900000001", password_hash="x")
        s.add_all([sharer, friend])
        await s.flush()
        packet = await _shared_packet(s, sharer.id, sku.merchant_id, now)
        # the friend opened it: 10.00 to spend
        s.add(
            RedPacketGrant(
                packet_id=packet.id,
                customer_id=friend.id,
                amount=1000,
                remaining=1000,
                opened_at=now,
                expires_at=now + timedelta(days=7),
            )
        )
        plan = await one_customers_checkouts(
            s, friend.id, SKU, CARTS, "red-packet", redPackets="5.00"
        )
        await s.commit()
    outcomes = await checkout_from_two_processes(pg_migrated, plan, tmp_path)
    assert set(outcomes) - {"ok"} <= {"INSUFFICIENT_RED_PACKETS", "EMPTY_CHECKOUT"}
    assert sum(outcomes.values()) == 2 * CARTS
    assert outcomes["ok"] == 2  # 10.00 pays 5.00 twice
    async with create_session_factory(pg_engine)() as s:
        grant = await s.scalar(
            select(RedPacketGrant).where(RedPacketGrant.customer_id == friend.id)
        )
        assert grant is not None and grant.remaining == 0
        spent = await s.scalar(select(func.sum(RedPacketSpend.amount)))
        assert spent == 1000
        paid_with = await s.scalar(
            select(func.sum(Order.red_packet_discount)).where(Order.customer_id == friend.id)
        )
        assert paid_with == 1000


async def _shared_packet(
    s: AsyncSession, sharer_id: int, merchant_id: int, now: datetime
) -> RedPacket:
    """A paid checkout of the sharer and its packet, as the API would have left them."""
    payment = Payment(
        customer_id=sharer_id,
        idempotency_key="shared",
        request_hash="x",
        status=PaymentStatus.PAID,
        kind=PaymentKind.FULL,
        amount_due=1000,
        expires_at=now,
        created_at=now,
    )
    s.add(payment)
    await s.flush()
    order = Order(
        number="2026000000000101",
        payment_id=payment.id,
        customer_id=sharer_id,
        merchant_id=merchant_id,
        channel="WEB",
        status=OrderStatus.PAID,
        subtotal=1000,
        promotion_discount=0,
        coupon_discount=0,
        shipping=0,
        total=1000,
        deposit_amount=0,
        refunded_amount=0,
        address={},
        created_at=now,
    )
    s.add(order)
    await s.flush()
    packet = RedPacket(
        token="a-shared-packet-token-of-43-characters-xxxx",
        sharer_id=sharer_id,
        payment_id=payment.id,
        order_id=order.id,
        max_opens=5,
        budget=1000,
        opens=1,
        given=1000,
        created_at=now,
        expires_at=now,
    )
    s.add(packet)
    await s.flush()
    return packet
