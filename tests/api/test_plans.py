"""The differential test of planned execution (schema/plans.py): every query operation of the
contract documents, on varied data — the demo catalog and home page, a second merchant, a
running promotion, claimed coupons, a delisted product, a customer's cart and order — and as
varied callers (guest, customer, platform admin, merchant staff, staff without the
permission), is answered by a server that plans known operations and by one that never does.
The two answers must be the same bytes: data, errors (denials, bad ids, nulls) and extensions
alike, statements counted included, whenever the plan answered alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from graphql import ExecutionResult
from graphql import OperationDefinitionNode
from graphql import OperationType
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from core import changes
from core.clock import FixedClock
from core.db import create_session_factory
from core.settings import Settings
from seed import seed_demo
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.conftest import forget_kept_reads
from tests.conftest import make_staff
from tests.contract import DOCUMENTS
from tests.contract import operation

QUERIES = sorted(
    d.name.value
    for text in DOCUMENTS.values()
    for d in parse(text).definitions
    if isinstance(d, OperationDefinitionNode) and d.operation == OperationType.QUERY and d.name
)


@pytest.fixture
async def normal(engine: AsyncEngine, clock: FixedClock, settings: Settings) -> AsyncIterator[Any]:
    """A second server on the same database that never plans (the response cache off on
    both, so each answer is executed)."""
    unplanned = settings.model_copy(
        update={"planned_execution": False, "response_cache_entries": 0}
    )
    app = create_app(settings=unplanned, clock=clock, engine=engine)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    listener = await changes.start_listening(engine)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield client
    finally:
        if listener is not None:
            listener.cancel()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite://",
        access_token_minutes=60 * 24 * 365,
        response_cache_entries=0,
    )


PRODUCTS = """{ adminProducts(first: 100) { edges { node { id status merchant { id }
  skus { id stockLevels { available } } } } } }"""


async def _world(api: Api, engine: AsyncEngine, clock: FixedClock, settings: Settings) -> dict:
    async with create_session_factory(engine)() as s:
        assert await seed_demo(s, products_per_leaf=2, now=clock.now())
    found = await api.post(PRODUCTS, token=api.admin_token)
    by_merchant: dict[str, list[tuple[str, str]]] = {}
    for edge in found["data"]["adminProducts"]["edges"]:
        node = edge["node"]
        for sku in node["skus"]:
            if sum(level["available"] for level in sku["stockLevels"]) >= 10:
                by_merchant.setdefault(node["merchant"]["id"], []).append((node["id"], sku["id"]))
                break
    (merchant, mine), (other_merchant, theirs) = sorted(by_merchant.items())[:2]
    (product_a, sku_a), (delisted, sku_b) = mine[:2]
    sku_c = theirs[0][1]
    promotion = await live(api, reduction("满400减20", amount="20", threshold="400"))
    add_on = await live(  # in May: after 满400减20 (order level too), so no conflict
        api,
        {
            "name": "满200换购",
            "type": "ADD_ON",
            "startsAt": "2026-05-01T00:00:00Z",
            "endsAt": "2026-06-01T00:00:00Z",
            "scope": {"skuIds": [sku_a]},
            "rules": {
                "addOn": {"threshold": "200", "choices": [{"skuId": sku_c, "price": "0.01"}]}
            },
        },
    )
    coupon = await create_template(api, template())
    buyer = await shopper(api, "13900000001", [(sku_a, 2), (sku_c, 1)])
    await api.ok("CouponClaim", {"templateId": coupon}, token=buyer.token)
    payment = await place(api, buyer)
    order = payment["orders"][0]["id"]
    await api.ok(
        "CartLinesAdd",
        {"cartId": buyer.cart_id, "lines": [{"skuId": sku_a, "quantity": 3}]},
        token=buyer.token,
    )
    await api.admin("ProductDelist", {"id": delisted})
    tree = await api.ok("DisplayCategoryTree")
    categories = [n["id"] for n in _walk(tree["displayCategories"])]
    pages = await api.post("{ pages(first: 5) { edges { node { id } } } }", token=api.admin_token)
    page_ids = [e["node"]["id"] for e in pages["data"]["pages"]["edges"]]
    _, merchant_token = await make_staff(
        engine,
        settings,
        clock,
        email="seller@test.example",
        permissions=["MANAGE_CATALOG", "MANAGE_ORDERS", "MANAGE_INVENTORY", "VIEW_REPORTS"],
        merchant_id=_pk(merchant),
    )
    me = await api.post("{ me { id } }", token=buyer.token)
    _, clerk_token = await make_staff(
        engine, settings, clock, email="clerk@test.example", permissions=[]
    )
    return {
        "shop": SimpleNamespace(
            sku_a=sku_a, sku_b=sku_b, sku_c=sku_c, merchant=merchant, other_merchant=other_merchant
        ),
        "promotion": promotion,
        "add_on": add_on,
        "coupon": coupon,
        "buyer": buyer,
        "customer_id": me["data"]["me"]["id"],
        "order": order,
        "delisted": delisted,
        "product_a": product_a,
        "categories": categories,
        "pages": page_ids,
        "merchant_token": merchant_token,
        "clerk_token": clerk_token,
    }


def _pk(global_id: str) -> int:
    from core.ids import decode_id

    return decode_id(global_id)[1]


def _walk(nodes: list[dict]) -> list[dict]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node.get("children") or []))
    return found


def _cases(w: dict, admin: str) -> list[tuple[str, dict[str, Any], str | None, str | None]]:
    """(operation, variables, token, channel)."""
    shop, buyer = w["shop"], w["buyer"]
    customer, merchant, clerk = buyer.token, w["merchant_token"], w["clerk_token"]
    everyone = [None, customer, admin, merchant, clerk]
    cases: list[tuple[str, dict[str, Any], str | None, str | None]] = []
    for channel in (None, "APP", "MINI_PROGRAM"):
        cases.append(("DisplayCategoryTree", {}, None, channel))
        cases.append(("Page", {"slug": "home"}, None, channel))
        cases.append(("CouponCenter", {}, customer, channel))
    for category in w["categories"]:
        cases.append(("CategoryPage", {"id": category}, None, None))
    category = w["categories"][0]
    for sort in ("PRICE_ASC", "PRICE_DESC", "SALES_DESC", "NEWEST"):
        cases.append(("CategoryPage", {"id": category, "sort": sort, "first": 3}, customer, None))
    cases += [
        ("CategoryPage", {"id": category, "first": 2, "after": "Mg"}, None, "H5"),
        (
            "CategoryPage",
            {"id": category, "filter": {"inStock": True, "priceMin": "100"}},
            None,
            None,
        ),
        ("CategoryPage", {"id": "not-an-id"}, None, None),
        ("CategoryPage", {"id": w["delisted"]}, None, None),
        ("CategoryPage", {"id": category, "first": 500}, None, None),
        ("Search", {"query": "Phone"}, None, None),
        ("Search", {"query": "手机", "first": 3}, customer, "APP"),
        ("Search", {"query": "Phone", "filter": {"inStock": True}}, None, None),
        ("Search", {"query": "nothing-matches-this"}, None, None),
        ("ProductDetail", {"id": w["delisted"]}, None, None),
        ("ProductDetail", {"id": "bad"}, None, None),
        ("RefreshNodes", {"ids": [w["delisted"], shop.sku_a, shop.sku_c, "bad"]}, None, None),
        ("RefreshNodes", {"ids": [shop.sku_b, w["order"]]}, customer, None),
        ("GuestCart", {"id": buyer.cart_id}, None, None),
        ("Page", {"slug": "no-such-page"}, None, None),
        ("Page", {}, None, None),  # a missing variable: a request error
        (
            "CheckoutPreview",
            {"input": {"cartId": buyer.cart_id, "addressId": buyer.address_id}},
            customer,
            None,
        ),
        (
            "CheckoutPreview",
            {"input": {"cartId": buyer.cart_id, "addressId": buyer.address_id, "couponIds": []}},
            customer,
            None,
        ),
        ("MyOrders", {"status": "AWAITING_PAYMENT"}, customer, None),
        ("StockLedger", {"skuId": shop.sku_a}, admin, None),
        ("StockLedger", {"skuId": shop.sku_c}, merchant, None),
        ("CouponStats", {"id": w["coupon"]}, admin, None),
        ("OrderDiscountFunders", {"id": w["order"]}, admin, None),
        ("OrderDiscountFunders", {"id": w["order"]}, customer, None),
        (
            "SettlementStatement",
            {"merchantId": shop.merchant, "from": "2026-04-01", "to": "2026-04-30"},
            admin,
            None,
        ),
        (
            "SettlementStatement",
            {"merchantId": shop.other_merchant, "from": "2026-04-01", "to": "2026-04-30"},
            merchant,
            None,
        ),
        (
            "CheckoutPointsPreview",
            {
                "input": {
                    "cartId": buyer.cart_id,
                    "addressId": buyer.address_id,
                    "pointsToUse": 100,
                }
            },
            customer,
            None,
        ),
        (
            "CheckoutRedPacketsPreview",
            {"input": {"cartId": buyer.cart_id, "addressId": buyer.address_id}},
            customer,
            None,
        ),
        (
            "CheckoutRedPacketsPreview",
            {
                "input": {
                    "cartId": buyer.cart_id,
                    "addressId": buyer.address_id,
                    "redPacketsToUse": "1.00",
                }
            },
            customer,
            None,
        ),
        ("PurchaseOrders", {"filter": {"status": "DRAFT"}, "first": 5}, merchant, None),
        ("Stocktakes", {"filter": {"status": "COUNTING"}}, admin, None),
        (
            "PromotionConflicts",
            {"input": reduction("x", scope={"skuIds": [shop.sku_a]})},
            admin,
            None,
        ),
    ]
    for token in everyone:
        cases += [
            ("ProductDetail", {"id": w["product_a"]}, token, None),
            ("MyCart", {}, token, None),
            ("Me", {}, token, None),
            ("MyCoupons", {}, token, None),
            ("MyOrders", {}, token, None),
            ("AdminProducts", {"first": 5}, token, None),
            ("AdminOrders", {}, token, None),
            ("LowStock", {}, token, None),
            ("StaffList", {}, token, None),
            ("RoleList", {}, token, None),
            ("AuditLog", {"first": 5}, token, None),
            ("SalesReport", {"from": "2026-04-01", "to": "2026-04-30"}, token, None),
            ("GuestCart", {"id": buyer.cart_id}, token, None),
            ("CartAddOns", {"id": buyer.cart_id}, token, None),
            ("PromotionAddOn", {"id": w["add_on"]}, token, None),
            ("MemberCenter", {}, token, None),
            ("PointsLedger", {"first": 5}, token, None),
            ("OrderPoints", {"id": w["order"]}, token, None),
            ("OrderParcels", {"id": w["order"]}, token, None),
            ("MyRedPackets", {}, token, None),
            ("OrderRedPackets", {"id": w["order"]}, token, None),
            ("MemberLevels", {}, token, None),
            ("CustomerMember", {"id": w["customer_id"]}, token, None),
            ("Suppliers", {}, token, None),
            ("PurchaseOrders", {}, token, None),
            ("Stocktakes", {}, token, None),
        ]
        for page in w["pages"][:2]:
            cases.append(("PagePreview", {"id": page, "at": "2026-04-10T08:00:00Z"}, token, None))
    return cases


async def _answer(
    client: httpx.AsyncClient, name: str, variables: dict, token: str | None, channel: str | None
) -> bytes:
    headers = {"accept-language": "zh-CN"}  # both servers say messages in the same language
    if token:
        headers["authorization"] = f"Bearer {token}"
    if channel:
        headers["x-channel"] = channel
    body = {"query": operation(name), "variables": variables, "operationName": name}
    response = await client.post("/graphql", json=body, headers=headers)
    return str(response.status_code).encode() + b" " + response.content


async def test_every_contract_query_answers_alike_planned_or_not(
    api: Api, normal: httpx.AsyncClient, engine: AsyncEngine, clock: FixedClock, settings: Settings
) -> None:
    w = await _world(api, engine, clock, settings)
    plans = api.client._transport.app.state.endpoint.plans  # type: ignore[attr-defined]
    cases = _cases(w, api.admin_token)
    assert {c[0] for c in cases} == set(QUERIES), set(QUERIES) - {c[0] for c in cases}
    differences = []
    # plans are shared by the process's apps (web/endpoint.plans_for): count this test's only
    answered_before, abandoned_before = plans.answered, plans.abandoned
    for name, variables, token, channel in cases:
        before = plans.answered
        forget_kept_reads(engine)  # each answer cold: the first must not warm the second
        planned = await _answer(api.client, name, variables, token, channel)
        forget_kept_reads(engine)
        unplanned = await _answer(normal, name, variables, token, channel)
        if plans.answered == before:  # run twice: statements differ, the rest may not
            planned, unplanned = _without_statements(planned), _without_statements(unplanned)
        if planned != unplanned:
            at = next(i for i, (a, b) in enumerate(zip(planned, unplanned, strict=False)) if a != b)
            differences.append((name, variables, planned[at - 50 :], unplanned[at - 50 :]))
    assert not differences, differences
    # The plans did the work: most answers came from them (the rest are errors and denials).
    answered = plans.answered - answered_before
    abandoned = plans.abandoned - abandoned_before
    assert answered > len(cases) // 2, (answered, abandoned, len(cases))
    assert abandoned > 0  # denials and bad ids were tried, and fell back


def _without_statements(raw: bytes) -> bytes:
    status, _, body = raw.partition(b" ")
    parsed = orjson.loads(body)
    parsed.get("extensions", {}).pop("sqlStatements", None)
    return status + b" " + orjson.dumps(parsed)


async def test_a_listing_without_long_text_then_a_lookup_with_it(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """Listing rows come without the descriptions when the cards do not show them; a field
    of the same request that does show them still gets them (the rows are filled in)."""
    async with create_session_factory(engine)() as s:
        assert await seed_demo(s, products_per_leaf=1, now=clock.now())
    listing = await api.ok("Search", {"query": "", "first": 3})
    ids = [e["node"]["id"] for e in listing["products"]["edges"]]
    both = await api.post(
        """query($ids: [ID!]!) { products(first: 3) { edges { node { id title } } }
        nodes(ids: $ids) { ... on Product { descriptionHtml(platform: PC) afterSales } } }""",
        {"ids": ids},
    )
    assert "errors" not in both, both
    assert all(n["descriptionHtml"].startswith("<h2>") for n in both["data"]["nodes"])


async def test_mutation_payloads_answer_alike_planned_or_replayed(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contract mutation's payload is completed by its plan; the normal path, asked the
    same operation again in the same request, answers from the mutation's kept outcome
    (never mutating twice) and must give the same bytes. Each mutation below is checked
    that way, on both engines, and must have been answered by its plan."""
    from graphql import DocumentNode
    from graphql import execute

    from schema import plans
    from tests.api.checkout_data import open_shop
    from tests.api.checkout_data import pay

    original = plans.Plan.answer
    compared: list[str] = []

    async def answered_then_replayed(self: Any, context: Any, variables: Any) -> Any:
        data, values = await original(self, context, variables)
        if self.operation.operation != OperationType.MUTATION:
            return data, values
        assert context.mutation_outcomes  # the root field kept its outcome
        document = DocumentNode(definitions=(self.operation, *self.fragments.values()))
        again = execute(self.schema, document, context_value=context, variable_values=variables)
        if not isinstance(again, ExecutionResult):
            again = await again
        assert not again.errors, again.errors
        name = self.operation.name.value
        assert orjson.dumps(again.data) == orjson.dumps(data), name
        compared.append(name)
        return data, values

    monkeypatch.setattr(plans.Plan, "answer", answered_then_replayed)
    shop = await open_shop(api, engine, two_merchants=True)
    await create_template(api, template())
    who = await shopper(api, "13900009001", [(shop.sku_a, 1)])
    cart = who.cart_id
    added = await api.ok(
        "CartLinesAdd",
        {"cartId": cart, "lines": [{"skuId": shop.sku_c, "quantity": 2}]},
        token=who.token,
    )
    line = added["cartLinesAdd"]["cart"]["lines"][-1]["id"]
    await api.ok(
        "CartLinesUpdate", {"cartId": cart, "lines": [{"id": line, "quantity": 1}]}, token=who.token
    )
    placed = await place(api, who, "planned")
    await pay(api, who, placed)
    refused = await api.op(  # a refusal: userErrors, answered alike
        "CartLinesAdd",
        {"cartId": cart, "lines": [{"skuId": shop.sku_a, "quantity": 0}]},
        token=who.token,
    )
    assert refused["data"]["cartLinesAdd"]["userErrors"]
    assert {"CartLinesAdd", "CartLinesUpdate", "CheckoutComplete", "PaymentConfirm"} <= set(
        compared
    ), compared


