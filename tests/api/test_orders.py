"""Orders after checkout (DOMAIN.md §7, issue 7): payment, the state machine, expiry, order
split, shipments, cancellation, refunds, visibility — through the operations as written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from models import Coupon
from models import Product
from models import Promotion
from models import StockMovement
from models.coupons import CouponStatus
from models.orders import OrderStatus
from services import inventory
from services import orders
from services import payments
from tests.api.checkout_data import CONFIRM_RECEIPT
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import refill
from tests.api.checkout_data import request_refund
from tests.api.checkout_data import ship_all
from tests.api.checkout_data import ship_all_input
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.staff_data import merchant_staff
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.conftest import make_staff


async def detail(api: Api, who: Shopper | None, order_id: str) -> dict[str, Any]:
    token = who.token if who else api.admin_token
    found = await api.post(ORDER_DETAIL, {"id": order_id}, token=token)
    assert "errors" not in found, found
    return found["data"]["order"]


async def coupon_status(engine: AsyncEngine) -> list[CouponStatus]:
    async with create_session_factory(engine)() as s:
        return list((await s.scalars(select(Coupon.status).order_by(Coupon.id))).all())


async def discounted_order(
    api: Api, engine: AsyncEngine, phone: str = "13900002222"
) -> tuple[Shop, Shopper, dict[str, Any]]:
    """A×2 (120) + B×1 (300) with 满400减20 and a 满200减20 coupon: 540 − 20 − 20 = 500."""
    shop = await open_shop(api, engine)
    await live(api, reduction("满400减20", amount="20", threshold="400"))
    tid = await create_template(api, template())
    who = await shopper(api, phone, [(shop.sku_a, 2), (shop.sku_b, 1)])
    await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "500.00"
    return shop, who, payment


# --- payment -------------------------------------------------------------------------------------


async def test_payment_is_idempotent_by_transaction_id(api: Api, engine: AsyncEngine) -> None:
    _, who, payment = await discounted_order(api, engine)
    assert (await pay(api, who, payment, "t-1"))["status"] == "PAID"
    assert (await pay(api, who, payment, "t-1"))["status"] == "PAID"  # the provider retried
    other = await api.op(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "t-2", "amount": "500.00"},
        token=who.token,
    )
    assert other["data"]["paymentConfirm"]["userErrors"][0]["code"] == "PAYMENT_ALREADY_PAID"
    scraped = (await api.client.get("/metrics")).text
    for outcome in ("paid", "PAYMENT_ALREADY_PAID"):
        assert f'zhongtai_payments_total{{outcome="{outcome}"}}' in scraped
    async with create_session_factory(engine)() as s:
        sold = (await s.scalars(select(Product.sales_count).order_by(Product.id))).all()
    assert sorted(sold) == [1, 2]  # counted once: 2 A and 1 B, though confirmed twice
    assert await coupon_status(engine) == [CouponStatus.USED]


async def test_amount_must_equal_the_amount_due(api: Api, engine: AsyncEngine) -> None:
    _, who, payment = await discounted_order(api, engine)
    for wrong in ("499.99", "500.001", "-1"):
        refused = await api.op(
            "PaymentConfirm",
            {"paymentId": payment["id"], "transactionId": "t", "amount": wrong},
            token=who.token,
        )
        errors = refused["data"]["paymentConfirm"]["userErrors"]
        assert [e["code"] for e in errors] == ["PAYMENT_AMOUNT_MISMATCH"], wrong
    order = await detail(api, who, payment["orders"][0]["id"])
    assert order["status"] == "PENDING_PAYMENT"
    assert order["payment"]["status"] == "PENDING"


async def test_only_the_owner_pays(api: Api, engine: AsyncEngine) -> None:
    _, _, payment = await discounted_order(api, engine)
    stranger = await shopper(api, "13900002299", [])
    refused = await api.op(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "t", "amount": "500.00"},
        token=stranger.token,
    )
    assert refused["data"]["paymentConfirm"]["userErrors"][0]["code"] == "NOT_FOUND"


# --- expiry --------------------------------------------------------------------------------------


async def test_unpaid_payment_expires_and_gives_everything_back(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    flash = await live(
        api,
        {
            "name": "A 秒杀",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_a]},
            "rules": {"singleProduct": {"specialPrice": "99.00", "promotionStock": 5}},
        },
    )
    tid = await create_template(api, template("满100减10", amount="10", minSpend="100"))
    who = await shopper(api, "13900002223", [(shop.sku_a, 2)])
    await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "188.00"  # 2 × 99 − 10
    async with create_session_factory(engine)() as s:
        assert (await s.get_one(Promotion, decode_id(flash)[1])).stock_sold == 2
    assert await coupon_status(engine) == [CouponStatus.LOCKED]
    assert await stock_of(engine, shop.sku_a) == (10, 2)

    async with create_session_factory(engine)() as s:  # not yet
        assert await inventory.sweep_expired(s, clock.now() + timedelta(minutes=29)) == 0
    clock.advance(minutes=31)
    async with create_session_factory(engine)() as s:
        assert await inventory.sweep_expired(s, clock.now()) == 1

    order = await detail(api, who, payment["orders"][0]["id"])
    assert order["status"] == "CANCELLED" and order["payment"]["status"] == "EXPIRED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert await coupon_status(engine) == [CouponStatus.AVAILABLE]
    async with create_session_factory(engine)() as s:
        assert (await s.get_one(Promotion, decode_id(flash)[1])).stock_sold == 0

    late = await api.op(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "late", "amount": "188.00"},
        token=who.token,
    )
    body = late["data"]["paymentConfirm"]
    assert body["userErrors"][0]["code"] == "PAYMENT_CLOSED"
    order = await detail(api, who, payment["orders"][0]["id"])
    assert order["status"] == "CANCELLED"  # never resurrected
    assert order["payment"]["needsRefund"] is True and order["payment"]["status"] == "EXPIRED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)


async def test_payment_after_the_deadline_before_the_sweep_is_late(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    _, who, payment = await discounted_order(api, engine)
    clock.advance(minutes=30)
    late = await api.op(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "t", "amount": "500.00"},
        token=who.token,
    )
    assert late["data"]["paymentConfirm"]["userErrors"][0]["code"] == "PAYMENT_CLOSED"
    order = await detail(api, who, payment["orders"][0]["id"])
    assert order["status"] == "CANCELLED" and order["payment"]["needsRefund"] is True
    assert await coupon_status(engine) == [CouponStatus.AVAILABLE]


# --- split, cancellation, state machine ----------------------------------------------------------


async def test_one_order_per_merchant_under_one_payment(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900002224", [(shop.sku_a, 1), (shop.sku_c, 1)])
    payment = await place(api, who)
    totals = sorted((o["merchant"]["id"], o["total"]["amount"]) for o in payment["orders"])
    assert totals == sorted([(shop.merchant, "120.00"), (shop.other_merchant, "200.00")])
    assert payment["amountDue"]["amount"] == "320.00"
    numbers = [o["number"] for o in payment["orders"]]
    assert len(set(numbers)) == 2
    paid = await pay(api, who, payment)
    assert [o["status"] for o in paid["orders"]] == ["PAID", "PAID"]


async def test_customer_cancels_before_payment(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    tid = await create_template(api, template())
    who = await shopper(api, "13900002225", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    payment = await place(api, who)
    cancelled = await api.ok(
        "OrderCancel",
        {"id": payment["orders"][0]["id"], "reason": "changed my mind"},
        token=who.token,
    )
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    # that sub-order only (DOMAIN §7): its sibling stays payable, holding its stock and the
    # platform coupon spread over both
    assert (await detail(api, who, payment["orders"][1]["id"]))["status"] == "PENDING_PAYMENT"
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert await stock_of(engine, shop.sku_c) == (10, 1)
    assert await coupon_status(engine) == [CouponStatus.LOCKED]
    again = await api.op("OrderCancel", {"id": payment["orders"][0]["id"]}, token=who.token)
    assert again["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    await api.ok("OrderCancel", {"id": payment["orders"][1]["id"]}, token=who.token)
    assert await stock_of(engine, shop.sku_c) == (10, 0)
    assert await coupon_status(engine) == [CouponStatus.AVAILABLE]  # none left to pay


async def test_admin_cancels_a_paid_order_and_refunds_it(api: Api, engine: AsyncEngine) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    refused = await api.op("OrderCancel", {"id": order_id}, token=who.token)
    assert refused["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    provider = payments.provider("TEST")
    before = len(provider.refunds)  # type: ignore[attr-defined]
    done = await api.admin("OrderCancel", {"id": order_id, "reason": "out of stock"})
    assert done["orderCancel"]["order"]["status"] == "CANCELLED"
    order = await detail(api, None, order_id)
    assert order["refundedAmount"]["amount"] == "500.00"
    assert order["payment"]["amountRefunded"]["amount"] == "500.00"
    assert provider.refunds[before:][0][1] == 50000  # type: ignore[attr-defined]
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert await coupon_status(engine) == [CouponStatus.AVAILABLE]


@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_status_has_its_transitions_written_down(status: OrderStatus) -> None:
    assert status in orders.TRANSITIONS
    for target in orders.TRANSITIONS[status]:
        assert target in OrderStatus


def test_final_states_go_nowhere() -> None:
    assert orders.TRANSITIONS[OrderStatus.CANCELLED] == frozenset()
    assert orders.TRANSITIONS[OrderStatus.REFUNDED] == frozenset()
    assert OrderStatus.PAID not in orders.TRANSITIONS[OrderStatus.CANCELLED]


async def test_invalid_transitions_are_user_errors(api: Api, engine: AsyncEngine) -> None:
    shop, who, payment = await discounted_order(api, engine)
    order_id = payment["orders"][0]["id"]
    ship = {
        "orderId": order_id,
        "warehouseId": shop.warehouse,
        "carrier": "SF",
        "trackingNumber": "1",
    }
    unpaid = await api.op("OrderShip", {"input": ship}, token=api.admin_token)
    assert unpaid["data"]["orderShip"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    receipt = await api.post(CONFIRM_RECEIPT, {"id": order_id}, token=who.token)
    assert receipt["data"]["orderConfirmReceipt"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    early = await api.op(
        "RefundRequest", {"orderId": order_id, "reason": "x", "lines": []}, token=who.token
    )
    assert early["data"]["orderRefundRequest"]["userErrors"][0]["code"] in (
        "INVALID_ORDER_STATE",
        "INVALID_INPUT",
    )
    await pay(api, who, payment)
    receipt = await api.post(CONFIRM_RECEIPT, {"id": order_id}, token=who.token)
    assert receipt["data"]["orderConfirmReceipt"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"


# --- shipment and completion ---------------------------------------------------------------------


async def test_partial_shipments_then_shipped(api: Api, engine: AsyncEngine) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    lines = (await detail(api, who, order_id))["lines"]
    base = {"orderId": order_id, "warehouseId": shop.warehouse, "carrier": "SF"}
    first = (
        await api.admin(
            "OrderShip",
            {
                "input": {
                    **base,
                    "trackingNumber": "1",
                    "lines": [{"orderLineId": lines[0]["id"], "quantity": 1}],
                }
            },
        )
    )["orderShip"]
    assert first["order"]["status"] == "PARTIALLY_SHIPPED"
    too_many = await api.op(
        "OrderShip",
        {
            "input": {
                **base,
                "trackingNumber": "2",
                "lines": [{"orderLineId": lines[0]["id"], "quantity": 2}],
            }
        },
        token=api.admin_token,
    )
    assert too_many["data"]["orderShip"]["userErrors"][0]["code"] == "INVALID_SHIPMENT"
    rest = (await api.admin("OrderShip", {"input": {**base, "trackingNumber": "3"}}))["orderShip"]
    assert rest["order"]["status"] == "SHIPPED"
    assert await stock_of(engine, shop.sku_a) == (8, 0)
    nothing = await api.op(
        "OrderShip", {"input": {**base, "trackingNumber": "4"}}, token=api.admin_token
    )
    assert nothing["data"]["orderShip"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"


async def test_shipped_orders_complete_on_their_own(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    await api.admin(
        "OrderShip",
        {
            "input": {
                "orderId": payment["orders"][0]["id"],
                "warehouseId": shop.warehouse,
                "carrier": "SF",
                "trackingNumber": "1",
            }
        },
    )
    async with create_session_factory(engine)() as s:
        assert await orders.complete_delivered(s, clock.now() + timedelta(days=9), 10) == 0
        assert await orders.complete_delivered(s, clock.now() + timedelta(days=10), 10) == 1
    assert (await detail(api, who, payment["orders"][0]["id"]))["status"] == "COMPLETED"


# --- refunds -------------------------------------------------------------------------------------


async def test_partial_refund_pays_back_the_lines_payable_share(
    api: Api, engine: AsyncEngine
) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    order = await detail(api, who, order_id)
    line_a, line_b = order["lines"]
    # 满400减20 and the coupon each spread 240:300 in fen by largest remainder: A gets
    # 8.89 + 8.89 off, B 11.11 + 11.11
    assert (line_a["total"]["amount"], line_b["total"]["amount"]) == ("222.22", "277.78")
    await ship_all(api, shop, order_id)
    asked = await request_refund(api, who.token, order_id, [(line_a["id"], 1)], "scratched")
    assert asked["status"] == "REFUND_REQUESTED" and asked["amount"]["amount"] == "111.11"
    approved = (await api.admin("RefundApprove", {"id": asked["id"]}))["refundApprove"]
    assert approved["refund"]["status"] == "REFUNDED"
    assert approved["order"]["status"] == "SHIPPED"  # a partial refund leaves the order be
    assert await stock_of(engine, shop.sku_a) == (9, 0)  # restocked
    async with create_session_factory(engine)() as s:
        returns = (
            await s.scalars(select(StockMovement.quantity).where(StockMovement.type == "RETURN"))
        ).all()
    assert returns == [1]
    assert await coupon_status(engine) == [CouponStatus.USED]  # a partial refund keeps it
    order = await detail(api, who, order_id)
    assert order["refundedAmount"]["amount"] == "111.11"
    assert order["lines"][0]["refundedQuantity"] == 1


async def test_full_refund_returns_coupons_and_pays_back_everything(
    api: Api, engine: AsyncEngine
) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    line_a, line_b = (await detail(api, who, order_id))["lines"]
    first = await request_refund(api, who.token, order_id, [(line_a["id"], 1)])
    rest = await request_refund(api, who.token, order_id, [(line_a["id"], 1), (line_b["id"], 1)])
    assert first["amount"]["amount"] == "111.11" and rest["amount"]["amount"] == "388.89"
    over = await api.op(
        "RefundRequest",
        {
            "orderId": order_id,
            "reason": "r",
            "lines": [{"orderLineId": line_b["id"], "quantity": 1}],
        },
        token=who.token,
    )
    assert over["data"]["orderRefundRequest"]["userErrors"][0]["code"] == "INVALID_QUANTITY"
    await api.admin("RefundApprove", {"id": first["id"]})
    done = (await api.admin("RefundApprove", {"id": rest["id"], "restock": False}))["refundApprove"]
    assert done["order"]["status"] == "REFUNDED"
    order = await detail(api, who, order_id)
    assert order["refundedAmount"]["amount"] == "500.00"
    assert await coupon_status(engine) == [CouponStatus.AVAILABLE]
    assert await stock_of(engine, shop.sku_a) == (10, 0)  # unshipped units left the hold
    twice = await api.op("RefundApprove", {"id": rest["id"]}, token=api.admin_token)
    assert twice["data"]["refundApprove"]["userErrors"][0]["code"] == "INVALID_REFUND_STATE"


async def test_rejected_refund_frees_the_units_for_another_request(
    api: Api, engine: AsyncEngine
) -> None:
    _, who, payment = await discounted_order(api, engine)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    line_b = (await detail(api, who, order_id))["lines"][1]
    ask = {
        "orderId": order_id,
        "reason": "r",
        "lines": [{"orderLineId": line_b["id"], "quantity": 1}],
    }
    refund = (await api.ok("RefundRequest", ask, token=who.token))["orderRefundRequest"]["refund"]
    rejected = (await api.admin("RefundReject", {"id": refund["id"], "reason": "used"}))[
        "refundReject"
    ]
    assert rejected["refund"]["status"] == "REJECTED"
    again = (await api.ok("RefundRequest", ask, token=who.token))["orderRefundRequest"]
    assert again["refund"]["amount"]["amount"] == "277.78"


# --- visibility ----------------------------------------------------------------------------------


async def test_orders_are_seen_by_their_owner_and_their_merchant_only(
    api: Api, engine: AsyncEngine, settings: Any, clock: FixedClock
) -> None:
    shop, who, payment = await discounted_order(api, engine)
    order_id = payment["orders"][0]["id"]
    stranger = await shopper(api, "13900002298", [])
    assert (await api.post(ORDER_DETAIL, {"id": order_id}, token=stranger.token))["data"][
        "order"
    ] is None
    assert (await api.ok("MyOrders", token=stranger.token))["me"]["orders"]["totalCount"] == 0
    _, own = await merchant_staff(
        engine, settings, clock, shop.merchant, email="own@m.example", permissions=["MANAGE_ORDERS"]
    )
    _, other = await make_staff(
        engine,
        settings,
        clock,
        email="other@m.example",
        permissions=["MANAGE_ORDERS"],
        merchant_id=decode_id(shop.merchant)[1] + 1,
    )
    mine = await api.ok("AdminOrders", token=own)
    theirs = await api.ok("AdminOrders", token=other)
    assert mine["adminOrders"]["totalCount"] == 1
    assert theirs["adminOrders"]["totalCount"] == 0
    await pay(api, who, payment)
    refused = await api.op(
        "OrderShip",
        ship_all_input(shop, order_id),
        token=other,
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # the policy's owner check
    customer = await api.op(
        "OrderShip",
        ship_all_input(shop, order_id),
        token=who.token,
    )
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_my_orders_filters_by_status(api: Api, engine: AsyncEngine) -> None:
    shop, who, payment = await discounted_order(api, engine)
    await refill(api, who, [(shop.sku_b, 1)])
    second = await place(api, who, key="key-2")
    await pay(api, who, second)
    paid = (await api.ok("MyOrders", {"status": "PAID"}, token=who.token))["me"]["orders"]
    pending = (await api.ok("MyOrders", {"status": "PENDING_PAYMENT"}, token=who.token))["me"][
        "orders"
    ]
    assert [e["node"]["id"] for e in paid["edges"]] == [second["orders"][0]["id"]]
    assert [e["node"]["id"] for e in pending["edges"]] == [payment["orders"][0]["id"]]
    page = (await api.ok("MyOrders", {"first": 1}, token=who.token))["me"]["orders"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"] is True


async def test_admin_order_filters(api: Api, engine: AsyncEngine, clock: FixedClock) -> None:
    shop, who, payment = await discounted_order(api, engine)
    clock.advance(days=2)
    other = await shopper(api, "13900002297", [(shop.sku_b, 1)])
    later = await place(api, other)
    await pay(api, other, later)

    async def numbers(**f: Any) -> list[str]:
        found = (await api.admin("AdminOrders", {"filter": f}))["adminOrders"]
        return [e["node"]["number"] for e in found["edges"]]

    first, second = payment["orders"][0]["number"], later["orders"][0]["number"]
    assert await numbers() == [second, first]  # newest first
    assert await numbers(number=first) == [first]
    assert await numbers(status="PAID") == [second]
    assert await numbers(createdFrom="2026-04-11") == [second]
    assert await numbers(createdTo="2026-04-10") == [first]
    customer_id = (await api.admin("AdminOrders", {"filter": {"number": second}}))["adminOrders"][
        "edges"
    ][0]["node"]["customer"]["id"]
    assert await numbers(customerId=customer_id) == [second]
    assert await numbers(merchantId=shop.merchant) == [second, first]
    assert who.token != other.token


async def test_order_lists_cost_the_same_statements_at_any_page_size(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900002296", [(shop.sku_a, 1)])
    for n in range(6):
        await api.ok(
            "CartLinesAdd",
            {
                "cartId": who.cart_id,
                "lines": [{"skuId": shop.sku_b if n % 2 else shop.sku_a, "quantity": 1}],
            },
            token=who.token,
        )
        await pay(api, who, await place(api, who, key=f"k{n}"))
        await api.admin(
            "OrderShip",
            {
                "input": {
                    "orderId": (await api.ok("MyOrders", {"first": 1}, token=who.token))["me"][
                        "orders"
                    ]["edges"][0]["node"]["id"],
                    "warehouseId": shop.warehouse,
                    "carrier": "SF",
                    "trackingNumber": f"T{n}",
                }
            },
        )
    counts = []
    for first in (2, 6):
        mine = await api.op("MyOrders", {"first": first}, token=who.token)
        admin = await api.op("AdminOrders", {"first": first}, token=api.admin_token)
        assert len(mine["data"]["me"]["orders"]["edges"]) == first
        assert len(admin["data"]["adminOrders"]["edges"]) == first
        counts.append((mine["extensions"]["sqlStatements"], admin["extensions"]["sqlStatements"]))
    assert counts[0] == counts[1], counts
    # MyOrders: viewer, orders + count, merchants, lines, shipments, warehouses
    assert counts[0][0] <= 8 and counts[0][1] <= 8, counts
