"""Relay paging backwards: `last` N (before a cursor, or at the end) with `hasPreviousPage`,
on storefront search and admin lists alike; `first` with `last` is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api

SEARCH = """query($first: Int, $after: String, $last: Int, $before: String) {
  products(sort: PRICE_ASC, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
AUDIT = """query($first: Int, $after: String, $last: Int, $before: String) {
  auditLog(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage } } }"""


async def _five_products(api: Api) -> list[str]:
    c = await build_catalog(api)
    for i in range(5):
        await add_product(
            api, c, f"p{i}", phone_input(c, f"P{i}", "Apple", [f"{10 + i}.00"], code=f"P{i}")
        )
    return [f"P{i}" for i in range(5)]


async def _search(api: Api, **args: Any) -> dict[str, Any]:
    result = await api.post(SEARCH, args)
    assert "errors" not in result, result["errors"]
    return dict(result["data"]["products"])


def _titles(page: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in page["edges"]]


async def test_last_two_of_five_are_the_end_of_the_list(api: Api) -> None:
    titles = await _five_products(api)
    page = await _search(api, last=2)
    assert _titles(page) == titles[3:]
    assert page["totalCount"] == 5
    assert page["pageInfo"]["hasPreviousPage"] and not page["pageInfo"]["hasNextPage"]
    # Its cursors are ordinary cursors: paging forward from the start cursor continues there.
    after = await _search(api, first=5, after=page["pageInfo"]["startCursor"])
    assert _titles(after) == titles[4:]


async def test_last_before_a_cursor_pages_backwards(api: Api) -> None:
    titles = await _five_products(api)
    cursors = [e["cursor"] for e in (await _search(api, first=5))["edges"]]
    page = await _search(api, last=2, before=cursors[3])
    assert _titles(page) == titles[1:3]
    assert page["pageInfo"]["hasPreviousPage"] and page["pageInfo"]["hasNextPage"]
    page = await _search(api, last=2, before=page["pageInfo"]["startCursor"])
    assert _titles(page) == titles[:1]  # only one left before it
    assert not page["pageInfo"]["hasPreviousPage"]
    # `first` stops at `before` too; `after` and `before` together bound both ends.
    assert _titles(await _search(api, first=5, before=cursors[2])) == titles[:2]
    assert _titles(await _search(api, after=cursors[0], before=cursors[4])) == titles[1:4]
    assert _titles(await _search(api, last=9, after=cursors[1])) == titles[2:]


async def test_admin_lists_page_backwards_too(api: Api) -> None:
    await _five_products(api)
    everything = (await api.post(AUDIT, {"first": 100}, token=api.admin_token))["data"]
    ids = [e["node"]["id"] for e in everything["auditLog"]["edges"]]
    assert len(ids) >= 5
    result = await api.post(AUDIT, {"last": 2}, token=api.admin_token)
    assert [e["node"]["id"] for e in result["data"]["auditLog"]["edges"]] == ids[-2:]
    cursor = everything["auditLog"]["edges"][3]["cursor"]
    result = await api.post(AUDIT, {"last": 2, "before": cursor}, token=api.admin_token)
    assert [e["node"]["id"] for e in result["data"]["auditLog"]["edges"]] == ids[1:3]
    assert result["data"]["auditLog"]["pageInfo"]["hasPreviousPage"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"first": 2, "last": 2}, "INVALID_PAGINATION"),
        ({"first": 0, "last": 0}, "INVALID_PAGINATION"),
        ({"last": 101}, "INVALID_PAGINATION"),
        ({"last": -1}, "INVALID_PAGINATION"),
        ({"last": 2, "before": "garbage"}, "INVALID_CURSOR"),
    ],
)
async def test_bad_paging_is_refused_with_its_code(
    api: Api, args: dict[str, Any], code: str
) -> None:
    for query, token in ((SEARCH, None), (AUDIT, api.admin_token)):
        result = await api.post(query, args, token=token)
        assert [e["extensions"]["code"] for e in result["errors"]] == [code]
