"""The response cache step: public browse queries from guests and customers are answered
from memory (core/response_cache.py), kept until what they show or the schedule changes; an
answer whose sellable numbers moved is served with the numbers read again ("refresh")."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request

from core import changes
from core.db import StatementCounter
from core.db import current_counter
from core.faults import is_unavailable
from core.response_cache import CachedAnswer
from core.response_cache import ResponseCache
from core.response_cache import template
from resolvers.context import Context
from schema.public import is_public_query
from services.inventory import sellable_by_sku
from services.schedule import SCHEDULED_TABLES
from services.schedule import next_scheduled_change
from web.admission import Admission
from web.stores import feed

log = logging.getLogger("zhongtai.http")

Key = tuple[Any, ...]


def _quietly(task: asyncio.Future[Any]) -> None:
    """A read the request stopped waiting for may still fail: retrieved, so nothing warns."""
    if not task.cancelled():
        task.exception()


# A kept answer's numbers are a few SKUs' sums, read in milliseconds; a read (with its wait
# for admission) slower than this finds the database struggling or the server full, and the
# answer is computed instead, with the request's deadline.
STOCK_READ_SECONDS = 1.0


@dataclass(frozen=True)
class Served:
    """A kept answer as served: its data, how (hit, or refresh: its numbers read again) and
    the statements that took."""

    entry: CachedAnswer
    data: Any
    status: str
    statements: int


class CacheStep:
    def __init__(self, entries: int, megabytes: int | None = None) -> None:
        limit = megabytes * 1024 * 1024 if megabytes else None
        self.cache = ResponseCache(entries, limit) if entries > 0 else None

    def key(
        self, context: Context, query: str, operation: str | None, variables: dict[str, Any] | None
    ) -> Key | None:
        """The key is everything such an answer depends on besides data and time; None when
        the answer is not to be cached (staff, personal or mutating documents, cache off)."""
        if self.cache is None or context.viewer.is_staff or not is_public_query(query, operation):
            return None
        return (
            query,
            operation,
            orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
            context.channel,
            context.language,  # messages (cart notices) are said in it
        )

    async def lookup(
        self, request: Request, key: Key, context: Context, admission: Admission
    ) -> Served | None:
        """A kept answer still true now, its sellable numbers as they are now; none while the
        change listener is not live, or when the numbers could not be read in time."""
        assert self.cache is not None  # a key is made only when there is a cache
        db_feed = feed(request)
        if not db_feed.live:
            return None
        self._catch_up(db_feed)
        entry = self.cache.get(key, context.now)
        if entry is None:
            return None
        if not self.cache.stale(entry):
            return Served(entry, entry.data, "hit", 0)
        assert entry.live is not None  # only an answer with live numbers goes stale
        read = await self._numbers(request, entry.live.skus, admission)
        if read is None:
            return None
        at, sellable, statements = read
        # A change heard during the read that drops the answer (its title and its stock
        # written together, say) is not served half new: the answer is computed.
        self._catch_up(db_feed)
        data = self.cache.refill(key, entry, sellable, at)
        return None if data is None else Served(entry, data, "refresh", statements)

    async def _numbers(
        self, request: Request, skus: frozenset[int], admission: Admission
    ) -> tuple[int, dict[int, int], int] | None:
        """The SKUs' sellable numbers, true as of the stock clock returned (taken before the
        read: a note heard while it runs moves a SKU past it), and the statements that took.
        Read in a session of its own, admitted like any execution, and never cut off
        half-way: past STOCK_READ_SECONDS the request stops waiting (the answer is computed)
        while a read already running finishes on its own; one still waiting for admission is
        withdrawn (under overload it would only take a slot for no one). None: not read."""
        assert self.cache is not None
        at = self.cache.stock_clock
        running = False

        async def read() -> tuple[dict[int, int], int]:
            nonlocal running
            running = True
            counter = StatementCounter()
            token = current_counter.set(counter)
            try:
                async with request.app.state.session_factory() as session:
                    return await sellable_by_sku(session, skus), counter.count
            finally:
                current_counter.reset(token)

        task = asyncio.ensure_future(admission.run(read()))
        task.add_done_callback(_quietly)
        try:
            sellable, statements = await asyncio.wait_for(asyncio.shield(task), STOCK_READ_SECONDS)
        except BaseException as exc:  # the request cancelled (client gone) too
            if not running:
                task.cancel()  # still waiting for admission: nothing half-way to cut off
            if not isinstance(exc, Exception):
                raise
            log.warning("stock read failed; answer computed", exc_info=not is_unavailable(exc))
            return None
        if not skus <= sellable.keys():  # a SKU gone: its note is on its way
            return None
        return at, sellable, statements

    def _catch_up(self, db_feed: changes.ChangeFeed) -> None:
        """Drop what the changes heard since the last look touched."""
        assert self.cache is not None
        if self.cache.generation != db_feed.generation:
            self.cache.catch_up(db_feed.generation, db_feed.since(self.cache.generation))

    async def remember(
        self,
        request: Request,
        key: Key,
        generation: int,
        context: Context,
        data: Any,
        actual: int,
        deps: changes.Deps,
    ) -> None:
        """Keep an answer unless something it shows changed while it was computed."""
        assert self.cache is not None
        db_feed, now = feed(request), context.now
        schedule = await self._schedule(request, db_feed, now)
        if schedule is None or not db_feed.live:
            return
        until = min(
            (m for m in (schedule.until, context.answer_expires) if m is not None), default=None
        )
        cut = template(data)
        if cut is None:
            return
        body, live = cut
        # A number shown live but not left in a hole (made a plain int on its way): the
        # answer depends on those SKUs' stock as before.
        lost = deps.shown - (live.skus if live is not None else frozenset())
        tags = frozenset(deps.tags | {(changes.STOCK, sku) for sku in lost})
        tables = frozenset(table for table, _ in tags)
        since = db_feed.since(generation)
        if since is None or any(changes.touches(notes, tags, tables) for notes in since):
            return
        self._catch_up(db_feed)
        # kept as its JSON: a fraction of the objects' memory, and no work to send again
        fresh_at = None
        if live is not None and not any(changes.moved(notes, live.skus) for notes in since):
            fresh_at = self.cache.stock_clock  # no number it shows moved while computed
        entry = CachedAnswer(
            orjson.Fragment(body), actual, tags, now, until, live, fresh_at, len(body)
        )
        self.cache.put(key, entry)

    async def _schedule(
        self, request: Request, db_feed: changes.ChangeFeed, now: datetime
    ) -> changes.Kept | None:
        """When the next price/promotion window opens or closes (None: unknown, don't keep).
        The schedule changes only with the tables that hold windows, not with stock."""
        assert self.cache is not None
        version = db_feed.version(*SCHEDULED_TABLES)
        schedule = self.cache.schedule
        if schedule is not None and schedule.holds(version, now):
            return schedule
        # the cache's own bookkeeping, not the request's (its statements, what it shows)
        token, deps_token = current_counter.set(None), changes.current_deps.set(None)
        try:
            async with request.app.state.session_factory() as session:
                schedule = changes.Kept(version, now, await next_scheduled_change(session, now))
        except Exception as exc:
            log.warning(
                "schedule lookup failed; answer not cached", exc_info=not is_unavailable(exc)
            )
            return None
        finally:
            current_counter.reset(token)
            changes.current_deps.reset(deps_token)
        self.cache.schedule = schedule
        return schedule
