"""Coupons are never over-issued (DOMAIN.md §5), proven on PostgreSQL from two OS processes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from models import Coupon
from models import CouponTemplate
from models import Customer
from models.coupons import CouponType
from models.coupons import Distribution
from services import coupons
from tests.concurrency.conftest import run_workers

pytestmark = pytest.mark.pg


async def setup(engine: AsyncEngine, customers: int, **template: object) -> int:
    async with create_session_factory(engine)() as s:
        s.add_all(
            Customer(name=f"c{i}", phone=f"138{i:08d}", password_hash="x") for i in range(customers)
        )
        now = utcnow()
        created = await coupons.create_template(
            s,
            coupons.TemplateData(
                name="抢券",
                type=CouponType.CASH,
                amount=Decimal(5),
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=1),
                **template,  # type: ignore[arg-type]
            ),
        )
        await s.commit()
        return created.id


async def test_300_claims_by_150_customers_issue_exactly_50(
    pg_engine: AsyncEngine, pg_migrated: str
) -> None:
    tid = await setup(
        pg_engine, 150, total_quantity=50, distribution=Distribution.PUBLIC, per_customer_limit=1
    )
    results = await run_workers(
        [
            "claim",
            pg_migrated,
            "--template",
            str(tid),
            "--customers",
            "1-75",
            "--times",
            "2",
            "--concurrency",
            "20",
        ],
        [
            "claim",
            pg_migrated,
            "--template",
            str(tid),
            "--customers",
            "76-150",
            "--times",
            "2",
            "--concurrency",
            "20",
        ],
    )
    assert [r["errors"] for r in results] == [[], []]
    assert sum(r.get("ok", 0) for r in results) == 50
    assert all(r.get("ok", 0) > 0 for r in results)  # both processes won some
    async with create_session_factory(pg_engine)() as s:
        issued = await s.scalar(select(func.count()).select_from(Coupon))
        per_customer = (
            await s.scalars(select(func.count()).select_from(Coupon).group_by(Coupon.customer_id))
        ).all()
        most = max(per_customer)
        counter = (await s.get_one(CouponTemplate, tid)).issued_count
    assert issued == 50 and counter == 50
    assert most == 1  # nobody has two


async def test_100_concurrent_redemptions_of_one_code(
    pg_engine: AsyncEngine, pg_migrated: str
) -> None:
    tid = await setup(
        pg_engine, 100, total_quantity=10, distribution=Distribution.CODE, per_customer_limit=5
    )
    async with create_session_factory(pg_engine)() as s:
        (code,) = await coupons.generate_codes(s, tid, 1)
        await s.commit()
    results = await run_workers(
        ["redeem", pg_migrated, "--code", code, "--customers", "1-50", "--concurrency", "25"],
        ["redeem", pg_migrated, "--code", code, "--customers", "51-100", "--concurrency", "25"],
    )
    assert [r["errors"] for r in results] == [[], []]
    assert sum(r.get("ok", 0) for r in results) == 1
    assert sum(r.get("CODE_ALREADY_USED", 0) for r in results) == 99
    async with create_session_factory(pg_engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Coupon)) == 1
