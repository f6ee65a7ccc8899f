"""Benchmark plumbing: fresh databases with demo data, the API served by uvicorn, timing and a
table printer."""

from __future__ import annotations

import asyncio
import atexit
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import IO
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli import migrate
from core.db import create_engine
from core.db import create_session_factory
from core.settings import PROJECT_ROOT
from seed import seed_demo

# The maintenance database, from which ours is created and dropped.
PG_ADMIN_URL = "postgresql+asyncpg://127.0.0.1:5432/postgres"
PG_SERVER_URL = "postgresql+asyncpg://127.0.0.1:5432/"


def bench_database_name() -> str:
    """BENCH_DATABASE names it; otherwise one per process, so two benches on the shared
    server (other checkouts, other runs) never drop each other's database."""
    return os.environ.get("BENCH_DATABASE") or f"zhongtai_bench_{os.getpid()}"


async def fresh_postgres(name: str | None = None) -> str:
    name = name or bench_database_name()
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = create_engine(PG_ADMIN_URL)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    # The server is shared: what the bench created goes when the bench ends.
    atexit.register(lambda: asyncio.run(_drop_bench_database(name)))
    return PG_SERVER_URL + name


async def _drop_bench_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    await admin.dispose()


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path}"


async def prepare(url: str) -> AsyncEngine:
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        await seed_demo(session)
    return engine


def start_api_server(
    url: str,
    jwt_secret: str,
    *,
    port: int,
    workers: int,
    stderr: IO[bytes] | int,
    **env: str,
) -> subprocess.Popen[bytes]:
    """This project's API under uvicorn on `port` against the database at `url`, without access
    logs; its tokens (signed with `jwt_secret`) last ten hours. `env` adds settings."""
    settings = {"DATABASE_URL": url, "JWT_SECRET": jwt_secret, "LOG_LEVEL": "WARNING"}
    settings |= {"ACCESS_TOKEN_MINUTES": "600", "PYTHONPATH": str(PROJECT_ROOT), **env}
    command = [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **settings},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


async def wait_ready(client: httpx.AsyncClient, tries: int = 300, hint: str = "") -> None:
    """Until the server `client` talks to answers /readyz (a try every 0.2 s)."""
    last: object = None
    for _ in range(tries):
        try:
            response = await client.get("/readyz")
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not come up ({last!r}){hint}")


async def timed(fn: Callable[[], Awaitable[object]], iterations: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def timed_pair(
    first: Callable[[], Awaitable[object]],
    second: Callable[[], Awaitable[object]],
    iterations: int,
    warmup: int,
) -> tuple[list[float], list[float]]:
    """Time two contenders alternately, so drifts of a shared machine hit both alike."""
    for _ in range(warmup):
        await first()
        await second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(iterations):
        for fn, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            await fn()
            samples.append((time.perf_counter() - start) * 1000)
    return a, b


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": pct(samples, 0.50),
        "p95": pct(samples, 0.95),
        "p99": pct(samples, 0.99),
        "mean": statistics.fmean(samples),
    }


def worker_rates(results: list[dict[str, Any]], ok: int) -> list[object]:
    """Errors, successes per second, and p50 and p99 latency over the answers of worker
    processes (tests/concurrency/worker.py) that succeeded `ok` times in all."""
    errors = sum(len(r["errors"]) for r in results)
    seconds = max(r["seconds"] for r in results)
    latencies = [lat for r in results for lat in r["latencies"]]
    return [errors, round(ok / seconds, 1), pct(latencies, 0.5), pct(latencies, 0.99)]


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [headers, *[[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
