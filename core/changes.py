"""The change feed: a generation number that moves whenever a committed write could change a
public (browse) answer, so a response cached under an older number is never served again.

In this process, every write statement to a table outside PRIVATE_TABLES marks its
connection, and the number moves when the connection goes back to the pool — after the
commit, so a reader that saw the new number reads the new rows. Other processes learn of
commits from PostgreSQL: statement triggers (migration 0009) NOTIFY on CHANNEL at commit, with
the writer's application name (each engine's own `origin`), and `listen` moves this
process's number for every origin but its own. While that listener is down the feed is not `live`
and nothing is served from cache.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

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
        "order_discounts",
        "order_lines",
        "orders",
        "payment_trades",
        "payments",
        "persisted_queries",
        "provider_refunds",
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
        # purchasing and stocktakes: admin documents; their stock changes write stock_levels
        "purchase_order_lines",
        "purchase_orders",
        "purchase_receipt_lines",
        "purchase_receipts",
        "stocktake_lines",
        "stocktakes",
        "suppliers",
        "alembic_version",
    }
)

_WRITTEN = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
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


class ChangeFeed:
    def __init__(self, live: bool = True, origin: str = "") -> None:
        self.generation = 0  # moves on every public write
        self.epoch = 0  # moves when what changed is unknown (every table may have)
        self.tables: dict[str, int] = defaultdict(int)  # moves per public table written
        self.live = live  # False while another process's commits could go unheard
        self.origin = origin  # this engine's application name in notifications
        self.memo: dict[str, Any] = {}  # snapshots kept against `version` (e.g. promotions)
        self.staff_access = access.StaffAccess()  # which staff tokens are still good
        self.hearing = 0  # moves at every (re)connection of the listener

    def bump(self, tables: Iterable[str] | None = None) -> None:
        self.generation += 1
        if tables is None:
            self.epoch += 1
        else:
            for table in tables:
                self.tables[table] += 1

    def version(self, *tables: str) -> tuple[int, ...]:
        """Equal while none of `tables` was written (as far as this feed heard)."""
        return (self.epoch, *(self.tables[t] for t in tables))

    def heard(self, payload: str) -> None:
        """A commit notified by PostgreSQL ("origin table"); this engine's own were counted
        at checkin."""
        origin, _, table = payload.partition(" ")
        if origin != self.origin:
            self.bump([table] if table else None)


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
        return None
    return frozenset(t for t in tables if t not in PRIVATE_TABLES)


def writes_public_data(statement: str) -> bool:
    return public_tables_written(statement) != frozenset()


def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    written = public_tables_written(statement)
    if written == frozenset():
        return
    dirty = conn.info.get(_DIRTY, frozenset())
    conn.info[_DIRTY] = None if written is None or dirty is None else dirty | written


def watch(engine: Engine, live: bool, origin: str = "") -> ChangeFeed:
    """Install the write hooks on a (sync) engine and return its feed."""
    feed = _feeds[engine] = ChangeFeed(live, origin)

    def checkin(_dbapi: Any, record: Any) -> None:
        if _DIRTY in record.info:
            feed.bump(record.info.pop(_DIRTY))

    event.listen(engine, "after_cursor_execute", _mark)
    event.listen(engine.pool, "checkin", checkin)
    return feed


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
