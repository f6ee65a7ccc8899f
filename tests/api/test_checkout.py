"""Checkout (DOMAIN.md §7, issue 7) through the storefront operations as written: the whole
journey, preview = placement, idempotency keys, refusals that change nothing, snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models import Coupon
from models import Order
from models import OrderLine
from models import Payment
from models import Reservation
from models import StockMovement
from models.coupons import CouponStatus
from services import coupons
from services.errors import DomainError
from services.errors import ErrorCode
from tests.api.checkout_data import CONFIRM_RECEIPT
from tests.api.checkout_data import checkout_input
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import refill
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api


async def count(engine: AsyncEngine, model: Any) -> int:
    async with create_session_factory(engine)() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_storefront_journey_as_written(api: Api, engine: AsyncEngine) -> None:
    """register → browse → cart with a promotion and a coupon → preview → complete → pay →
    see the order → the admin ships → the customer confirms receipt."""
    shop = await open_shop(api, engine)
    await live(api, reduction("满400减20", amount="20", threshold="400"))
    coupon_template = await create_template(api, template())  # 满200减20
    found = await api.ok("Search", {"query": "Phone"})
    assert {e["node"]["title"] for e in found["products"]["edges"]} >= {"Phone A", "Phone B"}
    who = await shopper(api, "13900001111", [(shop.sku_a, 2), (shop.sku_b, 1)])
    coupon = (await api.ok("CouponClaim", {"templateId": coupon_template}, token=who.token))[
        "couponClaim"
    ]["coupon"]["id"]
    cart = (await api.ok("MyCart", token=who.token))["me"]["cart"]
    assert cart["cost"]["total"]["amount"] == "500.00"  # 540 − 20 (满400减20) − 20 (coupon)

    preview = (await api.ok("CheckoutPreview", {"input": checkout_input(who)}, token=who.token))[
        "checkoutPreview"
    ]
    assert preview["cost"] == {
        "subtotal": {"amount": "540.00"},
        "promotionDiscount": {"amount": "20.00"},
        "couponDiscount": {"amount": "20.00"},
        "shipping": {"amount": "0.00"},
        "total": {"amount": "500.00", "currencyCode": "CNY"},
    }
    [merchant_order] = preview["merchantOrders"]
    assert [(ln["sku"]["id"], ln["quantity"]) for ln in merchant_order["lines"]] == [
        (shop.sku_a, 2),
        (shop.sku_b, 1),
    ]
    assert sum(float(ln["total"]["amount"]) for ln in merchant_order["lines"]) == 500.0

    payment = await place(api, who, expectedTotal="500.00")
    assert payment["status"] == "PENDING"
    assert payment["amountDue"]["amount"] == "500.00"
    assert payment["expiresAt"] == "2026-04-10T08:30:00Z"  # 30 minutes to pay
    [order] = payment["orders"]
    assert order["status"] == "PENDING_PAYMENT" and order["total"]["amount"] == "500.00"
    assert (await api.ok("MyCart", token=who.token))["me"]["cart"]["lines"] == []
    assert await stock_of(engine, shop.sku_a) == (10, 2)

    paid = await pay(api, who, payment)
    assert paid["status"] == "PAID"
    assert [o["status"] for o in paid["orders"]] == ["PAID"]
    async with create_session_factory(engine)() as s:
        assert (await s.get_one(Coupon, int(_pk(coupon)))).status == CouponStatus.USED

    mine = (await api.ok("MyOrders", token=who.token))["me"]["orders"]
    assert mine["totalCount"] == 1
    node = mine["edges"][0]["node"]
    assert node["status"] == "PAID" and node["merchant"]["name"]
    assert [(ln["title"], ln["quantity"], ln["unitPrice"]["amount"]) for ln in node["lines"]] == [
        ("Phone A", 2, "120.00"),
        ("Phone B", 1, "300.00"),
    ]

    admin = (await api.admin("AdminOrders", {"filter": {"status": "PAID"}}))["adminOrders"]
    assert [e["node"]["number"] for e in admin["edges"]] == [order["number"]]
    assert [ln["sku"]["code"] for ln in admin["edges"][0]["node"]["lines"]] == ["A-0", "B-0"]
    shipped = (
        await api.admin(
            "OrderShip",
            {
                "input": {
                    "orderId": order["id"],
                    "warehouseId": shop.warehouse,
                    "carrier": "SF",
                    "trackingNumber": "SF1001",
                }
            },
        )
    )["orderShip"]
    assert shipped["order"]["status"] == "SHIPPED"
    assert await stock_of(engine, shop.sku_a) == (8, 0)
    seen = (await api.ok("MyOrders", token=who.token))["me"]["orders"]["edges"][0]["node"]
    assert seen["shipments"] == [
        {
            "id": shipped["shipment"]["id"],
            "status": "SHIPPED",
            "warehouse": {"name": "W1"},
            "carrier": "SF",
            "trackingNumber": "SF1001",
        }
    ]
    received = await api.post(CONFIRM_RECEIPT, {"id": order["id"]}, token=who.token)
    assert received["data"]["orderConfirmReceipt"]["order"]["status"] == "COMPLETED"
    async with create_session_factory(engine)() as s:
        shipments = (
            await s.scalars(select(StockMovement.quantity).where(StockMovement.type == "SHIPMENT"))
        ).all()
        assert sorted(shipments) == [-2, -1]


def _pk(global_id: str) -> int:
    from core.ids import decode_id

    return decode_id(global_id)[1]


async def test_same_key_returns_the_same_payment_and_reserves_once(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900001112", [(shop.sku_a, 1)])
    first = await place(api, who, key="same")
    again = await place(api, who, key="same")
    assert again["id"] == first["id"]
    assert again["orders"] == first["orders"]
    assert await count(engine, Payment) == 1 and await count(engine, Reservation) == 1
    assert await stock_of(engine, shop.sku_a) == (10, 1)


async def test_key_reused_for_a_different_checkout_is_refused(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900001113", [(shop.sku_a, 1)])
    await place(api, who, key="k")
    await refill(api, who, [(shop.sku_b, 1)])
    reused = await api.op(
        "CheckoutComplete",
        {"input": checkout_input(who, note="again"), "idempotencyKey": "k"},
        token=who.token,
    )
    assert reused["data"]["checkoutComplete"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(engine, Payment) == 1


async def test_expected_total_mismatch_refuses_with_the_new_total(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900001114", [(shop.sku_a, 1)])
    refused = await api.op(
        "CheckoutComplete",
        {"input": checkout_input(who, expectedTotal="99.00"), "idempotencyKey": "k"},
        token=who.token,
    )
    error = refused["data"]["checkoutComplete"]["userErrors"][0]
    assert error["code"] == "PRICE_CHANGED" and "120.00" in error["message"]
    assert error["field"] == "expectedTotal"
    assert refused["data"]["checkoutComplete"]["payment"] is None
    assert await count(engine, Payment) == 0 and await count(engine, Order) == 0
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert len((await api.ok("MyCart", token=who.token))["me"]["cart"]["lines"]) == 1


async def test_unavailable_lines_stay_in_the_cart(api: Api, engine: AsyncEngine) -> None:
    """Checkout takes the selected available lines; the rest stay for later."""
    shop = await open_shop(api, engine)
    other = await shopper(api, "13900001116", [(shop.sku_a, 6)])
    await place(api, other)  # 6 of 10 A are held: 5 more cannot be had
    who = await shopper(api, "13900001115", [(shop.sku_a, 5), (shop.sku_b, 1)])
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "300.00"
    lines = (await api.ok("MyCart", token=who.token))["me"]["cart"]["lines"]
    assert [(ln["quantity"], ln["status"]) for ln in lines] == [(5, "INSUFFICIENT_STOCK")]


async def test_a_late_refusal_changes_nothing(
    api: Api, engine: AsyncEngine, monkeypatch: Any
) -> None:
    """The coupon is taken by another checkout between pricing and locking: the payment,
    orders, reservation and cart changes written before it all roll back."""
    shop = await open_shop(api, engine)
    coupon_template = await create_template(api, template())
    who = await shopper(api, "13900001117", [(shop.sku_a, 2)])
    await api.ok("CouponClaim", {"templateId": coupon_template}, token=who.token)

    async def taken(*args: Any, **kw: Any) -> None:
        raise DomainError(ErrorCode.COUPON_UNUSABLE, "A coupon is no longer usable.", "couponIds")

    monkeypatch.setattr(coupons, "lock", taken)
    refused = await api.op(
        "CheckoutComplete", {"input": checkout_input(who), "idempotencyKey": "k"}, token=who.token
    )
    assert refused["data"]["checkoutComplete"]["userErrors"][0]["code"] == "COUPON_UNUSABLE"
    for model in (Payment, Order, OrderLine, Reservation):
        assert await count(engine, model) == 0, model
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert len((await api.ok("MyCart", token=who.token))["me"]["cart"]["lines"]) == 1


async def test_guests_must_log_in_to_check_out(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    cart = await api.ok("CartCreate", {"lines": [{"skuId": shop.sku_a, "quantity": 1}]})
    refused = await api.op(
        "CheckoutComplete",
        {
            "input": {"cartId": cart["cartCreate"]["cart"]["id"], "addressId": "x"},
            "idempotencyKey": "k",
        },
    )
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await count(engine, Payment) == 0


async def test_checkout_statements(api: Api, engine: AsyncEngine) -> None:
    """A 2-SKU, one-merchant checkout with a promotion and a coupon in 15 statements: reads
    (customer lock, key, cart with its lines and the address, SKUs with products and
    merchants, stock, coupons), four inserts, the coupon lock, the cart update, the
    reservation (its row, its lines, every SKU held in one statement — the plan reuses the
    pricing's stock read). The running promotions are kept between requests (read again
    after any promotion write, in any process)."""
    shop = await open_shop(api, engine)
    await live(api, reduction("满400减20", amount="20", threshold="400"))
    tid = await create_template(api, template())
    who = await shopper(api, "13900001118", [(shop.sku_a, 2), (shop.sku_b, 1)])
    await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    done = await api.op(
        "CheckoutComplete", {"input": checkout_input(who), "idempotencyKey": "k"}, token=who.token
    )
    assert done["data"]["checkoutComplete"]["userErrors"] == []
    assert done["extensions"]["sqlStatements"] <= 15, done["extensions"]
    again = await api.op(
        "CheckoutComplete", {"input": checkout_input(who), "idempotencyKey": "k"}, token=who.token
    )
    assert again["extensions"]["sqlStatements"] <= 4  # lock, key, the answer's orders, merchant
    scraped = (await api.client.get("/metrics")).text
    for outcome in ("placed", "replayed"):
        assert f'zhongtai_checkouts_total{{outcome="{outcome}"}}' in scraped


async def test_a_crowd_on_a_hot_row_is_a_user_error(
    api: Api, engine: AsyncEngine, monkeypatch: Any
) -> None:
    """Lock waits past LOCK_TIMEOUT (and deadlocks) are retried, then answered TRY_AGAIN."""
    from sqlalchemy.exc import DBAPIError

    from services import checkout

    shop = await open_shop(api, engine)
    who = await shopper(api, "13900001119", [(shop.sku_a, 1)])
    calls = []

    class LockNotAvailable(Exception):
        sqlstate = "55P03"

    async def crowded(*args: Any, **kw: Any) -> None:
        calls.append(1)
        raise DBAPIError("UPDATE stock_levels …", {}, LockNotAvailable())

    monkeypatch.setattr(checkout, "complete", crowded)
    busy = await api.op(
        "CheckoutComplete", {"input": checkout_input(who), "idempotencyKey": "k"}, token=who.token
    )
    assert api.last_status == 200
    assert busy["data"]["checkoutComplete"]["userErrors"][0]["code"] == "TRY_AGAIN"
    assert len(calls) == 3
    assert await count(engine, Payment) == 0


async def test_per_customer_limits_count_units_in_earlier_orders(
    api: Api, engine: AsyncEngine
) -> None:
    """DOMAIN §4: a per-customer limit counts the units already bought at the promotion's
    price; units of a cancelled order no longer count."""
    shop = await open_shop(api, engine)
    await live(
        api,
        {
            "name": "A 限购",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_a]},
            "perCustomerLimit": 1,
            "rules": {"singleProduct": {"specialPrice": "100.00"}},
        },
    )
    who = await shopper(api, "13900001120", [(shop.sku_a, 1)])
    first = await place(api, who, key="first")
    assert first["amountDue"]["amount"] == "100.00"
    await pay(api, who, first)
    await refill(api, who, [(shop.sku_a, 1)])
    second = await place(api, who, key="second")
    assert second["amountDue"]["amount"] == "120.00"  # the limit was used by the first order
    await api.ok("OrderCancel", {"id": second["orders"][0]["id"]}, token=who.token)
    other = await shopper(api, "13900001121", [(shop.sku_a, 1)])
    unpaid = await place(api, other, key="unpaid")
    await api.ok("OrderCancel", {"id": unpaid["orders"][0]["id"]}, token=other.token)
    await refill(api, other, [(shop.sku_a, 1)])
    again = await place(api, other, key="again")
    assert again["amountDue"]["amount"] == "100.00"  # the cancelled order gave the unit back


async def test_a_paid_order_ends_new_customer_offers(api: Api, engine: AsyncEngine) -> None:
    """DOMAIN §4/§9: a new customer is one without a paid order."""
    shop = await open_shop(api, engine)
    await live(
        api,
        {
            "name": "新人价",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_b]},
            "audience": {"kind": "NEW_CUSTOMERS"},
            "rules": {"singleProduct": {"specialPrice": "250.00"}},
        },
    )
    who = await shopper(api, "13900001122", [(shop.sku_b, 1)])
    first = await place(api, who, key="first")
    assert first["amountDue"]["amount"] == "250.00"
    await pay(api, who, first)
    await refill(api, who, [(shop.sku_b, 1)])
    assert (await place(api, who, key="second"))["amountDue"]["amount"] == "300.00"
