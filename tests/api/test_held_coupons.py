"""A coupon held by an unpaid order follows the customer (DOMAIN.md §5): the new cart offers
it (marked with the order holding it), checking out with it moves the lock, and the order it
leaves is re-priced without it before it can be paid — or cancelled when it is a presale.

Shop (tests/api/test_cart.py): Phone A 120.00 and Phone B 300.00 by merchant 1 (flat 10
shipping, free over 99); Phone C 200.00 by merchant 2 (no shipping)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import Brand
from models import Category
from models import Coupon
from models import Order
from models import OrderDiscount
from models import OrderLine
from models import Payment
from models import Product
from models import Promotion
from models import Sku
from models.coupons import CouponStatus
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import checkout_input
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_payment_providers import Fakes
from tests.api.test_payment_providers import fakes
from tests.api.test_payment_providers import settings
from tests.api.test_payment_providers import start
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.api.test_red_packets import balance
from tests.api.test_red_packets import fix_draws
from tests.api.test_red_packets import open_packet
from tests.api.test_red_packets import paid_packet
from tests.api.test_red_packets import red_packets_on
from tests.conftest import Api

__all__ = ["fakes", "settings"]  # the provider fixtures, used here too


async def claim(api: Api, who: Shopper, data: dict[str, Any]) -> str:
    tid = await create_template(api, data)
    claimed = await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    return claimed["couponClaim"]["coupon"]["id"]


async def add(api: Api, who: Shopper, sku: str, quantity: int = 1) -> dict[str, Any]:
    done = await api.ok(
        "CartLinesAdd",
        {"cartId": who.cart_id, "lines": [{"skuId": sku, "quantity": quantity}]},
        token=who.token,
    )
    return done["cartLinesAdd"]["cart"]


async def order(api: Api, who: Shopper, order_id: str) -> dict[str, Any]:
    found = await api.post(ORDER_DETAIL, {"id": order_id}, token=who.token)
    return found["data"]["order"]


async def coupon_status(engine: AsyncEngine, coupon: str) -> tuple[CouponStatus, str | None]:
    async with create_session_factory(engine)() as s:
        row = await s.get_one(Coupon, decode_id(coupon)[1])
        return row.status, row.locked_by


def shop_cash(merchant: str) -> dict[str, Any]:
    """无门槛减10 of one shop."""
    return template("店铺券", type="CASH", amount="10", minSpend=None, merchantId=merchant)


async def grant_points(api: Api, who: Shopper, points: int) -> None:
    me = (await api.ok("Me", token=who.token))["me"]["id"]
    await api.admin("CustomerPointsAdjust", {"customerId": me, "points": points, "reason": "活动"})


def amount(money: dict[str, Any]) -> str:
    return money["amount"]


async def test_a_held_platform_coupon_moves_and_the_old_order_is_repriced(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008001", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    # 2 × 120 = 240 − 20 = 220 (shipping free over 99)
    assert amount(first["amountDue"]) == "220.00"
    old = first["orders"][0]

    cart = await add(api, who, shop.sku_b)
    [offered] = cart["coupons"]["usable"]
    assert offered["coupon"]["id"] == coupon and offered["recommended"] is True
    assert offered["heldByOrder"] == {"id": old["id"], "number": old["number"]}
    assert amount(offered["discount"]) == "20.00"
    assert amount(cart["cost"]["total"]) == "280.00"  # 300 − 20

    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"
    assert await coupon_status(engine, coupon) == (
        CouponStatus.LOCKED,
        f"payment:{decode_id(second['id'])[1]}",
    )
    # the order it left, re-priced without it: 240, no coupon discount anywhere
    repriced = await order(api, who, old["id"])
    assert repriced["status"] == "PENDING_PAYMENT"
    assert amount(repriced["total"]) == "240.00"
    assert amount(repriced["payment"]["amountDue"]) == "240.00"
    assert [d["label"] for line in repriced["lines"] for d in line["discounts"]] == []
    async with create_session_factory(engine)() as s:
        rows = (
            await s.scalars(
                select(OrderDiscount).where(OrderDiscount.order_id == decode_id(old["id"])[1])
            )
        ).all()
        assert rows == []
        row = await s.get_one(Order, decode_id(old["id"])[1])
        assert (row.coupon_discount, row.total) == (0, 24000)

    # the old amount can no longer pay it; the new one does
    refused = await api.op(
        "PaymentConfirm",
        {"paymentId": first["id"], "transactionId": "txn-old", "amount": "220.00"},
        token=who.token,
    )
    assert refused["data"]["paymentConfirm"]["userErrors"][0]["code"] == "PAYMENT_AMOUNT_MISMATCH"
    paid = await pay(api, who, {**first, "amountDue": {"amount": "240.00"}})
    assert paid["status"] == "PAID"
    # the coupon stays with the new order, used when that is paid
    await pay(api, who, second)
    assert (await coupon_status(engine, coupon))[0] == CouponStatus.USED


async def test_a_merchant_coupon_moves_and_the_platform_coupon_is_spread_again(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900008002", [(shop.sku_a, 1), (shop.sku_c, 1)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    platform = await claim(
        api, who, template("九折", type="PERCENT", percentOff="10", amount=None, minSpend=None)
    )
    first = await place(api, who, "first")
    # merchant 1: 120 − 10 (its coupon) = 110; platform 10% of (110 + 200) = 31, spread
    # 11 / 20; A's order 120 − 10 − 11 = 99 (free shipping from 99), C's 200 − 20 = 180
    by_merchant = {o["merchant"]["id"]: o for o in first["orders"]}
    assert amount(by_merchant[shop.merchant]["total"]) == "99.00"
    assert amount(by_merchant[shop.other_merchant]["total"]) == "180.00"
    assert amount(first["amountDue"]) == "279.00"

    cart = await add(api, who, shop.sku_a)
    offered = {u["coupon"]["id"]: u for u in cart["coupons"]["usable"]}
    assert offered[shop_coupon]["heldByOrder"]["id"] == by_merchant[shop.merchant]["id"]
    # the platform coupon is held by the checkout: its first order is named
    assert offered[platform]["heldByOrder"]["id"] == first["orders"][0]["id"]
    # only the shop's coupon moves: 120 − 10 = 110, free shipping
    second = await place(api, who, "second", couponIds=[shop_coupon])
    assert amount(second["amountDue"]) == "110.00"
    assert (await coupon_status(engine, platform))[1] == f"payment:{decode_id(first['id'])[1]}"
    # left behind: 10% of (120 + 200) = 32, spread 12 / 20: A's order 108, C's 180
    a_order = await order(api, who, by_merchant[shop.merchant]["id"])
    c_order = await order(api, who, by_merchant[shop.other_merchant]["id"])
    assert amount(a_order["total"]) == "108.00"
    assert [(d["label"], amount(d["amount"])) for d in a_order["lines"][0]["discounts"]] == [
        ("九折", "12.00")
    ]
    assert amount(c_order["total"]) == "180.00"
    assert amount(a_order["payment"]["amountDue"]) == "288.00"


async def test_a_sub_orders_own_payment_asks_the_new_amount(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900008003", [(shop.sku_a, 1), (shop.sku_c, 1)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    first = await place(api, who, "first")
    a_order = next(o for o in first["orders"] if o["merchant"]["id"] == shop.merchant)
    # 120 − 10 = 110 (free shipping), paid on its own
    own = (await api.ok("OrderPaymentStart", {"orderId": a_order["id"]}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert amount(own["amountDue"]) == "110.00"
    await add(api, who, shop.sku_b)
    await place(api, who, "second", couponIds=[shop_coupon])
    again = (await api.ok("OrderPaymentStart", {"orderId": a_order["id"]}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert again["id"] == own["id"] and amount(again["amountDue"]) == "120.00"
    assert (await pay(api, who, again))["status"] == "PAID"


async def test_coupons_of_paid_deposits_or_expired_orders_stay_put(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008004", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    async with create_session_factory(engine)() as s:  # as if its deposit were paid
        await s.execute(
            update(Order)
            .where(Order.id == decode_id(first["orders"][0]["id"])[1])
            .values(status="AWAITING_BALANCE")
        )
        await s.commit()
    cart = await add(api, who, shop.sku_b)
    assert cart["coupons"]["usable"] == [] and cart["coupons"]["unusable"] == []
    async with create_session_factory(engine)() as s:
        await s.execute(
            update(Order)
            .where(Order.id == decode_id(first["orders"][0]["id"])[1])
            .values(status="PENDING_PAYMENT")
        )
        await s.commit()
    assert len((await add(api, who, shop.sku_b))["coupons"]["usable"]) == 1
    clock.advance(minutes=31)  # past the old order's deadline: it is on its way out
    assert (await add(api, who, shop.sku_b))["coupons"]["usable"] == []
    assert (await coupon_status(engine, coupon))[0] == CouponStatus.LOCKED


async def test_a_deposit_order_that_loses_its_coupon_is_cancelled(
    api: Api, engine: AsyncEngine
) -> None:
    """Pricing never discounts a deposit line with a coupon today, so a presale holds none;
    should one (data from elsewhere), losing it cancels the presale rather than re-price it,
    and its other coupon, released by that, is free for the new checkout too."""
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008005", [(shop.sku_a, 2)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    platform = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    assert amount(first["amountDue"]) == "210.00"  # 240 − 10 − 20
    assert await stock_of(engine, shop.sku_a) == (10, 2)
    async with create_session_factory(engine)() as s:
        await s.execute(update(Order).values(deposit_amount=1000))
        await s.execute(
            update(Payment).where(Payment.id == decode_id(first["id"])[1]).values(kind="DEPOSIT")
        )
        await s.commit()
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "270.00"  # 300 − 10 − 20: both coupons came along
    cancelled = await order(api, who, first["orders"][0]["id"])
    assert cancelled["status"] == "CANCELLED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)  # released
    new_owner = f"payment:{decode_id(second['id'])[1]}"
    assert await coupon_status(engine, platform) == (CouponStatus.LOCKED, new_owner)
    assert (await coupon_status(engine, shop_coupon))[0] == CouponStatus.LOCKED


async def test_no_coupon_is_ever_held_twice(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008006", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    await pay(api, who, first)  # used: it no longer follows anyone
    cart = await add(api, who, shop.sku_b)
    assert cart["coupons"]["usable"] == []
    refused = await api.op(
        "CheckoutComplete",
        {
            "input": {"cartId": who.cart_id, "addressId": who.address_id, "couponIds": [coupon]},
            "idempotencyKey": "second",
        },
        token=who.token,
    )
    assert refused["data"]["checkoutComplete"]["userErrors"][0]["code"] == "COUPON_UNUSABLE"


async def test_an_open_provider_trade_is_closed_and_reopened_at_the_new_amount(
    api: Api, engine: AsyncEngine, fakes: Fakes
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008007", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    started = await start(api, who, first, "ALIPAY", "WEB")
    fakes.alipay.open(started["url"])
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"
    # the trade for 220 was closed at Alipay before the coupon moved
    assert fakes.alipay.trades[started["outTradeNo"]].status == "TRADE_CLOSED"
    again = await start(api, who, first, "ALIPAY", "WEB")
    assert again["outTradeNo"] == f"{started['outTradeNo']}-2"
    fakes.alipay.open(again["url"])
    assert fakes.alipay.trades[again["outTradeNo"]].amount == 24000


async def test_an_order_paid_at_the_provider_keeps_its_coupon(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008008", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    started = await start(api, who, first, "ALIPAY", "WEB")
    fakes.alipay.open(started["url"])
    fakes.alipay.pay(started["outTradeNo"], clock.now())  # paid, not yet notified
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    # found paid when asked: the first order keeps its coupon, the new one goes without
    assert amount(second["amountDue"]) == "300.00"
    assert (await order(api, who, first["orders"][0]["id"]))["status"] == "PAID"
    assert (await coupon_status(engine, coupon))[0] == CouponStatus.USED


async def product_of(engine: AsyncEngine, sku: str) -> str:
    async with create_session_factory(engine)() as s:
        return encode_id("Product", (await s.get_one(Sku, decode_id(sku)[1])).product_id)


async def test_product_pages_show_only_coupons_usable_there(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    await create_template(api, shop_cash(shop.merchant))
    await create_template(api, template("全场券"))
    product_b = await product_of(engine, shop.sku_b)
    await create_template(api, template("B专享", scope={"productIds": [product_b]}))
    for sku, wanted in (
        (shop.sku_a, ["店铺券", "全场券"]),
        (shop.sku_b, ["店铺券", "全场券", "B专享"]),
        (shop.sku_c, ["全场券"]),  # the other shop's: neither 店铺券 nor B专享
    ):
        detail = await api.ok("ProductDetail", {"id": await product_of(engine, sku)})
        assert [t["name"] for t in detail["product"]["claimableCoupons"]] == wanted


async def test_moving_a_coupon_races_paying_the_order_it_leaves(
    api: Api, engine: AsyncEngine
) -> None:
    """On PostgreSQL the two really run at once (each request its own connection): either the
    old order is paid at 220 and keeps its coupon (the checkout naming it is refused), or the
    coupon moved and 220 no longer pays the old order — never both, never neither."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: concurrency rules are proven on PostgreSQL")
    shop = await open_shop(api, engine)
    for n in range(3):
        who = await shopper(api, f"1390000810{n}", [(shop.sku_a, 2)])
        coupon = await claim(api, who, template(f"满200减20-{n}"))
        first = await place(api, who, "first")
        await add(api, who, shop.sku_b)
        paying, moving = await asyncio.gather(
            api.op(
                "PaymentConfirm",
                {"paymentId": first["id"], "transactionId": f"race-{n}", "amount": "220.00"},
                token=who.token,
            ),
            api.op(
                "CheckoutComplete",
                {
                    "input": {
                        "cartId": who.cart_id,
                        "addressId": who.address_id,
                        "couponIds": [coupon],
                    },
                    "idempotencyKey": "second",
                },
                token=who.token,
            ),
        )
        paid_errors = paying["data"]["paymentConfirm"]["userErrors"]
        moved_errors = moving["data"]["checkoutComplete"]["userErrors"]
        status, owner = await coupon_status(engine, coupon)
        old = await order(api, who, first["orders"][0]["id"])
        if not paid_errors:  # paid first: the coupon stays with it
            assert [e["code"] for e in moved_errors] == ["COUPON_UNUSABLE"]
            assert status == CouponStatus.USED and old["status"] == "PAID"
            assert amount(old["total"]) == "220.00"
        else:  # moved first: the old order asks 240 now
            assert [e["code"] for e in paid_errors] == ["PAYMENT_AMOUNT_MISMATCH"]
            assert moved_errors == []
            second = moving["data"]["checkoutComplete"]["payment"]
            assert (status, owner) == (
                CouponStatus.LOCKED,
                f"payment:{decode_id(second['id'])[1]}",
            )
            assert old["status"] == "PENDING_PAYMENT" and amount(old["total"]) == "240.00"


