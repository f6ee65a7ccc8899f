"""Engine and session factory, plus a per-request SQL statement counter."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

from core import changes


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)


# The counter of the request (or test block) that is running; None when nobody is counting.
current_counter: contextvars.ContextVar[StatementCounter | None] = contextvars.ContextVar(
    "zhongtai_statement_counter", default=None
)


def _count_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    counter = current_counter.get()
    if counter is not None:
        counter.count += 1
        counter.statements.append(statement)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    lock_timeout_ms: int = 5000,
    sqlite_shared: bool = False,
    connect_timeout: float = 5.0,
) -> AsyncEngine:
    """`sqlite_shared`: other processes write this SQLite file too (several workers), so
    nothing read from it may be kept between requests — SQLite cannot tell us of their
    commits. `connect_timeout` bounds opening a PostgreSQL connection only (a server that
    accepts and never answers); statements keep no time limit of their own here."""
    kwargs: dict[str, Any] = {"echo": echo}
    origin = changes.new_origin()
    if url.startswith("postgresql"):
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
        # A row lock awaited longer than this fails fast (SQLSTATE 55P03, retried or answered
        # "try again") instead of queueing requests behind a hot row until they time out.
        # The application name tells the change triggers whose write it was (core.changes).
        kwargs["connect_args"] = {
            "server_settings": {"lock_timeout": str(lock_timeout_ms), "application_name": origin},
            "timeout": connect_timeout,
        }
    engine = create_async_engine(url, **kwargs)
    sync_engine: Engine = engine.sync_engine
    if url.startswith("sqlite"):
        event.listen(sync_engine, "connect", _sqlite_pragmas)
    event.listen(sync_engine, "before_cursor_execute", _count_statement)
    # SQLite serves one process, so its own writes are all there is to hear; PostgreSQL's
    # feed goes live once `changes.listen` hears the other processes.
    changes.watch(sync_engine, live=url.startswith("sqlite") and not sqlite_shared, origin=origin)
    return engine


def create_session_factory(
    engine: AsyncEngine | AsyncConnection,
) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without lazy IO in async code.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
