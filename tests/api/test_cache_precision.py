"""Precise invalidation of the response cache: an answer is dropped when something it shows
changes — written in this process or in another — and kept when something else changes. An
answer whose only tie to stock is the sellable numbers it shows is *refreshed* instead: served
from the cache with those numbers read again, byte for byte what computing it would give.

On PostgreSQL every kind of entity is written twice over: "here" (the app's own engine: the
notes its triggers left in the transaction, read at commit) and "there" (another engine with
its own application name, as another process would be: the notes come by NOTIFY), and once
from a real second OS process. SQLite serves one process and notes whole tables: there an
answer showing what changed is dropped too (correctness), and the rest is not asserted."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core import changes
from core.clock import FixedClock
from core.db import create_engine
from core.ids import decode_id
from core.settings import PROJECT_ROOT
from tests.api.test_cart import shop
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.conftest import Api
from tests.contract import operation

pytestmark = pytest.mark.sqlite_too

IN_STOCK = (
    "query InStock { products(first: 10, filter: {inStock: true}) { edges { node { title } } } }"
)
BRANDS = "query Brands { brands { id name } }"
NAV = "query Nav { displayCategories { id name } }"


@dataclass
class Shop:
    api: Api
    engine: AsyncEngine
    ids: dict[str, int]  # database ids
    gids: dict[str, str]  # global ids
    served: str = ""  # how the last answer asked came: hit, refresh (numbers read) or miss


Answer = Callable[[], Awaitable[tuple[Any, int]]]


def _pk(global_id: str) -> int:
    return decode_id(global_id)[1]


@pytest.fixture
async def store(api: Api, engine: AsyncEngine) -> Shop:
    c, sku_a, sku_b, warehouse = await shop(api, engine)
    gids = {
        "A": c.products["A"]["id"],
        "B": c.products["B"]["id"],
        "sku_a": sku_a,
        "sku_b": sku_b,
        "warehouse": warehouse,
        "phones": c.display["phones"],
        "apple": c.brands["Apple"],
        "huawei": c.brands["华为 Huawei"],
        "nike": c.brands["Nike"],
        "tees": c.categories["tees"],
        "digital": c.categories["digital"],  # an ancestor of Phone A's and B's category
    }
    # a PUBLIC coupon batch every product page lists (claimableCoupons)
    gids["batch"] = await create_template(api, template())
    for slug in ("p1", "p2"):
        created = await api.admin(
            "PageCreate",
            {
                "input": {
                    "slug": slug,
                    "title": slug,
                    "channels": ["APP"],
                    "modules": [{"richText": {"html": f"<p>{slug}</p>"}}],
                }
            },
        )
        gids[slug] = created["pageCreate"]["page"]["id"]
        await api.admin("PagePublish", {"id": gids[slug]})
    return Shop(api, engine, {k: _pk(v) for k, v in gids.items()}, gids)


async def _ask(
    s: Shop, query: str, variables: Any, name: str | None, channel: str | None = None
) -> tuple[Any, int]:
    """An answer's data and the SQL statements it took; one computed without any (from kept
    snapshots: the running promotions, the display tree) counts as one: 0 is from the cache."""
    body = {"query": query, "variables": variables or {}, "operationName": name}
    response = await s.api.client.post(
        "/graphql", json=body, headers={"x-channel": channel} if channel else {}
    )
    result = response.json()
    assert response.status_code == 200 and "errors" not in result, result
    statements = result["extensions"]["sqlStatements"]
    s.served = response.headers["x-cache"]
    assert s.served in {"hit", "refresh", "miss"}
    computed = s.served != "hit"
    assert computed or statements == 0
    assert s.served != "refresh" or statements == 1  # the numbers, in one statement
    return result["data"], max(statements, 1) if computed else 0


def answers(s: Shop, *, uncached: bool = False) -> dict[str, Answer]:
    """Each public answer under test: its data and the SQL statements it took (0: cached).
    `uncached`: the same answers under another cache key (a space more in the document), so
    each is computed, not served from what the cache kept."""
    more = " " if uncached else ""

    def named(name: str, variables: dict[str, Any], **kw: Any) -> Answer:
        async def run() -> tuple[Any, int]:
            return await _ask(s, operation(name) + more, variables, name, **kw)

        return run

    def raw(query: str, **kw: Any) -> Answer:
        async def run() -> tuple[Any, int]:
            return await _ask(s, query + more, None, None, **kw)

        return run

    return {
        "detail A": named("ProductDetail", {"id": s.gids["A"]}),
        "detail B": named("ProductDetail", {"id": s.gids["B"]}),
        "listing": named("CategoryPage", {"id": s.gids["phones"], "first": 24}),
        "in stock": raw(IN_STOCK),
        "brands": raw(BRANDS),
        "nav": raw(NAV),
        "page 1": named("Page", {"slug": "p1"}, channel="APP"),
        "page 2": named("Page", {"slug": "p2"}, channel="APP"),
    }


@pytest.fixture(params=["here", "there"])
async def writer(
    request: pytest.FixtureRequest, engine: AsyncEngine
) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """Where a write comes from: this process's engine, or another one (PostgreSQL only)."""
    if request.param == "here":
        yield "here", engine
        return
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: nothing is written elsewhere")
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield "there", other
    finally:
        await other.dispose()


