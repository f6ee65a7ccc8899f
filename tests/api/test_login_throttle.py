"""Login throttling and password hashing under load (DOMAIN.md §9): attempts are counted
before a password is checked, and argon2 never runs on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest
from argon2.exceptions import VerificationError
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models.accounts import LoginThrottle
from services import accounts
from tests.conftest import Api

# Also on SQLite: the attempt counter is SQLite's own INSERT … ON CONFLICT there.
pytestmark = pytest.mark.sqlite_too

PASSWORD = "secret-pass-9"
LOGIN = "13800138000"


class FakeHasher:
    """argon2 stand-in: fast, and it records the threads it was called in."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.checked = 0

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return f"fake${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.threads.append(threading.get_ident())
        self.checked += 1
        if password_hash != f"fake${password}":
            raise VerificationError
        return True


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> FakeHasher:
    fake = FakeHasher()
    monkeypatch.setattr(accounts, "_hasher", fake)
    return fake


async def log_in(api: Api, password: str) -> str:
    result = await api.op("Login", {"login": LOGIN, "password": password})
    assert "errors" not in result, result
    errors = result["data"]["tokenCreate"]["userErrors"]
    return errors[0]["code"] if errors else "ok"


async def register(api: Api) -> None:
    await api.ok("Register", {"input": {"name": "小明", "phone": LOGIN, "password": PASSWORD}})


async def test_password_checks_leave_the_event_loop_free(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check blocks until the event loop itself releases it: that can only happen if
    the check runs on another thread while the loop keeps scheduling coroutines."""
    started, release = threading.Event(), threading.Event()
    seen: list[tuple[int, bool]] = []

    class BlockingHasher(FakeHasher):
        def verify(self, password_hash: str, password: str) -> bool:
            started.set()
            seen.append((threading.get_ident(), release.wait(timeout=5)))
            raise VerificationError

    monkeypatch.setattr(accounts, "_hasher", BlockingHasher())

    async def releaser() -> None:
        while not started.is_set():
            await asyncio.sleep(0.001)
        release.set()

    code, _ = await asyncio.gather(log_in(api, "wrong-pass-1"), releaser())
    assert code == "INVALID_CREDENTIALS"
    ((thread, released),) = seen
    assert released, "the event loop was blocked while the password was checked"
    assert thread != threading.get_ident()


async def test_registration_hashes_off_the_event_loop(api: Api, hasher: FakeHasher) -> None:
    await register(api)
    assert hasher.threads and threading.get_ident() not in hasher.threads


async def test_parallel_wrong_passwords_check_at_most_the_limit(
    api: Api, hasher: FakeHasher
) -> None:
    await register(api)
    codes = Counter(await asyncio.gather(*(log_in(api, "wrong-pass-1") for _ in range(20))))
    assert codes == {"INVALID_CREDENTIALS": 5, "LOGIN_LOCKED": 15}
    assert hasher.checked == 5
    assert await log_in(api, PASSWORD) == "LOGIN_LOCKED"
    assert hasher.checked == 5  # a locked account's password is not even looked at


async def test_a_successful_login_starts_the_account_over(api: Api, hasher: FakeHasher) -> None:
    await register(api)
    for _ in range(3):
        for _ in range(4):
            assert await log_in(api, "wrong-pass-1") == "INVALID_CREDENTIALS"
        assert await log_in(api, PASSWORD) == "ok"


async def test_successful_logins_do_not_use_up_the_address(
    api: Api, hasher: FakeHasher, engine: AsyncEngine
) -> None:
    await register(api)
    for _ in range(25):  # past the address's 20: only failures count against it
        assert await log_in(api, PASSWORD) == "ok"
    async with create_session_factory(engine)() as s:  # and they leave no rows behind
        assert await s.scalar(select(func.count()).select_from(LoginThrottle)) == 0


async def test_an_address_is_locked_after_twenty_failures_on_any_accounts(
    api: Api, hasher: FakeHasher
) -> None:
    await register(api)
    for n in range(20):  # four guesses at each of five accounts: none of them locks
        result = await api.op("Login", {"login": f"1390013{n // 4:04d}", "password": "x"})
        assert result["data"]["tokenCreate"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await log_in(api, PASSWORD) == "LOGIN_LOCKED"


async def test_an_over_long_login_is_refused_at_the_edge_not_a_crash(
    api: Api, hasher: FakeHasher
) -> None:
    """Found by the schema fuzzer: a login longer than the throttle key's column (300) was an
    INTERNAL_ERROR. The edge now refuses a login longer than an email can be, before any
    password is checked; behind it, a long key is still stored by its digest."""
    login = "1" * 1000
    result = await api.op("Login", {"login": login, "password": "wrong-pass-1"})
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert result["errors"][0]["extensions"]["argument"] == "login"
    staff = await api.post(
        'mutation($e: String!) { staffTokenCreate(email: $e, password: "x") '
        "{ userErrors { code } } }",
        {"e": "a" * 400 + "@b.cn"},
    )
    assert staff["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert hasher.checked == 0
