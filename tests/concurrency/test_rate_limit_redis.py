"""Rate limits shared across API processes through Redis (issue 9): two processes, one
client, one bucket — together they let through what the bucket holds, not twice that."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from schema import schema
from schema.limits import analyse
from tests.concurrency.conftest import run_workers
from tests.contract import operation

pytestmark = pytest.mark.pg

REDIS_URL = os.environ.get("ZT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """Keys of this run only: the Redis is shared, so nothing else is read, flushed or left."""
    from redis.asyncio import Redis

    mine = f"zt:test:{uuid.uuid4().hex}:"
    yield mine
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{mine}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


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


async def test_two_processes_share_one_bucket(pg_migrated: str, prefix: str) -> None:
    client = await _redis_or_skip()
    await client.aclose()  # type: ignore[attr-defined]
    query = operation("DisplayCategoryTree")
    cost = analyse(schema._schema, query, None, None, True).requested  # type: ignore[union-attr]
    capacity = 10 * cost + cost // 2  # room for exactly ten
    command = [
        "throttle",
        pg_migrated,
        "--redis",
        REDIS_URL,
        "--redis-prefix",
        prefix,
        "--capacity",
        str(capacity),
        "--times",
        "8",
        "--query",
        query,
    ]
    results = await run_workers(command, command)
    allowed = [r["statuses"].get("200", 0) for r in results]
    refused = [r["statuses"].get("429", 0) for r in results]
    assert sum(allowed) == 10, results  # one shared bucket (alone, each would allow 8)
    assert sum(refused) == 6 and all(a > 0 for a in allowed), results


async def test_persisted_queries_are_shared_through_redis(pg_migrated: str, prefix: str) -> None:
    """A query registered through one API process is found by hash in another."""
    import httpx

    from app import create_app
    from core.settings import Settings
    from services.persisted_queries import digest

    client = await _redis_or_skip()
    await client.aclose()  # type: ignore[attr-defined]
    query = operation("DisplayCategoryTree")
    wanted = {"persistedQuery": {"version": 1, "sha256Hash": digest(query)}}
    settings = Settings(
        database_url=pg_migrated,
        sweeper_interval_seconds=0,
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
    )
    first, second = create_app(settings=settings), create_app(settings=settings)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        a = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a")
        b = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b")
        async with a, b:
            missing = await b.post("/graphql", json={"extensions": wanted})
            assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            await a.post("/graphql", json={"query": query, "extensions": wanted})
            found = await b.post("/graphql", json={"extensions": wanted})
            assert "displayCategories" in found.json()["data"]
