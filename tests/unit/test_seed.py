"""The demo data meets the brief and loading it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models import Brand
from models import Category
from models import Customer
from models import DisplayCategory
from models import Merchant
from models import Product
from models import Sku
from models import Staff
from models import StockLevel
from seed import seed_demo


async def count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_seed_demo_is_realistic_and_idempotent(sqlite_engine: AsyncEngine) -> None:
    factory = create_session_factory(sqlite_engine)
    async with factory() as s:
        assert await seed_demo(s) is True
    async with factory() as s:
        assert await seed_demo(s) is False
        assert await count(s, Merchant) >= 3
        assert await count(s, Merchant, Merchant.self_operated.is_(True)) == 1
        assert await count(s, Brand) >= 12
        assert await count(s, Product) >= 200
        assert await count(s, Category, Category.level == 3) >= 3
        assert await count(s, DisplayCategory, DisplayCategory.parent_id.is_(None)) >= 4
        per_product = (
            (await s.execute(select(func.count()).select_from(Sku).group_by(Sku.product_id)))
            .scalars()
            .all()
        )
        assert min(per_product) >= 1 and max(per_product) <= 6
        assert await count(s, StockLevel) > 0
        titles = (await s.scalars(select(Product.title))).all()
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles)
        assert any(any(ch.isascii() and ch.isalpha() for ch in t) for t in titles)
        # red packets (红包) can be tried on the demo: some products take them, capped
        flagged = await count(s, Product, Product.red_packets_usable.is_(True))
        assert 0 < flagged < await count(s, Product)
        assert await count(s, Product, Product.red_packet_cap == 500) == flagged
        assert await count(s, Staff) == 1 and await count(s, Customer) == 1
