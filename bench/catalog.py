"""CategoryPage benchmark: the GraphQL stack (Strawberry + dataloaders + ORM) against a
hand-written SQL + JSON baseline that fetches the same data, in the same run, on PostgreSQL and
SQLite. Prints p50/p95 latency in-process, SQL statements per request and the ratio.

    .venv/bin/python -m bench.catalog [--iterations 300] [--skip-pg]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import fresh_postgres
from bench.common import fresh_sqlite
from bench.common import prepare
from bench.common import print_table
from bench.common import summary
from bench.common import timed_pair
from core.clock import utcnow
from core.db import StatementCounter
from core.db import create_session_factory
from core.db import current_counter
from core.ids import encode_id
from core.money import from_minor
from core.settings import Settings
from resolvers.context import ANONYMOUS
from resolvers.context import Channel
from resolvers.context import Context
from schema import schema
from tests.contract import operation

PAGE_SIZE = 24
SETTINGS = Settings()
QUERY = operation("CategoryPage")

# The baseline: what a careful engineer would write by hand for the same screen.
BASE_PRODUCTS = """
WITH RECURSIVE tree(id) AS (
    SELECT id FROM display_categories WHERE id = :node
    UNION ALL SELECT d.id FROM display_categories d JOIN tree t ON d.parent_id = t.id)
SELECT p.id, p.title, p.subtitle, p.images, p.brand_id, count(*) OVER () AS total
FROM products p
WHERE p.status = 'LISTED' AND (p.list_at IS NULL OR p.list_at <= :now)
  AND (p.delist_at IS NULL OR p.delist_at > :now)
  AND (p.category_id IN (SELECT c.id FROM categories c JOIN categories r
                           ON c.path LIKE r.path || '%'
                         JOIN display_category_categories m ON m.category_id = r.id
                         WHERE m.display_category_id IN (SELECT id FROM tree))
       OR p.brand_id IN (SELECT brand_id FROM display_category_brands
                         WHERE display_category_id IN (SELECT id FROM tree)))
ORDER BY p.sales_count DESC, p.id DESC LIMIT :limit"""
BASE_SKUS = """
SELECT s.id, s.product_id, s.spec_text, s.price, s.market_price, s.position,
       COALESCE((SELECT SUM(CASE WHEN l.on_hand - l.reserved - l.safety_stock > 0
                            THEN l.on_hand - l.reserved - l.safety_stock ELSE 0 END)
                 FROM stock_levels l WHERE l.sku_id = s.id), 0) AS sellable
