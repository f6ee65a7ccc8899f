"""The unit of work (services/unit_of_work.py): commit on success, nothing written on a rule
violation, lock trouble tried again and then TRY_AGAIN, the audit entry in the same
transaction as the change. On SQLite: the transaction rules do not differ by database (the
PostgreSQL crowd behaviour is tests/concurrency's)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import create_session_factory
from models import AuditEntry
from models.catalog import Brand
from services.errors import DomainError
from services.errors import ErrorCode
from services.unit_of_work import Audit
from services.unit_of_work import Retry
from services.unit_of_work import TryAgain
from services.unit_of_work import UnitOfWork
from services.unit_of_work import in_new_session


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def deadlock() -> DBAPIError:
    return DBAPIError("UPDATE stock_levels ...", {}, _Orig("40P01"))


class Pauses:
    """Records the backoff instead of sleeping."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


async def count(engine: AsyncEngine, model: Any) -> int:
    async with create_session_factory(engine)() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def brand_names(engine: AsyncEngine) -> list[str]:
    async with create_session_factory(engine)() as s:
        return list((await s.scalars(select(Brand.name).order_by(Brand.name))).all())


async def test_success_commits_and_answers_the_value(sqlite_engine: AsyncEngine) -> None:
    async def work(s: AsyncSession) -> Brand:
        brand = Brand(name="Anta")
        s.add(brand)
        await s.flush()
        return brand

    async with create_session_factory(sqlite_engine)() as session:
        done = await UnitOfWork(session).outcome(work)
    assert done.errors == [] and done.value is not None and done.value.name == "Anta"
    assert await brand_names(sqlite_engine) == ["Anta"]


async def test_a_rule_violation_rolls_back_everything_written(sqlite_engine: AsyncEngine) -> None:
    async def work(s: AsyncSession) -> None:
        s.add(Brand(name="Half"))
        await s.flush()  # written, then refused
        raise DomainError(ErrorCode.DUPLICATE_NAME, "Taken.", "name")

    async with create_session_factory(sqlite_engine)() as session:
        refused = await UnitOfWork(session).outcome(work)
        with pytest.raises(DomainError):  # `run` raises what `outcome` answers
            await UnitOfWork(session).run(work)
    assert refused.value is None and refused.error is not None
    assert [(v.code, v.field) for v in refused.errors] == [(ErrorCode.DUPLICATE_NAME, "name")]
    assert await brand_names(sqlite_engine) == []


async def test_lock_trouble_is_tried_again_with_growing_pauses(
    sqlite_engine: AsyncEngine,
) -> None:
    calls = 0

    async def work(s: AsyncSession) -> str:
        nonlocal calls
        calls += 1
        s.add(Brand(name=f"try-{calls}"))
        await s.flush()
        if calls < 3:
            raise deadlock()
        return "done"

    pauses = Pauses()
    async with create_session_factory(sqlite_engine)() as session:
        assert (
            await UnitOfWork(session, Retry(attempts=3, backoff=0.05), pauses).run(work) == "done"
        )
    assert calls == 3 and len(pauses.taken) == 2
    assert 0 <= pauses.taken[0] <= 0.05 and 0 <= pauses.taken[1] <= 0.1
    assert await brand_names(sqlite_engine) == ["try-3"]  # the failed attempts left nothing


async def test_persistent_lock_trouble_answers_try_again(sqlite_engine: AsyncEngine) -> None:
    calls = 0

    async def work(s: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        s.add(Brand(name=f"try-{calls}"))
        await s.flush()
        raise deadlock()

    pauses = Pauses()
    async with create_session_factory(sqlite_engine)() as session:
        busy = await UnitOfWork(session, Retry(attempts=3), pauses).outcome(work)
    assert calls == 3 and len(pauses.taken) == 2  # no pause after the last attempt
    assert [v.code for v in busy.errors] == [ErrorCode.TRY_AGAIN]
    assert isinstance(busy.error, TryAgain)
    assert await brand_names(sqlite_engine) == []


async def test_other_database_errors_are_not_retried(sqlite_engine: AsyncEngine) -> None:
    calls = 0

    async def clash(s: AsyncSession) -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT ...", {}, _Orig("23505"))

    async with create_session_factory(sqlite_engine)() as session:
        with pytest.raises(IntegrityError):
            await UnitOfWork(session, sleep=Pauses()).run(clash)
        assert calls == 1
        # an idempotent operation may take a unique-key clash as "a twin won": tried again,
        # and raised when it persists (a bug, not a crowd)
        with pytest.raises(IntegrityError):
            await UnitOfWork(session, Retry(unique_conflicts=True), Pauses()).run(clash)
        assert calls == 1 + 3


async def test_the_audit_entry_is_written_with_the_change(sqlite_engine: AsyncEngine) -> None:
    async def create(s: AsyncSession) -> Brand:
        brand = Brand(name="Li-Ning")
        s.add(brand)
        await s.flush()
        return brand

    factory = create_session_factory(sqlite_engine)
    async with factory() as session:
        brand = await UnitOfWork(session).run(
            create, Audit(7, "brand.create", Brand, request_id="r1")
        )

    async def rename(s: AsyncSession) -> Brand:
        found = await s.get(Brand, brand.id)
        assert found is not None
        found.name = "LI-NING"
        await s.flush()
        return found

    async with factory() as session:
        await UnitOfWork(session).run(rename, Audit(7, "brand.update", Brand, target_id=brand.id))
    async with factory() as s:
        log = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.target_type, e.target_id, e.actor_id) for e in log] == [
        ("brand.create", "Brand", brand.id, 7),
        ("brand.update", "Brand", brand.id, 7),
    ]
    created, renamed = log
    assert created.before is None and (created.after or {}).get("name") == "Li-Ning"
    assert created.request_id == "r1"
    assert (renamed.before or {}).get("name") == "Li-Ning"
    assert (renamed.after or {}).get("name") == "LI-NING"


async def test_the_audit_entry_rolls_back_with_the_change(sqlite_engine: AsyncEngine) -> None:
    """A refused change leaves no entry; a commit that fails (lock trouble) takes the entry of
    that attempt with it, so the retried change is logged once."""

    async def refused(s: AsyncSession) -> None:
        raise DomainError(ErrorCode.BRAND_IN_USE, "In use.")

    factory = create_session_factory(sqlite_engine)
    async with factory() as session:
        assert (await UnitOfWork(session).outcome(refused, Audit(1, "brand.delete", Brand))).errors
    assert await count(sqlite_engine, AuditEntry) == 0

    commits = 0
    async with factory() as session:
        commit = session.commit

        async def flaky_commit() -> None:
            nonlocal commits
            commits += 1
            if commits == 1:
                raise deadlock()  # after the entry was flushed with the change
            await commit()

        session.commit = flaky_commit  # type: ignore[method-assign]

        async def create(s: AsyncSession) -> Brand:
            brand = Brand(name="Xtep")
            s.add(brand)
            await s.flush()
            return brand

        await UnitOfWork(session, sleep=Pauses()).run(create, Audit(1, "brand.create", Brand))
    assert commits == 2
    assert await brand_names(sqlite_engine) == ["Xtep"]
    assert await count(sqlite_engine, AuditEntry) == 1


async def test_in_new_session_commits_on_a_session_of_its_own(sqlite_engine: AsyncEngine) -> None:
    factory = create_session_factory(sqlite_engine)

    async def work(s: AsyncSession) -> int:
        s.add(Brand(name="Peak"))
        await s.flush()
        return 1

    assert await in_new_session(factory, work) == 1
    assert await brand_names(sqlite_engine) == ["Peak"]