async def warm(everything: dict[str, Answer]) -> dict[str, Any]:
    """Ask every answer twice: the second comes from the cache."""
    first = {}
    for name, ask in everything.items():
        first[name], statements = await ask()
        assert statements > 0, name
        again, statements = await ask()
        assert statements == 0 and again == first[name], name
    return first


async def expect(
    s: Shop,
    everything: dict[str, Answer],
    dropped: set[str],
    *,
    remote: bool,
    refreshed: frozenset[str] = frozenset(),
    uncached: dict[str, Answer] | None = None,
) -> None:
    """`dropped` answers are computed again (after a write elsewhere, once its notification
    arrived); `refreshed` ones come with their sellable numbers read again, the same bytes
    as computed now; on PostgreSQL every other answer still comes from the cache."""
    pg = s.engine.dialect.name == "postgresql"
    for name in sorted(dropped):
        for _ in range(300 if remote else 1):
            _, statements = await everything[name]()
            if s.served == "miss":
                break
            await asyncio.sleep(0.01)
        assert s.served == "miss", f"{name} was kept, though what it shows changed"
    fresh = uncached or answers(s, uncached=True)
    for name in sorted(refreshed):
        for _ in range(300 if remote else 1):
            data, _ = await everything[name]()
            if s.served != "hit":
                break
            await asyncio.sleep(0.01)
        # SQLite notes whole tables, and may drop what PostgreSQL refreshes
        assert s.served == "refresh" or (not pg and s.served == "miss"), (name, s.served)
        computed = (await fresh[name]())[0]
        assert s.served == "miss", f"{name} was not computed to compare"
        assert data == computed, f"{name} shows other numbers than computed"
        again, statements = await everything[name]()
        assert (statements, again) == (0, data), f"{name} was not kept as refreshed"
    if not pg:
        return  # one process noting whole tables: correct, coarse
    for name in sorted(set(everything) - dropped - refreshed):
        _, statements = await everything[name]()
        assert statements == 0, f"{name} was dropped, though nothing it shows changed"