FROM skus s WHERE s.enabled AND s.product_id IN ({ids}) ORDER BY s.product_id, s.position"""
BASE_BRANDS = "SELECT id, name FROM brands WHERE id IN ({ids})"
BASE_NODE = "SELECT id, name FROM display_categories WHERE id = :node"
BASE_PROMOTIONS = """
SELECT id, type, rules, scope, channels, audience FROM promotions
WHERE state = 'ACTIVATED' AND starts_at <= :now AND ends_at > :now ORDER BY id"""


def _money(minor: int | None) -> dict[str, str] | None:
    return None if minor is None else {"amount": f"{from_minor(minor):.2f}", "currencyCode": "CNY"}


async def baseline(engine: AsyncEngine, node_id: int) -> bytes:
    async with engine.connect() as conn:
        now = utcnow().replace(tzinfo=None) if engine.dialect.name == "sqlite" else utcnow()
        node = (await conn.execute(text(BASE_NODE), {"node": node_id})).one()
        rows = (
            await conn.execute(
                text(BASE_PRODUCTS), {"node": node_id, "now": now, "limit": PAGE_SIZE}
            )
        ).all()
        ids = ",".join(str(r.id) for r in rows) or "0"
        skus = (await conn.execute(text(BASE_SKUS.format(ids=ids)))).all()
        brand_ids = ",".join({str(r.brand_id) for r in rows}) or "0"
        brands = {
            b.id: b.name
            for b in (await conn.execute(text(BASE_BRANDS.format(ids=brand_ids)))).all()
        }
        # The same data as the GraphQL page: running promotions for the cards' tags (the demo
        # has none, so every card's tags are empty on both sides).
        live = (await conn.execute(text(BASE_PROMOTIONS), {"now": now})).all()
    by_product: dict[int, list[Any]] = {}
    for s in skus:
        by_product.setdefault(s.product_id, []).append(s)
    edges: list[dict[str, Any]] = []
    for r in rows:
        product_skus = by_product.get(r.id, [])
        images = orjson.loads(r.images) if isinstance(r.images, str) else r.images
        prices = [s.price for s in product_skus]
        cheapest = min(product_skus, key=lambda s: (s.price, s.position))
        edges.append(
            {
                "cursor": str(len(edges)),
                "node": {
                    "id": encode_id("Product", r.id),
                    "title": r.title,
                    "subtitle": r.subtitle,
                    "thumbnail": {"url": images[0]["url"]} if images else None,
                    "brand": {"id": encode_id("Brand", r.brand_id), "name": brands[r.brand_id]},
                    "priceRange": {"min": _money(min(prices)), "max": _money(max(prices))},
                    "marketPrice": _money(cheapest.market_price),
                    "promotionTags": [] if not live else sorted({p.type for p in live}),
                    "sellableQuantity": sum(int(s.sellable) for s in product_skus),
                    "skus": [
                        {
                            "id": encode_id("Sku", s.id),
                            "specText": s.spec_text,
                            "price": _money(s.price),
                            "sellableQuantity": int(s.sellable),
                        }
                        for s in product_skus
                    ],
                },
            }
        )
    total = rows[0].total if rows else 0
    return orjson.dumps(
        {
            "data": {
                "displayCategory": {
                    "id": encode_id("DisplayCategory", node.id),
                    "name": node.name,
                    "products": {
                        "totalCount": total,
                        "pageInfo": {"hasNextPage": total > len(rows), "endCursor": None},
                        "edges": edges,
                    },
                }
            }
        }
    )


async def graphql(engine: AsyncEngine, node_id: int, counter: StatementCounter) -> bytes:
    factory = create_session_factory(engine)
    async with factory() as session:
        ctx = Context(
            session=session,
            now=utcnow(),
            viewer=ANONYMOUS,
            channel=Channel.WEB,
            settings=SETTINGS,
            request_id="bench",
        )
        token = current_counter.set(counter)
        try:
            result = await schema.execute(
                QUERY,
                variable_values={"id": encode_id("DisplayCategory", node_id), "first": PAGE_SIZE},
                context_value=ctx,
                operation_name="CategoryPage",
            )
        finally:
            current_counter.reset(token)
    assert not result.errors, result.errors
    return orjson.dumps({"data": result.data})


async def pick_node(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT id FROM display_categories WHERE name = '手机数码'"))
        ).scalar_one()


async def measure(name: str, engine: AsyncEngine, iterations: int) -> list[object]:
    node_id = await pick_node(engine)
    counter = StatementCounter()
    await graphql(engine, node_id, counter)
    statements = counter.count
    base_samples, gql_samples = await timed_pair(
        lambda: baseline(engine, node_id),
        lambda: graphql(engine, node_id, StatementCounter()),
        iterations,
        30,
    )
    base, gql = summary(base_samples), summary(gql_samples)
    return [
        name,
        gql["p50"],
        gql["p95"],
        base["p50"],
        base["p95"],
        statements,
        gql["p50"] / base["p50"],
        gql["mean"] / base["mean"],
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    gc.freeze()  # as the server does after start-up: long-lived objects leave the GC view
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", fresh_sqlite(Path(tmp) / "bench.db"))]
        if not args.skip_pg:
            targets.insert(0, ("PostgreSQL", await fresh_postgres()))
        for name, url in targets:
            engine = await prepare(url)
            rows.append(await measure(name, engine, args.iterations))
            await engine.dispose()
    print(
        f"CategoryPage, {PAGE_SIZE} products with SKUs, in-process, "
        f"{args.iterations} iterations (ms)"
    )
    print_table(
        [
            "database",
            "gql p50",
            "gql p95",
            "sql p50",
            "sql p95",
            "stmts/req",
            "ratio p50",
            "ratio mean",
        ],
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
