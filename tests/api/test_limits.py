"""Query limits (issue 9, part 1): deep queries, alias bombs, huge pages, token floods and
fragment cycles are refused with QUERY_TOO_COMPLEX before any SQL runs; every answer carries
its cost."""

from __future__ import annotations

import pytest

from tests.conftest import Api


def deep(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"children {{ {inner} }}"
    return f"{{ categories {{ {inner} }} }}"


ALIAS_BOMB = "{ " + " ".join(f"a{i}: brands {{ name }}" for i in range(40)) + " }"
HUGE_PAGE = ("{ products(first: 100) { edges { node { skus { id } } } } "
             "a: products(first: 100) { edges { node { id } } } "
             "b: adminProducts(first: 100) { edges { node { id } } } }")
NESTED_PAGES = ("{ displayCategories { products(first: 100) { edges { node { "
                "category { attributes { options } } } } } } }")
TOKEN_FLOOD = "{ " + "brands { name } " * 2000 + "}"
CYCLE = ("query { brands { ...A } } fragment A on Brand { name ...B } "
         "fragment B on Brand { name ...A }")


@pytest.mark.parametrize("query,limit", [
    (deep(14), "maxDepth"),
    (ALIAS_BOMB, "maxAliases"),
    (TOKEN_FLOOD, "maxTokens"),
    (CYCLE, "fragmentCycle"),
])
async def test_refused_before_any_sql(api: Api, query: str, limit: str) -> None:
    response = await api.client.post("/graphql", json={"query": query})
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": limit}
    assert "data" not in body and "sqlStatements" not in body.get("extensions", {})


async def test_huge_first_is_too_costly(api: Api) -> None:
    result = await api.post("query($n: Int) { products(first: $n) { edges { node { "
                            "skus { id price { amount } } } } } }", {"n": 100000})
    assert result["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX",
                                                 "limit": "maxCost"}
    assert "over the maximum" in result["errors"][0]["message"]


async def test_cost_extension_on_a_contract_query(api: Api, engine) -> None:
    from core.ids import encode_id
    from tests.api.test_batching import seed_listing

    node = encode_id("DisplayCategory", await seed_listing(engine, 12))
    result = await api.op("CategoryPage", {"id": node, "first": 10})
    assert len(result["data"]["displayCategory"]["products"]["edges"]) == 10
    cost = result["extensions"]["cost"]
    assert cost["maximum"] == 20000
    # 4 + 10 × (cursor + node{ProductCard fields, skus × 10 estimated}) — see schema/limits.py
    assert 500 < cost["requested"] < 1500
    # with real data (3 SKUs per product) the answer holds no more than was estimated
    assert 0 < cost["actual"] <= cost["requested"]


async def test_introspection_costs_nothing(api: Api) -> None:
    result = await api.post("{ __schema { types { name fields { name } } } }")
    assert result["extensions"]["cost"]["requested"] == 0
