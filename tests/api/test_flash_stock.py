"""Flash-sale promotion stock (DOMAIN.md §4): claimed atomically like inventory; never more
than the promotion's stock, even under concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from models import Promotion
from models.promotions import PromotionType
from services import promotions
from tests.api.test_batching import seed_listing


async def flash(engine: AsyncEngine, clock: FixedClock, stock: int) -> int:
    await seed_listing(engine, 1)
    async with create_session_factory(engine)() as s:
        promotion = await promotions.create_promotion(
            s,
            promotions.PromotionData(
                name="秒杀",
                type=PromotionType.SINGLE_PRODUCT,
                starts_at=clock.now(),
                ends_at=clock.now() + timedelta(hours=1),
                rules={"special_price": Decimal(1), "promotion_stock": stock},
                scope=promotions.ScopeData(sku_ids=[1]),
            ),
            clock.now(),
        )
        await s.commit()
        return promotion.id


async def test_claims_stop_at_the_promotion_stock(engine: AsyncEngine, clock: FixedClock) -> None:
    pid = await flash(engine, clock, 5)
    factory = create_session_factory(engine)
    async with factory() as s:
        assert await promotions.claim_stock(s, pid, 3) is True
        assert await promotions.claim_stock(s, pid, 3) is False  # only 2 left
        assert await promotions.claim_stock(s, pid, 2) is True
        await promotions.return_stock(s, pid, 1)
        assert await promotions.claim_stock(s, pid, 1) is True
        await s.commit()
    async with factory() as s:
        assert (await s.get_one(Promotion, pid)).stock_sold == 5


async def test_concurrent_claims_never_exceed_the_stock(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    pid = await flash(engine, clock, 20)
    factory = create_session_factory(engine)

    async def claim() -> bool:
        async with factory() as s:
            ok = await promotions.claim_stock(s, pid, 1)
            await s.commit()
            return ok

    results = []
    for _ in range(5):  # 5 waves of 10 concurrent claims
        results += await asyncio.gather(*(claim() for _ in range(10)))
    assert sum(results) == 20
    async with factory() as s:
        assert (await s.get_one(Promotion, pid)).stock_sold == 20
