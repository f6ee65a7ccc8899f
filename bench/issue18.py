"""Issue 18 in one run: planned execution of known operations against graphql-core's, side
by side, on PostgreSQL with the demo data.

1. CategoryPage over HTTP, uncached (RESPONSE_CACHE_ENTRIES=0), one worker, sequential: two
   servers at once, one per path (PLANNED_EXECUTION=false / true), requests interleaved with
   a `{ __typename }` floor on each and the hand-written SQL + JSON baseline (bench/catalog.py)
   in this process. Prints p50s and the ratio (page − floor) / SQL for each path, and checks
   that both servers answer the page byte for byte alike.
2. The storefront mix (bench/load.py) at 1 and 2 workers, each path in turn on the same data:
   requests/s, p50, p99, errors, statements per checkout.
3. The cache share (bench/cache_share.py): browse answers of other products served from the
   response cache while one product's stock moves 5 times a second (2 workers).

    .venv/bin/python -m bench.issue18 [--iterations 200] [--seconds 20] [--connections 16]
                                      [--port 8150] [--skip-load] [--skip-page]
                                      [--skip-cache-share]

BENCH_DATABASE names the database (default: one per process); ports are --port and up.
`--before ../main` also serves the page from another checkout (its own .venv) on both paths,
for a before/after in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import cache_share
from bench import catalog
from bench import load as load_bench
from bench.common import fresh_postgres
from bench.common import pct
from bench.common import prepare
from bench.common import print_table
from bench.http import RawClient
from core.ids import encode_id
from core.settings import PROJECT_ROOT
from tests.contract import operation

FLOOR = {"query": "{ __typename }"}
PATHS = (("graphql-core", False), ("planned", True))


def start(
    url: str, port: int, workers: int, planned: bool, cache: bool, tree: Path | None = None
) -> subprocess.Popen[bytes]:
    """A server of this checkout, or of `tree` (another checkout, with its own .venv)."""
    root = tree or PROJECT_ROOT
    python = str(root / ".venv" / "bin" / "python") if tree else sys.executable
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JWT_SECRET": load_bench.SECRET,
        "LOG_LEVEL": "WARNING",
        "ACCESS_TOKEN_MINUTES": "600",
        "PLANNED_EXECUTION": "true" if planned else "false",
        "PYTHONPATH": str(root),
    }
    if not cache:
        env["RESPONSE_CACHE_ENTRIES"] = "0"
    return subprocess.Popen(
        [
            python,
            "-m",
            "uvicorn",
            "app:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def ready(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(600):  # a busy shared machine can take a minute to start one
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not come up")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=30)


async def page_ratio(
    url: str, port: int, iterations: int, before: Path | None = None
) -> list[list[object]]:
    engine = await prepare(url)
    node = await catalog.pick_node(engine)
    page = {
        "query": operation("CategoryPage"),
        "operationName": "CategoryPage",
        "variables": {"id": encode_id("DisplayCategory", node), "first": catalog.PAGE_SIZE},
    }
    contenders: list[tuple[str, bool, Path | None]] = [
        (name, planned, None) for name, planned in PATHS
    ]
    if before is not None:  # the same page served by another checkout, e.g. main, both paths
        contenders[:0] = [
            (f"before ({before.name}) {name}", planned, before) for name, planned in PATHS
        ]
    servers = {
        name: start(url, port + n, 1, planned, False, tree)
        for n, (name, planned, tree) in enumerate(contenders)
    }
    try:
        for n in range(len(contenders)):
            await ready(port + n)
        clients = {
            name: RawClient("127.0.0.1", port + n) for n, (name, _, _) in enumerate(contenders)
        }
        bodies = {}
        for name, client in clients.items():
            answer = await client.post("/graphql", page, {})
            body: Any = answer.json()
            assert answer.status_code == 200 and "errors" not in body, body
            bodies[name] = orjson.dumps(body["data"])
        same = len(set(bodies.values())) == 1
        samples: dict[str, list[float]] = {"sql": []}
        for name in clients:
            samples[f"{name} floor"], samples[f"{name} page"] = [], []

        async def timed(key: str, call: Any) -> None:
            started = time.perf_counter()
            await call()
            samples[key].append((time.perf_counter() - started) * 1000)

        for round_ in range(iterations + 20):  # the first 20 warm up
            for name, client in clients.items():
                await timed(f"{name} floor", lambda c=client: c.post("/graphql", FLOOR, {}))
                await timed(f"{name} page", lambda c=client: c.post("/graphql", page, {}))
            await timed("sql", lambda: catalog.baseline(engine, node))
            if round_ == 19:
                for values in samples.values():
                    values.clear()
    finally:
        for server in servers.values():
            stop(server)
        await engine.dispose()
    sql = statistics.median(samples["sql"])
    rows: list[list[object]] = []
    for name in clients:
        floor = statistics.median(samples[f"{name} floor"])
        page_ms = statistics.median(samples[f"{name} page"])
        rows.append(
            [name, page_ms, pct(samples[f"{name} page"], 0.95), floor, sql, (page_ms - floor) / sql]
        )
    print(
        f"CategoryPage over HTTP, response cache off, 1 worker, sequential, {iterations} rounds "
        f"interleaved; all answer the page alike: {'yes' if same else 'NO'}"
    )
    print_table(
        ["path", "page p50 ms", "page p95 ms", "floor p50 ms", "SQL p50 ms", "(page-floor)/SQL"],
        rows,
    )
    return rows


async def mix(url: str, port: int, seconds: float, connections: int) -> None:
    rows: list[list[object]] = []
    notes = []
    for workers in (1, 2):
        url = await fresh_postgres()
        world = await load_bench.build_world(url, connections)
        order = PATHS if workers == 1 else PATHS[::-1]  # neither path always goes first
        for name, planned in order:
            load_bench.PORT = port
            server = start(url, port, workers, planned, True)
            try:
                await ready(port)
                await load_bench.run_load(world, load_bench.MIXES["storefront"], 3, connections)
                tally, elapsed = await load_bench.run_load(
                    world, load_bench.MIXES["storefront"], seconds, connections
                )
            finally:
                stop(server)
            everything = [x for v in tally.latencies.values() for x in v]
            browse = [
                x for n in ("CategoryPage", "ProductDetail", "Search") for x in tally.latencies[n]
            ]
            rows.append(
                [
                    workers,
                    name,
                    round(len(everything) / elapsed, 1),
                    pct(everything, 0.5),
                    pct(everything, 0.99),
                    pct(browse, 0.99),
                    sum(tally.errors.values()),
                    load_bench.share(
                        sum(tally.cache_hits.values()),
                        sum(tally.cache_refreshes.values()),
                        len(everything),
                    ),
                ]
            )
            counts = sorted(tally.checkout_statements)
            if counts:
                notes.append(
                    f"{workers} worker(s), {name}: checkoutComplete statements "
                    f"median {counts[len(counts) // 2]}, max {counts[-1]}"
                )
    print(
        f"storefront mix, {connections} connections, {seconds:.0f} s per run, response cache on, "
        "PostgreSQL, demo data, load generator on the same 2 cores"
    )
    print_table(
        ["workers", "path", "requests/s", "p50 ms", "p99 ms", "browse p99 ms", "errors", "cached"],
        rows,
    )
    print("cached: answers from the response cache, as kept + with their numbers read again")
    for note in notes:
        print(note)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-page", action="store_true")
    parser.add_argument("--skip-cache-share", action="store_true")
    parser.add_argument(
        "--before", type=Path, help="another checkout (with .venv) to serve the page too"
    )
    args = parser.parse_args()
    if not args.skip_page:
        await page_ratio(await fresh_postgres(), args.port, args.iterations, args.before)
    if not args.skip_load:
        await mix("", args.port, args.seconds, args.connections)
    if not args.skip_cache_share:  # 5 stock writes a second, 2 workers, as the issue asks
        database = f"zt_issue18_cache_share_{os.getpid()}"
        await cache_share.measure(args.seconds, 24, 5, 2, 8, args.port + 20, database)


if __name__ == "__main__":
    asyncio.run(main())
