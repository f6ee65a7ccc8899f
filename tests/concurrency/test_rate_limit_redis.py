"""Rate limits shared across API processes through Redis (issue 9): two processes, one
client, one bucket — together they let through what the bucket holds, not twice that."""

from __future__ import annotations

import asyncio
import os

import pytest

from schema import schema
from schema.limits import analyse
from tests.concurrency.conftest import run_workers
from tests.contract import operation

pytestmark = pytest.mark.pg

REDIS_URL = os.environ.get("ZT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_or_skip() -> object:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 2)
    except Exception as exc:
        await client.aclose()
        if os.environ.get("ZT_REQUIRE_PG"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}); start it to run this test")
    return client


async def test_two_processes_share_one_bucket(pg_migrated: str) -> None:
    client = await _redis_or_skip()
    await client.flushdb()  # type: ignore[attr-defined]
    await client.aclose()  # type: ignore[attr-defined]
    query = operation("DisplayCategoryTree")
    cost = analyse(schema._schema, query, None, None, True).requested  # type: ignore[union-attr]
    capacity = 10 * cost + cost // 2  # room for exactly ten
    command = ["throttle", pg_migrated, "--redis", REDIS_URL, "--capacity", str(capacity),
               "--times", "8", "--query", query]
    results = await run_workers(command, command)
    allowed = [r["statuses"].get("200", 0) for r in results]
    refused = [r["statuses"].get("429", 0) for r in results]
    assert sum(allowed) == 10, results  # one shared bucket (alone, each would allow 8)
    assert sum(refused) == 6 and all(a > 0 for a in allowed), results
