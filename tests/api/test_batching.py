"""Dataloader batching: the CategoryPage statement count is constant in the page size."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models.catalog import AttributeKind, AttributeValueType, Sku
from services import catalog, inventory, products
from tests.conftest import Api

# display tree; product page with its total (window) and brands (join); SKUs with stock
CATEGORY_PAGE_MAX_STATEMENTS = 3


async def seed_listing(engine: AsyncEngine, count: int, brands: int = 5) -> int:
    """`count` listed products with 3 SKUs each, stock in two warehouses; returns the id of
    the display category that shows them."""
    from core.clock import utcnow

    async with create_session_factory(engine)() as s:
        merchant = await catalog.create_merchant(s, "M", True)
        warehouses = [await inventory.create_warehouse(s, merchant.id, f"W{i}", f"W{i}")
                      for i in range(2)]
        brand_rows = [await catalog.create_brand(s, catalog.BrandData(f"B{i}"))
                      for i in range(brands)]
        root = await catalog.create_category(s, "root", None)
        leaf = await catalog.create_category(s, "leaf", root.id)
        colour = await catalog.create_attribute(s, catalog.AttributeData(
            leaf.id, "colour", AttributeKind.SALES, AttributeValueType.OPTIONS,
            ["red", "green", "blue"]))
        node = await catalog.create_display_category(s, catalog.DisplayCategoryData(
            name="all", parent_id=None, category_ids=[root.id]))
        for n in range(count):
            product = await products.create_product(s, products.ProductDraft(
                title=f"P{n}", brand_id=brand_rows[n % brands].id, category_id=leaf.id,
                merchant_id=merchant.id, images=[(f"https://x.example/{n}.png", None)],
                skus=[products.SkuDraft(specs=[(colour.id, c)], code=f"{n}-{c}",
                                        price=Decimal(10 + n))
                      for c in ("red", "green", "blue")]))
            await products.list_product(s, product.id, utcnow().replace(year=2020))
            for sku_id in (await s.scalars(select(Sku.id).where(Sku.product_id == product.id))):
                for w in warehouses:
                    await inventory.receive_stock(s, sku_id, w.id, 5, "opening", None)
        await s.commit()
        return node.id


async def category_page_statements(api: Api, node_id: int, first: int) -> tuple[int, int]:
    from core.ids import encode_id

    result = await api.op("CategoryPage", {"id": encode_id("DisplayCategory", node_id),
                                           "first": first})
    assert "errors" not in result, result
    edges = result["data"]["displayCategory"]["products"]["edges"]
    assert all(len(e["node"]["skus"]) == 3 for e in edges)
    assert all(e["node"]["sellableQuantity"] == 30 for e in edges)
    return len(edges), result["extensions"]["sqlStatements"]


async def test_category_page_statement_count_is_constant(api: Api, engine: AsyncEngine) -> None:
    node_id = await seed_listing(engine, 100)
    small = await category_page_statements(api, node_id, 10)
    large = await category_page_statements(api, node_id, 100)
    assert small[0] == 10 and large[0] == 100
    assert small[1] == large[1] <= CATEGORY_PAGE_MAX_STATEMENTS, (small, large)


async def test_product_detail_statements_are_bounded(api: Api, engine: AsyncEngine) -> None:
    from core.ids import encode_id

    await seed_listing(engine, 3)
    result = await api.op("ProductDetail", {"id": encode_id("Product", 1)})
    assert result["data"]["product"]["title"] == "P0"
    # product, brand, category, ancestors, SKUs, attribute values
    assert result["extensions"]["sqlStatements"] <= 6
