"""The response cache: public browse answers are served from memory until a write or a
scheduled change could alter them — never stale, never someone else's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import changes
from core.clock import FixedClock
from core.db import create_engine
from models import Base
from tests.api.test_cart import shop
from tests.api.test_coupons import customer
from tests.conftest import Api
from tests.conftest import cut_listener
from tests.contract import operation

# Also on SQLite: on SQLite the process hears its own writes only (no NOTIFY).
pytestmark = pytest.mark.sqlite_too


async def category_page(api: Api, display_id: str, **kw: Any) -> tuple[dict[str, Any], int]:
    """The page's data and how many SQL statements answering it took (0: from cache)."""
    result = await api.op("CategoryPage", {"id": display_id, "first": 24}, **kw)
    assert "errors" not in result, result
    return result["data"], result["extensions"]["sqlStatements"]


async def asked_page(api: Api, display_id: str) -> Any:
    """The CategoryPage response itself (its X-Cache header tells how it was served)."""
    return await api.client.post(
        "/graphql",
        json={
            "query": operation("CategoryPage"),
            "operationName": "CategoryPage",
            "variables": {"id": display_id, "first": 24},
        },
    )


def titles(data: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in data["displayCategory"]["products"]["edges"]]


def sellable(data: dict[str, Any]) -> dict[str, int]:
    return {
        e["node"]["title"]: e["node"]["sellableQuantity"]
        for e in data["displayCategory"]["products"]["edges"]
    }


async def cached_shop(api: Api, engine: AsyncEngine) -> tuple[Any, str, str, str]:
    c, sku_a, _sku_b, warehouse = await shop(api, engine)
    phones = c.display["phones"]
    first, statements = await category_page(api, phones)
    assert statements > 0 and sorted(titles(first)) == ["Phone A", "Phone B"]
    again, statements = await category_page(api, phones)
    assert statements == 0 and again == first
    return c, sku_a, warehouse, phones


async def test_a_repeated_public_query_is_answered_from_memory(
    api: Api, engine: AsyncEngine
) -> None:
    _, _, _, phones = await cached_shop(api, engine)
    response = await api.client.post("/graphql", json={"query": "query { brands { id name } }"})
    assert response.headers["x-cache"] == "miss"
    response = await api.client.post("/graphql", json={"query": "query { brands { id name } }"})
    assert response.headers["x-cache"] == "hit"
    assert response.json()["extensions"]["sqlStatements"] == 0
    assert response.json()["extensions"]["cost"]["actual"] > 0
    # another channel, other variables: other answers
    _, statements = await category_page(api, phones, channel="APP")
    assert statements > 0
    result = await api.op("CategoryPage", {"id": phones, "first": 1})
    assert result["extensions"]["sqlStatements"] > 0
    assert len(result["data"]["displayCategory"]["products"]["edges"]) == 1
    # a customer sees what a guest sees: one entry serves both
    token = await customer(api, "13900000001")
    _, statements = await category_page(api, phones, token=token)
    assert statements == 0


