"""Whole answers to public browse queries, kept in process memory (LRU by entry count).

Each entry records what it shows — (table, key) tags collected while it was computed
(core/changes.py) — and is dropped when a change's notes touch one of them, in this process
or, heard through the change feed, in any other. It is served only while the request's "now"
lies between the time it was computed and the next scheduled change (a listing, promotion,
coupon batch or CMS window opening or closing) — so a clock moved back or forward never meets
an answer from another time. Staff and personal data never come here (the endpoint decides
what is public).

Sellable numbers are *live*: an answer being kept shows each `sellableQuantity` as a
`LiveStock` (the number, and the SKUs it sums) instead of depending on those SKUs' stock, and
is kept as a template with a hole for each. A stock note marks the SKUs it names as moved;
an answer showing a moved SKU is served with its holes filled from one read of the numbers
now (`CacheStep`, web/caching.py), not computed again. So a sale that moves stock all the time
keeps its listing pages, and each shows the number it would if computed now. What depends on
stock in any other way (the in-stock filter, a cart's notices) still depends on it as before
and is dropped."""

from __future__ import annotations

from collections import OrderedDict
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from secrets import token_hex
from typing import Any

import orjson
from graphql.type.scalars import GRAPHQL_MAX_INT as MAX_INT
from graphql.type.scalars import GRAPHQL_MIN_INT as MIN_INT

from core.changes import ANY
from core.changes import STOCK
from core.changes import Note
from core.changes import Notes
from core.changes import current_deps


class LiveStock(int):
    """A sellable number an answer shows, with the SKUs whose numbers it sums: a kept answer
    has a hole here, filled with the number as it is when the answer is served."""

    skus: tuple[int, ...]

    def __new__(cls, value: int, skus: tuple[int, ...]) -> LiveStock:
        number = super().__new__(cls, value)
        number.skus = skus
        return number

    def __reduce__(self) -> tuple[Any, ...]:  # copied or pickled as what it is
        return LiveStock, (int(self), self.skus)


def shown_stock(number: int, skus: tuple[int, ...]) -> int:
    """A sellable number an answer shows (the sum over `skus`): live in an answer being
    collected for the cache, which then does not depend on those SKUs' stock."""
    deps = current_deps.get()
    if deps is None:
        return number
    deps.shown.update(skus)  # a number that loses its hole on the way depends on stock
    return LiveStock(number, skus)


# What stands for a hole in a template: no answer holds a NUL, and never this process's token.
_HOLE = f"\x00live-stock-{token_hex(8)}\x00"
_HOLE_JSON = orjson.dumps(_HOLE)


