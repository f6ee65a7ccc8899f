"""Whole answers to public browse queries, kept in process memory (LRU by entry count).

An entry is served only while nothing it could depend on has changed: the change feed's
generation is the one it was computed under, and the request's "now" lies between the time it
was computed and the next scheduled change (a listing, promotion, coupon batch or CMS window
opening or closing) — so a clock moved back or forward never meets an answer from another
time. Staff and personal data never come here (the endpoint decides what is public)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.changes import Kept


@dataclass(frozen=True)
class CachedAnswer:
    data: Any  # the `data` of the answer, serialized (an orjson.Fragment)
    actual_cost: int
    kept: Kept  # under the feed's generation, until the next scheduled change


class ResponseCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Any, CachedAnswer] = OrderedDict()
        # the next scheduled change, read under the scheduled tables' version
        self.schedule: Kept | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Any, generation: int, now: datetime) -> CachedAnswer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not entry.kept.holds(generation, now):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: Any, entry: CachedAnswer) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
