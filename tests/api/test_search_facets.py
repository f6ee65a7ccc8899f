"""The storefront `Search` operation's facets (brands, filterable attribute values, price
buckets) as written in the contract, on SQLite and PostgreSQL: their answers, and how many
SQL statements the operation costs."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import BigInteger
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import utcnow
from core.db import create_session_factory
from models.catalog import Product
from services import search
from services.search import PRICE_BUCKETS
from services.search import ProductQuery
from services.search import nice_step
from services.search import raw_width_sql
from services.search import step_sql
from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.test_batching import seed_listing
from tests.conftest import Api
from tests.contract import operation

pytestmark = pytest.mark.sqlite_too

# the product page (its total a window), the SKUs of its products, the brand facets, and the
# attribute facets with the price buckets (one statement); the running promotions are read
# once more on a cold server (then kept)
SEARCH_MAX_STATEMENTS = 4


async def _priced_catalog(api: Api) -> Catalog:
    """Five listed phones of three brands, priced 99.50 to 12999.00 (three price buckets of
    5000.00), with filterable colours, storage and ports; and an unlisted draft."""
    c = await build_catalog(api)
    phones: list[tuple[str, str, str, list[str], tuple[str, ...], str]] = [
        ("iphone", "iPhone 15", "Apple", ["5999.00", "6999.00"], ("黑", "白"), "USB-C"),
        ("mate", "Mate 60", "华为 Huawei", ["4999.00"], ("蓝",), "Lightning"),
        ("matex", "Mate X5", "华为 Huawei", ["12999.00"], ("黑",), "Lightning"),
        ("pixel", "Pixel 8", "Nike", ["3299.00", "3599.00"], ("白", "蓝"), "USB-C"),
        ("cheap", "Cheap Phone", "Nike", ["99.50"], ("白",), "USB-C"),
    ]
    for key, title, brand, prices, colours, port in phones:
        code = key.upper()
        await add_product(
            api, c, key, phone_input(c, title, brand, prices, code=code, colours=colours, port=port)
        )
    draft = phone_input(c, "Draft Phone", "Apple", ["1.00"], code="DRAFT")
    await add_product(api, c, "draft", draft, listed=False)
    return c


def _brands(facets: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["brand"]["name"], f["count"]) for f in facets["brands"]]


def _attributes(facets: dict[str, Any]) -> list[tuple[str, list[tuple[str, int]]]]:
    return [
        (f["name"], [(v["value"], v["count"]) for v in f["values"]]) for f in facets["attributes"]
    ]


def _buckets(facets: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(b["min"]["amount"], b["max"]["amount"], b["count"]) for b in facets["priceBuckets"]]


async def _search(api: Api, query: str, filter_: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await api.op("Search", {"query": query, "filter": filter_})
    assert "errors" not in result, result["errors"]
    return result


# Every bucket of the whole catalog: 99.50 .. 12999.00 → span 12999.00 - 99.00 + 0.01,
# raw width ceil(span / 5) = 2580.01, so round width 5000.00 from 0.
ALL_BUCKETS = [("0.00", "4999.99", 3), ("5000.00", "9999.99", 1), ("10000.00", "14999.99", 1)]


async def test_search_statements_are_bounded(api: Api) -> None:
    await _priced_catalog(api)
    cold = await _search(api, "phone")
    assert cold["data"]["products"]["totalCount"] == 2  # iPhone 15, Cheap Phone
    assert cold["extensions"]["sqlStatements"] <= SEARCH_MAX_STATEMENTS + 1, cold["extensions"]
    result = await _search(api, "")
    products = result["data"]["products"]
    assert products["totalCount"] == 5
    facets = products["facets"]
    assert len(facets["brands"]) == 3 and len(facets["attributes"]) == 3
    assert _buckets(facets) == ALL_BUCKETS
    assert result["extensions"]["sqlStatements"] <= SEARCH_MAX_STATEMENTS, result["extensions"]
    priced = await _search(api, "", {"priceMin": "3000", "priceMax": "6000.00"})
    assert priced["data"]["products"]["totalCount"] == 3
    assert priced["extensions"]["sqlStatements"] <= SEARCH_MAX_STATEMENTS, priced["extensions"]
    # no product: no SKUs to read, and no price span to look at
    empty = await _search(api, "no such phone")
    assert empty["data"]["products"]["totalCount"] == 0
    assert empty["extensions"]["sqlStatements"] <= SEARCH_MAX_STATEMENTS - 1, empty["extensions"]


async def test_a_repeated_search_is_answered_from_the_cache(api: Api) -> None:
    """The facets' statement (a WITH) only reads: counted as a write of every table, it
    emptied every process's cache at each search and no search was ever served from it."""
    await _priced_catalog(api)
    body = {
        "query": operation("Search"),
        "variables": {"query": "phone"},
        "operationName": "Search",
    }
    first = await api.client.post("/graphql", json=body)
    assert first.headers["x-cache"] == "miss"
    again = await api.client.post("/graphql", json=body)
    assert again.headers["x-cache"] == "hit", again.json()["extensions"]
    assert again.json()["data"] == first.json()["data"]


