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


async def test_cost_extension_on_a_contract_query(api: Api) -> None:
    result = await api.op("CategoryPage", {"id": "RGlzcGxheUNhdGVnb3J5OjE", "first": 10})
    cost = result["extensions"]["cost"]
    assert cost["maximum"] == 20000
    # displayCategory(1) + id + name + products(1) + (totalCount, pageInfo{2}, edges{cursor,
    # node{ProductCard 17 + skus{id specText price{2} sellableQuantity}}} …) × first 10
    assert 300 < cost["requested"] < 600
    assert cost["actual"] <= cost["requested"]


async def test_introspection_costs_nothing(api: Api) -> None:
    result = await api.post("{ __schema { types { name fields { name } } } }")
    assert result["extensions"]["cost"]["requested"] == 0
