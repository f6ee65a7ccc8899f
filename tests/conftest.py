"""Test harness: databases (PostgreSQL when reachable, one per xdist worker; SQLite for the
tests marked sqlite_too, or for all when PostgreSQL is not there), an injectable clock, and an
API client that sends the client teams' operations exactly as written."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import make_url
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine

from app import create_app
from cli import migrate
from core import changes
from core.clock import Clock
from core.clock import FixedClock
from core.db import StatementCounter
from core.db import create_engine
from core.db import create_session_factory
from core.db import current_counter
from core.settings import Settings
from models import Base
from models import Role
from models import Staff
from models import StaffRole
from services import accounts
from services.accounts import Permission
from services.accounts import access_token
from services.accounts import hash_password
from tests.contract import operation

# A database of the suite's own (created if missing, dropped at the end): the server may be
# shared, so the suite never touches a database it did not create.
# Named after the checkout, so two checkouts on one machine never drop each other's database,
# and after the pytest-xdist worker (gw0, gw1, …), so parallel workers never share one.
_CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PG_URL = os.environ.get(
    "ZT_TEST_PG_URL", f"postgresql+asyncpg://127.0.0.1:5432/zhongtai_test_{_CHECKOUT}"
)
if _WORKER:
    _url = make_url(PG_URL)
    PG_URL = _url.set(database=f"{_url.database}_{_WORKER}").render_as_string(hide_password=False)
T0 = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason (shown in the skip message)."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(PG_URL.replace("+asyncpg", ""))
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5432), timeout=1).close()
    except OSError as exc:
        return f"PostgreSQL not reachable at {parsed.hostname}:{parsed.port} ({exc})"
    return None


PG_DOWN = _pg_reachable()
if os.environ.get("ZT_REQUIRE_PG") and PG_DOWN:
    raise RuntimeError(f"ZT_REQUIRE_PG is set but {PG_DOWN}")


def in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking setup (alembic uses asyncio.run) off the test event loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    in_thread(migrate, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    if PG_DOWN:
        pytest.skip(f"PostgreSQL tests skipped: {PG_DOWN}. Start it or set ZT_TEST_PG_URL.")

    async def reset() -> None:
        await _create_database(PG_URL)
        engine = create_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    in_thread(asyncio.run, reset())
    in_thread(migrate, PG_URL)
    yield PG_URL
    in_thread(asyncio.run, _drop_database(PG_URL))


def _admin_url(url: str) -> tuple[str, str]:
    """The server's maintenance database and the name of ours."""
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", name


async def _create_database(url: str) -> None:
    admin_url, name = _admin_url(url)
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_database(url: str) -> None:
    admin_url, name = _admin_url(url)
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


