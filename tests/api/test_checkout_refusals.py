"""Checkout and order refusals (issue 7): every bad input is a userError with a stable code on
its field, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models import Order
from models import Payment
from tests.api.checkout_data import checkout_input
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.test_checkout import count
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.conftest import Api


def errors_of(answer: dict[str, Any], field: str) -> list[tuple[str, str | None]]:
    assert "errors" not in answer, answer
    return [(e["code"], e["field"]) for e in answer["data"][field]["userErrors"]]


async def test_checkout_input_refusals(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    tid = await create_template(api, template())
    other_tid = await create_template(api, template("满100减5", amount="5", minSpend="100"))
    who = await shopper(api, "13900005551", [(shop.sku_a, 2), (shop.sku_b, 1)])
    coupon = (await api.ok("CouponClaim", {"templateId": tid}, token=who.token))["couponClaim"][
        "coupon"
    ]["id"]
    second = (await api.ok("CouponClaim", {"templateId": other_tid}, token=who.token))[
        "couponClaim"
    ]["coupon"]["id"]
    stranger = await shopper(api, "13900005552", [(shop.sku_a, 1)])
    theirs = (await api.ok("CouponClaim", {"templateId": tid}, token=stranger.token))[
        "couponClaim"
    ]["coupon"]["id"]
    cases: list[tuple[dict[str, Any], str, tuple[str, str]]] = [
        ({"addressId": stranger.address_id}, "k", ("NOT_FOUND", "id")),
        ({"cartId": stranger.cart_id}, "k", ("NOT_FOUND", "cartId")),
        ({"addressId": "not-an-id"}, "k", ("INVALID_ID", "addressId")),
        ({"couponIds": [theirs]}, "k", ("COUPON_UNUSABLE", "couponIds.0")),
        ({"couponIds": [coupon, second]}, "k", ("COUPON_UNUSABLE", "couponIds")),
        ({"couponIds": [coupon, coupon]}, "k", ("COUPON_UNUSABLE", "couponIds")),
        ({"expectedTotal": "1.001"}, "k", ("INVALID_PRICE", "expectedTotal")),
        ({}, "", ("INVALID_INPUT", "idempotencyKey")),
        ({}, "x" * 101, ("INVALID_INPUT", "idempotencyKey")),
    ]
    for extra, key, expected in cases:
        answer = await api.op(
            "CheckoutComplete",
            {"input": checkout_input(who, **extra), "idempotencyKey": key},
            token=who.token,
        )
        assert errors_of(answer, "checkoutComplete")[0] == expected, (extra, key)
        preview = await api.op(
            "CheckoutPreview", {"input": checkout_input(who, **extra)}, token=who.token
        )
        if key == "k":  # the preview refuses the same inputs the same way
            assert errors_of(preview, "checkoutPreview")[0] == expected, extra
            assert preview["data"]["checkoutPreview"]["cost"] is None
    assert await count(engine, Payment) == 0 and await count(engine, Order) == 0


async def test_nothing_selected_is_an_empty_checkout(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005553", [(shop.sku_a, 1)])
    line = (await api.ok("MyCart", token=who.token))["me"]["cart"]["lines"][0]["id"]
    await api.ok(
        "CartLinesUpdate",
        {"cartId": who.cart_id, "lines": [{"id": line, "selected": False}]},
        token=who.token,
    )
    answer = await api.op(
        "CheckoutComplete", {"input": checkout_input(who), "idempotencyKey": "k"}, token=who.token
    )
    assert errors_of(answer, "checkoutComplete") == [("EMPTY_CHECKOUT", "cartId")]


async def test_order_operation_refusals(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005554", [(shop.sku_a, 2)])
    payment = await place(api, who)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    line = (await api.ok("MyOrders", token=who.token))["me"]["orders"]["edges"][0]["node"]["lines"][
        0
    ]["id"]
    refund = [
        (
            {"lines": [{"orderLineId": line, "quantity": 0}], "reason": "r"},
            ("INVALID_QUANTITY", "lines.0.quantity"),
        ),
        (
            {"lines": [{"orderLineId": line, "quantity": 3}], "reason": "r"},
            ("INVALID_QUANTITY", "lines.0.quantity"),
        ),
        (
            {"lines": [{"orderLineId": line, "quantity": 1}], "reason": "  "},
            ("INVALID_INPUT", "reason"),
        ),
        (
            {"lines": [{"orderLineId": order_id, "quantity": 1}], "reason": "r"},
            ("INVALID_ID", "lines.0.orderLineId"),
        ),
    ]
    for data, expected in refund:
        answer = await api.op("RefundRequest", {"orderId": order_id, **data}, token=who.token)
        assert errors_of(answer, "orderRefundRequest")[0] == expected, data
    stranger = await shopper(api, "13900005555", [])
    theirs = await api.op(
        "RefundRequest",
        {"orderId": order_id, "reason": "r", "lines": [{"orderLineId": line, "quantity": 1}]},
        token=stranger.token,
    )
    assert errors_of(theirs, "orderRefundRequest")[0] == ("NOT_FOUND", "id")
    ship = {
        "orderId": order_id,
        "warehouseId": shop.warehouse,
        "carrier": " ",
        "trackingNumber": "1",
    }
    blank = await api.op("OrderShip", {"input": ship}, token=api.admin_token)
    assert errors_of(blank, "orderShip")[0] == ("INVALID_INPUT", "carrier")
    elsewhere = await api.op(
        "OrderShip",
        {"input": {**ship, "carrier": "SF", "warehouseId": "V2FyZWhvdXNlOjk5"}},
        token=api.admin_token,
    )
    assert errors_of(elsewhere, "orderShip")[0][0] in ("INVALID_SHIPMENT", "NOT_FOUND")
    unknown = await api.op(
        "PaymentConfirm",
        {"paymentId": "UGF5bWVudDo5OTk=", "transactionId": "t", "amount": "1.00"},
        token=who.token,
    )
    assert errors_of(unknown, "paymentConfirm")[0] == ("NOT_FOUND", "paymentId")


@pytest.mark.parametrize("bad", ["abc", "NaN", "1e999"])
async def test_malformed_money_is_refused_before_the_database(
    api: Api, engine: AsyncEngine, bad: str
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900005556", [(shop.sku_a, 1)])
    payment = await place(api, who)
    answer = await api.op(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "t", "amount": bad},
        token=who.token,
    )
    assert errors_of(answer, "paymentConfirm") == [("PAYMENT_AMOUNT_MISMATCH", "amount")]
    assert answer["extensions"]["sqlStatements"] == 0  # refused before the database