async def test_the_old_order_keeps_its_promotions_as_placed(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    promotion = await live(api, reduction("满200减15", amount="15", threshold="200"))
    who = await shopper(api, "13900008009", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    # 240 − 15 (满200减15) = 225 − 20 (the coupon, threshold on 225) = 205
    assert amount(first["amountDue"]) == "205.00"
    clock.advance(minutes=1)
    await api.admin("PromotionCancel", {"id": promotion})  # over since: the order keeps it
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"  # 300 − 20, no promotion any more
    old = await order(api, who, first["orders"][0]["id"])
    assert old["status"] == "PENDING_PAYMENT"
    assert amount(old["total"]) == "225.00"  # 240 − 15
    assert [(d["label"], amount(d["amount"])) for d in old["lines"][0]["discounts"]] == [
        ("满200减15", "15.00")
    ]
    assert amount(old["payment"]["amountDue"]) == "225.00"


async def test_an_order_whose_promotions_changed_is_cancelled_not_repriced(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    promotion = await live(api, reduction("满200减15", amount="15", threshold="200"))
    who = await shopper(api, "13900008010", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    await edit_behind_their_back(engine, promotion, [[20000, 2500]])
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    # the coupon moved: 300 − 25 (the edited 满减, now over 300 too) − 20 = 255
    assert amount(second["amountDue"]) == "255.00"
    old = await order(api, who, first["orders"][0]["id"])
    assert old["status"] == "CANCELLED"  # never re-priced at promotions it did not show
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert (await coupon_status(engine, coupon))[1] == f"payment:{decode_id(second['id'])[1]}"


async def test_points_spent_stay_spent_on_the_repriced_order(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008011", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    await grant_points(api, who, 5000)
    first = await place(api, who, "first", pointsToUse=5000)
    # 240 − 20 = 220; 5000 points pay 50.00 (under the cap, 50% of 220): 170
    assert amount(first["amountDue"]) == "170.00"
    await add(api, who, shop.sku_b)
    await place(api, who, "second")
    old = await order(api, who, first["orders"][0]["id"])
    # 240 without the coupon; the same 5000 points still pay 50.00: 190
    assert amount(old["total"]) == "190.00" and amount(old["payment"]["amountDue"]) == "190.00"
    assert (await api.ok("MemberCenter", token=who.token))["me"]["points"] == 0


async def test_an_add_on_bought_stays_an_add_on_on_the_repriced_order(
    api: Api, engine: AsyncEngine
) -> None:
    # 满200换购 B at 199.00 over Phone A; A×2 = 240 reaches it. The coupon (满200减20) takes
    # the A lines only (add-on lines take no coupon): 240 + 199 − 20 = 419.
    shop = await open_shop(api, engine)
    offer = await live(
        api,
        {
            "name": "满200换购",
            "type": "ADD_ON",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"productIds": [await product_of(engine, shop.sku_a)]},
            "rules": {
                "addOn": {"threshold": "200", "choices": [{"skuId": shop.sku_b, "price": "199"}]}
            },
        },
    )
    who = await shopper(api, "13900008010", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    picked = await api.op(
        "CartAddOnSelect",
        {
            "cartId": who.cart_id,
            "promotionId": offer,
            "choices": [{"skuId": shop.sku_b, "quantity": 1}],
        },
        token=who.token,
    )
    assert picked["data"]["cartAddOnSelect"]["userErrors"] == []
    first = await place(api, who, "first")
    assert amount(first["amountDue"]) == "419.00"

    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"  # 300 − 20: the coupon moved
    assert (await coupon_status(engine, coupon))[0] == CouponStatus.LOCKED
    # re-priced, not cancelled: the add-on keeps its special price, the coupon is gone
    old = await order(api, who, first["orders"][0]["id"])
    assert old["status"] == "PENDING_PAYMENT"
    assert amount(old["total"]) == "439.00"  # 240 + 199
    assert amount(old["payment"]["amountDue"]) == "439.00"


async def test_red_packets_spent_stay_spent_on_the_repriced_order(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Phone A takes red packets (no cap); the friend opens a packet for 2.00 (100 + 100 mod 201
    # fen), spends it with 满200减20 on A×2: 240 − 20 − 2 = 218. The coupon then moves to a
    # second checkout (B: 300 − 20 = 280); the first is re-priced to 240 − 2 = 238, still
    # paying with the same red packet money (spent once, not given back, not lost).
    shop = await open_shop(api, engine)
    await red_packets_on(api, engine, shop.sku_a, None)
    fix_draws(monkeypatch, [100])
    _, token = await paid_packet(api, shop, "13900008011", "sharer")
    who = await shopper(api, "13900008012", [(shop.sku_a, 2)])
    assert (await open_packet(api, who, token))["amount"] == {"amount": "2.00"}
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first", redPacketsToUse="2.00")
    assert amount(first["amountDue"]) == "218.00"
    assert await balance(api, who) == "0.00"

    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"
    old = (await api.ok("OrderRedPackets", {"id": first["orders"][0]["id"]}, token=who.token))[
        "order"
    ]
    assert (amount(old["total"]), amount(old["redPacketDiscount"])) == ("238.00", "2.00")
    assert await balance(api, who) == "0.00"
    assert amount((await order(api, who, first["orders"][0]["id"]))["payment"]["amountDue"]) == (
        "238.00"
    )


async def test_a_checkout_with_an_order_paid_alone_keeps_its_coupons(
    api: Api, engine: AsyncEngine
) -> None:
    """DOMAIN §5: once one of a checkout's orders is paid on its own, that payment has used
    the checkout's platform coupon: re-pricing the order left behind without its share would
    charge it the full price (found in review: A came back at 120.00 with the 九折 gone). Such
    a checkout keeps its coupons where they are."""
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900008090", [(shop.sku_a, 1), (shop.sku_c, 1)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    await claim(
        api, who, template("九折", type="PERCENT", percentOff="10", amount=None, minSpend=None)
    )
    first = await place(api, who, "first")
    by_merchant = {o["merchant"]["id"]: o for o in first["orders"]}
    c_order = by_merchant[shop.other_merchant]["id"]
    own = (await api.ok("OrderPaymentStart", {"orderId": c_order}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert (await pay(api, who, own))["status"] == "PAID"

    cart = await add(api, who, shop.sku_a)
    assert shop_coupon not in {u["coupon"]["id"] for u in cart["coupons"]["usable"]}
    refused = await api.op(
        "CheckoutComplete",
        {"input": checkout_input(who, couponIds=[shop_coupon]), "idempotencyKey": "second"},
        token=who.token,
    )
    assert [e["code"] for e in refused["data"]["checkoutComplete"]["userErrors"]] == [
        "COUPON_UNUSABLE"
    ]
    a_order = await order(api, who, by_merchant[shop.merchant]["id"])
    assert a_order["status"] == "PENDING_PAYMENT" and amount(a_order["total"]) == "99.00"
    assert (await coupon_status(engine, shop_coupon))[1] == f"order:{decode_id(a_order['id'])[1]}"


@dataclass
class TwoShops:
    """Phone A (merchant 1, with its shop's 减10 coupon) and Phone C (merchant 2), checked out
    together: the orders as placed, by merchant."""

    who: Shopper
    shop_coupon: str
    placed: dict[str, dict[str, Any]]
    a_order: str
    c_order: str


async def placed_over_two_shops(
    api: Api, shop: Shop, phone: str, *, platform_coupon: bool = False
) -> TwoShops:
    who = await shopper(api, phone, [(shop.sku_a, 1), (shop.sku_c, 1)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    if platform_coupon:
        await claim(
            api, who, template("九折", type="PERCENT", percentOff="10", amount=None, minSpend=None)
        )
    first = await place(api, who, "first")
    placed = {o["merchant"]["id"]: o for o in first["orders"]}
    a_order, c_order = placed[shop.merchant]["id"], placed[shop.other_merchant]["id"]
    return TwoShops(who, shop_coupon, placed, a_order, c_order)


async def edit_behind_their_back(engine: AsyncEngine, promotion: str, tiers: Any) -> None:
    """A running promotion's tiers rewritten in the database, as no order placed under it
    recorded them."""
    async with create_session_factory(engine)() as s:
        await s.execute(
            update(Promotion)
            .where(Promotion.id == decode_id(promotion)[1])
            .values(rules={"tiers": tiers})
        )
        await s.commit()


async def settled(engine: AsyncEngine, order_id: str) -> list[tuple[Any, ...]]:
    """The order's discount records (what settlement reads), as rows."""
    async with create_session_factory(engine)() as s:
        rows = await s.scalars(
            select(OrderDiscount)
            .where(OrderDiscount.order_id == decode_id(order_id)[1])
            .order_by(OrderDiscount.id)
        )
        return [(r.id, r.source, r.source_id, r.coupon_template_id, r.amount) for r in rows]


async def pay_alone(api: Api, who: Shopper, order_id: str) -> None:
    own = (await api.ok("OrderPaymentStart", {"orderId": order_id}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert (await pay(api, who, own))["status"] == "PAID"


async def test_a_merchant_coupon_follows_from_an_order_whose_sibling_was_paid_alone(
    api: Api, engine: AsyncEngine
) -> None:
    """No platform coupon in the checkout: the order paid alone shares nothing with the one
    the shop's coupon leaves, which is re-priced on its own; the paid one stays as it was."""
    shop = await open_shop(api, engine, two_merchants=True)
    t = await placed_over_two_shops(api, shop, "13900008091")
    who, shop_coupon, a_order, c_order = t.who, t.shop_coupon, t.a_order, t.c_order
    own = (await api.ok("OrderPaymentStart", {"orderId": a_order}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert amount(own["amountDue"]) == "110.00"  # 120 − 10, free shipping from 99
    await pay_alone(api, who, c_order)
    paid_before = (await order(api, who, c_order), await settled(engine, c_order))

    cart = await add(api, who, shop.sku_b)
    offered = {u["coupon"]["id"]: u for u in cart["coupons"]["usable"]}
    assert offered[shop_coupon]["heldByOrder"]["id"] == a_order
    second = await place(api, who, "second", couponIds=[shop_coupon])
    assert amount(second["amountDue"]) == "290.00"  # 300 − 10
    left = await order(api, who, a_order)
    assert left["status"] == "PENDING_PAYMENT" and amount(left["total"]) == "120.00"
    again = (await api.ok("OrderPaymentStart", {"orderId": a_order}, token=who.token))[
        "orderPaymentStart"
    ]["payment"]
    assert again["id"] == own["id"] and amount(again["amountDue"]) == "120.00"
    paid = await order(api, who, c_order)
    assert paid["status"] == "PAID" and amount(paid["total"]) == "200.00"
    # the paid order as it was: lines, discounts, its payment, its settlement rows
    assert (paid, await settled(engine, c_order)) == paid_before
    assert (await coupon_status(engine, shop_coupon)) == (
        CouponStatus.LOCKED,
        f"order:{decode_id(second['orders'][0]['id'])[1]}",
    )


async def test_a_promotion_reached_with_a_paid_sibling_stays_on_the_order_left_behind(
    api: Api, engine: AsyncEngine
) -> None:
    """满300减20 over the whole checkout (A 120 + C 200): priced again with the paid order's
    lines as placed, the order the coupon leaves keeps its share of it — priced alone, A
    would not reach 300 and the order would be cancelled instead."""
    shop = await open_shop(api, engine, two_merchants=True)
    await live(api, reduction("满300减20", amount="20", threshold="300"))
    t = await placed_over_two_shops(api, shop, "13900008092")
    who, shop_coupon, a_order, c_order = t.who, t.shop_coupon, t.a_order, t.c_order
    # 20 spread 7.50 / 12.50; A 120 − 7.50 − 10 = 102.50 (free shipping), C 187.50
    assert amount(t.placed[shop.merchant]["total"]) == "102.50"
    assert amount(t.placed[shop.other_merchant]["total"]) == "187.50"
    await pay_alone(api, who, c_order)
    paid_before = (await order(api, who, c_order), await settled(engine, c_order))
    assert len(paid_before[1]) == 1  # its share of the 满减, for settlement

    await add(api, who, shop.sku_b)
    second = await place(api, who, "second", couponIds=[shop_coupon])
    assert amount(second["amountDue"]) == "270.00"  # 300 − 20 − 10
    left = await order(api, who, a_order)
    assert left["status"] == "PENDING_PAYMENT" and amount(left["total"]) == "112.50"
    assert [(d["label"], amount(d["amount"])) for d in left["lines"][0]["discounts"]] == [
        ("满300减20", "7.50")
    ]
    paid = await order(api, who, c_order)
    assert paid["status"] == "PAID" and amount(paid["total"]) == "187.50"
    assert (paid, await settled(engine, c_order)) == paid_before


async def test_a_sibling_paid_then_cancelled_still_keeps_the_platform_coupon_in_place(
    api: Api, engine: AsyncEngine
) -> None:
    """Its payment used the platform coupon; refunded and cancelled since, it still counts as
    paid: the order left behind keeps its share and its shop coupon (found in review: A came
    back at 120.00 with the 九折 gone)."""
    shop = await open_shop(api, engine, two_merchants=True)
    t = await placed_over_two_shops(api, shop, "13900008093", platform_coupon=True)
    who, shop_coupon, a_order, c_order = t.who, t.shop_coupon, t.a_order, t.c_order
    await pay_alone(api, who, c_order)
    await api.admin("OrderCancel", {"id": c_order, "reason": "缺货"})
    assert (await order(api, who, c_order))["status"] == "CANCELLED"

    cart = await add(api, who, shop.sku_a)
    assert shop_coupon not in {u["coupon"]["id"] for u in cart["coupons"]["usable"]}
    left = await order(api, who, a_order)
    assert left["status"] == "PENDING_PAYMENT" and amount(left["total"]) == "99.00"


async def test_an_order_left_beside_a_paid_sibling_is_cancelled_when_not_priceable_as_placed(
    api: Api, engine: AsyncEngine
) -> None:
    """Its promotion edited since: the unpaid order is cancelled (its stock goes back); the
    paid sibling stays paid with its units committed."""
    shop = await open_shop(api, engine, two_merchants=True)
    promotion = await live(api, reduction("满300减20", amount="20", threshold="300"))
    t = await placed_over_two_shops(api, shop, "13900008094")
    who, shop_coupon, a_order, c_order = t.who, t.shop_coupon, t.a_order, t.c_order
    await pay_alone(api, who, c_order)
    await edit_behind_their_back(engine, promotion, [[30000, 2500]])
    await add(api, who, shop.sku_b)
    await place(api, who, "second", couponIds=[shop_coupon])
    assert (await order(api, who, a_order))["status"] == "CANCELLED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    paid = await order(api, who, c_order)
    assert paid["status"] == "PAID" and amount(paid["total"]) == "187.50"
    assert await stock_of(engine, shop.sku_c) == (10, 1)  # held for it until shipped


async def test_points_over_two_merchants_stay_with_each_order_when_a_coupon_moves(
    api: Api, engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOMAIN §5: what each order spent of its points stays spent on that order. Checkout caps
    the points at a percent of the whole checkout and splits their discount by largest
    remainder, so one order may take a fen more than that percent of its own goods; capped
    again order by order, the order left alone came out a fen short and the whole checkout
    was cancelled (found in review)."""
    monkeypatch.setattr(settings, "points_max_percent", 10)
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900008094", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await claim(api, who, {**shop_cash(shop.merchant), "amount": "0.01"})
    moving = await claim(api, who, shop_cash(shop.other_merchant))
    await grant_points(api, who, 5000)
    first = await place(api, who, "first", pointsToUse=5000)
    # A 120 − 0.01 = 119.99, C 200 − 10 = 190: 10% of 309.99 takes 3099 points (30.99),
    # 12.00 on A (11.999 rounded up: a fen over 10% of A) and 18.99 on C
    assert amount(first["amountDue"]) == "279.00"
    by_merchant = {o["merchant"]["id"]: o["id"] for o in first["orders"]}

    async def state(order_id: str) -> tuple[str, str]:
        found = await order(api, who, order_id)
        return found["status"], amount(found["total"])

    assert await state(by_merchant[shop.merchant]) == ("PENDING_PAYMENT", "107.99")
    assert await state(by_merchant[shop.other_merchant]) == ("PENDING_PAYMENT", "171.01")

    await add(api, who, shop.sku_c)
    await place(api, who, "second", couponIds=[moving])
    # C without its coupon: 200 − 18.99 = 181.01; A as it was, its 12.00 of points kept
    assert await state(by_merchant[shop.merchant]) == ("PENDING_PAYMENT", "107.99")
    assert await state(by_merchant[shop.other_merchant]) == ("PENDING_PAYMENT", "181.01")
    async with create_session_factory(engine)() as s:
        kept = await s.get_one(Order, decode_id(by_merchant[shop.merchant])[1])
        assert (kept.points_used, kept.points_discount) == (1200, 1200)


async def test_points_spent_keep_their_value_when_the_points_settings_change(
    api: Api, engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The points an order spent paid what they paid at checkout: a later change of what a
    point is worth, or of the cap, re-prices the order it leaves with the same discount."""
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008095", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    await grant_points(api, who, 5000)
    first = await place(api, who, "first", pointsToUse=5000)
    assert amount(first["amountDue"]) == "170.00"  # 240 − 20 − 50.00 of points
    monkeypatch.setattr(settings, "points_per_yuan", 200)
    monkeypatch.setattr(settings, "points_max_percent", 10)
    await add(api, who, shop.sku_b)
    await place(api, who, "second")
    old = await order(api, who, first["orders"][0]["id"])
    assert old["status"] == "PENDING_PAYMENT"
    assert amount(old["total"]) == "190.00"  # 240 − the same 50.00


async def test_red_packets_over_two_merchants_stay_with_each_order_when_a_coupon_moves(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOMAIN §5: the order a coupon leaves is re-priced, and what each order spent of its
    red packets stays spent on that order (they are recorded per order). Spread over the whole
    checkout again, the shares moved by a fen and the whole checkout was cancelled (found in
    review)."""
    shop = await open_shop(api, engine, two_merchants=True)
    await red_packets_on(api, engine, shop.sku_a, None)  # Phone A 120.00: the whole line
    await red_packets_on(api, engine, shop.sku_c, "1.00")  # Phone C 200.00: 1.00 a unit
    fix_draws(monkeypatch, [200])  # 3.00
    _, token = await paid_packet(api, shop, "13900008091", "sharer")
    who = await shopper(api, "13900008092", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await open_packet(api, who, token)
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    # A: 120 − 10 = 110 may take red packets, C: 1.00; 3.00 over 110 : 1 by largest
    # remainder = 2.97 / 0.03: A 110 − 2.97 = 107.03, C 200 − 0.03 = 199.97
    first = await place(api, who, "first", redPacketsToUse="3.00")

    async def spent(order_id: str) -> tuple[str, str, str]:
        found = (await api.ok("OrderRedPackets", {"id": order_id}, token=who.token))["order"]
        status = (await order(api, who, order_id))["status"]
        return status, amount(found["total"]), amount(found["redPacketDiscount"])

    by_merchant = {o["merchant"]["id"]: o["id"] for o in first["orders"]}
    assert await spent(by_merchant[shop.merchant]) == ("PENDING_PAYMENT", "107.03", "2.97")
    assert await spent(by_merchant[shop.other_merchant]) == ("PENDING_PAYMENT", "199.97", "0.03")

    await add(api, who, shop.sku_b)
    await place(api, who, "second", couponIds=[shop_coupon])
    # A without its coupon: 120 − 2.97 = 117.03; C as it was
    assert await spent(by_merchant[shop.merchant]) == ("PENDING_PAYMENT", "117.03", "2.97")
    assert await spent(by_merchant[shop.other_merchant]) == ("PENDING_PAYMENT", "199.97", "0.03")
    assert await balance(api, who) == "0.00"


# --- the order left behind is re-priced by what it was placed with (DOMAIN §7: lines are
# snapshots), not by the catalog as it is when the coupon moves ----------------------------------


async def ship_by(api: Api, engine: AsyncEngine, shop: Shop, sku: str, **fees: Any) -> None:
    """The SKU's product moves to a new FLAT template of its shop (fees in yuan)."""
    created = await api.admin(
        "ShippingTemplateCreate",
        {"input": {"merchantId": shop.merchant, "name": str(fees), "kind": "FLAT", **fees}},
    )
    template_id = created["shippingTemplateCreate"]["shippingTemplate"]["id"]
    await api.admin(
        "ProductUpdate",
        {"id": await product_of(engine, sku), "input": {"shippingTemplateId": template_id}},
    )


async def shipping_of(engine: AsyncEngine, order_id: str) -> int:
    async with create_session_factory(engine)() as s:
        return (await s.get_one(Order, decode_id(order_id)[1])).shipping


async def test_the_old_order_keeps_the_shipping_fee_it_was_placed_with(
    api: Api, engine: AsyncEngine
) -> None:
    """The merchant puts Phone A on a dearer template after the order: the order a coupon
    leaves still ships at the fee it was placed with; only the coupon comes off."""
    shop = await open_shop(api, engine)
    await ship_by(api, engine, shop, shop.sku_a, flatFee="10.00", freeOver="500.00")
    who = await shopper(api, "13900008093", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    assert amount(first["amountDue"]) == "230.00"  # 240 − 20 + 10 shipping
    old_id = first["orders"][0]["id"]
    await ship_by(api, engine, shop, shop.sku_a, flatFee="15.00")  # since: 15, never free

    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"  # B: 300 − 20 (flat 10, free over 99)
    old = await order(api, who, old_id)
    # 240 + 10 as placed (today's template would make it 255)
    assert old["status"] == "PENDING_PAYMENT"
    assert (amount(old["total"]), amount(old["payment"]["amountDue"])) == ("250.00", "250.00")
    assert await shipping_of(engine, old_id) == 1000


async def test_the_old_order_ships_free_when_it_now_reaches_the_threshold_it_was_placed_with(
    api: Api, engine: AsyncEngine
) -> None:
    """Without the coupon the order is dearer, and may reach the free-shipping threshold of
    the template it was placed with: re-priced as placed, it ships free. Keeping the fee it
    was placed with would charge 10.00 that pricing would not; today's template 15.00."""
    shop = await open_shop(api, engine)
    await ship_by(api, engine, shop, shop.sku_a, flatFee="10.00", freeOver="230.00")
    who = await shopper(api, "13900008094", [(shop.sku_a, 2)])
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    assert amount(first["amountDue"]) == "230.00"  # 220 is under 230: + 10 shipping
    old_id = first["orders"][0]["id"]
    await ship_by(api, engine, shop, shop.sku_a, flatFee="15.00")

    await add(api, who, shop.sku_b)
    await place(api, who, "second")
    old = await order(api, who, old_id)
    assert old["status"] == "PENDING_PAYMENT"
    assert (amount(old["total"]), amount(old["payment"]["amountDue"])) == ("240.00", "240.00")
    assert await shipping_of(engine, old_id) == 0


@pytest.mark.parametrize("moved", ["category", "brand"])
async def test_a_coupon_left_behind_keeps_the_scope_the_order_was_placed_in(
    api: Api, engine: AsyncEngine, moved: str
) -> None:
    """The checkout holds the shop's coupon and a platform coupon for Phone A's category (or
    brand); only the shop's coupon moves. Phone A was moved to T恤 (or to Nike) since: the
    platform coupon still applies to the order as placed, and stays with it."""
    shop = await open_shop(api, engine)
    async with create_session_factory(engine)() as s:
        product = await s.get_one(Product, decode_id(await product_of(engine, shop.sku_a))[1])
        tees = await s.scalar(select(Category.id).where(Category.name == "T恤"))
        nike = await s.scalar(select(Brand.id).where(Brand.name == "Nike"))
        scope = (
            {"categoryIds": [encode_id("Category", product.category_id)]}
            if moved == "category"
            else {"brandIds": [encode_id("Brand", product.brand_id)]}
        )
    who = await shopper(api, "13900008095", [(shop.sku_a, 2)])
    shop_coupon = await claim(api, who, shop_cash(shop.merchant))
    platform = await claim(api, who, template("手机满200减20", scope=scope))
    first = await place(api, who, "first")
    assert amount(first["amountDue"]) == "210.00"  # 240 − 10 − 20
    if moved == "category":  # moved behind the order's back
        async with create_session_factory(engine)() as s:
            await s.execute(
                update(Product).where(Product.id == product.id).values(category_id=tees)
            )
            await s.commit()
    else:
        await api.admin(
            "ProductUpdate",
            {
                "id": encode_id("Product", product.id),
                "input": {"brandId": encode_id("Brand", nike)},
            },
        )

    await add(api, who, shop.sku_b)
    second = await place(api, who, "second", couponIds=[shop_coupon])
    assert amount(second["amountDue"]) == "290.00"  # B: 300 − 10
    old = await order(api, who, first["orders"][0]["id"])
    assert old["status"] == "PENDING_PAYMENT"
    assert (amount(old["total"]), amount(old["payment"]["amountDue"])) == ("220.00", "220.00")
    assert await coupon_status(engine, platform) == (
        CouponStatus.LOCKED,
        f"payment:{decode_id(first['id'])[1]}",
    )


@pytest.mark.parametrize(
    "since",
    [{"redPacketsUsable": False, "redPacketCap": None}, {"redPacketCap": "0.50"}],
    ids=["switched-off", "capped"],
)
async def test_red_packets_spent_stay_spent_when_the_product_no_longer_takes_them(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, since: dict[str, Any]
) -> None:
    """Phone A took red packets when the order spent 2.00 of them on it; staff switched that
    off (or capped it at 0.50 a unit) since. Re-priced as placed, the order keeps spending
    the 2.00: 240 − 2 = 238 (by today's flags it could spend none, or 1.00)."""
    shop = await open_shop(api, engine)
    await red_packets_on(api, engine, shop.sku_a, None)
    fix_draws(monkeypatch, [100])
    _, token = await paid_packet(api, shop, "13900008096", "sharer")
    who = await shopper(api, "13900008097", [(shop.sku_a, 2)])
    assert (await open_packet(api, who, token))["amount"] == {"amount": "2.00"}
    await claim(api, who, template("满200减20"))
    first = await place(api, who, "first", redPacketsToUse="2.00")
    assert amount(first["amountDue"]) == "218.00"
    await api.admin(
        "ProductRedPacketSettings", {"id": await product_of(engine, shop.sku_a), "input": since}
    )

    await add(api, who, shop.sku_b)
    await place(api, who, "second")
    old_id = first["orders"][0]["id"]
    old = (await api.ok("OrderRedPackets", {"id": old_id}, token=who.token))["order"]
    assert (amount(old["total"]), amount(old["redPacketDiscount"])) == ("238.00", "2.00")
    assert (await order(api, who, old_id))["status"] == "PENDING_PAYMENT"
    assert await balance(api, who) == "0.00"


@pytest.mark.parametrize("recorded", [None, {"v": 99, "shipping": None}, {"categoryPath": [1]}])
async def test_an_order_placed_before_lines_recorded_their_facts_is_cancelled(
    api: Api, engine: AsyncEngine, recorded: dict[str, Any] | None
) -> None:
    """Without what its lines were placed with (none recorded, or in a form this code does
    not read), the order cannot be re-priced as placed: losing its coupon cancels it, as an
    order whose promotions changed is."""
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900008098", [(shop.sku_a, 2)])
    coupon = await claim(api, who, template("满200减20"))
    first = await place(api, who, "first")
    async with create_session_factory(engine)() as s:
        await s.execute(update(OrderLine).values(placed_facts=recorded))
        await s.commit()
    await add(api, who, shop.sku_b)
    second = await place(api, who, "second")
    assert amount(second["amountDue"]) == "280.00"
    assert (await order(api, who, first["orders"][0]["id"]))["status"] == "CANCELLED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert (await coupon_status(engine, coupon))[1] == f"payment:{decode_id(second['id'])[1]}"
