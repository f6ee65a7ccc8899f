"""Automatic persisted queries (Apollo's protocol) and the production allow-list. Queries are
stored by their SHA-256 in the database, or in Redis when REDIS_URL is set (shared by every
process either way); a small in-process cache keeps hot lookups off the network — safe,
because a hash always names the same text."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from models.operations import PersistedQuery


def digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    query: str
    allowed: bool


class Store(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def put(self, key: str, query: str, *, allowed: bool = False,
                  name: str | None = None) -> None: ...


class DatabaseStore:
    def __init__(self, factory: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self.factory = factory  # a getter: the app's session factory exists once it starts

    async def get(self, key: str) -> Entry | None:
        async with self.factory()() as session:
            row = await session.get(PersistedQuery, key)
            return Entry(row.query, row.allowed) if row else None

    async def put(self, key: str, query: str, *, allowed: bool = False,
                  name: str | None = None) -> None:
        """Insert, or (allow-listing) mark an existing entry allowed; racing writers of the
        same hash write the same text, so whoever wins is right."""
        async with self.factory()() as session:
            row = await session.get(PersistedQuery, key)
            if row is None:
                session.add(PersistedQuery(hash=key, query=query, allowed=allowed, name=name,
                                           created_at=utcnow()))
            elif allowed and not row.allowed:
                row.allowed, row.name = True, name or row.name
            try:
                await session.commit()
            except Exception:  # a concurrent insert of the same hash: theirs is ours
                await session.rollback()


class RedisStore:
    PREFIX = "zt:pq:"

    def __init__(self, client: Any) -> None:
        self.client = client

    async def get(self, key: str) -> Entry | None:
        found = await self.client.hgetall(self.PREFIX + key)
        if not found:
            return None
        return Entry(found[b"query"].decode(), found.get(b"allowed") == b"1")

    async def put(self, key: str, query: str, *, allowed: bool = False,
                  name: str | None = None) -> None:
        await self.client.hsetnx(self.PREFIX + key, "query", query)
        if allowed:
            await self.client.hset(self.PREFIX + key, mapping={"allowed": "1",
                                                                "name": name or ""})


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

    async def put(self, key: str, query: str, *, allowed: bool = False,
                  name: str | None = None) -> None:
        self.cache.pop(key, None)
        await self.inner.put(key, query, allowed=allowed, name=name)


async def allow(store: Store, operations: dict[str, str]) -> int:
    """Put every named operation on the allow-list; returns how many."""
    for name, text in sorted(operations.items()):
        await store.put(digest(text), text, allowed=True, name=name)
    return len(operations)
