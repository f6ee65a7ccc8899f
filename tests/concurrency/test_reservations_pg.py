"""Never oversell (DOMAIN.md §2), proven on PostgreSQL with two OS processes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from models import Reservation
from models import ReservationLine
from models import StockLevel
from models import StockMovement
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.inventory import ReservationStatus
from services import catalog
from services import inventory
from services import products
from tests.concurrency.conftest import run_workers

pytestmark = pytest.mark.pg


async def make_skus(engine: AsyncEngine, stock: list[list[int]]) -> list[int]:
    """One product with len(stock) SKUs; stock[i] = on-hand units per warehouse (priority
    descending)."""
    from decimal import Decimal

    async with create_session_factory(engine)() as s:
        merchant = await catalog.create_merchant(s, catalog.MerchantData("M", True))
        warehouses = [
            await inventory.create_warehouse(s, merchant.id, f"W{i}", f"W{i}", priority=10 - i)
            for i in range(max(len(x) for x in stock))
        ]
        brand = await catalog.create_brand(s, catalog.BrandData("B"))
        leaf = await catalog.create_category(s, "leaf", None)
        size = await catalog.create_attribute(
            s,
            catalog.AttributeData(
                leaf.id,
                "size",
                AttributeKind.SALES,
                AttributeValueType.OPTIONS,
                [str(i) for i in range(len(stock))],
            ),
        )
        product = await products.create_product(
            s,
            products.ProductDraft(
                title="P",
                brand_id=brand.id,
                category_id=leaf.id,
                merchant_id=merchant.id,
                skus=[
                    products.SkuDraft(specs=[(size.id, str(i))], code=f"S{i}", price=Decimal(1))
                    for i in range(len(stock))
                ],
            ),
        )
        from models import Sku

        sku_ids = list(
            (
                await s.scalars(select(Sku.id).where(Sku.product_id == product.id).order_by(Sku.id))
            ).all()
        )
        for sku_id, per_warehouse in zip(sku_ids, stock, strict=True):
            for warehouse, units in zip(warehouses, per_warehouse, strict=False):
                if units:
                    await inventory.receive_stock(s, sku_id, warehouse.id, units, "opening", None)
        await s.commit()
        return sku_ids


async def assert_consistent(engine: AsyncEngine) -> None:
    """reserved ≤ on_hand everywhere; reserved equals the live reservation lines; the ledger
    sums to on_hand."""
    async with create_session_factory(engine)() as s:
        for level in (await s.scalars(select(StockLevel))).all():
            assert 0 <= level.reserved <= level.on_hand
            held = await s.scalar(
                select(
                    func.coalesce(func.sum(ReservationLine.quantity - ReservationLine.consumed), 0)
                )
                .join(Reservation)
                .where(
                    ReservationLine.sku_id == level.sku_id,
                    ReservationLine.warehouse_id == level.warehouse_id,
                    Reservation.status.in_([ReservationStatus.ACTIVE, ReservationStatus.COMMITTED]),
                )
            )
            assert held == level.reserved
            ledger = await s.scalar(
                select(func.sum(StockMovement.quantity)).where(
                    StockMovement.sku_id == level.sku_id,
                    StockMovement.warehouse_id == level.warehouse_id,
                )
            )
            assert ledger == level.on_hand


def reserve_worker(
    db: str, skus: str, *, attempts: int, concurrency: int, prefix: str
) -> list[str]:
    """The arguments of a worker process reserving `skus` (comma-separated ids) again and
    again, under keys starting with `prefix`."""
    return [
        "reserve",
        db,
        "--skus",
        skus,
        "--attempts",
        str(attempts),
        "--concurrency",
        str(concurrency),
        "--prefix",
        prefix,
    ]


async def test_500_attempts_from_two_processes_reserve_exactly_100(
    pg_engine: AsyncEngine, pg_migrated: str
) -> None:
    (sku,) = await make_skus(pg_engine, [[60, 40]])
    results = await run_workers(
        reserve_worker(pg_migrated, str(sku), attempts=250, concurrency=25, prefix="a"),
        reserve_worker(pg_migrated, str(sku), attempts=250, concurrency=25, prefix="b"),
    )
    assert [r["errors"] for r in results] == [[], []]
    assert sum(r["ok"] for r in results) == 100
    assert sum(r["insufficient"] for r in results) == 400
    assert all(r["ok"] > 0 for r in results)  # both processes really competed
    async with create_session_factory(pg_engine)() as s:
        reserved = await s.scalar(
            select(func.sum(StockLevel.reserved)).where(StockLevel.sku_id == sku)
        )
        assert reserved == 100
    await assert_consistent(pg_engine)


async def test_opposite_order_multi_line_reservations_never_deadlock(
    pg_engine: AsyncEngine, pg_migrated: str
) -> None:
    sku_a, sku_b = await make_skus(pg_engine, [[30, 30], [25, 25]])
    results = await run_workers(
        reserve_worker(pg_migrated, f"{sku_a},{sku_b}", attempts=150, concurrency=20, prefix="ab"),
        reserve_worker(pg_migrated, f"{sku_b},{sku_a}", attempts=150, concurrency=20, prefix="ba"),
    )
    assert [r["errors"] for r in results] == [[], []]  # no deadlock reached a caller
    assert sum(r["ok"] for r in results) == 50  # sku_b (50 units) runs out first
    async with create_session_factory(pg_engine)() as s:
        held = dict(
            (
                await s.execute(
                    select(StockLevel.sku_id, func.sum(StockLevel.reserved)).group_by(
                        StockLevel.sku_id
                    )
                )
            ).all()
        )
    assert held == {sku_a: 50, sku_b: 50}  # all-or-nothing: every success took both
    await assert_consistent(pg_engine)


async def test_two_concurrent_sweepers_expire_each_reservation_once(
    pg_engine: AsyncEngine, pg_migrated: str
) -> None:
    (sku,) = await make_skus(pg_engine, [[100]])
    factory = create_session_factory(pg_engine)
    past = utcnow() - timedelta(hours=1)
    async with factory() as s:
        for i in range(60):
            await inventory.reserve(
                s, [(sku, 1)], f"order:{i}", past, ttl=timedelta(minutes=30 if i < 50 else 120)
            )
        await s.commit()
    results = await run_workers(["sweep", pg_migrated], ["sweep", pg_migrated], delay=1.0)
    assert sum(r["expired"] for r in results) == 50
    async with factory() as s:
        statuses = dict(
            (
                await s.execute(
                    select(Reservation.status, func.count()).group_by(Reservation.status)
                )
            ).all()
        )
        assert statuses == {ReservationStatus.EXPIRED: 50, ReservationStatus.ACTIVE: 10}
        reserved = await s.scalar(select(StockLevel.reserved).where(StockLevel.sku_id == sku))
        assert reserved == 10
    await assert_consistent(pg_engine)


async def test_database_refuses_reserved_above_on_hand(pg_engine: AsyncEngine) -> None:
    """The CHECK constraint is the last line of defence, independent of the service."""
    from sqlalchemy.exc import IntegrityError

    (sku,) = await make_skus(pg_engine, [[5]])
    async with create_session_factory(pg_engine)() as s:
        with pytest.raises(IntegrityError):
            await s.execute(update(StockLevel).where(StockLevel.sku_id == sku).values(reserved=6))
