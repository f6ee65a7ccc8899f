"""Reservation throughput on PostgreSQL: reservations/s and p50/p99 latency at total
concurrency 1, 16 and 64, from one process and from two OS processes (each its own pool),
against one hot SKU with stock in two warehouses — the flash-sale shape.

    .venv/bin/python -m bench.reservations [--per-worker 400]
"""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal

from bench.common import fresh_postgres
from bench.common import print_table
from bench.common import worker_rates
from cli import migrate
from core.db import create_engine
from core.db import create_session_factory
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.catalog import Sku
from services import catalog
from services import inventory
from services import products
from tests.concurrency.conftest import run_workers


async def hot_sku(url: str) -> int:
    engine = create_engine(url)
    async with create_session_factory(engine)() as s:
        merchant = await catalog.create_merchant(s, catalog.MerchantData("M", True))
        warehouses = [
            await inventory.create_warehouse(s, merchant.id, f"W{i}", f"W{i}", priority=i)
            for i in range(2)
        ]
        brand = await catalog.create_brand(s, catalog.BrandData("B"))
        leaf = await catalog.create_category(s, "leaf", None)
        colour = await catalog.create_attribute(
            s,
            catalog.AttributeData(
                leaf.id, "colour", AttributeKind.SALES, AttributeValueType.OPTIONS, ["red"]
            ),
        )
        product = await products.create_product(
            s,
            products.ProductDraft(
                title="Hot",
                brand_id=brand.id,
                category_id=leaf.id,
                merchant_id=merchant.id,
                skus=[products.SkuDraft(specs=[(colour.id, "red")], code="HOT", price=Decimal(1))],
            ),
        )
        sku_id = (await s.scalars(select_sku(product.id))).one()
        for warehouse in warehouses:
            await inventory.receive_stock(s, sku_id, warehouse.id, 1_000_000, "bench", None)
        await s.commit()
    await engine.dispose()
    return sku_id


def select_sku(product_id: int):
    from sqlalchemy import select

    return select(Sku.id).where(Sku.product_id == product_id)


async def run(
    url: str, sku: int, total: int, processes: int, per_worker: int, tag: str
) -> list[object]:
    per_process = max(1, total // processes)
    attempts = per_worker * per_process
    commands = [
        [
            "reserve",
            url,
            "--skus",
            str(sku),
            "--attempts",
            str(attempts),
            "--concurrency",
            str(per_process),
            "--prefix",
            f"{tag}-{p}",
        ]
        for p in range(processes)
    ]
    results = await run_workers(*commands, delay=2.0)
    ok = sum(r["ok"] for r in results)
    return [total, processes, ok, *worker_rates(results, ok)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-worker", type=int, default=60, help="attempts per concurrent worker")
    args = parser.parse_args()
    url = await fresh_postgres()
    await asyncio.to_thread(migrate, url)
    sku = await hot_sku(url)
    rows = []
    for total in (1, 16, 64):
        for processes in (1, 2):
            if processes > total:
                continue
            rows.append(
                await run(url, sku, total, processes, args.per_worker, f"c{total}p{processes}")
            )
    print(
        "Reservations of 1 unit of one hot SKU (2 warehouses), PostgreSQL, each in its own "
        "transaction"
    )
    print_table(
        ["concurrency", "processes", "reserved", "errors", "per second", "p50 ms", "p99 ms"], rows
    )


if __name__ == "__main__":
    asyncio.run(main())
