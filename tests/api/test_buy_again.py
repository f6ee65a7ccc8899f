"""再次购买 (issue 20): a paid order's items go straight into a checkout of their own — not the
shopping cart — at today's prices; what is not buyable now is left out and listed; nobody
buys again from another customer's order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from models import Sku
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import refill
from tests.api.checkout_data import shopper
from tests.conftest import Api

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too

PRODUCT_OF = """
query ProductOf($id: ID!) { node(id: $id) { ... on Sku { product { id } } } }"""


def lines_of(cart: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (ln["sku"]["product"]["title"], ln["quantity"], ln["unitPrice"]["amount"])
        for ln in cart["lines"]
    ]


async def test_buy_again_prepares_a_checkout_at_todays_prices(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005551", [(shop.sku_a, 2), (shop.sku_b, 1)])
    bought = await place(api, who)
    await pay(api, who, bought)
    order_id = bought["orders"][0]["id"]
    # since then: Phone A costs 150.00, Phone B is off the shelf, and the shopping cart
    # holds something else
    async with create_session_factory(engine)() as s:
        await s.execute(update(Sku).where(Sku.id == decode_id(shop.sku_a)[1]).values(price=15000))
        await s.commit()
    product_b = (await api.post(PRODUCT_OF, {"id": shop.sku_b}))["data"]["node"]["product"]["id"]
    await api.admin("ProductDelist", {"id": product_b})
    await refill(api, who, [(shop.sku_a, 1)])

    again = (await api.ok("OrderBuyAgain", {"id": order_id}, token=who.token))["orderBuyAgain"]
    checkout_cart = again["cart"]
    assert checkout_cart["id"] != who.cart_id  # a checkout of its own
    assert lines_of(checkout_cart) == [("Phone A", 2, "150.00")]  # today's price
    assert checkout_cart["cost"]["total"]["amount"] == "300.00"
    assert again["leftOut"] == [
        {"sku": {"id": shop.sku_b}, "title": "Phone B", "quantity": 1, "reason": "DELISTED"}
    ]
    mine = (await api.ok("MyCart", token=who.token))["me"]["cart"]
    assert mine["id"] == who.cart_id and lines_of(mine) == [("Phone A", 1, "150.00")]

    placed = (
        await api.ok(
            "CheckoutComplete",
            {
                "input": {"cartId": checkout_cart["id"], "addressId": who.address_id},
                "idempotencyKey": "again-1",
            },
            token=who.token,
        )
    )["checkoutComplete"]["payment"]
    assert placed["amountDue"]["amount"] == "300.00"
    new_order = await api.post(ORDER_DETAIL, {"id": placed["orders"][0]["id"]}, token=who.token)
    assert [ln["quantity"] for ln in new_order["data"]["order"]["lines"]] == [2]
    # the shopping cart was never touched
    mine = (await api.ok("MyCart", token=who.token))["me"]["cart"]
    assert lines_of(mine) == [("Phone A", 1, "150.00")]

    # an unpaid order cannot be bought again (pay it instead)
    unpaid = await api.op("OrderBuyAgain", {"id": placed["orders"][0]["id"]}, token=who.token)
    assert unpaid["data"]["orderBuyAgain"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"


async def test_another_customers_order_is_not_found(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005552", [(shop.sku_a, 1)])
    bought = await place(api, who)
    await pay(api, who, bought)
    other = await shopper(api, "13900005553", [(shop.sku_b, 1)])
    theirs = await api.op("OrderBuyAgain", {"id": bought["orders"][0]["id"]}, token=other.token)
    payload = theirs["data"]["orderBuyAgain"]
    assert payload["cart"] is None and payload["leftOut"] == []
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("NOT_FOUND", "id")]


async def test_nothing_buyable_lists_everything_left_out(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005554", [(shop.sku_a, 1)])
    bought = await place(api, who)
    await pay(api, who, bought)
    # the last 9 units of Phone A go to someone else's checkout: 1 wanted, 0 sellable
    rival = await shopper(api, "13900005555", [(shop.sku_a, 9)])
    await place(api, rival)
    again = await api.op("OrderBuyAgain", {"id": bought["orders"][0]["id"]}, token=who.token)
    payload = again["data"]["orderBuyAgain"]
    assert payload["cart"] is None
    assert [(i["title"], i["reason"]) for i in payload["leftOut"]] == [
        ("Phone A", "INSUFFICIENT_STOCK")
    ]
    assert payload["userErrors"][0]["code"] == "EMPTY_CHECKOUT"
