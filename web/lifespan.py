"""Start-up and shutdown: the engine, GC tuning, the reservation sweeper and the change
listener; Redis and the engine closed on the way out."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from core import changes
from core import metrics
from core.clock import Clock
from core.db import create_engine
from core.db import create_session_factory
from core.faults import is_unavailable
from core.settings import Settings
from services import housekeeping
from services import members
from services import persisted_queries as persisted
from web.persisted import learn_registered_names

log = logging.getLogger("zhongtai.http")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


async def run_sweeper(factory: Any, clock: Clock, interval: float, settings: Settings) -> None:
    """Expire overdue reservations (and their unpaid orders) every `interval` seconds. Every
    process may run one: the sweep claims rows with SKIP LOCKED, so each expires once."""
    while True:
        await asyncio.sleep(interval)
        try:
            swept = await housekeeping.sweep(
                factory,
                clock.now(),
                settings.auto_complete_days,
                settings.currency,
                members.PointsRules.of(settings),
            )
            metrics.SWEEPS.inc()
            metrics.EXPIRED.inc(swept.expired)
            if swept.expired or swept.completed:
                log.info(
                    "sweeper expired %d reservation(s), completed %d order(s)",
                    swept.expired,
                    swept.completed,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep sweeping; the next run retries what this one missed
            if is_unavailable(exc):  # one line per run, not a traceback every 30 s
                log.warning("reservation sweep skipped: database unavailable (%s)", exc)
            else:
                log.exception("reservation sweep failed")


def _freeze_startup_objects() -> None:
    # Start-up objects (schema, caches, modules) live forever: move them out of the GC's
    # generations so collections under load only walk request garbage.
    gc.collect()
    gc.freeze()


def lifespan(
    settings: Settings, clock: Clock, engine: AsyncEngine | None, known: persisted.KnownOperations
) -> Lifespan:
    """The app's lifespan; `engine` given means the caller owns (and disposes of) it."""

    @asynccontextmanager
    async def running(app: Starlette) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_engine(
            settings.database_url,
            echo=settings.sql_echo,
            pool_size=settings.db_pool_size,
            sqlite_shared=settings.workers > 1,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
        app.state.session_factory = create_session_factory(app.state.engine)
        _freeze_startup_objects()
        sweeper = (
            asyncio.create_task(
                run_sweeper(
                    app.state.session_factory, clock, settings.sweeper_interval_seconds, settings
                )
            )
            if settings.sweeper_interval_seconds > 0
            else None
        )
        listener = await changes.start_listening(app.state.engine)
        await learn_registered_names(
            persisted.DatabaseStore(lambda: app.state.session_factory), known
        )
        yield
        for task in (sweeper, listener):
            if task is not None:
                task.cancel()
        if own_engine:
            await app.state.engine.dispose()
        if app.state.redis is not None:
            await app.state.redis.aclose()

    return running
