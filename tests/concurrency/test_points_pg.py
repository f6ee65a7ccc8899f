"""Points under fire (services/members.py), on PostgreSQL, through GraphQL, from two OS
processes each running the API: one member with twelve carts checks each out from both
processes at once, every call paying 500 points; a balance of 1,000 pays for exactly two, and
the balance never goes below zero."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from models import Customer
from models import MemberAccount
from models import PointsEntry
from models.members import PointsKind
from services import members
from tests.api.test_batching import seed_listing
from tests.concurrency.conftest import checkout_from_two_processes
from tests.concurrency.shoppers import one_customers_checkouts
from tests.concurrency.shoppers import receive_first_warehouse

pytestmark = pytest.mark.pg

SKU = 1  # P0-red, 10.00: at most 50% = 5.00 = 500 points of it
CARTS = 12


async def test_concurrent_checkouts_never_spend_more_points_than_the_balance(
    pg_engine: AsyncEngine, pg_migrated: str, tmp_path: Path
) -> None:
    await seed_listing(pg_engine, 1)
    now = utcnow()
    async with create_session_factory(pg_engine)() as s:
        await receive_first_warehouse(s, SKU, 90, "points test")
        member = Customer(name="积分会员", phone="13900000001", password_hash="x")
        s.add(member)
        await s.flush()
        plan = await one_customers_checkouts(s, member.id, SKU, CARTS, "points", points=500)
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
