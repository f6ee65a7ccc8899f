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
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

log = logging.getLogger("zhongtai.changes")

CHANNEL = "zhongtai_changes"

# Tables no public answer reads: customers' own data, orders and money, holds (the public
# stock figure is the stock_levels counters), staff, bookkeeping.
# Writes to every other table (catalog, prices, stock, promotions, CMS, coupon batches) move
# the generation; a table added later moves it too until it is listed here.
PRIVATE_TABLES = frozenset({
    "addresses", "audit_log", "cart_lines", "carts", "coupon_claim_counts", "coupon_codes",
    "coupons", "customers", "login_throttles", "order_discounts", "order_lines", "orders",
    "payments", "persisted_queries", "refresh_tokens", "refund_lines", "refunds",
    "reservation_lines", "reservations", "roles",
    "shipment_lines", "shipments", "staff", "staff_roles", "stock_movements",
    "alembic_version",
})

_WRITTEN = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
_NOT_WRITES = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "SET", "SHOW",
               "PRAGMA", "EXPLAIN")
_DIRTY = "zhongtai_public_write"


class ChangeFeed:
    def __init__(self, live: bool = True, origin: str = "") -> None:
        self.generation = 0
        self.live = live  # False while another process's commits could go unheard
        self.origin = origin  # this engine's application name in notifications

    def heard(self, origin: str) -> None:
        """A commit notified by PostgreSQL; this engine's own were counted at checkin."""
        if origin != self.origin:
            self.bump()

    def bump(self) -> None:
        self.generation += 1


_feeds: WeakKeyDictionary[Engine, ChangeFeed] = WeakKeyDictionary()


def new_origin() -> str:
    return f"zhongtai-{uuid.uuid4().hex[:16]}"


def writes_public_data(statement: str) -> bool:
    head = statement.lstrip()[:9].upper()
    if head.startswith(_NOT_WRITES):
        return False
    # "SET" is no table: it follows ON CONFLICT DO UPDATE
    tables = [t for t in _WRITTEN.findall(statement) if t.upper() != "SET"]
    # A write whose tables are not read off the text (TRUNCATE of a list, DDL) counts as
    # public: never miss one.
    return not tables or any(t.lower() not in PRIVATE_TABLES for t in tables)


def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    if writes_public_data(statement):
        conn.info[_DIRTY] = True


def watch(engine: Engine, live: bool, origin: str = "") -> ChangeFeed:
    """Install the write hooks on a (sync) engine and return its feed."""
    feed = _feeds[engine] = ChangeFeed(live, origin)

    def checkin(_dbapi: Any, record: Any) -> None:
        if record.info.pop(_DIRTY, False):
            feed.bump()

    event.listen(engine, "after_cursor_execute", _mark)
    event.listen(engine.pool, "checkin", checkin)
    return feed


def feed_of(engine: Any) -> ChangeFeed:
    """The feed of an engine made by `core.db.create_engine` (sync or async)."""
    return _feeds[getattr(engine, "sync_engine", engine)]


async def listen(feed: ChangeFeed, database_url: str, retry_seconds: float = 1.0) -> None:
    """Hear other processes' commits (PostgreSQL); reconnect for ever when the link drops.
    Every (re)connection moves the generation: what happened while deaf is unknown."""
    import asyncpg

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    while True:
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(dsn)
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, origin: feed.heard(origin))
            feed.bump()
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