# Children before parents, then every sequence back to 1 (what TRUNCATE … RESTART IDENTITY
# did). DELETE, not TRUNCATE: TRUNCATE makes new files for 46 tables and their indexes and
# syncs them at commit, 0.07–0.5 s a test on this machine against ~5 ms; the few rows a test
# leaves cost DELETE nothing. Both fire the same statement triggers.
_EMPTY_ALL = "; ".join(
    [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
    + [
        "SELECT setval(c.oid, 1, false) FROM pg_class c "
        "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
    ]
)


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table of a PostgreSQL test database and restart its ids at 1."""
    async with engine.begin() as conn:
        raw = await conn.get_raw_connection()
        # One round trip: asyncpg's simple-query protocol takes several statements at once.
        await raw.driver_connection.execute(_EMPTY_ALL)  # type: ignore[union-attr]


# Which database runs a test that takes `engine` (README "Tests"):
# PostgreSQL, production's database, runs every one of them, so every rule is proven there.
# SQLite, the newcomer's default, runs only those marked `sqlite_too` (the contract operations
# and the rules whose code or SQL differs on SQLite): elsewhere a second run on SQLite doubled
# the suite's time and proved nothing PostgreSQL does not. With no PostgreSQL reachable (and
# ZT_REQUIRE_PG unset) SQLite runs them all, as does ZT_TEST_ALL_DATABASES=1.
SQLITE = "sqlite"
POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.pg)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    both = (
        PG_DOWN
        or os.environ.get("ZT_TEST_ALL_DATABASES")
        or metafunc.definition.get_closest_marker("sqlite_too")
    )
    metafunc.parametrize("engine", [SQLITE, POSTGRESQL] if both else [POSTGRESQL], indirect=True)


# On pytest-xdist workers the longest tests (the fuzzer: ~30 s alone; the concurrency tests,
# each several OS processes) go first, so they overlap the many short ones instead of
# leaving one worker running them alone at the end.
SLOW_FIRST = ("tests/fuzz/", "tests/concurrency/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _WORKER:
        items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


@pytest.fixture
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database, on the databases pytest_generate_tests chose. A new engine
    per test: one kept per worker saved ~10% of the suite's time, but twice left the
    worker's event loop waiting for ever at the session's end (asyncpg connections disposed
    after the database was dropped), which would hang CI instead of failing it."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = create_engine(f"sqlite+aiosqlite:///{path}")
    else:
        eng = create_engine(request.getfixturevalue("pg_migrated"), pool_size=5)
        await truncate_all(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """SQLite only, for rules whose behaviour cannot differ between databases."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    eng = create_engine(f"sqlite+aiosqlite:///{path}")
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> Any:
    return create_session_factory(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


class Api:
    """Sends GraphQL to the in-process ASGI app. `op` runs a named operation of the contract
    documents exactly as the client teams wrote it."""

    def __init__(self, client: httpx.AsyncClient, admin_token: str = "") -> None:
        self.client = client
        self.admin_token = admin_token  # a platform admin holding every permission

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation: str | None = None,
        token: str | None = None,
        channel: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        h = dict(headers or {})
        if token:
            h["authorization"] = f"Bearer {token}"
        if channel:
            h["x-channel"] = channel
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation:
            body["operationName"] = operation
        response = await self.client.post("/graphql", json=body, headers=h)
        assert response.status_code < 500, response.text
        self.last_status = response.status_code
        return response.json()

    async def op(
        self, name: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        return await self.post(operation(name), variables, operation=name, **kw)

    async def ok(
        self, name: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        """Run an operation and insist on no GraphQL errors and no userErrors."""
        result = await self.op(name, variables, **kw)
        assert "errors" not in result, result["errors"]
        for payload in (result.get("data") or {}).values():
            if isinstance(payload, dict) and payload.get("userErrors"):
                raise AssertionError(payload["userErrors"])
        return result["data"]

    async def admin(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.ok(name, variables, token=self.admin_token)


@pytest.fixture
def settings() -> Settings:
    # Tokens outlive the clock jumps tests make; token expiry has its own tests.
    return Settings(
        database_url="sqlite+aiosqlite://",
        access_token_minutes=60 * 24 * 365,
        sql_echo=bool(os.environ.get("ZT_SQL_DEBUG")),
    )


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its lowest cost instead of the library's recommended (~0.3 s of CPU a hash,
    on purpose): the suite registers and logs in hundreds of accounts, and what it tests is
    the answer, not the hash's cost. Tests of the hasher itself set their own."""
    kept = accounts._hasher, accounts._DUMMY_HASH
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    accounts._hasher, accounts._DUMMY_HASH = cheap, cheap.hash("not-a-real-password-1")
    try:
        yield
    finally:
        accounts._hasher, accounts._DUMMY_HASH = kept


@pytest.fixture(scope="session", autouse=True)
def _cheap_hashes() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@lru_cache(maxsize=1)
def _known_hash() -> str:
    return hash_password(STAFF_PASSWORD)


STAFF_PASSWORD = "staff-pass-1"


async def make_staff(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    *,
    email: str,
    permissions: list[str],
    merchant_id: int | None = None,
) -> tuple[int, str]:
    """A staff member with a role holding `permissions`; returns (id, access token). The
    password is STAFF_PASSWORD (hashed once per test run: argon2 is slow on purpose)."""
    async with create_session_factory(engine)() as session:
        role = Role(name=f"role-{email}", permissions=permissions, merchant_id=merchant_id)
        staff = Staff(
            email=email,
            name=email.split("@")[0],
            password_hash=_known_hash(),
            merchant_id=merchant_id,
            is_active=True,
        )
        session.add_all([role, staff])
        await session.flush()
        session.add(StaffRole(staff_id=staff.id, role_id=role.id))
        await session.commit()
        claims = {"perms": sorted(permissions), "mid": merchant_id}
        return staff.id, access_token(settings, f"staff:{staff.id}", clock.now(), claims)


@pytest.fixture
async def api(engine: AsyncEngine, clock: FixedClock, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings=settings, clock=clock, engine=engine)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    _, token = await make_staff(
        engine,
        settings,
        clock,
        email="admin@test.example",
        permissions=[p.value for p in Permission],
    )
    # The harness sends no lifespan events: hear other processes' commits as serving does.
    listener = await changes.start_listening(engine)
    transport = httpx.ASGITransport(app=app)
    try:
        # The tests read messages in English (they were written so); the storefront's
        # default, zh-CN, and the negotiation are tested in tests/api/test_languages.py.
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"accept-language": "en"}
        ) as client:
            yield Api(client, token)
    finally:
        if listener is not None:
            listener.cancel()


def forget_kept_reads(engine: AsyncEngine) -> None:
    """Drop what is kept between requests (the running promotions), so a statement count
    measures a cold request and does not depend on what ran before."""
    changes.feed_of(engine).memo.clear()


class counting:
    """Counts SQL statements sent inside the block (the same hook the app uses per request)."""

    def __enter__(self) -> StatementCounter:
        self.counter = StatementCounter()
        self.token = current_counter.set(self.counter)
        return self.counter

    def __exit__(self, *exc: object) -> None:
        current_counter.reset(self.token)


async def cut_listener(engine: AsyncEngine) -> None:
    """Kill the change listener's connection to this test database, and nothing else (the
    server is shared: only our own database's listener), then wait, with a deadline that
    tolerates a loaded machine, until the feed knows it is deaf."""
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :listener"
            ),
            {"listener": changes.LISTENER_NAME},
        )
    feed = changes.feed_of(engine)
    deadline = asyncio.get_running_loop().time() + 10
    while feed.live and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
