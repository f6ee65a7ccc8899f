"""Admission control: at most DB_POOL_SIZE GraphQL executions run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Admission:
    """At most `limit` executions at once: the rest wait here, in arrival order, holding
    nothing — the pool's own wait is not fair, and under overload an unlucky request could
    starve there until it timed out. Not more: a transaction holding hot stock rows waits for
    the event loop between its last statement and COMMIT, behind every other running
    execution; at 2 × the pool, 64 concurrent checkouts on two processes made lock convoys
    that hit the 5 s lock timeout (bench/checkout.py)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None  # made on the serving event loop

    async def run(self, work: Awaitable[T]) -> T:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            return await work
