"""Hostile input and faults never cost a worker, an internal error or data: request errors
are 400 with a code, an unreachable database is 503 SERVICE_UNAVAILABLE with Retry-After
(never INTERNAL_ERROR, never a plain-text 500), /readyz answers within 2 s even when
PostgreSQL is frozen, and client errors log one line each."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from app import create_app
from core.clock import FixedClock
from core.db import create_engine
from core.db import create_session_factory
from core.settings import Settings
from services.accounts import access_token
from tests.api.checkout_data import ADDRESS
from tests.conftest import Api
from tests.contract import DOCUMENTS
from tests.contract import operation
from tests.contract import operation_names

# Nothing listens on port 1: every connection attempt is refused at once.
DOWN_URL = "postgresql+asyncpg://zt:zt@127.0.0.1:1/zhongtai_down"
BRANDS = "{ brands { name } }"


@asynccontextmanager
async def serving(
    engine: AsyncEngine, settings: Settings, clock: FixedClock, **changes: Any
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings=settings.model_copy(update=changes), clock=clock, engine=engine)
    app.state.engine, app.state.session_factory = engine, create_session_factory(engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield app, client


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/")
    assert code_of(response) == "SERVICE_UNAVAILABLE"


# --- 1. request errors with the right status ------------------------------------------------


async def test_an_unknown_operation_name_is_a_bad_request(api: Api) -> None:
    document = "query A { brands { name } } query B { brands { id } }"
    post = await api.client.post("/graphql", json={"query": document, "operationName": "C"})
    get = await api.client.get("/graphql", params={"query": document, "operationName": "C"})
    for response in (post, get):
        assert response.status_code == 400, response.text
        assert code_of(response) == "BAD_REQUEST"
    named = await api.client.post("/graphql", json={"query": document, "operationName": "B"})
    assert named.json()["data"] == {"brands": []}


@pytest.mark.parametrize("operation_name", [None, "F"])
async def test_a_document_without_operations_is_a_bad_request(
    api: Api, operation_name: str | None
) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": "fragment F on Query { brands { name } }", "operationName": operation_name},
    )
    assert response.status_code == 400, response.text
    assert code_of(response) in ("BAD_REQUEST", "GRAPHQL_VALIDATION_FAILED")


@pytest.mark.parametrize(
    "params",
    [
        {"extensions": [1]},
        {"extensions": "persistedQuery"},
        {"extensions": 5},
        {"variables": "x"},
        {"variables": [1]},
        {"variables": 2},
    ],
)
async def test_extensions_and_variables_must_be_objects(api: Api, params: dict) -> None:
    post = await api.client.post("/graphql", json={"query": BRANDS, **params})
    assert post.status_code == 400 and code_of(post) == "BAD_REQUEST"
    import json

    get = await api.client.get(
        "/graphql", params={"query": BRANDS, **{k: json.dumps(v) for k, v in params.items()}}
    )
    assert get.status_code == 400 and code_of(get) == "BAD_REQUEST"


async def test_empty_get_parameters_mean_none(api: Api) -> None:
    get = await api.client.get(
        "/graphql", params={"query": BRANDS, "variables": "", "extensions": ""}
    )
    assert get.status_code == 200 and get.json()["data"] == {"brands": []}


async def test_a_session_that_fails_to_close_answers_normally(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    closing = AsyncSession.close

    async def close(self: AsyncSession) -> None:
        await closing(self)  # the connection goes back; then closing reports a lost link
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(AsyncSession, "close", close)
    response = await api.client.post("/graphql", json={"query": BRANDS})
    assert response.status_code == 200 and response.json()["data"] == {"brands": []}


# --- 2. database unreachable: 503 for every operation ---------------------------------------


@pytest.fixture
async def down_engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(DOWN_URL, connect_timeout=1)
    yield engine
    await engine.dispose()


async def test_database_down_is_503_for_queries_and_mutations(
    down_engine: AsyncEngine,
    settings: Settings,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    customer = access_token(settings, "customer:1", clock.now())
    staff = access_token(settings, "staff:1", clock.now(), {"perms": ["catalog:write"]})
    async with serving(down_engine, settings, clock) as (_, client):
        with caplog.at_level(logging.INFO):
            answers = [
                await client.post("/graphql", json={"query": BRANDS}),
                await client.get("/graphql", params={"query": BRANDS}),
                await client.post(
                    "/graphql",
                    json={"query": operation("AddressCreate"), "variables": {"input": ADDRESS}},
                    headers={"authorization": f"Bearer {customer}"},
                ),
                await client.post(
                    "/graphql",
                    json={"query": BRANDS},  # staff standing read
                    headers={"authorization": f"Bearer {staff}"},
                ),
            ]
    for response in answers:
        assert_unavailable(response)
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a known fault"


async def test_database_down_never_answers_internal_error(
    down_engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    """Every contract operation, as a customer: refused before execution (missing variables,
    forbidden) or 503 — never INTERNAL_ERROR, never a 500."""
    customer = access_token(settings, "customer:1", clock.now())
    statuses: list[int] = []
    async with serving(down_engine, settings, clock) as (_, client):
        for document in DOCUMENTS:
            for name in operation_names(document):
                response = await client.post(
                    "/graphql",
                    json={"query": operation(name), "operationName": name},
                    headers={"authorization": f"Bearer {customer}"},
                )
                assert response.status_code != 500, (name, response.text)
                codes = {e["extensions"]["code"] for e in response.json().get("errors", [])}
                assert "INTERNAL_ERROR" not in codes, (name, response.text)
                if "SERVICE_UNAVAILABLE" in codes:
                    assert_unavailable(response)
                statuses.append(response.status_code)
    assert statuses.count(503) >= 5, statuses  # the rest lack variables or permission


async def test_readyz_reports_the_database_down(
    down_engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    async with serving(down_engine, settings, clock) as (_, client):
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "down", "redis": "off"}


# --- 3. a frozen PostgreSQL: /readyz within 2 s ---------------------------------------------


class FreezableProxy:
    """A TCP proxy on 127.0.0.1 (ephemeral port) to `target`, or, with no target, a server
    that accepts and never answers. `freeze()` stops forwarding both ways (the server looks
    hung); `close()` drops every connection."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target, self.frozen = target, asyncio.Event()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> FreezableProxy:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def freeze(self) -> None:
        self.frozen.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        if self.target is None:
            return  # accepted, never answered
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers.append(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.frozen.is_set():
                await asyncio.sleep(3600)  # hung: the bytes never arrive
            writer.write(data)
            await writer.drain()


async def test_readyz_and_requests_answer_fast_when_connects_hang(
    settings: Settings, clock: FixedClock
) -> None:
    async with FreezableProxy() as silent:
        engine = create_engine(
            f"postgresql+asyncpg://zt:zt@127.0.0.1:{silent.port}/x", connect_timeout=0.5
        )
        try:
            async with serving(engine, settings, clock) as (_, client):
                started = time.monotonic()
                ready = await client.get("/readyz")
                assert time.monotonic() - started < 2
                assert ready.status_code == 503 and ready.json()["database"] == "down"
                started = time.monotonic()
                assert_unavailable(await client.post("/graphql", json={"query": BRANDS}))
                assert time.monotonic() - started < 2  # the connect timeout, not 60 s
        finally:
            await engine.dispose()


@pytest.mark.pg
async def test_readyz_answers_within_2s_when_postgresql_freezes(
    pg_migrated: str, settings: Settings, clock: FixedClock
) -> None:
    """Connections already open, then PostgreSQL stops answering (the 39 s hang)."""
    from sqlalchemy.engine import make_url

    real = make_url(pg_migrated)
    async with FreezableProxy((real.host or "127.0.0.1", real.port or 5432)) as proxy:
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        engine = create_engine(url, connect_timeout=0.5)
        try:
            async with serving(engine, settings, clock) as (_, client):
                assert (await client.get("/readyz")).status_code == 200  # a pooled connection
                proxy.freeze()
                started = time.monotonic()
                ready = await client.get("/readyz")
                assert time.monotonic() - started < 2
                assert ready.status_code == 503 and ready.json()["database"] == "down"
        finally:
            await proxy.__aexit__()  # drop the hung connections, so dispose does not wait
            await engine.dispose()


# --- 4. Redis is a cache: down, production keeps serving ------------------------------------

REDIS_DOWN = "redis://127.0.0.1:1/0"
PRODUCTION = {
    "environment": "production",
    "jwt_secret": "h7-test-secret-" + "x" * 32,
    "redis_url": REDIS_DOWN,
}


def sample(metric: Any, **labels: str) -> float:
    for family in metric.collect():
        for s in family.samples:
            if (
                s.name.endswith(("_total", ""))
                and all(s.labels.get(k) == v for k, v in labels.items())
                and not s.name.endswith("_created")
            ):
                return float(s.value)
    return 0.0


async def test_redis_down_in_production_keeps_serving_allow_listed_operations(
    engine: AsyncEngine, settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    from cli import DEFAULT_OPERATIONS
    from cli import _persist_operations
    from core import metrics
    from services.persisted_queries import digest

    tree = operation("DisplayCategoryTree")
    here = settings.model_copy(
        update={**PRODUCTION, "database_url": engine.url.render_as_string(hide_password=False)}
    )
    # registered with Redis down too: the database is the store of record
    assert await _persist_operations(here, DEFAULT_OPERATIONS) >= 60
    caplog.clear()  # the command's own line about Redis; the server's come next
    errors_before = sample(metrics.DEPENDENCY_ERRORS, dependency="redis", use="persisted_queries")
    async with serving(engine, settings, clock, **PRODUCTION) as (app, client):
        cost = None
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                by_text = await client.post("/graphql", json={"query": tree})
                assert by_text.status_code == 200 and "data" in by_text.json(), by_text.text
                cost = by_text.json()["extensions"]["cost"]
                by_hash = await client.post(
                    "/graphql",
                    json={
                        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest(tree)}}
                    },
                )
                assert "data" in by_hash.json(), by_hash.text
        adhoc = await client.post("/graphql", json={"query": BRANDS})
        assert code_of(adhoc) == "OPERATION_NOT_ALLOWED"  # still closed to the unregistered
        # the limit holds per process while Redis is down
        assert (
            cost is not None
            and cost["throttleStatus"]["currentlyAvailable"]
            < cost["throttleStatus"]["maximumAvailable"]
        )
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "redis": "down"}
        assert app.state.redis_health.down_since is not None
    assert (
        sample(metrics.DEPENDENCY_ERRORS, dependency="redis", use="persisted_queries")
        > errors_before
    )
    assert sample(metrics.DEGRADED, dependency="redis") == 1
    degraded = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(degraded) == 1, "one line when Redis goes down, not one per request"
    assert not [r for r in caplog.records if r.exc_info]