async def test_search_facets_without_filters(api: Api) -> None:
    await _priced_catalog(api)
    facets = (await _search(api, ""))["data"]["products"]["facets"]
    assert _brands(facets) == [("Nike", 2), ("华为 Huawei", 2), ("Apple", 1)]
    assert _attributes(facets) == [
        ("存储", [("128GB", 5)]),
        ("接口", [("USB-C", 3), ("Lightning", 2)]),
        ("颜色", [("白", 3), ("蓝", 2), ("黑", 2)]),
    ]
    assert _buckets(facets) == ALL_BUCKETS


async def test_search_facets_with_a_price_filter(api: Api) -> None:
    """Price buckets ignore the price filter; brand and attribute facets keep it."""
    await _priced_catalog(api)
    result = await _search(api, "", {"priceMin": "3000", "priceMax": "6000.00"})
    products = result["data"]["products"]
    assert sorted(e["node"]["title"] for e in products["edges"]) == [
        "Mate 60",
        "Pixel 8",
        "iPhone 15",
    ]
    facets = products["facets"]
    assert _brands(facets) == [("Apple", 1), ("Nike", 1), ("华为 Huawei", 1)]
    assert _attributes(facets) == [
        ("存储", [("128GB", 3)]),
        ("接口", [("USB-C", 2), ("Lightning", 1)]),
        ("颜色", [("白", 2), ("蓝", 2), ("黑", 1)]),
    ]
    assert _buckets(facets) == ALL_BUCKETS


async def test_search_facets_with_price_and_attribute_filters(api: Api) -> None:
    """Attribute facets ignore the attribute filter but keep the price filter; price buckets
    the other way round: each part of the statement has its own conditions."""
    await _priced_catalog(api)
    result = await _search(
        api,
        "",
        {"priceMin": "4000", "attributes": [{"name": "接口", "values": ["Lightning"]}]},
    )
    products = result["data"]["products"]
    assert sorted(e["node"]["title"] for e in products["edges"]) == ["Mate 60", "Mate X5"]
    facets = products["facets"]
    assert _brands(facets) == [("华为 Huawei", 2)]
    assert _attributes(facets) == [
        ("存储", [("128GB", 3)]),
        ("接口", [("Lightning", 2), ("USB-C", 1)]),
        ("颜色", [("黑", 2), ("白", 1), ("蓝", 1)]),
    ]
    # 49.99 .. 129.99: span 12999.00 - 4999.00 + 0.01 → width 2000.00 from 4000.00
    assert _buckets(facets) == [("4000.00", "5999.99", 1), ("12000.00", "13999.99", 1)]


async def test_search_facets_of_an_empty_result(api: Api) -> None:
    await _priced_catalog(api)
    result = await _search(api, "no such phone")
    products = result["data"]["products"]
    assert products["totalCount"] == 0
    assert products["facets"] == {"brands": [], "attributes": [], "priceBuckets": []}


