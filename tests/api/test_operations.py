"""Operations (issue 9, part): /metrics exposes the listed series after a few requests, and
production mode turns GraphiQL and introspection off, honours a CORS allow-list, limits the
body size and stops slow requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from core.clock import FixedClock
from core.db import create_session_factory
from core.settings import Settings
from tests.conftest import Api


async def test_metrics_after_a_few_requests(api: Api) -> None:
    await api.post("{ brands { name } }", operation=None)
    await api.post("query Named { brands { name } }")
    await api.op("DisplayCategoryTree")
    await api.post("{ nope }")
    scraped = await api.client.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.text
    for series in (
        "zhongtai_graphql_requests_total",
        "zhongtai_graphql_errors_total",
        "zhongtai_graphql_request_seconds_bucket",
        "zhongtai_sql_statements_per_request_bucket",
        "zhongtai_reservations_total",
        "zhongtai_sweeper_runs_total",
    ):
        assert series in text, series
    # a contract (or allow-listed) operation keeps its name; any other name is `other`
    assert 'zhongtai_graphql_requests_total{operation="DisplayCategoryTree",status="ok"}' in text
    assert 'zhongtai_graphql_requests_total{operation="other",status="ok"}' in text
    assert 'operation="Named"' not in text
    assert 'zhongtai_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}' in text


@pytest.fixture
async def production(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    # The allow-list (on by default in production) has its own tests; these send ad-hoc
    # queries to test the other production defaults.
    settings = Settings(
        environment="production",
        jwt_secret="p" * 40,
        cors_origins=["https://shop.example"],
        max_body_bytes=2000,
        request_timeout_seconds=0.2,
        persisted_queries_only=False,
    )
    app = create_app(settings=settings, clock=clock, engine=engine)
    app.state.session_factory = create_session_factory(engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        yield client


async def test_production_turns_off_graphiql_and_introspection(
    production: httpx.AsyncClient,
) -> None:
    page = await production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    introspect = await production.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}
    )
    assert introspect.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    typename = await production.post("/graphql", json={"query": "{ __typename }"})
    assert typename.json()["data"] == {"__typename": "Query"}


def test_production_defaults_the_allow_list_and_rate_limits_on() -> None:
    production = Settings(environment="production", jwt_secret="p" * 40)
    assert production.allow_list_only and production.rate_limit == 100_000
    development = Settings()
    assert not development.allow_list_only and development.rate_limit == 0


async def test_production_cors_and_body_limit(production: httpx.AsyncClient) -> None:
    allowed = await production.options(
        "/graphql",
        headers={"origin": "https://shop.example", "access-control-request-method": "POST"},
    )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    denied = await production.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in denied.headers
    big = await production.post(
        "/graphql", json={"query": "{ brands { name } }", "variables": {"x": "y" * 5000}}
    )
    assert big.status_code == 413


async def test_slow_requests_are_stopped(production: httpx.AsyncClient, monkeypatch) -> None:
    from resolvers import catalog

    async def slow(session):
        await asyncio.sleep(1)
        return []

    monkeypatch.setattr(catalog, "all_brands", slow)
    response = await production.post("/graphql", json={"query": "{ brands { name } }"})
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


async def test_requests_holding_the_event_loop_are_stopped(
    production: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPU-bound execution never awaits, so wait_for cannot stop it: the deadline checked
    between fields does (here 500 brands × 2 ms of blocking work, against 0.2 s)."""
    import time
    from types import SimpleNamespace

    from resolvers import catalog
    from schema import schema

    async def many(session):
        return [SimpleNamespace(global_id=f"b{i}", name="b") for i in range(500)]

    def blocking(obj, info):
        time.sleep(0.002)  # holds the loop as CPU work would
        return True

    monkeypatch.setattr(catalog, "all_brands", many)
    monkeypatch.setattr(schema._schema.get_type("Brand"), "is_type_of", blocking)
    started = time.perf_counter()
    response = await production.post("/graphql", json={"query": "{ brands { id name } }"})
    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {
                "message": "The request took too long and was stopped.",
                "extensions": {"code": "TIMEOUT"},
            }
        ]
    }
    assert time.perf_counter() - started < 0.6  # not the full second of work
    monkeypatch.undo()
    answered = await production.post("/graphql", json={"query": "{ brands { id } }"})
    assert answered.json()["data"] == {"brands": []}


async def test_access_log_line_per_request(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="zhongtai.access"):
        await api.client.post(
            "/graphql",
            json={"query": "query Brands { brands { name } }"},
            headers={"x-request-id": "req-log-1"},
        )
    # the access log's fields ride on the record as `extra` attributes
    record = vars(next(r for r in caplog.records if r.name == "zhongtai.access"))
    assert (record["request_id"], record["operation"], record["sql_statements"]) == (
        "req-log-1",
        "Brands",
        1,
    )
    # cost: the list × 10, plus one
    assert record["cost"] == 11 and record["errors"] == [] and record["duration_ms"] > 0
