"""The response cache step: public browse queries from guests and customers are answered
from memory (core/response_cache.py), kept until what they show or the schedule changes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request

from core import changes
from core.db import current_counter
from core.faults import is_unavailable
from core.response_cache import CachedAnswer
from core.response_cache import ResponseCache
from resolvers.context import Context
from schema.public import is_public_query
from services.schedule import SCHEDULED_TABLES
from services.schedule import next_scheduled_change
from web.stores import feed

log = logging.getLogger("zhongtai.http")

Key = tuple[Any, ...]


class CacheStep:
    def __init__(self, entries: int) -> None:
        self.cache = ResponseCache(entries) if entries > 0 else None

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

    def lookup(self, request: Request, key: Key, context: Context) -> CachedAnswer | None:
        """A kept answer still true now; none while the change listener is not live."""
        assert self.cache is not None  # a key is made only when there is a cache
        db_feed = feed(request)
        if not db_feed.live:
            return None
        self._catch_up(db_feed)
        return self.cache.get(key, context.now)

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
        tags = frozenset(deps.tags)
        tables = frozenset(table for table, _ in tags)
        since = db_feed.since(generation)
        if since is None or any(changes.touches(notes, tags, tables) for notes in since):
            return
        self._catch_up(db_feed)
        # kept as its JSON: a fraction of the objects' memory, and no work to send again
        self.cache.put(
            key, CachedAnswer(orjson.Fragment(orjson.dumps(data)), actual, tags, now, until)
        )

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
