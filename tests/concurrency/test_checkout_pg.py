"""Checkout under fire (DOMAIN.md §2, §4, §5, §7; issue 7), on PostgreSQL, through GraphQL,
from two OS processes each running the API: a flash sale never sells more than its promotion
stock or the SKU's stock, no coupon is used twice, every refusal is a userError; and one
idempotency key places one checkout however many times it is sent at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from models import Coupon
from models import Order
from models import OrderDiscount
from models import OrderLine
from models import Payment
from models import Promotion
from models import Reservation
from models import Sku
from models import StockLevel
from models import Warehouse
from models.coupons import CouponStatus
from models.promotions import PromotionType
from services import inventory
from services import promotions
from tests.api.test_batching import seed_listing
from tests.concurrency.conftest import run_workers
from tests.concurrency.shoppers import make_shoppers

pytestmark = pytest.mark.pg

SKU = 1  # P0-red, 10.00


@dataclass
class Sale:
    promotion_id: int
    plan: Path


def checkout_worker(db: str, sale: Sale, key: str, *options: str) -> list[str]:
    """The arguments of a worker process checking out `sale` with idempotency key `key`."""
    return ["checkout", db, "--plan", str(sale.plan), "--key", key, *options]


async def flash_sale(engine: AsyncEngine, tmp_path: Path, customers: int) -> Sale:
    """100 units of one SKU at 10.00; a flash price of 5.00 for 50 of them; every customer
    holds a 1.00 coupon and a cart with one unit."""
    await seed_listing(engine, 1)
    now = utcnow()
    async with create_session_factory(engine)() as s:
        warehouse = (
            await s.execute(select(Warehouse.id).order_by(Warehouse.id).limit(1))
        ).scalar_one()
        await inventory.receive_stock(s, SKU, warehouse, 90, "flash sale", None)  # 10 → 100
        promotion = await promotions.create_promotion(
            s,
            promotions.PromotionData(
                name="秒杀",
                type=PromotionType.SINGLE_PRODUCT,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=2),
                rules={"special_price": Decimal(5), "promotion_stock": 50},
                scope=promotions.ScopeData(sku_ids=[SKU]),
            ),
            now,
        )
        await promotions.activate(s, promotion.id, now)
        await s.commit()
        plan = await make_shoppers(s, customers, "139", lambda _: [SKU], now)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return Sale(promotion.id, path)


async def test_flash_sale_through_graphql_from_two_processes(
    pg_engine: AsyncEngine, pg_migrated: str, tmp_path: Path
) -> None:
    """500 customers, each checking out twice at once — once in each API process: one call
    insists on the flash total (4.00 after the coupon), the other takes whatever the price
    is. 1,000 attempts for 100 units of which 50 are at the flash price."""
    sale = await flash_sale(pg_engine, tmp_path, 500)
    results = await run_workers(
        checkout_worker(pg_migrated, sale, "flash", "--expected", "4.00", "--concurrency", "16"),
        checkout_worker(pg_migrated, sale, "any", "--concurrency", "16"),
    )
    assert [r["errors"] for r in results] == [[], []]  # every refusal was a userError
    assert sum(sum(v for k, v in r.items() if isinstance(v, int)) for r in results) == 1000
    refusals = {k for r in results for k, v in r.items() if isinstance(v, int) and k != "ok"}
    assert refusals <= {
        "PRICE_CHANGED",
        "PROMOTION_SOLD_OUT",
        "EMPTY_CHECKOUT",
        "INSUFFICIENT_STOCK",
        "COUPON_UNUSABLE",
    }
    async with create_session_factory(pg_engine)() as s:
        lines = (
            await s.execute(select(OrderLine.unit_price, OrderLine.total, OrderLine.quantity))
        ).all()
        flash = [ln for ln in lines if ln.total == 400]
        full = [ln for ln in lines if ln.total == 900]
        assert len(flash) == 50  # exactly the promotion stock at the flash price
        assert len(full) <= 50 and len(flash) + len(full) == len(lines)
        assert (await s.get_one(Promotion, sale.promotion_id)).stock_sold == 50
        level = (await s.scalars(select(StockLevel).where(StockLevel.sku_id == SKU))).all()
        held = sum(x.reserved for x in level)
        assert held == sum(ln.quantity for ln in lines) <= 100  # never oversold
        assert all(x.reserved <= x.on_hand for x in level)
        orders_per_customer = (
            await s.scalars(select(func.count()).select_from(Order).group_by(Order.customer_id))
        ).all()
        assert max(orders_per_customer) == 1  # one unit in each cart: one order each
        uses = (
            await s.scalars(select(OrderDiscount.source_id).where(OrderDiscount.source == "COUPON"))
        ).all()
        assert len(uses) == len(set(uses)) == len(lines)  # each coupon in one order only
        locked = await s.scalar(
            select(func.count()).select_from(Coupon).where(Coupon.status == CouponStatus.LOCKED)
        )
        assert locked == len(lines)
        payments = await s.scalar(select(func.count()).select_from(Payment))
        assert payments == len(lines) == sum(r.get("ok", 0) for r in results)


async def test_twenty_concurrent_calls_with_one_key_place_one_checkout(
    pg_engine: AsyncEngine, pg_migrated: str, tmp_path: Path
) -> None:
    sale = await flash_sale(pg_engine, tmp_path, 1)
    same_key = checkout_worker(pg_migrated, sale, "same", "--repeat", "10", "--concurrency", "10")
    results = await run_workers(same_key, same_key)
    assert [r["errors"] for r in results] == [[], []]
    assert sum(r.get("ok", 0) for r in results) == 20  # every call answers with the payment
    assert len({p for r in results for p in r["payments"]}) == 1
    async with create_session_factory(pg_engine)() as s:
        for model, expected in ((Payment, 1), (Order, 1), (Reservation, 1)):
            assert await s.scalar(select(func.count()).select_from(model)) == expected, model
        reserved = await s.scalar(
            select(func.sum(StockLevel.reserved)).where(StockLevel.sku_id == SKU)
        )
        assert reserved == 1
        assert (await s.get(Sku, SKU)) is not None
