"""Points under fire (services/members.py), on PostgreSQL, through GraphQL, from two OS
processes each running the API: one member with twelve carts checks each out from both
processes at once, every call paying 500 points; a balance of 1,000 pays for exactly two, and
the balance never goes below zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from core.ids import encode_id
from models import Address, Cart, CartLine, Customer, MemberAccount, PointsEntry, Warehouse
from models.members import PointsKind
from services import inventory, members
from tests.api.test_batching import seed_listing
from tests.concurrency.conftest import checkout_from_two_processes

pytestmark = pytest.mark.pg

SKU = 1  # P0-red, 10.00: at most 50% = 5.00 = 500 points of it
CARTS = 12


async def test_concurrent_checkouts_never_spend_more_points_than_the_balance(
    pg_engine: AsyncEngine, pg_migrated: str, tmp_path: Path
) -> None:
    await seed_listing(pg_engine, 1)
    now = utcnow()
    async with create_session_factory(pg_engine)() as s:
        warehouse = (await s.scalars(select(Warehouse.id).order_by(Warehouse.id))).first()
        assert warehouse is not None
        await inventory.receive_stock(s, SKU, warehouse, 90, "points test", None)
        member = Customer(name="积分会员", phone="13900000001", password_hash="x")
        s.add(member)
        await s.flush()
        address = Address(
            customer_id=member.id,
            name="n",
            phone="13900000001",
            province="p",
            city="c",
            line1="l",
            is_default=True,
        )
        s.add(address)
        plan = []
        for i in range(CARTS):
            cart = Cart(
                token=f"points-cart-{i}-checkout-token", customer_id=member.id, channel="WEB"
            )
            s.add(cart)
            await s.flush()
            s.add(CartLine(cart_id=cart.id, sku_id=SKU, quantity=1, selected=True))
            plan.append(
                {
                    "id": member.id,
                    "key": f"cart-{i}",
                    "cart": cart.token,
                    "address": encode_id("Address", address.id),
                    "points": 500,
                }
            )
        await members.post(s, member.id, PointsKind.ADJUST, 1000, 0, now, note="gift")
        await s.commit()
    outcomes = await checkout_from_two_processes(pg_migrated, plan, tmp_path)
    assert set(outcomes) - {"ok"} <= {"INSUFFICIENT_POINTS", "EMPTY_CHECKOUT"}
    assert sum(outcomes.values()) == 2 * CARTS
    assert outcomes["ok"] == 2  # 1,000 points pay 500 twice
    async with create_session_factory(pg_engine)() as s:
        account = await s.get(MemberAccount, member.id)
        assert account is not None and account.points == 0
        assert await members.ledger_sums(s, member.id) == (0, 0)
        spends = await s.scalar(
            select(func.count())
            .select_from(PointsEntry)
            .where(PointsEntry.kind == PointsKind.SPEND)
        )
        assert spends == 2