async def write(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


WRITES: dict[str, tuple[str, dict[str, str], set[str]]] = {
    # kind: (statement, its parameters (names of ids), the answers showing what it changes)
    "product": (
        "UPDATE products SET title = 'Phone A2' WHERE id = :a",
        {"a": "A"},
        {"detail A", "listing", "in stock"},
    ),
    "sku": (
        "UPDATE skus SET market_price = 99900 WHERE id = :sku",
        {"sku": "sku_a"},
        {"detail A", "listing", "in stock"},  # the stock filter reads every SKU
    ),
    "stock number": (
        "UPDATE stock_levels SET on_hand = 6 WHERE sku_id = :sku",
        {"sku": "sku_a"},
        set(),  # "in stock" shows only that A is in stock: still true
    ),
    "stock out": (
        "UPDATE stock_levels SET on_hand = 0 WHERE sku_id = :sku",
        {"sku": "sku_a"},
        {"in stock"},
    ),
    "brand shown": (
        "UPDATE brands SET name = 'Apple Inc' WHERE id = :brand",
        {"brand": "apple"},
        {"detail A", "listing", "brands"},
    ),
    "brand not shown": (
        "UPDATE brands SET country = 'US' WHERE id = :brand",
        {"brand": "nike"},
        {"listing", "brands"},  # listings join brands (a name may match a search)
    ),
    "backend category elsewhere": (
        "UPDATE categories SET name = 'Tees' WHERE id = :cat",
        {"cat": "tees"},
        {"listing", "in stock"},  # listings read every category (subtrees, paths)
    ),
    "backend category in a breadcrumb": (
        "UPDATE categories SET name = '数码产品' WHERE id = :cat",
        {"cat": "digital"},
        {"detail A", "detail B", "listing", "in stock"},
    ),
    "display category": (
        "UPDATE display_categories SET name = 'Phones!' WHERE id = :d",
        {"d": "phones"},
        {"listing", "nav"},
    ),
    "coupon claimed, units left": (
        "UPDATE coupon_templates SET issued_count = issued_count + 1 WHERE id = :batch",
        {"batch": "batch"},
        set(),  # product pages list claimable batches: still claimable, the card unchanged
    ),
    "coupon sold out": (
        "UPDATE coupon_templates SET issued_count = total_quantity WHERE id = :batch",
        {"batch": "batch"},
        {"detail A", "detail B"},
    ),
    "coupon batch renamed": (
        "UPDATE coupon_templates SET name = '满200减25' WHERE id = :batch",
        {"batch": "batch"},
        {"detail A", "detail B"},
    ),
    "page module": (
        "UPDATE page_modules SET config = config WHERE page_id = :page",
        {"page": "p1"},
        {"page 1"},
    ),
}


# Writes that move sellable numbers: the answers showing them, refreshed rather than dropped
REFRESHED = {
    "stock number": frozenset({"detail A", "listing"}),
    "stock out": frozenset({"detail A", "listing"}),
}


@pytest.mark.parametrize("kind", sorted(WRITES))
async def test_an_answer_is_dropped_only_when_what_it_shows_changes(
    store: Shop, writer: tuple[str, AsyncEngine], kind: str
) -> None:
    where, engine = writer
    everything = answers(store)
    await warm(everything)
    sql, params, dropped = WRITES[kind]
    await write(engine, sql, **{name: store.ids[key] for name, key in params.items()})
    refreshed = REFRESHED.get(kind, frozenset())
    await expect(store, everything, dropped, remote=where == "there", refreshed=refreshed)


async def test_an_in_stock_listing_showing_numbers_is_refreshed_until_a_sku_runs_out(
    store: Shop, writer: tuple[str, AsyncEngine]
) -> None:
    """Filtered on stock it depends on whether SKUs are in stock; its numbers are live: a
    number that moves is read again, a SKU running out drops the listing (A leaves it)."""
    where, engine = writer
    query = (
        "query InStockNumbers { products(first: 10, filter: {inStock: true}) "
        "{ edges { node { title sellableQuantity } } } }"
    )

    async def ask() -> tuple[Any, int]:
        return await _ask(store, query, None, None)

    async def computed() -> tuple[Any, int]:
        return await _ask(store, query + " ", None, None)

    everything: dict[str, Answer] = {"in stock numbers": ask}
    uncached: dict[str, Answer] = {"in stock numbers": computed}
    first = await warm(everything)
    titles = {e["node"]["title"] for e in first["in stock numbers"]["products"]["edges"]}
    assert "Phone A" in titles
    sku = store.ids["sku_a"]
    await write(engine, "UPDATE stock_levels SET on_hand = 6 WHERE sku_id = :sku", sku=sku)
    await expect(
        store,
        everything,
        set(),
        remote=where == "there",
        refreshed=frozenset(everything),
        uncached=uncached,
    )
    await write(engine, "UPDATE stock_levels SET on_hand = 0 WHERE sku_id = :sku", sku=sku)
    await expect(store, everything, set(everything), remote=where == "there")
    data, _ = await ask()
    assert "Phone A" not in {e["node"]["title"] for e in data["products"]["edges"]}


async def test_a_renamed_ancestor_shows_on_the_next_product_page(
    store: Shop, writer: tuple[str, AsyncEngine]
) -> None:
    """A product page's breadcrumb comes from the categories kept once read (shared by every
    request): a rename written here or in another process shows on the next page computed."""
    where, engine = writer
    detail = answers(store)["detail A"]

    async def breadcrumb() -> list[str]:
        data, _ = await detail()
        return [a["name"] for a in data["product"]["category"]["ancestors"]]

    assert await breadcrumb() == ["数码", "手机通讯"]
    await write(
        engine, "UPDATE categories SET name = '数码产品' WHERE id = :c", c=store.ids["digital"]
    )
    for _ in range(300 if where == "there" else 1):
        if (names := await breadcrumb())[0] != "数码":
            break
        await asyncio.sleep(0.01)
    assert names == ["数码产品", "手机通讯"]


async def test_stock_that_moves_without_changing_what_is_sellable_drops_nothing(
    store: Shop, writer: tuple[str, AsyncEngine]
) -> None:
    """Held units of a SKU kept back as safety stock anyway: no sellable number moves."""
    where, engine = writer
    await write(
        store.engine,
        "UPDATE stock_levels SET safety_stock = 10 WHERE sku_id = :s",
        s=store.ids["sku_a"],
    )
    everything = answers(store)
    await warm(everything)
    await write(
        engine, "UPDATE stock_levels SET reserved = 4 WHERE sku_id = :s", s=store.ids["sku_a"]
    )
    await expect(store, everything, set(), remote=where == "there")
    await write(  # still none sellable: 10 on hand, 0 held, 10 kept back
        engine, "UPDATE stock_levels SET reserved = 0 WHERE sku_id = :s", s=store.ids["sku_a"]
    )
    await write(  # now some are
        engine, "UPDATE stock_levels SET safety_stock = 2 WHERE sku_id = :s", s=store.ids["sku_a"]
    )
    await expect(
        store,
        everything,
        {"in stock"},
        remote=where == "there",
        refreshed=frozenset({"detail A", "listing"}),
    )


async def test_a_promotion_drops_every_priced_answer(
    store: Shop, writer: tuple[str, AsyncEngine], clock: FixedClock
) -> None:
    """Which products a promotion reaches is not attributed: every answer that priced with
    the running promotions goes; answers showing no price stay."""
    from datetime import timedelta
    from decimal import Decimal

    from core.db import create_session_factory
    from models.promotions import PromotionType
    from services import promotions

    where, engine = writer
    everything = answers(store)
    await warm(everything)
    now = clock.now()
    async with create_session_factory(engine)() as s:
        await promotions.create_promotion(
            s,
            promotions.PromotionData(
                name="草稿",
                type=PromotionType.FULL_REDUCTION,
                starts_at=now + timedelta(days=1),
                ends_at=now + timedelta(days=2),
                rules={"tiers": [{"threshold": Decimal(20), "amount": Decimal(2)}]},
            ),
            now,
        )
        await s.commit()
    await expect(store, everything, {"detail A", "detail B", "listing"}, remote=where == "there")


@pytest.mark.pg
async def test_a_stock_write_from_another_os_process(store: Shop) -> None:
    """The same through a real second process: its stock move refreshes what shows that SKU's
    stock in this one, and nothing else."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process")
    everything = answers(store)
    await warm(everything)
    script = (
        "import asyncio, sys\n"
        "from core.db import create_engine, create_session_factory\n"
        "from services import inventory\n"
        "async def main():\n"
        "    engine = create_engine(sys.argv[1])\n"
        "    async with create_session_factory(engine)() as s:\n"
        "        sku, warehouse = int(sys.argv[2]), int(sys.argv[3])\n"
        "        await inventory.receive_stock(s, sku, warehouse, 5, 'in', None)\n"
        "        await s.commit()\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        store.engine.url.render_as_string(hide_password=False),
        str(store.ids["sku_b"]),
        str(store.ids["warehouse"]),
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    shown = frozenset({"detail B", "listing"})
    await expect(store, everything, set(), remote=True, refreshed=shown)
    data, _ = await everything["detail B"]()
    assert data["product"]["sellableQuantity"] == 15


def test_notes_are_read_as_the_triggers_write_them() -> None:
    notes, named = changes.parse_notes(" products:1,2 stock_levels:7,8! brands: categories:* skus")
    assert named == {"products", "stock_levels", "brands", "categories", "skus"}
    assert notes == {
        ("products", 1),
        ("products", 2),
        ("stock_levels", 7),
        ("stock_levels", 8),
        (changes.STOCK_FLAG, 8),
        ("categories", changes.ANY),
        ("skus", changes.ANY),
    }
    shows = frozenset({("products", 3), (changes.STOCK_FLAG, 7)})
    tables = frozenset(t for t, _ in shows)
    assert not changes.touches(
        frozenset(notes - {("categories", "*"), ("skus", "*")}), shows, tables
    )
    assert changes.touches(frozenset({(changes.STOCK_FLAG, 7)}), shows, tables)
    assert changes.touches(frozenset({("products", changes.ANY)}), shows, tables)
    assert changes.touches(None, shows, tables)
    # a whole table written here (no trigger named it) is noted whole
    assert changes._notes_of(frozenset({"stock_levels"}), "products:1") == {
        ("products", 1),
        ("stock_levels", changes.ANY),
        (changes.STOCK_FLAG, changes.ANY),
    }
    assert changes._notes_of(None, "products:1") is None


async def test_a_product_page_changes_by_itself_when_a_coupon_batch_opens_or_closes(
    store: Shop, clock: FixedClock
) -> None:
    """No write happens when a batch's claim window opens or closes: the cached product page
    listing claimable batches lasts only until the next such moment (the response cache's
    schedule), now that a claim no longer drops it."""
    s = store

    def batch(name: str, **window: str) -> dict[str, Any]:
        return {
            "name": name,
            "type": "CASH",
            "amount": "5",
            "totalQuantity": 10,
            "perCustomerLimit": 1,
            "distribution": "PUBLIC",
            "validity": {"startsAt": "2026-04-01T00:00:00Z", "endsAt": "2026-05-01T00:00:00Z"},
            "combinesWithPromotions": True,
            **window,
        }

    await s.api.admin(
        "CouponTemplateCreate", {"input": batch("closing", claimEndsAt="2026-04-10T09:00:00Z")}
    )
    await s.api.admin(
        "CouponTemplateCreate", {"input": batch("opening", claimStartsAt="2026-04-10T10:00:00Z")}
    )
    detail = answers(s)["detail A"]

    async def shown() -> tuple[set[str], int]:
        data, statements = await detail()
        return {c["name"] for c in data["product"]["claimableCoupons"]}, statements

    assert (await shown())[0] >= {"closing"} and "opening" not in (await shown())[0]
    assert (await shown())[1] == 0  # from the cache
    clock.advance(hours=1, minutes=30)  # 09:30: "closing" closed
    names, statements = await shown()
    assert statements > 0 and "closing" not in names and "opening" not in names
    clock.advance(hours=1)  # 10:30: "opening" opened
    names, statements = await shown()
    assert statements > 0 and "opening" in names


async def test_a_claim_drops_an_answer_showing_a_batch_count_and_keeps_the_others(
    store: Shop, writer: tuple[str, AsyncEngine]
) -> None:
    """A product page asking how many coupons are left depends on the batch's row: a claim
    leaving units drops it (with its new count), while the contract's product page, which
    shows no count, is kept (review finding: the count stayed as cached)."""
    where, engine = writer
    counts_query = (
        "query($id: ID!) { product(id: $id) "
        "{ claimableCoupons { id issuedCount remainingQuantity } } }"
    )

    async def counts() -> tuple[Any, int]:
        return await _ask(store, counts_query, {"id": store.gids["A"]}, None)

    detail = answers(store)["detail A"]
    everything = {"counts": counts, "detail A": detail}
    first = await warm(everything)
    assert first["counts"]["product"]["claimableCoupons"][0]["remainingQuantity"] == 100
    await write(
        engine,
        "UPDATE coupon_templates SET issued_count = issued_count + 1 WHERE id = :batch",
        batch=store.ids["batch"],
    )
    await expect(store, everything, {"counts"}, remote=where == "there")
    data, _ = await counts()
    assert data["product"]["claimableCoupons"][0] == {
        "id": store.gids["batch"],
        "issuedCount": 1,
        "remainingQuantity": 99,
    }