async def test_a_mutation_whose_plan_gives_up_is_not_applied_twice(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan gives up on the payload after the mutation ran: the normal path answers the
    operation from the kept outcome, so the line is added once, not twice."""
    from schema import plans
    from tests.api.checkout_data import open_shop

    shop = await open_shop(api, engine)
    who = await shopper(api, "13900009002", [])
    original = plans.Plan.answer

    async def gives_up(self: Any, context: Any, variables: Any) -> Any:
        await original(self, context, variables)
        raise plans.Abandon("a payload the plan cannot complete")

    monkeypatch.setattr(plans.Plan, "answer", gives_up)
    added = await api.ok(
        "CartLinesAdd",
        {"cartId": who.cart_id, "lines": [{"skuId": shop.sku_a, "quantity": 2}]},
        token=who.token,
    )
    assert [ln["quantity"] for ln in added["cartLinesAdd"]["cart"]["lines"]] == [2]
    monkeypatch.setattr(plans.Plan, "answer", original)
    cart = (await api.ok("MyCart", token=who.token))["me"]["cart"]
    assert [ln["quantity"] for ln in cart["lines"]] == [2]


def test_a_mutation_field_without_its_policy_gate_is_not_planned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a root field that keeps its outcome may be answered twice: without the gate the
    normal path would run the mutation again, so such a document is never planned."""
    from schema import schema as strawberry_schema
    from schema.plans import Plans
    from schema.policy import PolicyGate

    graphql_schema = strawberry_schema._schema
    field = graphql_schema.mutation_type.fields["cartLinesAdd"]  # type: ignore[union-attr]
    definition = field.extensions["strawberry-definition"]
    query = operation("CartLinesAdd")
    assert Plans(graphql_schema).get(query, "CartLinesAdd") is not None
    ungated = [e for e in definition.extensions if not isinstance(e, PolicyGate)]
    monkeypatch.setattr(definition, "extensions", ungated)
    assert Plans(graphql_schema).get(query, "CartLinesAdd") is None


async def test_a_named_contract_mutation_over_get_is_refused_and_not_applied(
    api: Api, engine: AsyncEngine
) -> None:
    """GET answers queries only: a known mutation sent by GET is not planned (the plan would
    have applied it), and the normal path refuses it before anything is written."""
    from sqlalchemy import func
    from sqlalchemy import select

    from models import Cart

    async def carts() -> int:
        async with create_session_factory(engine)() as s:
            return int(await s.scalar(select(func.count()).select_from(Cart)) or 0)

    before = await carts()
    response = await api.client.get(
        "/graphql",
        params={
            "query": operation("CartCreate"),
            "operationName": "CartCreate",
            "variables": orjson.dumps({"lines": None}).decode(),
        },
    )
    assert response.status_code == 405, response.text
    assert await carts() == before


def test_a_planned_mutation_has_no_deadline_a_planned_query_has() -> None:
    """As on the normal path (schema/execution.py): a mutation that committed answers its
    payload; only queries stop at the request's deadline."""
    from schema import schema as strawberry_schema
    from schema.plans import Plans
    from schema.plans import _Run

    made = Plans(strawberry_schema._schema)
    context = SimpleNamespace(deadline=0.0)  # long past
    mutation = made.get(operation("CartLinesAdd"), "CartLinesAdd")
    query = made.get(operation("MyCart"), "MyCart")
    assert mutation is not None and query is not None
    no_variables: Any = {}
    assert _Run(mutation, context, no_variables).deadline is None
    assert _Run(query, context, no_variables).deadline == 0.0
