"""Hostile input at the edge: a control character in any string of any root field, text longer
than where it lands, Int sums past the INTEGER column and absurd amounts each get a clean
error — BAD_USER_INPUT with the path, before anything runs — and never INTERNAL_ERROR (which
PostgreSQL used to cause: it refuses NUL in text and overflows short columns)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLField
from graphql import GraphQLInputType
from graphql import assert_object_type
from graphql import get_named_type
from graphql import get_nullable_type
from graphql import is_enum_type
from graphql import is_input_object_type
from graphql import is_leaf_type
from graphql import is_list_type
from graphql import is_non_null_type
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models import Address
from models import Order
from models import Payment
from models import Product
from models import Refund
from schema import schema
from tests.api.checkout_data import ADDRESS
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.conftest import Api

GRAPHQL = schema._schema
QUERY = assert_object_type(GRAPHQL.get_type("Query"))
MUTATION = assert_object_type(GRAPHQL.get_type("Mutation"))
STRING_SCALARS = {"String", "ID", "Decimal", "DateTime", "Date"}
SAMPLES = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Decimal": "1",
    "DateTime": "2026-01-01T00:00:00Z",
    "Date": "2026-01-01",
}


def _minimal(type_: Any) -> Any:
    """A value of the type with only its required parts."""
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        return []
    if is_enum_type(type_):
        return next(iter(type_.values))
    if is_input_object_type(type_):
        return {
            name: _minimal(f.type)
            for name, f in type_.fields.items()
            if is_non_null_type(f.type) and f.default_value is _UNSET
        }
    return SAMPLES[type_.name]


_UNSET = QUERY.fields["products"].args["query"].default_value  # Undefined


def _leaves(type_: Any, seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, ...]]:
    """Paths to every string-carrying scalar inside a value of the type."""
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        yield from (("0", *p) for p in _leaves(type_.of_type, seen))
    elif is_input_object_type(type_):
        if type_.name in seen:
            return
        for name, f in type_.fields.items():
            yield from ((name, *p) for p in _leaves(f.type, seen | {type_.name}))
    elif get_named_type(type_).name in STRING_SCALARS:
        yield ()


def _with(type_: Any, path: tuple[str, ...], bad: str) -> Any:
    """The minimal value with `bad` placed at `path`."""
    if not path:
        return bad
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        return [_with(type_.of_type, path[1:], bad)]
    value = _minimal(type_)
    value[path[0]] = _with(type_.fields[path[0]].type, path[1:], bad)
    return value


def _literal(value: Any, type_: Any) -> str:
    type_ = get_nullable_type(type_)
    if is_list_type(type_):
        return "[" + ", ".join(_literal(v, type_.of_type) for v in value) + "]"
    if is_input_object_type(type_):
        return (
            "{"
            + ", ".join(f"{k}: {_literal(v, type_.fields[k].type)}" for k, v in value.items())
            + "}"
        )
    if is_enum_type(type_):
        return str(value)
    return json.dumps(value)  # JSON's escapes are GraphQL's


def _selection(field: GraphQLField) -> str:
    return "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"


def probes(bad: str) -> Iterator[tuple[str, str, str, dict[str, Any], str]]:
    """(root field, path, as variables, their values, as literals) for every string a root
    field's arguments can carry, `bad` placed there and every other required part minimal."""
    for kind, root in (("query", QUERY), ("mutation", MUTATION)):
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for path in _leaves(arg.type):
                    values = {
                        a: _minimal(d.type)
                        for a, d in field.args.items()
                        if is_non_null_type(d.type) and a != arg_name
                    }
                    values[arg_name] = _with(arg.type, path, bad)
                    types: dict[str, GraphQLInputType] = {a: field.args[a].type for a in values}
                    declared = ", ".join(f"${a}: {t}" for a, t in types.items())
                    used = ", ".join(f"{a}: ${a}" for a in values)
                    inline = ", ".join(f"{a}: {_literal(v, types[a])}" for a, v in values.items())
                    tail = _selection(field)
                    yield (
                        name,
                        ".".join((arg_name, *path)),
                        f"{kind}({declared}) {{ {name}({used}){tail} }}",
                        values,
                        f"{kind} {{ {name}({inline}){tail} }}",
                    )


def assert_refused(api: Api, answer: dict[str, Any], path: str, what: str = "") -> None:
    assert api.last_status == 400, (path, answer)
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", (path, answer)
    assert error["extensions"]["argument"] == path, (path, answer)
    assert what in error["message"]
    assert "data" not in answer  # nothing ran


async def test_a_nul_anywhere_in_any_root_field_is_refused_by_name(api: Api) -> None:
    """Generated from the schema: every root field, every string its arguments can carry
    (String, ID and the string scalars, nested in inputs and lists), sent as a variable and
    as a literal, by a staff member holding every permission."""
    sent = set()
    for field, path, document, variables, inline in probes("bad\x00"):
        for query, values in ((document, variables), (inline, None)):
            answer = await api.post(query, values, token=api.admin_token)
            assert_refused(api, answer, path, "U+0000")
        sent.add(field)
    roots = {*QUERY.fields, *MUTATION.fields}
    assert (
        len(sent) > 80
        and {
            "products",
            "tokenCreate",
            "customerRegister",
            "cart",
            "page",
            "addressCreate",
            "checkoutComplete",
            "orderRefundRequest",
            "paymentConfirm",
            "stockMove",
        }
        <= sent
        <= roots
    )


