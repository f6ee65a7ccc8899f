"""Regression tests for the marketplace's trust boundaries, each attack of the authorization
issue replayed as merchant B's staff (every permission) against merchant A and the platform,
plus the funding rule that binds platform staff too (DOMAIN.md §4, §5, §9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import Product
from models.coupons import CouponTemplate
from models.promotions import Promotion
from services.accounts import Permission
from tests.api.checkout_data import Shop
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.api.test_coupons import template
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.conftest import FixedClock

ALL = [p.value for p in Permission]


def refused(result: dict[str, Any]) -> bool:
    """Refused by the policy: a FORBIDDEN error and no data at all."""
    codes = [e["extensions"]["code"] for e in result.get("errors") or []]
    return codes == ["FORBIDDEN"] and not any((result.get("data") or {}).values())


async def product_of(engine: AsyncEngine, merchant: str) -> str:
    async with create_session_factory(engine)() as s:
        pk = await s.scalar(
            select(Product.id)
            .where(Product.merchant_id == decode_id(merchant)[1])
            .order_by(Product.id)
        )
    return encode_id("Product", pk)


async def count(engine: AsyncEngine, model: Any) -> int:
    async with create_session_factory(engine)() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def merchant_b_staff(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> tuple[Shop, str]:
    shop = await open_shop(api, engine, two_merchants=True)
    _, token = await merchant_staff(
        engine, settings, clock, shop.other_merchant, email="all@b.example", permissions=ALL
    )
    return shop, token


async def test_merchant_staff_cannot_discount_another_merchants_product(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop, b = await merchant_b_staff(api, engine, settings, clock)
    a_product = await product_of(engine, shop.merchant)
    flash = {
        "name": "99% off",
        "type": "SINGLE_PRODUCT",
        "startsAt": "2026-04-01T00:00:00Z",
        "endsAt": "2026-05-01T00:00:00Z",
        "scope": {"productIds": [a_product]},
        "rules": {"singleProduct": {"percentOff": "99"}},
    }
    before = await count(engine, Promotion)
    for funded_by in (shop.other_merchant, shop.merchant, None):
        attempt = await api.op(
            "PromotionCreate", {"input": {**flash, "merchantId": funded_by}}, token=b
        )
        assert refused(attempt), attempt
    assert await count(engine, Promotion) == before
    # nor by naming A's SKU in a gift or a bundle
    gift = {
        **reduction("gift"),
        "type": "GIFT",
        "merchantId": shop.other_merchant,
        "rules": {"gift": {"gifts": [{"skuId": shop.sku_a, "quantity": 1}]}},
    }
    assert refused(await api.op("PromotionCreate", {"input": gift}, token=b))


async def test_merchant_staff_cannot_spend_or_stop_the_platforms_money(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop, b = await merchant_b_staff(api, engine, settings, clock)
    platform_coupon = (await api.admin("CouponTemplateCreate", {"input": template("平台券")}))[
        "couponTemplateCreate"
    ]["couponTemplate"]["id"]
    platform_promotion = await live(api, reduction("平台满减"))
    templates = await count(engine, CouponTemplate)
    cash = template("¥500", type="CASH", amount="500", minSpend=None)
    assert refused(await api.op("CouponTemplateCreate", {"input": cash}, token=b))
    assert await count(engine, CouponTemplate) == templates
    who = await shopper(api, "13900000002", [(shop.sku_c, 1)])
    me = await api.post("{ me { id } }", token=who.token)
    issue = await api.op(
        "CouponIssue",
        {"templateId": platform_coupon, "customerIds": [me["data"]["me"]["id"]]},
        token=b,
    )
    assert refused(issue)
    assert refused(await api.op("PromotionCancel", {"id": platform_promotion}, token=b))
    assert refused(
        await api.op("CouponCodesGenerate", {"templateId": platform_coupon, "count": 5}, token=b)
    )
    void = await api.post(
        "mutation($id: ID!) { couponTemplateVoid(id: $id) { userErrors { code } } }",
        {"id": platform_coupon},
        token=b,
    )
    assert refused(void)
    still = await api.post(
        "query($id: ID!) { promotion(id: $id) { status } }",
        {"id": platform_promotion},
        token=api.admin_token,
    )
    assert still["data"] == {"promotion": {"status": "ACTIVE"}}
    async with create_session_factory(engine)() as s:
        batch = await s.get(CouponTemplate, decode_id(platform_coupon)[1])
        assert batch is not None and not batch.voided and batch.issued_count == 0


async def test_merchant_staff_cannot_touch_platform_wide_data(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    _, b = await merchant_b_staff(api, engine, settings, clock)
    brands = await api.post("{ brands { id name } }")
    target = brands["data"]["brands"][0]
    rename = await api.post(
        'mutation($id: ID!) { brandUpdate(id: $id, input: {name: "Mine"}) { brand { name } } }',
        {"id": target["id"]},
        token=b,
    )
    assert refused(rename)
    assert refused(await api.op("MerchantCreate", {"input": {"name": "Fake"}}, token=b))
    assert refused(
        await api.op("PageCreate", {"input": {"slug": "x", "title": "x", "modules": []}}, token=b)
    )
    after = await api.post("{ brands { id name } }")
    assert after["data"]["brands"][0]["name"] == target["name"]


async def test_merchant_staff_read_only_their_own_audit_entries(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop, b = await merchant_b_staff(api, engine, settings, clock)
    a_product = await product_of(engine, shop.merchant)
    await api.admin("ProductUpdate", {"id": a_product, "input": {"title": "A, renamed"}})
    await api.admin(
        "StockMove",
        {
            "input": {
                "skuId": shop.sku_a,
                "warehouseId": shop.warehouse,
                "quantity": 3,
                "type": "INBOUND",
            }
        },
    )
    seen = (await api.ok("AuditLog", {"first": 100}, token=b))["auditLog"]["edges"]
    everything = (await api.admin("AuditLog", {"first": 100}))["auditLog"]["edges"]
    assert len(everything) > len(seen) > 0  # B's warehouse and product are B's to see
    a_ids = {shop.merchant, a_product, shop.sku_a, shop.warehouse}
    assert not [e["node"] for e in seen if e["node"]["targetId"] in a_ids]
    # what B would otherwise have read: A's SKU cost prices and stock levels
    about_a = [e["node"] for e in everything if e["node"]["targetId"] in a_ids]
    assert {n["action"] for n in about_a} >= {"product.update", "stock.move"}
    assert any("cost" in str(n["before"]).lower() for n in about_a)


async def test_nobody_makes_a_merchant_fund_another_merchants_discount(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    a_product = await product_of(engine, shop.merchant)
    promotion = await api.op(
        "PromotionCreate",
        {
            "input": reduction(
                "B pays for A", merchantId=shop.other_merchant, scope={"productIds": [a_product]}
            )
        },
        token=api.admin_token,
    )
    assert [e["code"] for e in promotion["data"]["promotionCreate"]["userErrors"]] == [
        "MERCHANT_MISMATCH"
    ]
    coupon = await api.op(
        "CouponTemplateCreate",
        {
            "input": template(
                "B pays for A", merchantId=shop.other_merchant, scope={"skuIds": [shop.sku_a]}
            )
        },
        token=api.admin_token,
    )
    assert [e["code"] for e in coupon["data"]["couponTemplateCreate"]["userErrors"]] == [
        "MERCHANT_MISMATCH"
    ]
    # the platform may fund a discount on anyone's goods
    await live(api, reduction("platform pays", scope={"productIds": [a_product]}))


async def test_a_merchants_promotion_reaches_its_own_goods_only(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop, b = await merchant_b_staff(api, engine, settings, clock)
    # B's shop-wide "over 400 −20": A's phones in the same cart never get it
    created = await api.op(
        "PromotionCreate",
        {"input": reduction("B: over 400 −20", threshold="200", merchantId=shop.other_merchant)},
        token=b,
    )
    assert created["data"]["promotionCreate"]["userErrors"] == [], created
    await api.op(
        "PromotionActivate", {"id": created["data"]["promotionCreate"]["promotion"]["id"]}, token=b
    )
    who = await shopper(api, "13900000003", [(shop.sku_a, 4), (shop.sku_c, 1)])
    cart = (await api.ok("MyCart", token=who.token))["me"]["cart"]
    by_sku = {line["sku"]["id"]: line for line in cart["lines"]}
    assert by_sku[shop.sku_a]["cost"]["discounts"] == []  # A's 480.00 is not B's to discount
    assert [d["amount"]["amount"] for d in by_sku[shop.sku_c]["cost"]["discounts"]] == ["20.00"]
    assert cart["cost"]["promotionDiscount"]["amount"] == "20.00"


async def test_a_shared_checkout_shows_each_merchant_only_its_own_order_and_no_address_book(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    """One checkout, orders of A and of B under one combined payment: A's staff reading
    their order's payment see their order only, and the buyer's address book stays hidden
    from them (the order carries the address it ships to)."""
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900000004", [(shop.sku_a, 1), (shop.sku_c, 1)])
    payment = await place(api, who)
    _, a_staff = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="orders@a.example",
        permissions=["MANAGE_ORDERS"],
    )
    query = (
        "query($id: ID!) { order(id: $id) { id payment { orders { id } } "
        "customer { addresses { id } } } }"
    )
    orders = [o["id"] for o in payment["orders"]]
    async with create_session_factory(engine)() as s:
        from models import Order

        mine = [
            encode_id("Order", pk)
            for pk in (
                await s.scalars(
                    select(Order.id).where(Order.merchant_id == decode_id(shop.merchant)[1])
                )
            ).all()
        ]
    seen = await api.post(query, {"id": mine[0]}, token=a_staff)
    assert "errors" not in seen, seen
    assert [o["id"] for o in seen["data"]["order"]["payment"]["orders"]] == mine
    assert seen["data"]["order"]["customer"]["addresses"] == []
    # the buyer and the platform see both orders and the book
    own = await api.post(query, {"id": mine[0]}, token=who.token)
    assert sorted(o["id"] for o in own["data"]["order"]["payment"]["orders"]) == sorted(orders)
    assert len(own["data"]["order"]["customer"]["addresses"]) == 1
    admin = await api.post(query, {"id": mine[0]}, token=api.admin_token)
    assert len(admin["data"]["order"]["payment"]["orders"]) == 2
    assert len(admin["data"]["order"]["customer"]["addresses"]) == 1