def _plain(value: Any) -> Any:
    """orjson's `default` while making a template: any subclass but a live number (which
    OPT_PASSTHROUGH_SUBCLASS hands here too) as its plain value."""
    # the underlying value, never what a subclass's own __str__ or __iter__ would make of it
    plain: tuple[tuple[type[Any], Any], ...] = (
        (str, str.__str__),
        (int, int.__int__),
        (float, float.__float__),
        (dict, dict.copy),
        (list, list.copy),
    )
    for kind, value_of in plain:
        if isinstance(value, kind):
            return value_of(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass(frozen=True)
class Template:
    """An answer's JSON cut at its live numbers: chunks[0] hole[0] chunks[1] ... chunks[-1]."""

    chunks: tuple[bytes, ...]
    holes: tuple[tuple[int, ...], ...]  # per hole, the SKUs it sums
    skus: frozenset[int]  # every SKU of every hole

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    def fill(self, sellable: Mapping[int, int]) -> bytes | None:
        """The JSON with these numbers; None if one is past GraphQL's Int (computing the
        answer makes that error)."""
        numbers = [sum(sellable[sku] for sku in hole) for hole in self.holes]
        if any(not MIN_INT <= n <= MAX_INT for n in numbers):
            return None
        return self._join(numbers)

    def _join(self, numbers: Iterable[int]) -> bytes:
        parts = [self.chunks[0]]
        for number, chunk in zip(numbers, self.chunks[1:], strict=True):
            parts.append(b"%d" % number)
            parts.append(chunk)
        return b"".join(parts)


def template(data: Any) -> tuple[bytes, Template | None] | None:
    """The answer's JSON as computed, and its template (None: it shows no live number);
    None if it cannot be cut (a text of the answer holds the hole's token: not kept)."""
    holes: list[tuple[int, ...]] = []
    numbers: list[int] = []

    def hole(value: Any) -> Any:
        if type(value) is LiveStock:
            holes.append(value.skus)
            numbers.append(int(value))
            return _HOLE
        return _plain(value)

    cut = orjson.dumps(data, default=hole, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    if not holes:
        return cut, None
    chunks = tuple(cut.split(_HOLE_JSON))
    if len(chunks) != len(holes) + 1:
        return None
    shape = Template(chunks, tuple(holes), frozenset(s for h in holes for s in h))
    return shape._join(numbers), shape


@dataclass(frozen=True)
class CachedAnswer:
    data: Any  # the `data` of the answer, serialized (an orjson.Fragment)
    actual_cost: int
    tags: frozenset[Note]  # what it shows
    read_at: datetime  # good from the moment it was computed...
    until: datetime | None = None  # ...until the next scheduled change, if any
    live: Template | None = None  # its sellable numbers, filled in when served
    # the cache's stock clock when `data`'s numbers were last true (None: maybe never)
    fresh_at: int | None = None
    size: int = 0  # the bytes of its JSON

    @property
    def held(self) -> int:
        """The bytes it holds: its JSON and, when live, its template."""
        return self.size + (self.live.size if self.live is not None else 0)

    def holds(self, now: datetime) -> bool:
        return self.read_at <= now and (self.until is None or now < self.until)


MOVED_KEPT = 65536  # SKUs whose last move is remembered one by one


class ResponseCache:
    """LRU, bounded by entries and by bytes (whichever is reached first)."""

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0  # the kept entries' sizes
        self._entries: OrderedDict[Any, CachedAnswer] = OrderedDict()
        # table -> key (or ANY) -> the entries showing it
        self._index: defaultdict[str, defaultdict[Any, set[Any]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.generation = 0  # the change feed's generation applied so far
        # Stock notes: the clock moves with each change that names stock; per SKU, the clock
        # when its number last moved (a whole-table note moves every SKU).
        self.stock_clock = 0
        self._stock_moved: dict[int, int] = {}
        self._all_stock_moved = 0
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
        if self.max_bytes is not None and entry.held > self.max_bytes:
            return  # larger than the whole bound: kept, it would push out everything else
        self._entries[key] = entry
        self.bytes += entry.held
        for table, tag in entry.tags:
            self._index[table][tag].add(key)
        self._evict()

    def _evict(self) -> None:
        """The least recently used go first, until both bounds hold."""
        while self._entries and (
            len(self._entries) > self.max_entries
            or (self.max_bytes is not None and self.bytes > self.max_bytes)
        ):
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
        stock = [key for table, key in notes if table == STOCK]
        if stock:
            self._note_stock(stock)
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

    def _note_stock(self, skus: list[Any]) -> None:
        self.stock_clock += 1
        if len(self._stock_moved) >= MOVED_KEPT:  # bounded: every live answer refreshes once
            self._stock_moved.clear()
            self._all_stock_moved = self.stock_clock
        for sku in skus:
            if sku == ANY:
                self._all_stock_moved = self.stock_clock
            else:
                self._stock_moved[sku] = self.stock_clock

    def stale(self, entry: CachedAnswer) -> bool:
        """Does the answer show a sellable number that moved since its JSON was made?"""
        if entry.live is None:
            return False
        if entry.fresh_at is None or self._all_stock_moved > entry.fresh_at:
            return True
        moved, fresh = self._stock_moved, entry.fresh_at
        return any(moved.get(sku, 0) > fresh for sku in entry.live.skus)

    def refill(self, key: Any, entry: CachedAnswer, sellable: Mapping[int, int], at: int) -> Any:
        """The answer with its live numbers as read (true as of the stock clock `at`), its
        serialized data — None if it was dropped or computed again meanwhile, or a number
        does not fit. Kept for the next request unless what is kept was read later."""
        kept = self._entries.get(key)
        if kept is None or kept.live is not entry.live or entry.live is None:
            return None
        filled = entry.live.fill(sellable)
        if filled is None:
            return None
        data = orjson.Fragment(filled)
        if kept.fresh_at is None or kept.fresh_at <= at:
            self._entries[key] = replace(kept, data=data, fresh_at=at, size=len(filled))
            self.bytes += len(filled) - kept.size
            self._evict()
        return data

    def clear(self) -> None:
        self._entries.clear()
        self._index.clear()
        self.bytes = 0

    def _drop(self, key: Any) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.held
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