async def test_anonymous_operations_are_refused_before_authorization(api: Api) -> None:
    """A guest's request with a NUL is refused for its input, not its viewer: the edge runs
    before anything else (the contract operations, as written)."""
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("Search", {"query": "a\x00"}, "query"),
        ("Login", {"login": "13800138000\x00", "password": "p"}, "login"),
        ("Register", {"input": {"name": "n", "password": "p\x00"}}, "input.password"),
        ("GuestCart", {"id": "\x00"}, "id"),
        ("Page", {"slug": "home\x00"}, "slug"),
        ("TokenRefresh", {"refreshToken": "1.\x00"}, "refreshToken"),
        ("CouponRedeemCode", {"code": "\x1b[2J"}, "code"),
        ("CartCreate", {"lines": [{"skuId": "\x00", "quantity": 1}]}, "lines.0.skuId"),
    ]
    for operation, variables, path in cases:
        assert_refused(api, await api.op(operation, variables), path, "U+00")


async def test_hostile_json_is_a_clean_400(api: Api) -> None:
    # orjson refuses a lone surrogate, so it never reaches a resolver; GraphQL refuses it too
    body = (
        b'{"query": "query($q: String!) { products(query: $q) { totalCount } }", '
        b'"variables": {"q": "\\ud800"}}'
    )
    answer = await api.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert (
        answer.status_code == 400
        and answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    )
    literal = await api.post('{ products(query: "\\uD800") { totalCount } }')
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_tabs_and_newlines_are_text(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900007001", [(shop.sku_a, 1)])
    await place(api, who, note="请放门口\n谢谢\t!")
    async with create_session_factory(engine)() as s:
        assert await s.scalar(select(Order.note)) == "请放门口\n谢谢\t!"


async def count(engine: AsyncEngine, model: Any) -> int:
    async with create_session_factory(engine)() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_text_longer_than_its_column_writes_nothing(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900007002", [(shop.sku_a, 1)])
    addresses, products = await count(engine, Address), await count(engine, Product)
    answer = await api.op(
        "AddressCreate", {"input": {**ADDRESS, "line1": "路" * 201}}, token=who.token
    )
    assert_refused(api, answer, "input.line1", "at most 200 characters")
    assert answer["errors"][0]["extensions"]["limit"] == 200
    answer = await api.op(
        "ProductUpdate",
        {"id": "UHJvZHVjdDox", "input": {"title": "t" * 201}},
        token=api.admin_token,
    )
    assert_refused(api, answer, "input.title", "at most 200")
    answer = await api.op(
        "ProductCreate",
        {
            "input": {
                "title": "t",
                "brandId": "b",
                "categoryId": "c",
                "merchantId": "m",
                "tags": ["新品"] * 21,
            }
        },
        token=api.admin_token,
    )
    assert_refused(api, answer, "input.tags", "at most 20 items")
    assert (await count(engine, Address), await count(engine, Product)) == (addresses, products)

    payment = await place(api, who)
    answer = await api.op(
        "PaymentConfirm",
        {
            "paymentId": payment["id"],
            "transactionId": "t" * 101,
            "amount": payment["amountDue"]["amount"],
        },
        token=who.token,
    )
    assert_refused(api, answer, "transactionId", "at most 100")
    async with create_session_factory(engine)() as s:
        assert await s.scalar(select(Payment.status)) == "PENDING"
    await pay(api, who, payment, txn="t" * 100)  # the column's length itself is fine

    order = (await api.ok("MyOrders", token=who.token))["me"]["orders"]["edges"][0]["node"]
    lines = [{"orderLineId": order["lines"][0]["id"], "quantity": 1}]
    answer = await api.op(
        "RefundRequest",
        {"orderId": order["id"], "lines": lines, "reason": "坏" * 501},
        token=who.token,
    )
    assert_refused(api, answer, "reason", "at most 500")
    assert await count(engine, Refund) == 0


async def test_stock_beyond_the_integer_column_is_a_user_error(
    api: Api, engine: AsyncEngine
) -> None:
    """Each quantity is an Int32 (GraphQL refuses 2^31 itself); the stock level they add up
    to is an INTEGER column, which the sum must not overflow."""
    shop = await open_shop(api, engine)
    before = await stock_of(engine, shop.sku_a)
    move = {"skuId": shop.sku_a, "warehouseId": shop.warehouse, "type": "INBOUND", "reason": "r"}
    too_big = await api.op(
        "StockMove", {"input": {**move, "quantity": 2**31}}, token=api.admin_token
    )
    assert too_big["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    summed = await api.op(
        "StockMove", {"input": {**move, "quantity": 2**31 - 1}}, token=api.admin_token
    )
    errors = summed["data"]["stockMove"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "quantity")]
    assert await stock_of(engine, shop.sku_a) == before


async def test_absurd_amounts_are_refused(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900007003", [(shop.sku_a, 1)])
    payment = await place(api, who)
    amount: str | float
    for amount in ("1e900000", "1e999999999"):  # Decimal arithmetic breaks on these
        answer = await api.op(
            "PaymentConfirm",
            {"paymentId": payment["id"], "transactionId": "t", "amount": amount},
            token=who.token,
        )
        assert_refused(api, answer, "amount", "exponent")
    for amount in ("1e30", 1e30, "1e999"):  # merely too large: the field's user error
        answer = await api.op(
            "PaymentConfirm",
            {"paymentId": payment["id"], "transactionId": "t", "amount": amount},
            token=who.token,
        )
        assert "errors" not in answer, (amount, answer)
        assert answer["data"]["paymentConfirm"]["userErrors"] == [
            {
                "field": "amount",
                "code": "PAYMENT_AMOUNT_MISMATCH",
                "message": "Amount is too large.",
            }
        ]
    answer = await api.op("Search", {"query": "phone", "filter": {"priceMax": "1e900000"}})
    assert_refused(api, answer, "filter.priceMax", "exponent")
    async with create_session_factory(engine)() as s:
        assert await s.scalar(select(Payment.status)) == "PENDING"
