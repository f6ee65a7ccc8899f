"""Sub-orders (拆单, DOMAIN.md §7): one order per merchant under a combined payment, each
payable on its own; cancelling one leaves its siblings payable; the combined payment and a
sub-order's own payment never both capture an order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from models import Product
from models import Promotion
from models.coupons import CouponStatus
from services import inventory
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_orders import coupon_status
from tests.api.test_orders import detail
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.conftest import Api


async def two_shops(
    api: Api, engine: AsyncEngine, phone: str
) -> tuple[Shop, Shopper, dict[str, Any]]:
    """A×1 (120, first merchant) + C×1 (200, other merchant): two sub-orders, 320 together."""
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, phone, [(shop.sku_a, 1), (shop.sku_c, 1)])
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "320.00"
    return shop, who, payment


def sub_order(payment: dict[str, Any], merchant: str) -> dict[str, Any]:
    return next(o for o in payment["orders"] if o["merchant"]["id"] == merchant)


async def start(api: Api, who: Shopper, order_id: str) -> dict[str, Any]:
    done = await api.ok("OrderPaymentStart", {"orderId": order_id}, token=who.token)
    return done["orderPaymentStart"]["payment"]


async def sales_counts(engine: AsyncEngine) -> list[int]:
    async with create_session_factory(engine)() as s:
        return list((await s.scalars(select(Product.sales_count).order_by(Product.id))).all())


async def test_a_sub_order_is_paid_on_its_own(api: Api, engine: AsyncEngine) -> None:
    shop, who, combined = await two_shops(api, engine, "13900003001")
    a, c = sub_order(combined, shop.merchant), sub_order(combined, shop.other_merchant)
    own = await start(api, who, c["id"])
    assert own["amountDue"]["amount"] == "200.00"
    assert own["order"]["paymentNumber"] == f"P{c['number']}"
    assert (await start(api, who, c["id"]))["id"] == own["id"]  # asked again: the same one

    paid = await pay(api, who, own, "txn-c")
    assert paid["status"] == "PAID" and [o["id"] for o in paid["orders"]] == [c["id"]]
    assert (await detail(api, who, a["id"]))["status"] == "PENDING_PAYMENT"
    assert (await detail(api, who, a["id"]))["payment"]["status"] == "CANCELLED"  # superseded

    # The customer comes back for A: its own payment, then shipping from C's own hold.
    paid_a = await pay(api, who, await start(api, who, a["id"]), "txn-a")
    assert [o["status"] for o in paid_a["orders"]] == ["PAID"]
    assert await stock_of(engine, shop.sku_a) == (10, 1)
    assert await stock_of(engine, shop.sku_c) == (10, 1)
    shipped = await api.admin(
        "OrderShip",
        {
            "input": {
                "orderId": c["id"],
                "warehouseId": shop.warehouse_c,
                "carrier": "SF",
                "trackingNumber": "SF1",
            }
        },
    )
    assert shipped["orderShip"]["order"]["status"] == "SHIPPED"
    assert await stock_of(engine, shop.sku_c) == (9, 0)
    assert sorted(await sales_counts(engine)) == [0, 1, 1]


async def test_the_combined_payment_never_captures_a_sub_order_twice(
    api: Api, engine: AsyncEngine
) -> None:
    shop, who, combined = await two_shops(api, engine, "13900003002")
    c = sub_order(combined, shop.other_merchant)
    own = await start(api, who, c["id"])
    # Paid together first: every sub-order is PAID and C's own payment closes...
    assert [o["status"] for o in (await pay(api, who, combined, "txn-all"))["orders"]] == [
        "PAID",
        "PAID",
    ]
    late = await api.op(
        "PaymentConfirm",
        {"paymentId": own["id"], "transactionId": "txn-c", "amount": "200.00"},
        token=who.token,
    )
    # ...so money for it later is kept on record for refund, never a second capture.
    assert late["data"]["paymentConfirm"]["userErrors"][0]["code"] == "PAYMENT_CLOSED"
    assert sorted(await sales_counts(engine)) == [0, 1, 1]
    refused = await api.op("OrderPaymentStart", {"orderId": c["id"]}, token=who.token)
    assert refused["data"]["orderPaymentStart"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"


async def test_paying_one_alone_closes_the_combined_payment(api: Api, engine: AsyncEngine) -> None:
    shop, who, combined = await two_shops(api, engine, "13900003003")
    a = sub_order(combined, shop.merchant)
    await pay(api, who, await start(api, who, a["id"]), "txn-a")
    late = await api.op(
        "PaymentConfirm",
        {"paymentId": combined["id"], "transactionId": "txn-all", "amount": "320.00"},
        token=who.token,
    )
    assert late["data"]["paymentConfirm"]["userErrors"][0]["code"] == "PAYMENT_CLOSED"
    c = await detail(api, who, sub_order(combined, shop.other_merchant)["id"])
    assert c["status"] == "PENDING_PAYMENT"  # still payable on its own
    assert c["payment"]["needsRefund"] is True
    assert sorted(await sales_counts(engine)) == [0, 0, 1]


async def test_cancelling_one_sub_order_releases_only_its_holds(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    flash = await live(
        api,
        {
            "name": "C 秒杀",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_c]},
            "rules": {"singleProduct": {"specialPrice": "180.00", "promotionStock": 5}},
        },
    )
    platform = await create_template(api, template("满200减20"))
    theirs = await create_template(
        api,
        template(
            "C 店 10 元", type="CASH", amount="10", minSpend=None, merchantId=shop.other_merchant
        ),
    )
    who = await shopper(api, "13900003004", [(shop.sku_a, 1), (shop.sku_c, 1)])
    for tid in (platform, theirs):
        await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    combined = await place(api, who)
    # A 120 + C 180 (flash) − 10 (C's coupon) = 290; the platform's 20 spread over both
    assert combined["amountDue"]["amount"] == "270.00"
    assert await coupon_status(engine) == [CouponStatus.LOCKED, CouponStatus.LOCKED]

    a, c = sub_order(combined, shop.merchant), sub_order(combined, shop.other_merchant)
    await api.ok("OrderCancel", {"id": c["id"]}, token=who.token)
    assert await stock_of(engine, shop.sku_c) == (10, 0)  # C's stock,
    async with create_session_factory(engine)() as s:
        assert (await s.get_one(Promotion, decode_id(flash)[1])).stock_sold == 0  # flash stock,
    # and C's merchant coupon come back; the platform coupon stays with A (its share kept)
    assert await coupon_status(engine) == [CouponStatus.LOCKED, CouponStatus.AVAILABLE]
    assert await stock_of(engine, shop.sku_a) == (10, 1)
    own = await start(api, who, a["id"])
    assert own["amountDue"]["amount"] == a["total"]["amount"]
    assert (await pay(api, who, own, "txn-a"))["orders"][0]["status"] == "PAID"
    assert await coupon_status(engine) == [CouponStatus.USED, CouponStatus.AVAILABLE]


async def test_siblings_of_a_sub_order_paid_alone_still_expire(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop, who, combined = await two_shops(api, engine, "13900003005")
    a, c = sub_order(combined, shop.merchant), sub_order(combined, shop.other_merchant)
    await pay(api, who, await start(api, who, a["id"]), "txn-a")
    clock.advance(minutes=31)
    async with create_session_factory(engine)() as s:
        assert await inventory.sweep_expired(s, clock.now() + timedelta(seconds=1)) == 1
    assert (await detail(api, who, c["id"]))["status"] == "CANCELLED"
    assert (await detail(api, who, a["id"]))["status"] == "PAID"
    assert await stock_of(engine, shop.sku_c) == (10, 0)
    assert await stock_of(engine, shop.sku_a) == (10, 1)  # A's hold is its own, committed
