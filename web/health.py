"""Liveness, readiness and metrics routes. Readiness checks each dependency at once, each
within its own short timeout, so /readyz answers within 2 s even when one of them accepts
connections and never replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.routing import Route

from core import metrics
from core.faults import Degradation

log = logging.getLogger("zhongtai.http")

READY_DATABASE_SECONDS = 1.5
READY_REDIS_SECONDS = 0.5

_abandoned: set[asyncio.Task[str]] = set()  # checks left to finish in the background


async def _database_state(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # down, refused or frozen: not ready, say why in one line
        log.warning("readiness: database %s: %s", type(exc).__name__, exc)
        return "down"
    return "ok"


async def _redis_state(redis: Any, health: Degradation) -> str:
    if redis is None:
        return "off"
    try:
        await redis.ping()
    except Exception as exc:
        health.failed("readiness", exc)
        return "down"
    health.succeeded()
    return "ok"


async def _bounded(check: Coroutine[Any, Any, str], seconds: float) -> str:
    """The check's answer, or "down" after `seconds`. Not wait_for: that waits for the
    cancelled check to clean up, and giving back a connection to a frozen server hangs too."""
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        return task.result()
    log.warning("readiness: no answer within %.1f s", seconds)
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_abandoned.discard)
    return "down"


async def readiness(engine: AsyncEngine, redis: Any, health: Degradation) -> dict[str, str]:
    """Each dependency's state, both checked at once, each within its own short timeout."""
    database, cache = await asyncio.gather(
        _bounded(_database_state(engine), READY_DATABASE_SECONDS),
        _bounded(_redis_state(redis, health), READY_REDIS_SECONDS),
    )
    return {"database": database, "redis": cache}


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready while the database answers. Redis is only a cache (the API works without it,
    degraded): its state is reported but never makes the process unready."""
    state = await readiness(
        request.app.state.engine, request.app.state.redis, request.app.state.redis_health
    )
    ready = state["database"] == "ok"
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", **state}, status_code=200 if ready else 503
    )


async def metrics_endpoint(_: Request) -> Response:
    payload, media = metrics.render()
    return Response(payload, media_type=media)


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
    ]
