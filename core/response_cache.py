"""Whole answers to public browse queries, kept in process memory (LRU by entry count).

Each entry records what it shows — (table, key) tags collected while it was computed
(core/changes.py) — and is dropped when a change's notes touch one of them, in this process
or, heard through the change feed, in any other. It is served only while the request's "now"
lies between the time it was computed and the next scheduled change (a listing, promotion,
coupon batch or CMS window opening or closing) — so a clock moved back or forward never meets
an answer from another time. Staff and personal data never come here (the endpoint decides
what is public)."""

from __future__ import annotations

from collections import OrderedDict
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.changes import ANY
from core.changes import Note
from core.changes import Notes


@dataclass(frozen=True)
class CachedAnswer:
    data: Any  # the `data` of the answer, serialized (an orjson.Fragment)
    actual_cost: int
    tags: frozenset[Note]  # what it shows
    read_at: datetime  # good from the moment it was computed...
    until: datetime | None = None  # ...until the next scheduled change, if any

    def holds(self, now: datetime) -> bool:
        return self.read_at <= now and (self.until is None or now < self.until)


class ResponseCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Any, CachedAnswer] = OrderedDict()
        # table -> key (or ANY) -> the entries showing it
        self._index: defaultdict[str, defaultdict[Any, set[Any]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.generation = 0  # the change feed's generation applied so far
        # the next scheduled change, read under the scheduled tables' version
        self.schedule: Any = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Any, now: datetime) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.holds(now):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: Any, entry: CachedAnswer) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        for table, tag in entry.tags:
            self._index[table][tag].add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def catch_up(self, generation: int, changes: Iterable[Notes] | None) -> None:
        """Apply the changes the feed heard since this cache's generation (None: the feed
        no longer knows them all, so everything goes)."""
        if changes is None:
            self.clear()
        else:
            for notes in changes:
                self.invalidate(notes)
        self.generation = generation

    def invalidate(self, notes: Notes) -> None:
        """Drop every entry a change touches."""
        if notes is None:
            self.clear()
            return
        doomed: set[Any] = set()
        for table, key in notes:
            by_key = self._index.get(table)
            if not by_key:
                continue
            if key == ANY:
                for keys in by_key.values():
                    doomed |= keys
            else:
                doomed |= by_key.get(key, set())
                doomed |= by_key.get(ANY, set())
        for key in doomed:
            self._drop(key)

    def clear(self) -> None:
        self._entries.clear()
        self._index.clear()

    def _drop(self, key: Any) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for table, tag in entry.tags:
            by_key = self._index.get(table)
            if by_key is None:
                continue
            keys = by_key.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del by_key[tag]
            if not by_key:
                del self._index[table]
