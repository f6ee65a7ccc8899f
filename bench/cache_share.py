"""Cache share under stock writes: how many browse answers still come from the response cache
while the stock of ONE product moves 5 times a second.

A server (uvicorn, 2 workers by default) on PostgreSQL with the demo data; a staff client
moves the stock of one product's SKU (+1, −1, ... through `stockMove`, so each write lands on
either worker, as a load balancer would send it) at a steady rate; meanwhile guests browse
CategoryPage and ProductDetail of the OTHER products (listings whose first page shows that
product are left out). Prints the share of browse answers served from the cache (`X-Cache:
hit`) per operation, after a warm-up.

The same script runs against any checkout of the project (it imports that checkout's code),
so the number before a change is measured by running it from a worktree of the old code.

    .venv/bin/python -m bench.cache_share [--seconds 20] [--writes-per-second 5]
        [--workers 2] [--connections 8] [--port 8140] [--database zt_h4_cache_share]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy import text

from bench.common import start_api_server
from bench.common import wait_ready
from cli import migrate
from core.clock import utcnow
from core.db import create_engine
from core.db import create_session_factory
from core.ids import encode_id
from core.settings import PROJECT_ROOT
from core.settings import Settings
from models import DisplayCategory
from models import Product
from models import Sku
from models import StockLevel
from models.accounts import Role
from models.accounts import Staff
from models.accounts import StaffRole
from models.catalog import ProductStatus
from seed import seed_demo
from services import inventory
from services.accounts import Permission
from services.accounts import access_token
from tests.contract import operation

SECRET = "cache-share-secret-cache-share-secret-0123456789"
PG_SERVER = "postgresql+asyncpg://127.0.0.1:5432"
MIX = [("CategoryPage", 3), ("ProductDetail", 2)]
# served from the cache: as kept, or with its sellable numbers read again (one statement)
FROM_CACHE = frozenset({"hit", "refresh"})


async def fresh_database(name: str) -> str:
    admin = create_engine(f"{PG_SERVER}/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"{PG_SERVER}/{name}"


async def drop_database(name: str) -> None:
    admin = create_engine(f"{PG_SERVER}/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def build(url: str) -> dict[str, Any]:
    """Demo data, plenty of stock, a staff member; the written product and the rest."""
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url)
    async with create_session_factory(engine)() as s:
        await seed_demo(s)
        rows = (
            await s.execute(
                select(Product.id, Sku.id, StockLevel.warehouse_id)
                .join(Sku, Sku.product_id == Product.id)
                .join(StockLevel, StockLevel.sku_id == Sku.id)
                .where(Product.status == ProductStatus.LISTED, Sku.enabled)
                .order_by(Product.id, Sku.id)
            )
        ).all()
        for _, sku_id, warehouse_id in rows:
            await inventory.receive_stock(s, sku_id, warehouse_id, 10_000, "bench", None)
        permissions = sorted(p.value for p in Permission)
        role = Role(name="bench", permissions=permissions)
        staff = Staff(email="bench@x.example", name="bench", password_hash="x", is_active=True)
        s.add_all([role, staff])
        await s.flush()
        s.add(StaffRole(staff_id=staff.id, role_id=role.id))
        categories = (
            await s.scalars(
                select(DisplayCategory.id).where(DisplayCategory.parent_id.is_not(None))
            )
        ).all()
        await s.commit()
        settings = Settings(jwt_secret=SECRET, access_token_minutes=600)
        token = access_token(
            settings, f"staff:{staff.id}", utcnow(), {"perms": permissions, "mid": None}
        )
    await engine.dispose()
    written_product, sku_id, warehouse_id = rows[len(rows) // 2]
    return {
        "token": token,
        "written": encode_id("Product", written_product),
        "sku": encode_id("Sku", sku_id),
        "warehouse": encode_id("Warehouse", warehouse_id),
        "products": sorted(
            {encode_id("Product", r[0]) for r in rows} - {encode_id("Product", written_product)}
        ),
        "categories": [encode_id("DisplayCategory", i) for i in categories],
    }


async def ask(client: httpx.AsyncClient, name: str, variables: dict[str, Any]) -> Any:
    # a new connection per request: the kernel spreads them over the workers
    response = await client.post(
        "/graphql",
        json={"query": operation(name), "variables": variables, "operationName": name},
        headers={"connection": "close"},
    )
    return response


async def other_categories(client: httpx.AsyncClient, world: dict[str, Any]) -> list[str]:
    """Listings whose first page does not show the written product."""
    keep = []
    for category in world["categories"]:
        body = (await ask(client, "CategoryPage", {"id": category, "first": 24})).json()
        edges = body["data"]["displayCategory"]["products"]["edges"]
        if edges and all(e["node"]["id"] != world["written"] for e in edges):
            keep.append(category)
    return keep


def variables_of(name: str, target: str) -> dict[str, Any]:
    return {"id": target, "first": 24} if name == "CategoryPage" else {"id": target}


async def warm(client: httpx.AsyncClient, pages: dict[str, list[str]], passes: int = 8) -> float:
    """Ask every browsed answer until a whole pass comes from the cache (both workers have
    it), with no writes: the run then measures what the writes drop, not a cold cache."""
    share = 0.0
    for _ in range(passes):
        hits = total = 0
        for name, targets in pages.items():
            for target in targets:
                response = await ask(client, name, variables_of(name, target))
                hits, total = hits + (response.headers.get("x-cache") in FROM_CACHE), total + 1
        share = hits / max(total, 1)
        if share >= 0.98:
            break
    return share


async def run(
    client: httpx.AsyncClient,
    world: dict[str, Any],
    pages: dict[str, list[str]],
    seconds: float,
    writes_per_second: float,
    connections: int,
) -> tuple[dict[str, list[int]], int, int]:
    """Browse for `seconds` while the writer writes; (hits, total) per operation."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    deadline = time.perf_counter() + seconds
    names = [n for n, w in MIX for _ in range(w)]
    writes, failed = 0, 0

    async def browse(n: int) -> None:
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            name = rng.choice(names)
            response = await ask(client, name, variables_of(name, rng.choice(pages[name])))
            counts = tally[name]
            counts[1] += 1
            counts[0] += response.headers.get("x-cache") in FROM_CACHE

    async def write_once(quantity: int) -> None:
        nonlocal writes, failed
        response = await client.post(
            "/graphql",
            json={
                "query": operation("StockMove"),
                "operationName": "StockMove",
                "variables": {
                    "input": {
                        "skuId": world["sku"],
                        "warehouseId": world["warehouse"],
                        "quantity": quantity,
                        "type": "ADJUSTMENT",
                        "reason": "bench",
                    }
                },
            },
            headers={"authorization": f"Bearer {world['token']}", "connection": "close"},
        )
        body = response.json() if response.status_code == 200 else {}
        if "data" not in body or "errors" in body or body["data"]["stockMove"]["userErrors"]:
            failed += 1
        writes += 1

    async def write() -> None:
        """Writes sent on a steady clock, each on its own (a slow one never delays the
        next), +1 and -1 in turn."""
        step, sign, sent = 1 / writes_per_second, 1, []
        next_at = time.perf_counter()
        while next_at < deadline:
            sent.append(asyncio.create_task(write_once(sign)))
            sign, next_at = -sign, next_at + step
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*sent)

    tasks = [browse(n) for n in range(connections)]
    if writes_per_second > 0:
        tasks.append(write())
    await asyncio.gather(*tasks)
    return dict(tally), writes, failed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--products", type=int, default=24, help="other products browsed")
    parser.add_argument("--writes-per-second", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8140)
    parser.add_argument("--database", default="zt_h4_cache_share")
    args = parser.parse_args()
    await measure(
        args.seconds,
        args.products,
        args.writes_per_second,
        args.workers,
        args.connections,
        args.port,
        args.database,
    )


