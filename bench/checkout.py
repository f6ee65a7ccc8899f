"""Checkout throughput on PostgreSQL: checkoutComplete calls/s and p50/p99 latency at total
concurrency 16 and 64, with 1 and 2 API processes (each its own app instance and pool, calls
through the GraphQL endpoint in-process, so no network stack is measured). Every call is a
different customer checking out a 2-line cart (20 products × 3 SKUs, plenty of stock) with a
running 满减 promotion and a coupon: pricing, stock reservation, coupon locking, order split
and the cart update all happen in each call's one transaction.

    .venv/bin/python -m bench.checkout [--per-worker 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from bench.common import fresh_postgres
from bench.common import print_table
from bench.common import worker_rates
from cli import migrate
from core.clock import utcnow
from core.db import create_engine
from core.db import create_session_factory
from models import Sku
from models import Warehouse
from models.promotions import PromotionType
from services import inventory
from services import promotions
from tests.api.test_batching import seed_listing
from tests.concurrency.conftest import run_workers
from tests.concurrency.shoppers import make_shoppers


async def catalog(url: str) -> list[int]:
    engine = create_engine(url)
    await seed_listing(engine, 20)
    now = utcnow()
    async with create_session_factory(engine)() as s:
        skus = list((await s.scalars(select(Sku.id).order_by(Sku.id))).all())
        warehouse = (
            await s.execute(select(Warehouse.id).order_by(Warehouse.id).limit(1))
        ).scalar_one()
        for sku in skus:
            await inventory.receive_stock(s, sku, warehouse, 100_000, "bench", None)
        promotion = await promotions.create_promotion(
            s,
            promotions.PromotionData(
                name="满20减2",
                type=PromotionType.FULL_REDUCTION,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                rules={"tiers": [{"threshold": Decimal(20), "amount": Decimal(2)}]},
            ),
            now,
        )
        await promotions.activate(s, promotion.id, now)
        await s.commit()
    await engine.dispose()
    return skus


async def shoppers(
    url: str, skus: list[int], count: int, tag: str, series: int, folder: Path
) -> list[Path]:
    """`count` customers, each with a coupon, an address and a 2-line cart; the plan split
    into two halves (one per API process)."""
    engine = create_engine(url)
    now = utcnow()
    async with create_session_factory(engine)() as s:
        plan = await make_shoppers(
            s,
            count,
            f"1{series:02d}",
            lambda i: [skus[i % len(skus)], skus[(i + 7) % len(skus)]],
            now,
        )
    await engine.dispose()
    halves = [plan[::2], plan[1::2]]
    paths = []
    for n, half in enumerate(halves):
        path = folder / f"{tag}-{n}.json"
        path.write_text(json.dumps(half))
        paths.append(path)
    whole = folder / f"{tag}-all.json"
    whole.write_text(json.dumps(plan))
    return [whole, *paths]


async def run(
    url: str,
    skus: list[int],
    total: int,
    processes: int,
    per_worker: int,
    series: int,
    folder: Path,
) -> list[object]:
    tag = f"c{total}p{processes}"
    whole, *halves = await shoppers(url, skus, total * per_worker, tag, series, folder)
    plans = [whole] if processes == 1 else halves
    commands = [
        [
            "checkout",
            url,
            "--plan",
            str(plan),
            "--key",
            tag,
            "--concurrency",
            str(total // processes),
        ]
        for plan in plans
    ]
    results = await run_workers(*commands, delay=3.0)
    ok = sum(r.get("ok", 0) for r in results)
    refused = sum(v for r in results for k, v in r.items() if isinstance(v, int) and k != "ok")
    return [total, processes, ok, refused, *worker_rates(results, ok)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--per-worker", type=int, default=25, help="checkouts per concurrent caller"
    )
    args = parser.parse_args()
    url = await fresh_postgres()
    await asyncio.to_thread(migrate, url)
    skus = await catalog(url)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder:
        for total in (16, 64):
            for processes in (1, 2):
                rows.append(
                    await run(
                        url, skus, total, processes, args.per_worker, len(rows) + 10, Path(folder)
                    )
                )
    print(
        "checkoutComplete through GraphQL, PostgreSQL: 2-line carts, a 满减 promotion and a "
        "coupon; each call a different customer"
    )
    print_table(
        [
            "concurrency",
            "processes",
            "placed",
            "refused",
            "errors",
            "per second",
            "p50 ms",
            "p99 ms",
        ],
        rows,
    )


if __name__ == "__main__":
    asyncio.run(main())