async def test_catalog_and_stock_writes_are_seen_at_once(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, warehouse, phones = await cached_shop(api, engine)
    await api.admin("ProductUpdate", {"id": c.products["A"]["id"], "input": {"title": "Phone A2"}})
    data, statements = await category_page(api, phones)
    assert statements > 0 and "Phone A2" in titles(data)
    await api.admin(
        "StockMove",
        {
            "input": {
                "skuId": sku_a,
                "warehouseId": warehouse,
                "quantity": -4,
                "type": "ADJUSTMENT",
                "reason": "count",
            }
        },
    )
    data, _ = await category_page(api, phones)
    assert sellable(data)["Phone A2"] == 6
    await api.admin("ProductDelist", {"id": c.products["A"]["id"]})
    data, _ = await category_page(api, phones)
    assert titles(data) == ["Phone B"]


async def stock_move(api: Api, sku: str, warehouse: str, quantity: int) -> None:
    moved = await api.admin(
        "StockMove",
        {
            "input": {
                "skuId": sku,
                "warehouseId": warehouse,
                "quantity": quantity,
                "type": "ADJUSTMENT",
                "reason": "count",
            }
        },
    )
    assert not moved["stockMove"]["userErrors"], moved


async def test_a_checkout_moving_a_card_number_refreshes_the_kept_page(
    api: Api, engine: AsyncEngine
) -> None:
    """A page showing a number that moved is served from the cache with its numbers read
    again (one statement) — what a customer's checkout holds shows on the next page asked."""
    from tests.api.checkout_data import place
    from tests.api.checkout_data import shopper

    _c, sku_a, _warehouse, phones = await cached_shop(api, engine)
    before, _ = await category_page(api, phones)
    await place(api, await shopper(api, "13900002001", [(sku_a, 3)]))
    response = await asked_page(api, phones)
    assert response.headers["x-cache"] == "refresh"
    body = response.json()
    assert body["extensions"]["sqlStatements"] == 1
    assert sellable(body["data"])["Phone A"] == sellable(before)["Phone A"] - 3
    again, statements = await category_page(api, phones)
    assert statements == 0 and again == body["data"]


async def test_a_failed_stock_read_computes_the_answer(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The numbers of a stale kept answer cannot be read (a statement fails, leaving its
    transaction aborted): the answer is computed instead, in a transaction of its own."""
    import web.caching

    _c, sku_a, warehouse, phones = await cached_shop(api, engine)

    async def failing(session: Any, _skus: Any) -> dict[int, int]:
        await session.execute(text("SELECT no_such_column FROM stock_levels"))
        raise AssertionError("unreachable")

    monkeypatch.setattr(web.caching, "sellable_by_sku", failing)
    await stock_move(api, sku_a, warehouse, -4)
    data, statements = await category_page(api, phones)
    assert statements > 1 and sellable(data)["Phone A"] == 6


async def test_a_slow_stock_read_is_not_waited_for(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past STOCK_READ_SECONDS the answer is computed; the read finishes on its own."""
    import web.caching

    _c, sku_a, warehouse, phones = await cached_shop(api, engine)
    reads = web.caching.sellable_by_sku
    finished = asyncio.Event()

    async def slow(session: Any, skus: Any) -> dict[int, int]:
        await asyncio.sleep(0.3)
        try:
            return await reads(session, skus)
        finally:
            finished.set()

    monkeypatch.setattr(web.caching, "sellable_by_sku", slow)
    monkeypatch.setattr(web.caching, "STOCK_READ_SECONDS", 0.05)
    await stock_move(api, sku_a, warehouse, -4)
    data, statements = await category_page(api, phones)
    assert statements > 1 and sellable(data)["Phone A"] == 6
    await asyncio.wait_for(finished.wait(), 5)


async def _pg_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a write committed in the middle of a request needs a second connection")


async def _stock_write(engine: AsyncEngine, sku: int, on_hand: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE stock_levels SET on_hand = :n WHERE sku_id = :s"), {"n": on_hand, "s": sku}
        )


async def test_stock_moved_while_an_answer_is_computed_is_read_again_when_served(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page read SKU A's number, then a commit moved it before the page was kept: the
    kept page must not show the older number as if current."""
    import resolvers.loaders
    from core.ids import decode_id

    await _pg_only(engine)
    _c, sku_a, _warehouse, phones = await cached_shop(api, engine)
    sku = decode_id(sku_a)[1]
    await _stock_write(engine, sku, 10)
    reads = resolvers.loaders._skus_with_stock
    moved: list[int] = []

    async def then_moved(*args: Any, **kw: Any) -> Any:
        found = await reads(*args, **kw)
        if not moved:
            moved.append(1)
            await _stock_write(engine, sku, 2)
        return found

    monkeypatch.setattr(resolvers.loaders, "_skus_with_stock", then_moved)
    fresh = {"id": phones, "first": 23}  # a page not kept yet
    computed = await api.op("CategoryPage", fresh)
    assert moved and sellable(computed["data"])["Phone A"] == 10  # read before the write
    monkeypatch.setattr(resolvers.loaders, "_skus_with_stock", reads)
    data = await api.op("CategoryPage", fresh)
    assert sellable(data["data"])["Phone A"] == 2


async def test_stock_moved_while_the_numbers_are_read_is_read_again(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit heard while a kept page's numbers are read may be one the read did not see:
    the next request reads them again."""
    import web.caching
    from core.ids import decode_id

    await _pg_only(engine)
    _c, sku_a, _warehouse, phones = await cached_shop(api, engine)
    sku = decode_id(sku_a)[1]
    await _stock_write(engine, sku, 9)  # was 10: the kept page is stale
    reads = web.caching.sellable_by_sku
    moved: list[int] = []

    async def then_moved(session: Any, skus: Any) -> dict[int, int]:
        found = await reads(session, skus)
        if not moved:
            moved.append(1)
            await _stock_write(engine, sku, 3)
            # another request hears the write meanwhile (the cache's clock moves past it)
            await api.post("query { brands { id } }")
        return found

    monkeypatch.setattr(web.caching, "sellable_by_sku", then_moved)
    first, _ = await category_page(api, phones)
    assert moved and sellable(first)["Phone A"] == 9  # the refresh read before the write
    data, _ = await category_page(api, phones)
    assert sellable(data)["Phone A"] == 3


async def test_a_write_heard_during_the_read_that_drops_the_page_is_not_served_half_new(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A title and a stock number written in one transaction, heard while the kept page's
    numbers are read: the page is computed (new title, new number), never served with the
    new number beside the old title."""
    import web.caching
    from core.ids import decode_id

    await _pg_only(engine)
    c, sku_a, _warehouse, phones = await cached_shop(api, engine)
    await _stock_write(engine, decode_id(sku_a)[1], 9)  # was 10: the kept page is stale
    reads = web.caching.sellable_by_sku
    product = decode_id(c.products["A"]["id"])[1]

    async def then_renamed(session: Any, skus: Any) -> dict[int, int]:
        found = await reads(session, skus)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE products SET title = 'Phone A2' WHERE id = :p"), {"p": product}
            )
            await conn.execute(
                text("UPDATE stock_levels SET on_hand = 4 WHERE sku_id = :s"),
                {"s": decode_id(sku_a)[1]},
            )
        return found

    monkeypatch.setattr(web.caching, "sellable_by_sku", then_renamed)
    response = await asked_page(api, phones)
    assert response.headers["x-cache"] == "miss"
    assert sellable(response.json()["data"]) == {"Phone A2": 4, "Phone B": 10}


async def test_a_read_still_waiting_for_admission_is_withdrawn(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under overload the numbers' read waits for a slot; past STOCK_READ_SECONDS the answer
    is computed, and the read is withdrawn rather than taking a slot later for no one."""
    import web.admission
    import web.caching

    _c, sku_a, warehouse, phones = await cached_shop(api, engine)
    admitted = web.admission.Admission.run
    withdrawn = asyncio.Event()

    async def full_for_reads(self: Any, work: Any) -> Any:
        if "_numbers" not in getattr(work, "__qualname__", ""):
            return await admitted(self, work)
        try:
            await asyncio.Event().wait()  # no slot ever frees for it
        except asyncio.CancelledError:
            withdrawn.set()
            work.close()
            raise

    monkeypatch.setattr(web.admission.Admission, "run", full_for_reads)
    monkeypatch.setattr(web.caching, "STOCK_READ_SECONDS", 0.05)
    await stock_move(api, sku_a, warehouse, -4)
    data, statements = await category_page(api, phones)
    assert statements > 1 and sellable(data)["Phone A"] == 6
    await asyncio.wait_for(withdrawn.wait(), 5)


async def test_a_number_that_loses_its_hole_makes_the_answer_depend_on_stock(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a live number reach the answer as a plain int (a resolver doing arithmetic on
    it, say), the answer depends on those SKUs' stock as before: dropped when it moves."""
    import schema.catalog

    live = schema.catalog.shown_stock
    monkeypatch.setattr(schema.catalog, "shown_stock", lambda n, skus: int(live(n, skus)))
    _c, sku_a, warehouse, phones = await cached_shop(api, engine)
    await stock_move(api, sku_a, warehouse, -4)
    response = await asked_page(api, phones)
    assert response.headers["x-cache"] == "miss"
    assert sellable(response.json()["data"])["Phone A"] == 6


async def test_personal_writes_leave_public_answers_cached(api: Api, engine: AsyncEngine) -> None:
    _, sku_a, _, phones = await cached_shop(api, engine)
    await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 1}]})
    await customer(api, "13900000002")
    _, statements = await category_page(api, phones)
    assert statements == 0


async def test_a_scheduled_listing_appears_when_its_time_comes(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    c, _, _, phones = await cached_shop(api, engine)
    await api.admin("ProductDelist", {"id": c.products["A"]["id"]})
    listing = clock.now().replace(microsecond=0)
    listing = listing.replace(hour=listing.hour + 1)
    await api.admin("ProductList", {"id": c.products["A"]["id"], "listAt": listing.isoformat()})
    before, _ = await category_page(api, phones)
    assert titles(before) == ["Phone B"]
    assert (await category_page(api, phones))[1] == 0  # cached until the listing time
    clock.advance(minutes=59)
    assert (await category_page(api, phones))[1] == 0
    clock.advance(minutes=1)  # no write happened: the schedule alone ends the entry
    after, statements = await category_page(api, phones)
    assert statements > 0 and sorted(titles(after)) == ["Phone A", "Phone B"]
    clock.advance(minutes=-30)  # a clock moved back never meets an answer from later
    back, statements = await category_page(api, phones)
    assert statements > 0 and titles(back) == ["Phone B"]


async def test_staff_and_personal_queries_are_never_cached(api: Api, engine: AsyncEngine) -> None:
    _, _, _, phones = await cached_shop(api, engine)
    for _ in range(2):
        _, statements = await category_page(api, phones, token=api.admin_token)
        assert statements > 0
    token = await customer(api, "13900000003")
    for _ in range(2):
        result = await api.op("MyCart", token=token)
        assert result["extensions"]["sqlStatements"] > 0
    # a public root beside a personal one makes the whole query personal
    mixed = "query { brands { id } me { id } }"
    for _ in range(2):
        result = await api.post(mixed, token=token)
        assert result["extensions"]["sqlStatements"] > 0


@pytest.mark.pg
async def test_another_process_commit_reaches_this_cache(api: Api, engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process; other processes' writes are PostgreSQL's case")
    _, _, _, phones = await cached_shop(api, engine)
    feed = changes.feed_of(engine)
    products, promotions = feed.version("products"), feed.version("promotions")
    other = create_engine(engine.url.render_as_string(hide_password=False))  # another pool
    try:
        async with other.begin() as conn:
            await conn.execute(
                text("UPDATE products SET title = 'Renamed' WHERE title = 'Phone B'")
            )
        for _ in range(200):  # the notification arrives at commit, within milliseconds
            data, _ = await category_page(api, phones)
            if "Renamed" in titles(data):
                break
            await asyncio.sleep(0.01)
        assert "Renamed" in titles(data)
        # what changed is heard per table: snapshots of other tables stay good
        assert feed.version("products") != products
        assert feed.version("promotions") == promotions
    finally:
        await other.dispose()


@pytest.mark.pg
async def test_while_deaf_to_other_processes_nothing_is_served(
    api: Api, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL has other processes to hear")
    _, _, _, phones = await cached_shop(api, engine)
    feed = changes.feed_of(engine)
    await cut_listener(engine)
    assert not feed.live
    _, statements = await category_page(api, phones)
    assert statements > 0
    for _ in range(500):  # it reconnects by itself
        if feed.live:
            break
        await asyncio.sleep(0.01)
    assert feed.live
    await category_page(api, phones)
    assert (await category_page(api, phones))[1] == 0


@pytest.mark.pg
async def test_every_public_table_tells_other_processes(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the notification triggers are PostgreSQL's")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT event_object_table, event_manipulation "
                    "FROM information_schema.triggers WHERE trigger_name LIKE 'zhongtai_changes_%'"
                )
            )
        ).all()
        truncating = set(
            (
                await conn.scalars(
                    text(
                        "SELECT tgrelid::regclass::text FROM pg_trigger "
                        "WHERE tgname = 'zhongtai_changes_truncate'"
                    )
                )
            ).all()
        )
    public = set(Base.metadata.tables) - changes.PRIVATE_TABLES
    for event in ("INSERT", "UPDATE", "DELETE"):
        assert {table for table, e in rows if e == event} == public, event
    assert truncating == public


def test_writes_to_public_tables_are_told_from_private_ones() -> None:
    assert changes.writes_public_data("UPDATE stock_levels SET reserved = 1")
    assert changes.writes_public_data('INSERT INTO "products" (title) VALUES ($1)')
    assert changes.writes_public_data("TRUNCATE carts, products RESTART IDENTITY")
    assert changes.writes_public_data("WITH x AS (SELECT 1) UPDATE skus SET price = 1")
    assert changes.writes_public_data("WITH x AS (DELETE FROM products RETURNING id) SELECT 1")
    assert changes.writes_public_data("VACUUM")  # unknown: counted as public, never missed
    # a WITH that only reads: counted as every table written, it emptied every cache
    assert not changes.writes_public_data(
        "WITH s AS MATERIALIZED (SELECT min(price_min) AS low FROM products) SELECT low FROM s"
    )
    assert not changes.writes_public_data("WITH s AS (SELECT 1) SELECT * FROM skus FOR UPDATE")
    # a WITH whose write the table pattern does not read is every table, never a read
    for written in (
        "WITH a AS (SELECT 1) MERGE INTO products p USING a ON true WHEN MATCHED THEN "
        "UPDATE SET title = 'x'",
        "WITH a AS (SELECT 1) INSERT OR REPLACE INTO products (id) SELECT 1 FROM a",
        "WITH a AS (SELECT 1) REPLACE INTO products (id) SELECT 1 FROM a",
    ):
        assert changes.public_tables_written(written) is None, written
    # the table, not the word before it (found in review: "only" was taken for the table)
    for written, table in (
        ("UPDATE ONLY stock_levels SET reserved = 1", "stock_levels"),
        ("DELETE FROM ONLY products WHERE id = 1", "products"),
        ('UPDATE "public"."skus" SET price = 1', "skus"),
        ("INSERT INTO public.brands (name) VALUES ('x')", "brands"),
    ):
        assert changes.public_tables_written(written) == {table}, written
    assert not changes.writes_public_data("UPDATE ONLY public.carts SET updated_at = now()")
    assert not changes.writes_public_data("UPDATE carts SET updated_at = now()")
    assert not changes.writes_public_data(
        "INSERT INTO cart_lines (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET quantity = 2"
    )
    assert not changes.writes_public_data("INSERT INTO order_lines (id) VALUES (1)")
    assert not changes.writes_public_data("SELECT * FROM products FOR UPDATE")
    assert not changes.writes_public_data("  savepoint sa_1")


async def test_a_sqlite_file_shared_by_workers_keeps_nothing(tmp_path: Any) -> None:
    """SQLite cannot tell one process of another's commits: with several workers on one
    file the feed is never live, so neither answers nor promotions are kept."""
    alone = create_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    shared = create_engine(f"sqlite+aiosqlite:///{tmp_path}/b.db", sqlite_shared=True)
    try:
        assert changes.feed_of(alone).live
        assert not changes.feed_of(shared).live
    finally:
        await alone.dispose()
        await shared.dispose()


async def test_a_cached_get_answer_keeps_its_etag(api: Api, engine: AsyncEngine) -> None:
    await cached_shop(api, engine)
    params = {"query": "query Brands { brands { id name } }"}
    first = await api.client.get("/graphql", params=params)
    second = await api.client.get("/graphql", params=params)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.json()["data"] == second.json()["data"]
    revalidated = await api.client.get(
        "/graphql", params=params, headers={"if-none-match": second.headers["etag"]}
    )
    assert revalidated.status_code == 304


def test_the_least_recently_used_answer_goes_first() -> None:
    from datetime import UTC
    from datetime import datetime

    from core.response_cache import CachedAnswer
    from core.response_cache import ResponseCache

    now = datetime(2026, 1, 1, tzinfo=UTC)
    cache = ResponseCache(max_entries=2)
    shows = frozenset({("products", 1)})
    for key in ("a", "b"):
        cache.put(key, CachedAnswer({"k": key}, 1, shows, now))
    assert cache.get("a", now) is not None  # "a" is now the most recent
    cache.put("c", CachedAnswer({"k": "c"}, 1, shows, now))
    assert len(cache) == 2 and cache.get("b", now) is None
    assert cache.get("c", now.replace(year=2025)) is None  # before it was computed: gone
    cache.invalidate(frozenset({("products", 2)}))  # another product: kept
    assert cache.get("a", now) is not None
    cache.invalidate(frozenset({("products", 1)}))
    assert cache.get("a", now) is None


def test_the_byte_bound_keeps_the_most_recently_used_answers() -> None:
    """RESPONSE_CACHE_MB: past it the least recently used answers go, a live answer counted
    with its template; one larger than the whole bound is not kept."""
    from datetime import UTC
    from datetime import datetime

    import orjson

    from core.response_cache import CachedAnswer
    from core.response_cache import LiveStock
    from core.response_cache import ResponseCache
    from core.response_cache import template

    now = datetime(2026, 1, 1, tzinfo=UTC)
    cache = ResponseCache(max_entries=10, max_bytes=100)

    def kept(key: str, size: int) -> None:
        cache.put(key, CachedAnswer(orjson.Fragment(b"{}"), 1, frozenset(), now, size=size))

    kept("a", 40)
    kept("b", 40)
    assert cache.bytes == 80
    kept("c", 40)  # over 100: "a" goes
    assert cache.get("a", now) is None and cache.bytes == 80
    kept("huge", 101)
    assert cache.get("huge", now) is None and cache.bytes == 80  # the others stay
    cut = template({"n": LiveStock(5, (1,))})
    assert cut is not None
    body, live = cut
    assert live is not None
    cache.put("live", CachedAnswer(orjson.Fragment(body), 1, frozenset(), now, None, live, 0))
    assert live.size == len(b'{"n":}') and cache.bytes == 80 + live.size  # its template counts
    live_entry = cache.get("live", now)
    assert live_entry is not None
    cache.refill("live", live_entry, {1: 12345}, 0)
    assert cache.bytes == 86 + len(b'{"n":12345}')  # and its JSON, at its size now: 97
    kept("d", 10)  # 107: "b", the least recently used, goes
    assert cache.get("b", now) is None and cache.bytes == 67
    cache.clear()
    assert cache.bytes == 0


async def test_running_promotions_are_kept_until_written_and_never_for_an_earlier_clock(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """Pricing's running promotions are read once; a promotion write (here or, on
    PostgreSQL, heard from another process) or a clock set before the read reads again."""
    from datetime import timedelta
    from decimal import Decimal

    from core.db import create_session_factory
    from models.promotions import PromotionType
    from services import promotions
    from tests.conftest import counting

    listener = await changes.start_listening(engine)
    now, factory = clock.now(), create_session_factory(engine)

    async def add(name: str, starts: timedelta, ends: timedelta) -> int:
        async with factory() as s:
            made = await promotions.create_promotion(
                s,
                promotions.PromotionData(
                    name=name,
                    type=PromotionType.FULL_REDUCTION,
                    starts_at=now + starts,
                    ends_at=now + ends,
                    rules={"tiers": [{"threshold": Decimal(20), "amount": Decimal(2)}]},
                ),
                now - timedelta(hours=3),
            )
            await promotions.activate(s, made.id, now - timedelta(hours=3))
            await s.commit()
            return made.id

    async def running(at: Any) -> tuple[list[int], int]:
        async with factory() as s:
            with counting() as counted:
                found = await promotions.live_promotions(s, at)
            return [p.id for p in found], counted.count

    try:
        early = await add("早场", -timedelta(hours=2), -timedelta(hours=1))
        assert await running(now) == ([], 1)
        assert await running(now) == ([], 0)  # kept
        assert await running(now - timedelta(minutes=90)) == ([early], 1)  # clock set back
        late = await add("晚场", -timedelta(minutes=1), timedelta(hours=1))
        assert await running(now) == ([late], 1)  # the write dropped what was kept
    finally:
        if listener is not None:
            listener.cancel()