async def test_rate_limit_falls_back_to_local_buckets_while_redis_is_down(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    tree = operation("DisplayCategoryTree")
    each = (await api.post(tree))["extensions"]["cost"]["requested"]
    async with serving(
        engine,
        settings,
        clock,
        redis_url=REDIS_DOWN,
        rate_limit_capacity=2 * each + each // 2,
        rate_limit_refill_per_second=0.001,
    ) as (_, client):
        answers = [await client.post("/graphql", json={"query": tree}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert code_of(answers[-1]) == "RATE_LIMITED"


# --- 5. logs: one line per client error, one traceback per unexpected error -----------------


async def test_a_refusal_logs_one_line_and_no_traceback(
    api: Api, settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    customer = access_token(settings, "customer:1", clock.now())
    with caplog.at_level(logging.DEBUG):
        result = await api.op(
            "BrandCreate",
            {"input": {"name": "Sneaky"}},
            token=customer,
            headers={"x-request-id": "req-forbidden"},
        )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    lines = [
        r
        for r in caplog.records
        if r.name.startswith(("zhongtai", "strawberry")) and r.name != "zhongtai.access"
    ]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    message = lines[0].getMessage()
    assert "FORBIDDEN" in message and "brandCreate" in message and "req-forbidden" in message
    assert lines[0].exc_info is None and "Traceback" not in caplog.text


async def test_an_unexpected_error_logs_its_traceback_once(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from resolvers import catalog

    async def explode(session: Any) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(catalog, "all_brands", explode)
    with caplog.at_level(logging.DEBUG):
        response = await api.client.post(
            "/graphql", json={"query": BRANDS}, headers={"x-request-id": "req-boom"}
        )
    assert code_of(response) == "INTERNAL_ERROR"
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1 and "req-boom" in with_traceback[0].getMessage()
    assert caplog.text.count("Traceback") == 1


async def test_a_request_refused_before_execution_logs_one_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    aliases = " ".join(f"a{i}: brands {{ name }}" for i in range(40))
    with caplog.at_level(logging.DEBUG):
        response = await api.client.post(
            "/graphql", json={"query": f"{{ {aliases} }}"}, headers={"x-request-id": "req-big"}
        )
    assert code_of(response) == "QUERY_TOO_COMPLEX"
    lines = [r for r in caplog.records if r.name.startswith("zhongtai")]
    assert len(lines) == 1 and "QUERY_TOO_COMPLEX" in lines[0].getMessage()
    assert "req-big" in lines[0].getMessage() and lines[0].exc_info is None


# --- 6. metrics: the operation label is bounded ---------------------------------------------


def operation_labels() -> set[str]:
    from core import metrics

    return {s.labels["operation"] for family in metrics.REQUESTS.collect() for s in family.samples}


async def test_client_chosen_operation_names_do_not_mint_metric_labels(api: Api) -> None:
    import secrets

    await api.op("DisplayCategoryTree")  # a contract operation keeps its name
    before = operation_labels()
    assert "DisplayCategoryTree" in before
    for _ in range(50):
        name = "Op" + secrets.token_hex(8)
        await api.post(f"query {name} {{ brands {{ name }} }}", operation=name)
    assert operation_labels() - before <= {"other"}


# --- Redis up: a read-through cache in front of the database --------------------------------

REDIS_UP = "redis://127.0.0.1:6379/0"


async def test_redis_caches_persisted_queries_read_through(engine: AsyncEngine) -> None:
    import uuid

    from redis.asyncio import Redis

    from core.faults import Degradation
    from services.persisted_queries import DatabaseStore
    from services.persisted_queries import Entry
    from services.persisted_queries import RedisCache
    from services.persisted_queries import digest

    client = Redis.from_url(REDIS_UP, socket_timeout=1, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_UP} ({exc})")
    record = DatabaseStore(lambda: create_session_factory(engine))
    # keys of this test only (the Redis is shared)
    cache = RedisCache(client, record, Degradation("redis"), f"zt:test:{uuid.uuid4().hex}:")
    key = digest(BRANDS)
    try:
        await cache.put(key, BRANDS)
        assert await client.exists(cache.prefix + key) == 0  # written to the record only
        assert await cache.get(key) == Entry(BRANDS, False, None)
        assert 0 < await client.ttl(cache.prefix + key) <= RedisCache.TTL_SECONDS
        await cache.put(key, BRANDS, allowed=True, name="Brands")  # drops the stale copy
        assert await client.exists(cache.prefix + key) == 0
        assert await cache.get(key) == Entry(BRANDS, True, "Brands")

        class Unreachable:
            async def get(self, key: str) -> Any:
                raise AssertionError("a cached entry needs no database read")

        cache.record = Unreachable()  # type: ignore[assignment]
        assert await cache.get(key) == Entry(BRANDS, True, "Brands")
    finally:
        await client.delete(cache.prefix + key)
        await client.aclose()
