"""Load test: a realistic storefront mix against a running server (uvicorn, 1 and 2 workers)
on PostgreSQL with the demo data, for a bounded time. Virtual users are logged-in customers;
each request is drawn from the mix:

- `storefront` (default): 70% browse (CategoryPage 35, ProductDetail 20, Search 15), 20% cart
  (CartLinesAdd 10, MyCart 10), 10% checkout (CheckoutComplete of the user's cart);
- `category`: CategoryPage only, any listing category, 24 products a page.

Prints throughput and p50/p95/p99 per operation, errors, how many answers came from the
response cache, and SQL statements per checkout. `--no-cache` runs the server with
RESPONSE_CACHE_ENTRIES=0, to see what the cache is worth.

The load generator runs on the same 2-core machine as the server and the database, so it takes
CPU from them: the numbers are a floor for what the server can do.

    .venv/bin/python -m bench.load [--mix storefront|category] [--seconds 30]
                                   [--connections 16] [--no-cache]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import httpx
from sqlalchemy import select

from bench.common import fresh_postgres
from bench.common import pct
from bench.common import prepare
from bench.common import print_table
from bench.common import start_api_server
from bench.common import wait_ready
from bench.http import RawClient
from core.clock import utcnow
from core.db import create_session_factory
from core.ids import encode_id
from core.settings import Settings
from models import Customer
from models import DisplayCategory
from models import Product
from models import Sku
from models import StockLevel
from models.catalog import ProductStatus
from services import inventory
from services.accounts import access_token
from tests.concurrency.shoppers import default_address
from tests.contract import operation

SECRET = "load-test-secret-load-test-secret-0123456789"
PORT = int(os.environ.get("BENCH_PORT", "8765"))  # a free port of your own on a shared machine
MIXES = {
    "storefront": [
        ("CategoryPage", 35),
        ("ProductDetail", 20),
        ("Search", 15),
        ("CartLinesAdd", 10),
        ("MyCart", 10),
        ("CheckoutComplete", 10),
    ],
    "category": [("CategoryPage", 1)],
}
WORDS = ["手机", "Phone", "耳机", "T恤", "Pro", "蓝牙", "运动", "笔记本"]


@dataclass
class World:
    categories: list[str]
    products: list[str]
    skus: list[str]
    users: list[dict[str, Any]]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cache_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # served from the cache with its sellable numbers read again (x-cache: refresh)
    cache_refreshes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    checkout_statements: list[int] = field(default_factory=list)


async def build_world(url: str, users: int) -> World:
    engine = await prepare(url)
    settings = Settings(jwt_secret=SECRET, access_token_minutes=600)
    async with create_session_factory(engine)() as s:
        categories = [
            encode_id("DisplayCategory", i)
            for i in (
                await s.scalars(
                    select(DisplayCategory.id).where(DisplayCategory.parent_id.is_not(None))
                )
            ).all()
        ]
        products = [
            encode_id("Product", i)
            for i in (
                await s.scalars(select(Product.id).where(Product.status == ProductStatus.LISTED))
            ).all()
        ]
        sku_rows = (
            await s.execute(
                select(Sku.id, StockLevel.warehouse_id)
                .join(Product, Product.id == Sku.product_id)
                .join(StockLevel, StockLevel.sku_id == Sku.id)
                .where(Product.status == ProductStatus.LISTED, Sku.enabled)
            )
        ).all()
        for sku_id, warehouse_id in sku_rows:  # plenty to sell, through the ledger
            await inventory.receive_stock(s, sku_id, warehouse_id, 10_000, "load test", None)
        people = [
            Customer(name=f"load{i}", phone=f"177{i:08d}", password_hash="x") for i in range(users)
        ]
        s.add_all(people)
        await s.flush()
        addresses = [default_address(c.id) for c in people]
        s.add_all(addresses)
        await s.commit()
        now = utcnow()
        world_users = [
            {
                "token": access_token(settings, f"customer:{c.id}", now),
                "address": encode_id("Address", a.id),
                "cart": None,
                "n": 0,
                "items": 0,
            }
            for c, a in zip(people, addresses, strict=True)
        ]
    await engine.dispose()
    return World(
        categories, products, sorted({encode_id("Sku", r[0]) for r in sku_rows}), world_users
    )


async def one_request(
    client: RawClient,
    world: World,
    user: dict[str, Any],
    name: str,
    rng: random.Random,
    tally: Tally,
) -> None:
    headers = {"authorization": f"Bearer {user['token']}"}
    variables: dict[str, Any]
    if name == "CategoryPage":
        variables = {"id": rng.choice(world.categories), "first": 24}
    elif name == "ProductDetail":
        variables = {"id": rng.choice(world.products)}
    elif name == "Search":
        variables = {"query": rng.choice(WORDS)}
    elif name == "CartLinesAdd" or (name == "CheckoutComplete" and not user["items"]):
        # a checkout needs something in the cart: an empty one adds a line instead
        if user["cart"] is None:
            cart = await client.post(
                "/graphql", {"query": operation("MyCart"), "operationName": "MyCart"}, headers
            )
            user["cart"] = cart.json()["data"]["me"]["cart"]["id"]
        name, variables = (
            "CartLinesAdd",
            {"cartId": user["cart"], "lines": [{"skuId": rng.choice(world.skus), "quantity": 1}]},
        )
        user["items"] += 1
    elif name == "MyCart":
        variables = {}
    else:
        user["n"], user["items"] = user["n"] + 1, 0
        variables = {
            "input": {"cartId": user["cart"], "addressId": user["address"]},
            "idempotencyKey": f"load-{user['n']}-{rng.random()}",
        }
    started = time.perf_counter()
    response = await client.post(
        "/graphql",
        {"query": operation(name), "variables": variables, "operationName": name},
        headers,
    )
    tally.latencies[name].append((time.perf_counter() - started) * 1000)
    body: Any = response.json() if response.status_code < 500 else {}
    served = response.headers.get("x-cache")
    if served == "hit":
        tally.cache_hits[name] += 1
    elif served == "refresh":
        tally.cache_refreshes[name] += 1
    if response.status_code >= 500 or "errors" in body:
        tally.errors[name] += 1
        return
    payload = next(iter(body["data"].values())) or {}
    if isinstance(payload, dict) and payload.get("userErrors"):
        tally.refused[name] += 1  # e.g. an empty cart after a checkout: a userError, not 5xx
    if name == "CheckoutComplete":
        tally.checkout_statements.append(body["extensions"]["sqlStatements"])


async def run_load(
    world: World, mix: list[tuple[str, int]], seconds: float, connections: int
) -> tuple[Tally, float]:
    tally = Tally()
    names = [n for n, w in mix for _ in range(w)]
    deadline = time.perf_counter() + seconds
    # A fresh connection per request: with uvicorn's shared socket, long-lived keep-alive
    # connections can all land on one worker and leave the other idle (runs of 2 workers then
    # measured 1); new connections are spread by the kernel, as a load balancer would.
    client = RawClient("127.0.0.1", PORT)

    async def user_loop(n: int) -> None:
        rng = random.Random(n)
        user = world.users[n]
        while time.perf_counter() < deadline:
            await one_request(client, world, user, rng.choice(names), rng, tally)

    began = time.perf_counter()
    await asyncio.gather(*(user_loop(n) for n in range(connections)))
    return tally, time.perf_counter() - began


def report(
    workers: int, mix: list[tuple[str, int]], tally: Tally, elapsed: float
) -> list[list[object]]:
    rows: list[list[object]] = []
    for name, _ in mix:
        samples = tally.latencies.get(name, [])
        if samples:
            rows.append(
                [
                    workers,
                    name,
                    len(samples),
                    round(len(samples) / elapsed, 1),
                    pct(samples, 0.5),
                    pct(samples, 0.95),
                    pct(samples, 0.99),
                    tally.errors.get(name, 0),
                    tally.refused.get(name, 0),
                    share(
                        tally.cache_hits.get(name, 0),
                        tally.cache_refreshes.get(name, 0),
                        len(samples),
                    ),
                ]
            )
    everything = [x for v in tally.latencies.values() for x in v]
    if len(rows) > 1:
        rows.append(
            [
                workers,
                "all",
                len(everything),
                round(len(everything) / elapsed, 1),
                pct(everything, 0.5),
                pct(everything, 0.95),
                pct(everything, 0.99),
                sum(tally.errors.values()),
                sum(tally.refused.values()),
                share(
                    sum(tally.cache_hits.values()),
                    sum(tally.cache_refreshes.values()),
                    len(everything),
                ),
            ]
        )
    return rows


def share(hits: int, refreshes: int, total: int) -> str:
    """From the cache: as kept + with its sellable numbers read again."""
    return f"{100 * hits / total:.0f}%+{100 * refreshes / total:.0f}%"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mix", choices=sorted(MIXES), default="storefront")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    mix = MIXES[args.mix]
    rows: list[list[object]] = []
    statements: dict[int, list[int]] = {}
    for workers in args.workers:
        url = await fresh_postgres()
        world = await build_world(url, args.connections)
        no_cache = {"RESPONSE_CACHE_ENTRIES": "0"} if args.no_cache else {}
        server = start_api_server(
            url, SECRET, port=PORT, workers=workers, stderr=subprocess.PIPE, **no_cache
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}") as client:
                await wait_ready(client, tries=100)
            await run_load(world, mix, 3, args.connections)  # warm up (caches, pools)
            tally, elapsed = await run_load(world, mix, args.seconds, args.connections)
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows += report(workers, mix, tally, elapsed)
        statements[workers] = tally.checkout_statements
    print(
        f"{args.mix} mix, {args.connections} connections, {args.seconds:.0f} s per run, "
        f"response cache {'off' if args.no_cache else 'on'}, PostgreSQL, demo data, "
        "uvicorn on this machine (load generator on it too)"
    )
    print_table(
        [
            "workers",
            "operation",
            "requests",
            "per second",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "userErrors",
            "cached",
        ],
        rows,
    )
    for workers, counts in statements.items():
        if counts:
            print(
                f"checkoutComplete SQL statements ({workers} worker(s)): "
                f"median {sorted(counts)[len(counts) // 2]}, max {max(counts)}"
            )


if __name__ == "__main__":
    asyncio.run(main())