async def measure(
    seconds: float,
    products_browsed: int,
    writes_per_second: float,
    workers: int,
    connections: int,
    port: int,
    database: str,
) -> None:
    """One measurement, printed (bench/issue18.py runs it too)."""
    url = await fresh_database(database)
    server = None
    try:
        world = await build(url)
        with open(f"/tmp/cache_share_server_{port}.log", "wb") as log:
            server = start_api_server(url, SECRET, port=port, workers=workers, stderr=log)
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
        ) as client:
            await wait_ready(client, hint="; see /tmp/cache_share_server_*")
            categories = await other_categories(client, world)
            products = random.Random(7).sample(
                world["products"], min(products_browsed, len(world["products"]))
            )
            pages = {"CategoryPage": categories, "ProductDetail": products}
            warmed = await warm(client, pages)
            tally, writes, failed = await run(
                client, world, pages, seconds, writes_per_second, connections
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        await drop_database(database)
    print(
        f"cache share: code {PROJECT_ROOT}; {workers} workers, {connections} browsing "
        f"connections, {seconds:.0f} s; {writes} stock writes ({writes / seconds:.1f}/s, "
        f"{failed} failed) to one product; {len(categories)} listings and {len(products)} "
        f"other products browsed (warmed to {100 * warmed:.0f}% from cache, without writes)"
    )
    hits = total = 0
    for name, (h, n) in sorted(tally.items()):
        hits, total = hits + h, total + n
        print(f"  {name:<14} {n:>6} answers, {h:>6} from cache: {100 * h / max(n, 1):5.1f}%")
    print(
        f"  {'all':<14} {total:>6} answers, {hits:>6} from cache: "
        f"{100 * hits / max(total, 1):5.1f}%"
    )


if __name__ == "__main__":
    asyncio.run(main())
