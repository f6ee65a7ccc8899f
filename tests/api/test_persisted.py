"""Persisted queries (Apollo APQ) over POST and GET, the production allow-list, and rate
limits by query cost (issue 9)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from cli import DEFAULT_OPERATIONS
from cli import _persist_operations
from core.clock import FixedClock
from core.db import create_session_factory
from core.settings import Settings
from services.persisted_queries import digest
from tests.conftest import Api
from tests.contract import operation

TREE = operation("DisplayCategoryTree")


def apq(key: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": key}}


@asynccontextmanager
async def client(
    engine: AsyncEngine, clock: FixedClock, settings: Settings, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=settings.model_copy(update=changes), clock=clock, engine=engine)
    app.state.engine, app.state.session_factory = engine, create_session_factory(engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c


async def test_apq_round_trip_over_post(api: Api) -> None:
    key = digest(TREE)
    unknown = await api.client.post("/graphql", json={"extensions": apq(key)})
    assert unknown.status_code == 200
    error = unknown.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await api.client.post("/graphql", json={"query": TREE, "extensions": apq(key)})
    assert "displayCategories" in registered.json()["data"]
    again = await api.client.post("/graphql", json={"extensions": apq(key)})
    assert again.json()["data"] == registered.json()["data"]


async def test_apq_round_trip_over_get(api: Api) -> None:
    key = digest(TREE)
    params = {"extensions": json.dumps(apq(key)), "operationName": "DisplayCategoryTree"}
    unknown = await api.client.get("/graphql", params=params)
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await api.client.get("/graphql", params={**params, "query": TREE})
    assert registered.status_code == 200 and "data" in registered.json()
    cached = await api.client.get("/graphql", params=params)
    assert cached.status_code == 200
    assert cached.json()["data"] == registered.json()["data"]
    assert cached.headers["etag"]  # hashed GETs are what CDNs and browsers can cache


async def test_a_hash_that_does_not_match_is_refused(api: Api) -> None:
    wrong = await api.client.post("/graphql", json={"query": TREE, "extensions": apq("0" * 64)})
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    bad = await api.client.post("/graphql", json={"extensions": {"persistedQuery": 1}})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_allow_list_mode_accepts_registered_operations_only(
    engine: AsyncEngine, clock: FixedClock, settings: Settings
) -> None:
    async with client(engine, clock, settings, persisted_queries_only=True) as c:
        refused = await c.post("/graphql", json={"query": TREE})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
        adhoc = "{ displayCategories { id } }"
        registering = await c.post(
            "/graphql", json={"query": adhoc, "extensions": apq(digest(adhoc))}
        )
        assert registering.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"

        here = settings.model_copy(
            update={"database_url": engine.url.render_as_string(hide_password=False)}
        )
        count = await _persist_operations(here, DEFAULT_OPERATIONS)
        assert count >= 60  # every operation of both client files
        by_text = await c.post("/graphql", json={"query": TREE})
        assert "data" in by_text.json(), by_text.json()
        by_hash = await c.post("/graphql", json={"extensions": apq(digest(TREE))})
        assert "data" in by_hash.json()
        still = await c.post("/graphql", json={"query": adhoc})
        assert still.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"


async def test_rate_limit_by_query_cost(
    api: Api, engine: AsyncEngine, clock: FixedClock, settings: Settings
) -> None:
    each = (await api.post(TREE))["extensions"]["cost"]["requested"]
    capacity = 3 * each + each // 2  # room for three
    async with client(
        engine, clock, settings, rate_limit_capacity=capacity, rate_limit_refill_per_second=0.001
    ) as c:
        first = await c.post("/graphql", json={"query": TREE})
        assert first.json()["extensions"]["cost"]["throttleStatus"] == {
            "maximumAvailable": capacity,
            "currentlyAvailable": capacity - each,
            "restoreRate": 0.001,
        }
        answers = [first] + [await c.post("/graphql", json={"query": TREE}) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.status_code == 429
        body = refused.json()["errors"][0]
        assert body["extensions"]["code"] == "RATE_LIMITED"
        assert body["extensions"]["retryAfter"] > 0
        assert int(refused.headers["retry-after"]) >= 1


@cache
def span_exporter() -> Any:
    """One global tracer provider per process (OpenTelemetry allows setting it once)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


async def test_opentelemetry_spans_when_enabled(
    engine: AsyncEngine, clock: FixedClock, settings: Settings
) -> None:
    exporter = span_exporter()
    exporter.clear()
    async with client(engine, clock, settings, otel_tracing=True) as c:
        answer = await c.post(
            "/graphql", json={"query": TREE, "operationName": "DisplayCategoryTree"}
        )
        assert "data" in answer.json()
    names = [span.name for span in exporter.get_finished_spans()]
    assert any("DisplayCategoryTree" in name for name in names), names


class Down:
    """A store or limiter that cannot be reached: refused connections."""

    capacity, rate = 100, 1.0

    async def get(self, key: str) -> Any:
        raise ConnectionRefusedError("connection refused")

    async def put(self, *args: Any, **kw: Any) -> None:
        raise ConnectionRefusedError("connection refused")

    async def take(self, client: str, cost: int) -> Any:
        raise ConnectionRefusedError("connection refused")


async def test_a_store_that_is_down_never_makes_a_500(
    engine: AsyncEngine, clock: FixedClock, settings: Settings
) -> None:
    """The persisted-query store of record is the database: unreachable, the answer is 503
    SERVICE_UNAVAILABLE with Retry-After (JSON, never a plain-text 500); a limiter that
    fails lets requests through."""
    for allow_list in (False, True):
        app = create_app(
            settings=settings.model_copy(update={"persisted_queries_only": allow_list}),
            clock=clock,
            engine=engine,
        )
        app.state.engine, app.state.session_factory = engine, create_session_factory(engine)
        app.state.limiter = Down()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as c:
            plain = await c.post("/graphql", json={"query": TREE})
            app.state.persisted_queries = Down()
            registering = await c.post(
                "/graphql", json={"query": TREE, "extensions": apq(digest(TREE))}
            )
            by_hash = await c.post("/graphql", json={"extensions": apq(digest(TREE))})
        for answer in (registering, by_hash):
            assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        if allow_list:  # fails closed: nothing unregistered runs
            assert plain.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
        else:  # the limiter is down: requests are served
            assert "data" in plain.json()
