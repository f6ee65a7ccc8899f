"""Automatic persisted queries (Apollo's protocol) and the production allow-list, keyed by
the query's SHA-256. The database is the store of record (table persisted_queries); Redis,
when REDIS_URL is set, is only a read-through cache shared by the processes, and a small
in-process LRU keeps hot lookups off the network — both safe, because a hash always names
the same text. With Redis down every lookup goes to the database (one log line, a metric),
so allow-listed operations keep being served."""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.clock import utcnow
from core.faults import Degradation
from models.operations import PersistedQuery
from services.unit_of_work import in_new_session


def digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    query: str
    allowed: bool
    name: str | None = None  # the operation's registered name (allow-listed entries)


class Store(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def put(
        self, key: str, query: str, *, allowed: bool = False, name: str | None = None
    ) -> None: ...


class DatabaseStore:
    def __init__(self, factory: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self.factory = factory  # a getter: the app's session factory exists once it starts

    async def get(self, key: str) -> Entry | None:
        async with self.factory()() as session:
            row = await session.get(PersistedQuery, key)
            return Entry(row.query, row.allowed, row.name) if row else None

    async def put(
        self, key: str, query: str, *, allowed: bool = False, name: str | None = None
    ) -> None:
        """Insert, or (allow-listing) mark an existing entry allowed; racing writers of the
        same hash write the same text, so whoever wins is right."""

        async def store(session: AsyncSession) -> None:
            row = await session.get(PersistedQuery, key)
            if row is None:
                session.add(
                    PersistedQuery(
                        hash=key, query=query, allowed=allowed, name=name, created_at=utcnow()
                    )
                )
            elif allowed and not row.allowed:
                row.allowed, row.name = True, name or row.name

        # a concurrent insert of the same hash: theirs is ours
        with contextlib.suppress(IntegrityError):
            await in_new_session(self.factory(), store)

    async def allowed_names(self) -> set[str]:
        async with self.factory()() as session:
            found = await session.scalars(
                select(PersistedQuery.name).where(
                    PersistedQuery.allowed.is_(True), PersistedQuery.name.is_not(None)
                )
            )
            return {name for name in found if name}


class RedisCache:
    """Entries of the store of record cached in Redis (for an hour: an entry allow-listed
    while Redis was down shows its old state at most that long). Any Redis failure is
    reported to `health` and the lookup goes to the record."""

    TTL_SECONDS = 3600
    USE = "persisted_queries"

    def __init__(
        self, client: Any, record: Store, health: Degradation, prefix: str = "zt:"
    ) -> None:
        self.client, self.record, self.health = client, record, health
        self.prefix = f"{prefix}pq:"

    async def get(self, key: str) -> Entry | None:
        cached = await self._cached(key)
        if cached is not None:
            return cached
        entry = await self.record.get(key)
        if entry is not None:
            await self._keep(key, entry)
        return entry

    async def put(
        self, key: str, query: str, *, allowed: bool = False, name: str | None = None
    ) -> None:
        await self.record.put(key, query, allowed=allowed, name=name)
        await self._redis("delete", self.prefix + key)  # the next get reads the record

    async def _cached(self, key: str) -> Entry | None:
        found = await self._redis("hgetall", self.prefix + key)
        if not found or b"query" not in found:
            return None
        return Entry(
            found[b"query"].decode(),
            found.get(b"allowed") == b"1",
            found.get(b"name", b"").decode() or None,
        )

    async def _keep(self, key: str, entry: Entry) -> None:
        mapping = {
            "query": entry.query,
            "allowed": "1" if entry.allowed else "0",
            "name": entry.name or "",
        }
        if await self._redis("hset", self.prefix + key, mapping=mapping) is not None:
            await self._redis("expire", self.prefix + key, self.TTL_SECONDS)

    async def _redis(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """One Redis call; None when Redis is down (skipped while it is known to be)."""
        if not self.health.usable:
            return None
        try:
            answer = await getattr(self.client, command)(*args, **kwargs)
        except Exception as exc:  # Redis is a cache: carry on without it
            self.health.failed(self.USE, exc)
            return None
        self.health.succeeded()
        return answer


class CachedStore:
    """Positive lookups cached in-process (LRU)."""

    def __init__(self, inner: Store, size: int = 2048) -> None:
        self.inner, self.size = inner, size
        self.cache: OrderedDict[str, Entry] = OrderedDict()

    async def get(self, key: str) -> Entry | None:
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            return hit
        found = await self.inner.get(key)
        if found is not None:
            self.cache[key] = found
            if len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return found

    async def put(
        self, key: str, query: str, *, allowed: bool = False, name: str | None = None
    ) -> None:
        self.cache.pop(key, None)
        await self.inner.put(key, query, allowed=allowed, name=name)


async def allow(store: Store, operations: dict[str, str]) -> int:
    """Put every named operation on the allow-list; returns how many."""
    for name, text in sorted(operations.items()):
        await store.put(digest(text), text, allowed=True, name=name)
    return len(operations)


class KnownOperations:
    """The operation names the metrics may use as a label: those of the client contract
    documents and those registered on the allow-list. Any other name a client chooses is
    `other`, so a client cannot mint new time series."""

    OTHER, ANONYMOUS = "other", "anonymous"

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: set[str] = set(names)

    def learn(self, names: Iterable[str | None]) -> None:
        self.names.update(n for n in names if n)

    def label(self, name: str | None) -> str:
        if name is None:
            return self.ANONYMOUS
        return name if name in self.names else self.OTHER
