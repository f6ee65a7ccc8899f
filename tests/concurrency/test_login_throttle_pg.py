"""Login throttling holds under a crowd (DOMAIN.md §9): two OS processes, each one API server,
fire wrong passwords at one account at the same instant on PostgreSQL. At most
LOGIN_MAX_FAILURES passwords are checked in all, nothing fails with INTERNAL_ERROR, and the
right password is then refused as locked."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from core.settings import Settings
from models import Customer
from models import Staff
from services import accounts
from services.errors import DomainError
from tests.concurrency.conftest import run_workers

pytestmark = pytest.mark.pg

PASSWORD = "right-pass-1"
ACCOUNTS = {"customer": "13800138000", "staff": "ops@example.com"}


async def create_account(engine: AsyncEngine, kind: str) -> None:
    async with create_session_factory(engine)() as s:
        password_hash = await accounts.hash_password_async(PASSWORD)
        s.add(
            Customer(name="c", phone=ACCOUNTS[kind], password_hash=password_hash)
            if kind == "customer"
            else Staff(email=ACCOUNTS[kind], name="ops", password_hash=password_hash)
        )
        await s.commit()


async def log_in(engine: AsyncEngine, kind: str, settings: Settings) -> None:
    login = accounts.login_customer if kind == "customer" else accounts.login_staff
    async with create_session_factory(engine)() as s:
        await login(s, settings, ACCOUNTS[kind], PASSWORD, utcnow(), "127.0.9.9")


@pytest.mark.parametrize("kind", ["customer", "staff"])
async def test_two_processes_guessing_check_at_most_five_passwords(
    pg_engine: AsyncEngine, pg_migrated: str, kind: str
) -> None:
    await create_account(pg_engine, kind)
    # Each process calls from its own address, so only the account's own limit applies.
    results = await run_workers(
        *(
            [
                "login",
                pg_migrated,
                "--kind",
                kind,
                "--login",
                ACCOUNTS[kind],
                "--password",
                "wrong-pass-1",
                "--times",
                "10",
                "--client",
                f"127.0.1.{n}",
            ]
            for n in (1, 2)
        )
    )
    assert [r["errors"] for r in results] == [[], []]  # no INTERNAL_ERROR anywhere
    settings = Settings(database_url=pg_migrated)
    checked = sum(r["checked"] for r in results)
    wrong = sum(r.get("INVALID_CREDENTIALS", 0) for r in results)
    locked = sum(r.get("LOGIN_LOCKED", 0) for r in results)
    assert checked == wrong == settings.login_max_failures
    assert locked == 20 - settings.login_max_failures
    with pytest.raises(DomainError) as refused:
        await log_in(pg_engine, kind, settings)
    assert refused.value.code == "LOGIN_LOCKED"
