"""Dataloader batching: the CategoryPage statement count is constant in the page size."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.catalog import Sku
from services import catalog
from services import inventory
from services import products
from tests.conftest import Api
from tests.conftest import forget_kept_reads

# display tree; product page with its total (window), brands and category paths (joins);
# SKUs with stock; the promotions running now (with their scopes)
CATEGORY_PAGE_MAX_STATEMENTS = 4


async def seed_listing(engine: AsyncEngine, count: int, brands: int = 5) -> int:
    """`count` listed products with 3 SKUs each, stock in two warehouses; returns the id of
    the display category that shows them."""
    from core.clock import utcnow

    async with create_session_factory(engine)() as s:
        merchant = await catalog.create_merchant(s, catalog.MerchantData("M", True))
        warehouses = [
            await inventory.create_warehouse(s, merchant.id, f"W{i}", f"W{i}") for i in range(2)
        ]
        brand_rows = [
            await catalog.create_brand(s, catalog.BrandData(f"B{i}")) for i in range(brands)
        ]
        root = await catalog.create_category(s, "root", None)
        leaf = await catalog.create_category(s, "leaf", root.id)
        colour = await catalog.create_attribute(
            s,
            catalog.AttributeData(
                leaf.id,
                "colour",
                AttributeKind.SALES,
                AttributeValueType.OPTIONS,
                ["red", "green", "blue"],
            ),
        )
        node = await catalog.create_display_category(
            s, catalog.DisplayCategoryData(name="all", parent_id=None, category_ids=[root.id])
        )
        for n in range(count):
            product = await products.create_product(
                s,
                products.ProductDraft(
                    title=f"P{n}",
                    brand_id=brand_rows[n % brands].id,
                    category_id=leaf.id,
                    merchant_id=merchant.id,
                    images=[(f"https://x.example/{n}.png", None)],
                    skus=[
                        products.SkuDraft(
                            specs=[(colour.id, c)], code=f"{n}-{c}", price=Decimal(10 + n)
                        )
                        for c in ("red", "green", "blue")
                    ],
                ),
            )
            await products.list_product(s, product.id, utcnow().replace(year=2020))
            for sku_id in await s.scalars(select(Sku.id).where(Sku.product_id == product.id)):
                for w in warehouses:
                    await inventory.receive_stock(s, sku_id, w.id, 5, "opening", None)
        await s.commit()
        return node.id


async def category_page_statements(
    api: Api, engine: AsyncEngine, node_id: int, first: int
) -> tuple[int, int]:
    from core.ids import encode_id

    forget_kept_reads(engine)  # count cold: the running promotions read included
    result = await api.op(
        "CategoryPage", {"id": encode_id("DisplayCategory", node_id), "first": first}
    )
    assert "errors" not in result, result
    edges = result["data"]["displayCategory"]["products"]["edges"]
    assert all(len(e["node"]["skus"]) == 3 for e in edges)
    assert all(e["node"]["sellableQuantity"] == 30 for e in edges)
    return len(edges), result["extensions"]["sqlStatements"]


async def test_category_page_statement_count_is_constant(api: Api, engine: AsyncEngine) -> None:
    node_id = await seed_listing(engine, 100)
    small = await category_page_statements(api, engine, node_id, 10)
    large = await category_page_statements(api, engine, node_id, 100)
    assert small[0] == 10 and large[0] == 100
    assert small[1] == large[1] <= CATEGORY_PAGE_MAX_STATEMENTS, (small, large)


async def test_product_detail_statements_are_bounded(api: Api, engine: AsyncEngine) -> None:
    from core.ids import encode_id

    await seed_listing(engine, 3)
    result = await api.op("ProductDetail", {"id": encode_id("Product", 1)})
    assert result["data"]["product"]["title"] == "P0"
    # product with its category and brand, SKUs, attribute values, claimable coupon
    # batches; and, once read and then kept, the categories (the breadcrumb) and the running
    # promotions
    assert result["extensions"]["sqlStatements"] <= 6
    again = await api.op("ProductDetail", {"id": encode_id("Product", 2)})
    assert again["data"]["product"]["title"] == "P1"
    assert [a["name"] for a in again["data"]["product"]["category"]["ancestors"]] == ["root"]
    assert again["extensions"]["sqlStatements"] <= 4
    # the category and brand came with the product: asking for them costs nothing more
    without = await api.post(
        "query($id: ID!) { product(id: $id) { title } }", {"id": encode_id("Product", 2)}
    )
    with_both = await api.post(
        "query($id: ID!) { product(id: $id) { title brand { name } category { name } } }",
        {"id": encode_id("Product", 3)},
    )
    assert with_both["data"]["product"]["brand"]["name"]
    assert with_both["extensions"]["sqlStatements"] == without["extensions"]["sqlStatements"]


async def add_promotions(engine: AsyncEngine, now: datetime) -> None:
    """A running 满300减30 over everything and a 10%-off on product 1."""
    from datetime import timedelta

    from models.promotions import PromotionType
    from services import promotions

    wanted: list[tuple[str, PromotionType, dict[str, Any], promotions.ScopeData]] = [
        (
            "满减",
            PromotionType.FULL_REDUCTION,
            {"tiers": [{"threshold": Decimal(300), "amount": Decimal(30)}]},
            promotions.ScopeData(),
        ),
        (
            "九折",
            PromotionType.SINGLE_PRODUCT,
            {"percent_off": Decimal(10)},
            promotions.ScopeData(product_ids=[1]),
        ),
    ]
    async with create_session_factory(engine)() as s:
        for name, kind, rules, scope in wanted:
            promotion = await promotions.create_promotion(
                s,
                promotions.PromotionData(
                    name=name,
                    type=kind,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=1),
                    rules=rules,
                    scope=scope,
                ),
                now,
            )
            await promotions.activate(s, promotion.id, now)
        await s.commit()


async def test_statement_count_stays_constant_with_promotions(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    from core.ids import encode_id

    node_id = await seed_listing(engine, 60)
    await add_promotions(engine, clock.now())
    counts = []
    for first in (10, 50):
        forget_kept_reads(engine)
        result = await api.op(
            "CategoryPage",
            {"id": encode_id("DisplayCategory", node_id), "first": first, "sort": "PRICE_ASC"},
        )
        assert "errors" not in result, result
        edges = result["data"]["displayCategory"]["products"]["edges"]
        assert all("满300减30" in e["node"]["promotionTags"] for e in edges)
        counts.append(result["extensions"]["sqlStatements"])
        first_card = edges[0]["node"]
        # P0 costs 10.00 per SKU; with 10% off its range starts at 9.00
        assert first_card["title"] == "P0"
        assert first_card["priceRange"]["min"]["amount"] == "9.00"
        assert first_card["promotionTags"] == ["直降", "满300减30"]
    assert counts[0] == counts[1] <= CATEGORY_PAGE_MAX_STATEMENTS


async def test_a_breadcrumb_is_read_by_the_loader_while_nothing_may_be_kept(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the change feed down nothing is kept: the ancestors of a page's products are
    read by id in one batch (the whole categories table once per product before), and a
    rename shows at once."""
    from sqlalchemy import text

    from core import changes

    await seed_listing(engine, 3)
    feed = changes.feed_of(engine)
    monkeypatch.setattr(feed, "live", False)
    feed.memo.pop("categories", None)
    query = (
        "query($n: Int!) { products(first: $n) { edges { node { category { ancestors "
        "{ name } } } } } }"
    )

    async def crumbs(n: int) -> tuple[list[list[str]], int]:
        result = await api.post(query, {"n": n})
        edges = result["data"]["products"]["edges"]
        names = [[a["name"] for a in e["node"]["category"]["ancestors"]] for e in edges]
        return names, result["extensions"]["sqlStatements"]

    one, three = await crumbs(1), await crumbs(3)
    assert one[0] == [["root"]] and three[0] == [["root"]] * 3
    assert one[1] == three[1], (one, three)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE categories SET name = 'Root 2' WHERE name = 'root'"))
    assert (await crumbs(1))[0] == [["Root 2"]]
    assert "categories" not in feed.memo


async def test_categories_changed_in_a_session_are_not_kept_for_others(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """A session holding a category it changed (not committed) reads the rows for itself
    alone: what it reads is not kept for every other request."""
    from core import changes
    from models.catalog import Category

    await seed_listing(engine, 1)
    feed = changes.feed_of(engine)
    feed.memo.pop("categories", None)
    async with create_session_factory(engine)() as s:
        root = (await s.scalars(select(Category).where(Category.name == "root"))).one()
        root.name = "not committed"
        rows = await catalog.category_rows(s, clock.now())
        assert rows is not None and rows[root.id]["name"] == "root"  # not flushed either
        assert "categories" not in feed.memo
        await s.rollback()
    kept = await _kept_categories(engine, clock)
    assert kept is not None and "categories" in feed.memo


async def _kept_categories(engine: AsyncEngine, clock: FixedClock) -> Any:
    async with create_session_factory(engine)() as s:
        return await catalog.category_rows(s, clock.now())
