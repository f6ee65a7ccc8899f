"""The change feed: what committed writes changed, as *notes* — (table, key) pairs — so a
cached answer is dropped only when something it shows changed.

A note's key is a row key (products by id, SKUs by product, stock by SKU, pages and their
modules by page, ...; migration 0014 says which) or ANY: the table as a whole. A note
(T, k) touches whatever depends on (T, k) or (T, ANY); a note (T, ANY) touches everything
that depends on T. Stock is noted twice: ("stock_levels", sku) when a SKU's sellable number
moved, and also (STOCK_FLAG, sku) when it crossed zero (in stock ↔ out of stock).

In this process, every write statement to a table outside PRIVATE_TABLES marks its
connection. On PostgreSQL the change triggers (migration 0014) also list, per statement,
the keys the rows written had in a transaction-local setting, which is read just before the
commit; the notes are applied when the connection goes back to the pool — after the commit,
so a reader that saw the new generation reads the new rows. A written table the triggers did
not name (SQLite, or a table without the trigger) is noted as a whole. Other processes learn of
commits from PostgreSQL: the same triggers NOTIFY on CHANNEL at commit, with the writer's
application name (each engine's own `origin`), and `listen` applies every origin's notes but
its own. While that listener is down the feed is not `live` and nothing is served from cache.

What an answer depends on is collected while it is computed (`Deps`, through the
`current_deps` context variable): loaders register the keys they read under `covered`, and
every other read statement makes the answer depend on each public table it names, as a whole
— so a read nobody attributed is never missed, only coarse.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
import uuid
from collections import defaultdict
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from core import access

log = logging.getLogger("zhongtai.changes")

CHANNEL = "zhongtai_changes"

# Tables no public answer reads: customers' own data, orders and money, holds (the public
# stock figure is the stock_levels counters), staff, bookkeeping.
# Writes to every other table (catalog, prices, stock, promotions, CMS, coupon batches) move
# the generation; a table added later moves it too until it is listed here.
PRIVATE_TABLES = frozenset(
    {
        "addresses",
        "audit_log",
        "cart_lines",
        "carts",
        "coupon_claim_counts",
        "coupon_codes",
        "coupons",
        "customers",
        "login_throttles",
        "member_accounts",
        "member_levels",
        "order_discounts",
        "order_events",
        "order_lines",
        "parcel_lines",
        "parcels",
        "orders",
        "payment_trades",
        "payments",
        "persisted_queries",
        "points_entries",
        "purchase_order_lines",
        "purchase_orders",
        "purchase_receipt_lines",
        "purchase_receipts",
        "provider_refunds",
        "red_packet_grants",
        "red_packet_spends",
        "red_packets",
        "refresh_tokens",
        "refund_lines",
        "refunds",
        "reservation_lines",
        "reservations",
        "roles",
        "shipment_lines",
        "shipments",
        "staff",
        "staff_roles",
        "stock_movements",
        "stocktake_lines",
        "stocktakes",
        "suppliers",
        "alembic_version",
    }
)

# the written table's name: after ONLY (no inheritance) and a schema ("public".), if any
_WRITTEN = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?(?:\"?\w+\"?\s*\.\s*)?\"?(\w+)",
    re.IGNORECASE,
)
# Any word that may start a write, anywhere in a statement (row locks aside): a WITH holding
# none of them only reads.
_WRITE_WORDS = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE|REPLACE|TRUNCATE|COPY|CALL|UPSERT)\b", re.IGNORECASE
)
_ROW_LOCKS = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)
_NOT_WRITES = (
    "SELECT",
    "BEGIN",
    "SAVEPOINT",
    "RELEASE",
    "ROLLBACK",
    "COMMIT",
    "SET",
    "SHOW",
    "PRAGMA",
    "EXPLAIN",
)
_DIRTY = "zhongtai_public_write"
_NOTED = "zhongtai_noted"  # what the triggers said this connection's commits changed
NOTES_SETTING = "zhongtai.changes"  # transaction-local, appended to by the triggers

ANY = "*"  # a note or dependency on a whole table
STOCK = "stock_levels"  # keyed by SKU: the sellable number moved
STOCK_FLAG = "stock_levels?"  # keyed by SKU: it crossed zero (in stock <-> out of stock)
# keyed by batch: created, deleted, changed in more than its issued count, or sold out / back
# (migration 0023); a claim leaving units to claim is noted by id alone
CLAIMABLE = "coupon_templates?"
# Tables whose notes may carry "!": the flag table each "!" (and a whole-table note) touches.
FLAGS = {STOCK: STOCK_FLAG, "coupon_templates": CLAIMABLE}

Note = tuple[str, Any]  # (table, key or ANY); a dependency has the same shape
Notes = frozenset[Note] | None  # None: unknown, everything may have changed


def parse_notes(text: str) -> tuple[set[Note], set[str]]:
    """Notes in the triggers' format — "table:1,2,3!" items separated by spaces, "table:*"
    for a whole table, "table:" for a statement that changed no row; a bare "table" (the
    older triggers') is the whole table; "!" marks a key of the table's flag table (FLAGS: a
    SKU whose stock crossed zero, a coupon batch whose claimability may have changed) — and
    the tables named."""
    notes: set[Note] = set()
    named: set[str] = set()
    for item in text.split():
        table, colon, keys = item.partition(":")
        named.add(table)
        if not colon or keys == ANY:
            notes.add((table, ANY))
            if table in FLAGS:
                notes.add((FLAGS[table], ANY))
            continue
        for key in keys.split(","):
            if not key:
                continue
            crossed = key.endswith("!")
            try:
                number = int(key.rstrip("!"))
            except ValueError:
                notes.add((table, ANY))
                continue
            notes.add((table, number))
            if crossed:
                notes.add((FLAGS.get(table, f"{table}?"), number))
    return notes, named


def touches(notes: Notes, tags: frozenset[Note], tables: frozenset[str]) -> bool:
    """Does a change (its notes) touch an answer depending on `tags` (over `tables`)?"""
    if notes is None:
        return True
    for table, key in notes:
        if key == ANY:
            if table in tables:
                return True
        elif (table, key) in tags or (table, ANY) in tags:
            return True
    return False


def moved(notes: Notes, skus: Iterable[int]) -> bool:
    """Does a change (its notes) move the sellable number of any of these SKUs?"""
    if notes is None or (STOCK, ANY) in notes:
        return True
    return any((STOCK, sku) in notes for sku in skus)


@dataclass
class Deps:
    """What an answer being computed shows: (table, key) tags. `covered` are the tables the
    read running now attributes itself (a loader registering the keys it read)."""

    tags: set[Note] = field(default_factory=set)
    covered: frozenset[str] = frozenset()
    shown: set[int] = field(default_factory=set)  # SKUs whose numbers it shows live

    def read(self, statement: str) -> None:
        for table in tables_named(statement):
            if table not in self.covered:
                self.tags.add((table, ANY))


# The answer being computed in this task (None: nobody is collecting).
current_deps: contextvars.ContextVar[Deps | None] = contextvars.ContextVar(
    "zhongtai_deps", default=None
)


def depends_on(table: str, keys: Iterable[Any]) -> None:
    """The answer being computed (if any) shows these rows of `table` (or ANY)."""
    deps = current_deps.get()
    if deps is not None:
        deps.tags.update((table, key) for key in keys)


@contextlib.contextmanager
def covered(*tables: str) -> Iterator[None]:
    """Reads inside attribute `tables` themselves (through `depends_on`): the statement hook
    does not make the answer depend on them as a whole."""
    deps = current_deps.get()
    if deps is None:
        yield
        return
    before = deps.covered
    deps.covered = before | frozenset(tables)
    try:
        yield
    finally:
        deps.covered = before


_public_tables: frozenset[str] | None = None


def declare_tables(names: Iterable[str]) -> None:
    """The application's tables, declared by models/ when it is imported (core sits below
    models and may not import them)."""
    global _public_tables
    _public_tables = frozenset(names) - PRIVATE_TABLES


def public_tables() -> frozenset[str]:
    if _public_tables is None:  # an unknown table list would make reads look cache-safe
        raise RuntimeError("the tables are unknown until models/ is imported")
    return _public_tables


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=4096)  # runs on every read of a cacheable answer; the texts repeat
def tables_named(statement: str) -> frozenset[str]:
    """The public tables a statement names (any word equal to a table's name: never misses
    one, whatever the FROM list's shape; a column of the same name only adds a table)."""
    return frozenset(w.lower() for w in _WORD.findall(statement)) & public_tables()


LOG_SIZE = 4096


class ChangeFeed:
    def __init__(self, live: bool = True, origin: str = "") -> None:
        self.generation = 0  # moves on every public change heard
        self.epoch = 0  # moves when what changed is unknown (every table may have)
        self.tables: dict[str, int] = defaultdict(int)  # moves per public table written
        self.live = live  # False while another process's commits could go unheard
        self.origin = origin  # this engine's application name in notifications
        self.memo: dict[str, Any] = {}  # snapshots kept against `version` (e.g. promotions)
        self.staff_access = access.StaffAccess()  # which staff tokens are still good
        self.hearing = 0  # moves at every (re)connection of the listener
        # the notes of the last LOG_SIZE changes, each with the generation it made
        self.log: deque[tuple[int, Notes]] = deque(maxlen=LOG_SIZE)

    def changed(self, notes: Notes) -> None:
        """A committed change (None: anything may have changed)."""
        self.generation += 1
        self.log.append((self.generation, notes))
        if notes is None:
            self.epoch += 1
        else:
            for table in {table for table, _ in notes}:
                self.tables[table] += 1

    def bump(self, tables: Iterable[str] | None = None) -> None:
        """Whole tables changed (None: every table)."""
        self.changed(None if tables is None else frozenset((t, ANY) for t in tables))

    def since(self, generation: int) -> list[Notes] | None:
        """The notes of the changes after `generation`; None when the log no longer reaches
        back that far."""
        if generation >= self.generation:
            return []
        if not self.log or self.log[0][0] > generation + 1:
            return None
        return [notes for made, notes in self.log if made > generation]

    def version(self, *tables: str) -> tuple[int, ...]:
        """Equal while none of `tables` was written (as far as this feed heard)."""
        return (self.epoch, *(self.tables[t] for t in tables))

    def heard(self, payload: str) -> None:
        """A commit notified by PostgreSQL ("origin table:keys"); this engine's own were
        counted at checkin."""
        origin, _, noted = payload.partition(" ")
        if origin != self.origin:
            self.changed(frozenset(parse_notes(noted)[0]) if noted else None)


@dataclass(frozen=True)
class Kept:
    """When something read from the database may be used again: while the feed's version
    is the one it was read under, from the moment it was read (a clock set back reads
    again) until `until` (a scheduled change), if any."""

    version: Any
    read_at: datetime
    until: datetime | None = None

    def holds(self, version: Any, now: datetime) -> bool:
        return (
            version == self.version
            and self.read_at <= now
            and (self.until is None or now < self.until)
        )


_feeds: WeakKeyDictionary[Engine, ChangeFeed] = WeakKeyDictionary()


def new_origin() -> str:
    return f"zhongtai-{uuid.uuid4().hex[:16]}"


@lru_cache(maxsize=4096)  # runs on every statement; the texts repeat
def public_tables_written(statement: str) -> frozenset[str] | None:
    """The public tables a statement writes: empty for reads and private writes, None when
    it writes but the tables are not read off the text (TRUNCATE of a list, DDL) — counted
    as every table, so no change is ever missed."""
    head = statement.lstrip()[:9].upper()
    if head.startswith(_NOT_WRITES):
        return frozenset()
    # "SET" is no table: it follows ON CONFLICT DO UPDATE
    tables = [t.lower() for t in _WRITTEN.findall(statement) if t.upper() != "SET"]
    if not tables:
        # a WITH with no word of a write in it only reads (e.g. a search's price buckets)
        reads = head.startswith("WITH") and not _WRITE_WORDS.search(_ROW_LOCKS.sub("", statement))
        return frozenset() if reads else None
    return frozenset(t for t in tables if t not in PRIVATE_TABLES)


def writes_public_data(statement: str) -> bool:
    return public_tables_written(statement) != frozenset()


def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    written = public_tables_written(statement)
    if written == frozenset():
        deps = current_deps.get()
        if deps is not None:
            deps.read(statement)
        return
    dirty = conn.info.get(_DIRTY, frozenset())
    conn.info[_DIRTY] = None if written is None or dirty is None else dirty | written


def watch(engine: Engine, live: bool, origin: str = "") -> ChangeFeed:
    """Install the write hooks on a (sync) engine and return its feed."""
    feed = _feeds[engine] = ChangeFeed(live, origin)
    postgres = engine.dialect.name == "postgresql"

    def commit(conn: Any) -> None:
        """Just before a commit that wrote public tables: what the triggers noted."""
        if postgres and _DIRTY in conn.info:
            noted = _read_notes(conn)
            if noted is None:  # unreadable: the tables written count as wholes
                conn.info[_NOTED] = None
            elif conn.info.get(_NOTED, "") is not None:
                conn.info[_NOTED] = conn.info.get(_NOTED, "") + " " + noted

    def checkin(_dbapi: Any, record: Any) -> None:
        noted = record.info.pop(_NOTED, None)
        if _DIRTY in record.info:
            feed.changed(_notes_of(record.info.pop(_DIRTY), noted))

    event.listen(engine, "after_cursor_execute", _mark)
    event.listen(engine, "commit", commit)
    event.listen(engine.pool, "checkin", checkin)
    return feed


def _read_notes(conn: Any) -> str | None:
    """The triggers' notes of the transaction committing now, on its own connection (a
    driver-level read: it is bookkeeping, not one of the request's statements)."""
    try:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(f"SELECT current_setting('{NOTES_SETTING}', true)")
            row = cursor.fetchone()
        finally:
            cursor.close()
    except Exception as exc:  # never fails a commit; counted as whole tables instead
        log.warning("reading the change notes failed (%s); whole tables noted", exc)
        return None
    return (row[0] if row else None) or ""


def _notes_of(written: frozenset[str] | None, noted: str | None) -> Notes:
    """A connection's changes: the triggers' notes, and each table written that they did
    not name as a whole (None: a write whose tables are unknown)."""
    if written is None:
        return None
    notes, named = parse_notes(noted) if noted else (set(), set())
    for table in written - named:
        notes.add((table, ANY))
        if table in FLAGS:
            notes.add((FLAGS[table], ANY))
    return frozenset(notes)


_DEAF = ChangeFeed(live=False)


def feed_of(engine: Any) -> ChangeFeed:
    """The feed of an engine made by `core.db.create_engine` (sync or async; or of a
    connection's engine). Any other engine gets a feed that is never live: no caching."""
    engine = getattr(engine, "sync_engine", engine)
    return _feeds.get(getattr(engine, "engine", engine), _DEAF)


LISTENER_NAME = "zhongtai-listener"


async def listen(feed: ChangeFeed, database_url: str, retry_seconds: float = 1.0) -> None:
    """Hear other processes' commits (PostgreSQL); reconnect for ever when the link drops.
    Every (re)connection moves the generation: what happened while deaf is unknown."""
    import asyncpg

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(  # named, so operators (and tests) can tell it
                dsn, server_settings={"application_name": LISTENER_NAME}
            )
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: feed.heard(payload))
            await conn.add_listener(
                access.CHANNEL,
                lambda _c, _pid, _ch, payload: feed.staff_access.heard(payload, feed.hearing),
            )
            feed.bump()
            feed.hearing += 1  # what was learnt before now may have missed a notification
            feed.live = True
            try:
                while not lost.is_set() and not conn.is_closed():
                    try:
                        await asyncio.wait_for(lost.wait(), timeout=5)
                    except TimeoutError:
                        await conn.execute("SELECT 1")  # notices a silently dead link
            finally:
                feed.live = False
                await conn.close(timeout=1)
        except asyncio.CancelledError:
            feed.live = False
            raise
        except Exception as exc:
            feed.live = False
            log.warning("change listener down (%s); answering without the response cache", exc)
        await asyncio.sleep(retry_seconds)


async def start_listening(engine: Any, wait_seconds: float = 3.0) -> asyncio.Task[None] | None:
    """Start `listen` for a PostgreSQL engine and give it a moment to go live (until then the
    response cache is bypassed, never stale). None for SQLite: nothing else writes there."""
    url = engine.url
    if not url.drivername.startswith("postgresql"):
        return None
    feed = feed_of(engine)
    task = asyncio.create_task(listen(feed, url.render_as_string(hide_password=False)))
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while not feed.live and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    return task