async def test_search_facets_of_a_single_price(api: Api) -> None:
    """One matching product: one bucket of the smallest width (1.00) holding its price."""
    await _priced_catalog(api)
    facets = (await _search(api, "x5"))["data"]["products"]["facets"]
    assert _brands(facets) == [("华为 Huawei", 1)]
    assert _attributes(facets) == [
        ("存储", [("128GB", 1)]),
        ("接口", [("Lightning", 1)]),
        ("颜色", [("黑", 1)]),
    ]
    assert _buckets(facets) == [("12999.00", "12999.99", 1)]


# Spans where the step changes (ceil(span / 5) crossing a round width) and their neighbours,
# the smallest, some at random, and the largest a BIGINT price range can have.
BIGINT_MAX = 2**63 - 1
_rng = random.Random(20261130)  # the same "random" spans and prices on every run
EDGE_SPANS = sorted(
    {0, 1, 2, 5, 99, 100, 101, 499, 500, 501, 999, 1000, 1001, 9999, 10000, 10001, BIGINT_MAX}
    | {PRICE_BUCKETS * step + d for step in search.STEPS for d in (-1, 0, 1)}
    | {10**k + d for k in range(19) for d in (-1, 0, 1)}
    | {_rng.randrange(10 ** _rng.randint(1, 18)) for _ in range(60)}
)


async def test_step_in_sql_is_nice_step(engine: AsyncEngine) -> None:
    """The price buckets' statement rounds the width as `nice_step` does, on every span."""
    spans = [span for span in EDGE_SPANS if span <= BIGINT_MAX]
    spread = bindparam("spread", type_=BigInteger)  # span - 1: what the statement has
    stmt = select(step_sql(select(raw_width_sql(spread).label("raw")).subquery().c.raw))
    async with engine.connect() as conn:
        steps = [(await conn.scalar(stmt, {"spread": span - 1})) for span in spans]
    assert list(zip(spans, steps, strict=True)) == [(span, nice_step(span)) for span in spans]


def reference_buckets(prices: list[int]) -> list[tuple[int, int, int]]:
    """The price buckets as they were computed before the statement did (a span read, then
    `nice_step` in Python): (min, max, count), ascending."""
    low, high = min(prices), max(prices)
    step = nice_step(high - (low // 100 * 100) + 1)
    base = low // step * step
    counts: dict[int, int] = {}
    for price in prices:
        counts[(price - base) // step] = counts.get((price - base) // step, 0) + 1
    return [(base + i * step, base + (i + 1) * step - 1, n) for i, n in sorted(counts.items())]


PRICE_SETS = [
    [0] * 8,
    [1, 99, 100, 101, 999, 1000, 1001, 5],
    [9950, 329900, 499900, 599900, 1299900, 359900, 359900, 100],
    [12345] * 7 + [12346],
    [50_000, 60_000, 70_000, 80_000, 90_000, 100_000, 110_000, 2_500_100],
    [BIGINT_MAX, 0, 1, 10**18, 5 * 10**18, 9 * 10**18, 2**62, 99],
    [BIGINT_MAX] * 7 + [BIGINT_MAX - 1],
    *([_rng.randrange(10**digits) for _ in range(8)] for digits in (3, 5, 7, 9, 12, 15, 18)),
]


async def test_price_buckets_match_the_python_reference(engine: AsyncEngine) -> None:
    await seed_listing(engine, 8)
    query = ProductQuery(visible_at=utcnow())
    factory = create_session_factory(engine)
    for prices in PRICE_SETS:
        async with factory() as s:
            for product_id, price in enumerate(prices, start=1):
                await s.execute(
                    update(Product).where(Product.id == product_id).values(price_min=price)
                )
            await s.commit()
        async with factory() as s:
            _, buckets = await search.attribute_and_price_facets(s, query)
        assert [(b.min, b.max, b.count) for b in buckets] == reference_buckets(prices), prices
