"""Bad input never yields a 500 or an internal message: malformed ids, cursors, pagination,
requests and documents each get a clear error with a stable code."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api

PRODUCT = "query($id: ID!) { product(id: $id) { id } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PAGE = (
    "query($first: Int, $after: String) { products(first: $first, after: $after) { totalCount } }"
)


def code_of(result: dict) -> str:
    return result["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "garbage",
        "%%%",
        "UHJvZHVjdA",  # "Product" (no pk)
        "QnJhbmQ6MQ",  # a Brand id where a Product is expected
        "UHJvZHVjdDotMQ",  # "Product:-1"
        "x" * 500,
        "5L2g5aW9",
    ],
)  # "你好"
async def test_malformed_product_ids(api: Api, bad_id: str) -> None:
    result = await api.post(PRODUCT, {"id": bad_id})
    assert code_of(result) == "INVALID_ID"
    assert "Traceback" not in str(result) and "decode" not in result["errors"][0]["message"]


async def test_node_with_empty_id(api: Api) -> None:
    result = await api.post('{ node(id: "") { id } }')
    assert code_of(result) == "INVALID_ID"
    assert result["errors"][0]["message"].startswith("Invalid ID.")


async def test_unknown_but_wellformed_id_is_null(api: Api) -> None:
    result = await api.post(NODE, {"id": "UHJvZHVjdDo5OTk5OTk"})  # Product:999999
    assert result == {"data": {"node": None}, "extensions": result["extensions"]}


@pytest.mark.parametrize("cursor", ["garbage", "", "bzotMQ", "YWJj"])
async def test_malformed_cursors(api: Api, cursor: str) -> None:
    result = await api.post(PAGE, {"first": 5, "after": cursor})
    assert code_of(result) == "INVALID_CURSOR"


@pytest.mark.parametrize("first", [101, -1])
async def test_first_is_capped_with_a_clear_error(api: Api, first: int) -> None:
    result = await api.post(PAGE, {"first": first})
    assert code_of(result) == "INVALID_PAGINATION"
    assert "between 0 and 100" in result["errors"][0]["message"]


async def test_first_beyond_int_range_is_a_validation_error(api: Api) -> None:
    result = await api.post(PAGE, {"first": 2**40})
    assert code_of(result) == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    "body,content_type,status",
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"query": 5}', "application/json", 400),
        (b'{"query": "{ brands { name } }", "variables": [1]}', "application/json", 400),
        (b'{"query": "{ brands { name } }", "operationName": 7}', "application/json", 400),
        (b"query=1", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_malformed_requests(api: Api, body: bytes, content_type: str, status: int) -> None:
    response = await api.client.post(
        "/graphql", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "query,code",
    [
        ("{ brands { name }", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ product { id } }", "GRAPHQL_VALIDATION_FAILED"),
        ("query($id: ID!) { product(id: $id) { id } }", "GRAPHQL_VALIDATION_FAILED"),
        ("query A { brands { name } } query B { brands { name } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_malformed_documents(api: Api, query: str, code: str) -> None:
    result = await api.post(query)
    assert code_of(result) == code
    assert "data" not in result


async def test_unknown_channel_is_refused(api: Api) -> None:
    result = await api.post("{ brands { name } }", channel="TV")
    assert code_of(result) == "INVALID_CHANNEL"


async def test_graphql_response_media_type(api: Api) -> None:
    ok = await api.client.post(
        "/graphql",
        json={"query": "{ brands { name } }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/graphql-response+json"
    bad = await api.client.post(
        "/graphql",
        json={"query": "{ nope }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert bad.status_code == 400  # a request error, per GraphQL-over-HTTP
    legacy = await api.client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"


async def test_get_queries_and_no_get_mutations(api: Api) -> None:
    ok = await api.client.get("/graphql", params={"query": "{ brands { name } }"})
    assert ok.status_code == 200 and ok.json()["data"] == {"brands": []}
    mutation = await api.client.get(
        "/graphql",
        params={"query": 'mutation { brandCreate(input: {name: "x"}) { brand { id } } }'},
    )
    assert mutation.status_code == 405


async def test_graphiql_is_served_to_browsers(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_unexpected_errors_are_masked_and_logged(
    api: Api, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    from resolvers import catalog

    async def explode(session):
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(catalog, "all_brands", explode)
    with caplog.at_level(logging.ERROR, logger="zhongtai.errors"):
        response = await api.client.post(
            "/graphql", json={"query": "{ brands { name } }"}, headers={"x-request-id": "req-42"}
        )
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-42"}
    assert "secret" not in response.text
    assert "req-42" in caplog.text and "secret database detail" in caplog.text


async def test_health_endpoints(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "off"}


async def test_field_error_that_nulls_the_root_still_answers_data(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": 'mutation { brandCreate(input: {name: "x"}) { brand { id } } }'},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    body = response.json()
    # a guest is asked to log in
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_failing_field_leaves_its_siblings_reads_whole(
    api: Api, engine: AsyncEngine
) -> None:
    """Found by the schema fuzzer: when a non-null field fails, graphql-core cancels its
    siblings, and a statement cancelled in flight left the connection busy: the next read or
    the request's close failed ("another operation is in progress", a 500) and the pool lost
    the connection. A read now finishes before the cancellation goes on."""
    c = await build_catalog(api)
    product = await add_product(
        api, c, "A", phone_input(c, "Phone A", "Apple", ["500.00"], code="A")
    )
    siblings = " ".join(
        f'p{i}: product(id: "{product["id"]}") {{ title skus {{ id }} }}' for i in range(8)
    )
    for _ in range(10):
        result = await api.post(f'{{ {siblings} products(after: "junk") {{ totalCount }} }}')
        assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_CURSOR"]
    assert getattr(engine.pool, "checkedout", lambda: 0)() == 0
