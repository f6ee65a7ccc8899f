"""Coupons (DOMAIN.md §5, issue 6) through the operations as written: templates, the coupon
center, claiming, codes, issuing, the wallet, statistics, the cart's usable/unusable lists and
the lifecycle."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from models import Coupon
from models.coupons import CouponStatus
from services import coupons
from services import inventory
from services import pricing
from tests.api.catalog_data import add_product
from tests.api.catalog_data import phone_input
from tests.api.test_cart import shop
from tests.conftest import Api

WINDOW = {"startsAt": "2026-04-01T00:00:00Z", "endsAt": "2026-05-01T00:00:00Z"}


def template(name: str = "满200减20", **extra: Any) -> dict[str, Any]:
    data = {
        "name": name,
        "type": "THRESHOLD",
        "amount": "20",
        "minSpend": "200",
        "totalQuantity": 100,
        "perCustomerLimit": 1,
        "distribution": "PUBLIC",
        "validity": WINDOW,
        "combinesWithPromotions": True,
    }
    data.update(extra)
    return data


async def create_template(api: Api, data: dict[str, Any]) -> str:
    result = await api.admin("CouponTemplateCreate", {"input": data})
    return result["couponTemplateCreate"]["couponTemplate"]["id"]


async def customer(api: Api, phone: str) -> str:
    return (
        await api.ok(
            "Register", {"input": {"name": phone, "phone": phone, "password": "secret-pass-9"}}
        )
    )["customerRegister"]["accessToken"]


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_coupon_center_claim_and_wallet_as_written(api: Api) -> None:
    tid = await create_template(api, template())
    await create_template(api, template("hidden", distribution="SYSTEM"))
    center = await api.ok("CouponCenter")
    nodes = [e["node"] for e in center["couponTemplates"]["edges"]]
    assert [(n["name"], n["discountText"], n["remainingQuantity"]) for n in nodes] == [
        ("满200减20", "满200减20", 100)
    ]
    assert nodes[0]["minSpend"] == {"amount": "200.00"}
    token = await customer(api, "13800138000")
    claimed = (await api.ok("CouponClaim", {"templateId": tid}, token=token))["couponClaim"]
    assert claimed["coupon"]["status"] == "AVAILABLE"
    assert claimed["coupon"]["validUntil"] == "2026-05-01T00:00:00Z"
    again = await api.op("CouponClaim", {"templateId": tid}, token=token)
    assert again["data"]["couponClaim"]["userErrors"][0]["code"] == "COUPON_LIMIT_REACHED"
    wallet = (await api.ok("MyCoupons", token=token))["me"]["coupons"]
    assert [(c["template"]["name"], c["template"]["discountText"]) for c in wallet] == [
        ("满200减20", "满200减20")
    ]
    assert (await api.ok("CouponCenter"))["couponTemplates"]["edges"][0]["node"][
        "remainingQuantity"
    ] == 99
    guest = await api.op("CouponClaim", {"templateId": tid})
    assert guest["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_days_after_claim_validity(api: Api, clock: FixedClock) -> None:
    tid = await create_template(api, template(validity={"daysAfterClaim": 7}))
    token = await customer(api, "13800138000")
    claimed = (await api.ok("CouponClaim", {"templateId": tid}, token=token))["couponClaim"]
    assert claimed["coupon"]["validUntil"] == "2026-04-17T08:00:00Z"  # T0 + 7 days
    clock.advance(days=8)
    expired = (await api.ok("MyCoupons", {"status": "EXPIRED"}, token=token))["me"]["coupons"]
    assert len(expired) == 1
    assert (await api.ok("MyCoupons", token=token))["me"]["coupons"] == []


async def test_sold_out_and_claim_window(api: Api, clock: FixedClock) -> None:
    tid = await create_template(api, template(totalQuantity=1))
    first = await customer(api, "13800138000")
    second = await customer(api, "13900139000")
    await api.ok("CouponClaim", {"templateId": tid}, token=first)
    gone = await api.op("CouponClaim", {"templateId": tid}, token=second)
    assert gone["data"]["couponClaim"]["userErrors"][0]["code"] == "COUPON_SOLD_OUT"
    later = await create_template(api, template("later", claimStartsAt="2026-04-20T00:00:00Z"))
    early = await api.op("CouponClaim", {"templateId": later}, token=second)
    assert early["data"]["couponClaim"]["userErrors"][0]["code"] == "COUPON_NOT_CLAIMABLE"


async def test_codes_are_single_use_and_shown_once(api: Api, engine: AsyncEngine) -> None:
    tid = await create_template(
        api, template("卡密", distribution="CODE", totalQuantity=3, perCustomerLimit=2)
    )
    codes = (await api.admin("CouponCodesGenerate", {"templateId": tid, "count": 2}))[
        "couponCodesGenerate"
    ]["codes"]
    assert len(codes) == 2 and len(set(codes)) == 2 and len(codes[0]) == 19  # XXXX-XXXX-…
    too_many = await api.op(
        "CouponCodesGenerate", {"templateId": tid, "count": 2}, token=api.admin_token
    )
    assert too_many["data"]["couponCodesGenerate"]["userErrors"][0]["code"] == "COUPON_SOLD_OUT"
    token = await customer(api, "13800138000")
    redeemed = (await api.ok("CouponRedeemCode", {"code": codes[0].lower()}, token=token))[
        "couponRedeemCode"
    ]
    assert redeemed["coupon"]["template"]["name"] == "卡密"
    reused = await api.op("CouponRedeemCode", {"code": codes[0]}, token=token)
    assert reused["data"]["couponRedeemCode"]["userErrors"][0]["code"] == "CODE_ALREADY_USED"
    wrong = await api.op("CouponRedeemCode", {"code": "NOPE-NOPE-NOPE-NOPE"}, token=token)
    assert wrong["data"]["couponRedeemCode"]["userErrors"][0]["code"] == "INVALID_CODE"
    async with create_session_factory(engine)() as s:
        from models import CouponCode

        stored = (await s.scalars(select(CouponCode.code_hash))).all()
        assert all(codes[0].replace("-", "") not in h for h in stored)  # only hashes kept


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_issue_and_stats_as_written(api: Api) -> None:
    tid = await create_template(api, template("补偿券", distribution="SYSTEM", totalQuantity=2))
    ids = []
    for phone in ("13800138000", "13900139000", "13700137000"):
        await customer(api, phone)
    listing = await api.post(
        '{ auditLog(filter: {targetType: "Customer"}) { totalCount } }', token=api.admin_token
    )
    assert "errors" not in listing
    from core.ids import encode_id

    ids = [encode_id("Customer", i) for i in (1, 2)]
    issued = (await api.admin("CouponIssue", {"templateId": tid, "customerIds": ids}))[
        "couponIssue"
    ]
    assert issued["issuedCount"] == 2
    over = await api.op(
        "CouponIssue",
        {"templateId": tid, "customerIds": [encode_id("Customer", 3)]},
        token=api.admin_token,
    )
    assert over["data"]["couponIssue"]["userErrors"][0]["code"] == "COUPON_SOLD_OUT"
    stats = (await api.admin("CouponStats", {"id": tid}))["couponTemplate"]["stats"]
    assert stats == {
        "issued": 2,
        "claimed": 0,
        "used": 0,
        "redemptionRate": 0.0,
        "discountCost": {"amount": "0.00"},
        "orderGmv": {"amount": "0.00"},
    }


@pytest.mark.parametrize(
    "changes,code,field",
    [
        ({"amount": "200"}, "INVALID_RULE", "amount"),
        ({"minSpend": None}, "INVALID_PRICE", "minSpend"),
        ({"type": "PERCENT", "percentOff": "100", "amount": None}, "INVALID_RULE", "percentOff"),
        ({"validity": {"daysAfterClaim": 7, **WINDOW}}, "INVALID_SCHEDULE", "validity"),
        (
            {"validity": {"startsAt": WINDOW["endsAt"], "endsAt": WINDOW["startsAt"]}},
            "INVALID_SCHEDULE",
            "validity",
        ),
        ({"totalQuantity": 0}, "INVALID_QUANTITY", "totalQuantity"),
        ({"amount": "-5"}, "INVALID_PRICE", "amount"),
    ],
)
async def test_template_validation(
    api: Api, changes: dict[str, Any], code: str, field: str
) -> None:
    result = await api.op(
        "CouponTemplateCreate", {"input": template(**changes)}, token=api.admin_token
    )
    errors = result["data"]["couponTemplateCreate"]["userErrors"]
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in errors
    ], errors


async def test_discount_texts(api: Api) -> None:
    from models.coupons import CouponTemplate
    from models.coupons import CouponType

    def text(**kw: Any) -> str:
        return coupons.discount_text(CouponTemplate(**kw))

    assert text(type=CouponType.CASH, amount=1000) == "无门槛减10"
    assert text(type=CouponType.THRESHOLD, amount=2000, min_spend=20000) == "满200减20"
    assert text(type=CouponType.PERCENT, percent_off="15", max_discount=5000) == "8.5折 最高减50"
    del api


async def test_cart_lists_usable_and_unusable_coupons(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, _, _ = await shop(api, engine)
    big = await create_template(api, template("满200减20"))
    cash = await create_template(api, template("无门槛5元", type="CASH", amount="5", minSpend=None))
    far = await create_template(api, template("满1000减100", amount="100", minSpend="1000"))
    token = await customer(api, "13800138000")
    for tid in (big, cash, far):
        await api.ok("CouponClaim", {"templateId": tid}, token=token)
    cart = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 2}]}, token=token))[
        "cartCreate"
    ]["cart"]
    usable = {
        u["coupon"]["template"]["name"]: (u["discount"]["amount"], u["recommended"])
        for u in cart["coupons"]["usable"]
    }
    assert usable == {"满200减20": ("20.00", True), "无门槛5元": ("5.00", False)}
    unusable = {u["coupon"]["template"]["name"]: u["reason"] for u in cart["coupons"]["unusable"]}
    assert unusable == {"满1000减100": "Spend ¥760 more to use it"}
    # 240 − 20 (the recommended platform coupon) = 220
    assert cart["cost"]["couponDiscount"]["amount"] == "20.00"
    assert cart["cost"]["total"]["amount"] == "220.00"
    assert c.products


async def shops_with_coupons(
    api: Api, engine: AsyncEngine, shops: int
) -> tuple[list[str], list[str]]:
    """`shops` merchants, each selling one phone (100.00 + 1.00 × its number, in stock) and
    issuing six coupons worth 3.00 + 0.10 × its number + 0.01 × k (CASH, 满50 and capped 10%
    in turn), plus three platform coupons: 无门槛5元, 3% off (at most 4元) and a 满<whole
    cart>减(3 × shops + 5) that any merchant coupon breaks — tests/factories.py's
    cart, through the operations. Returns the SKUs and the coupon templates."""
    c, *_ = await shop(api, engine)
    skus, templates = [], []
    for m in range(1, shops + 1):
        merchant = (
            await api.admin(
                "MerchantCreate", {"input": {"name": f"Shop {m}", "selfOperated": False}}
            )
        )["merchantCreate"]["merchant"]["id"]
        data = phone_input(c, f"Phone {m}", "Apple", [f"{100 + m}.00"], code=f"S{m}")
        data.update(merchantId=merchant, shippingTemplateId=None)
        product = await add_product(api, c, f"S{m}", data)
        sku = (await api.ok("ProductDetail", {"id": product["id"]}))["product"]["skus"][0]["id"]
        warehouse = (
            await api.admin(
                "WarehouseCreate",
                {"input": {"code": f"W-S{m}", "name": f"W-S{m}", "merchantId": merchant}},
            )
        )["warehouseCreate"]["warehouse"]["id"]
        async with create_session_factory(engine)() as s:
            await inventory.receive_stock(
                s, decode_id(sku)[1], decode_id(warehouse)[1], 10, "stock", None
            )
            await s.commit()
        skus.append(sku)
        for k in range(6):
            value = f"{(300 + 10 * m + k) / 100:.2f}"
            kinds: list[dict[str, Any]] = [
                {"type": "CASH", "amount": value, "minSpend": None},
                {"type": "THRESHOLD", "amount": value, "minSpend": "50"},
                {
                    "type": "PERCENT",
                    "amount": None,
                    "percentOff": "10",
                    "maxDiscount": value,
                    "minSpend": None,
                },
            ]
            kind = kinds[k % 3]
            templates.append(
                await create_template(api, template(f"S{m}-{k}", merchantId=merchant, **kind))
            )
    whole = sum(100 + m for m in range(1, shops + 1))
    for data in (
        template("无门槛5元", type="CASH", amount="5", minSpend=None),
        template("3%", type="PERCENT", amount=None, percentOff="3", maxDiscount="4", minSpend=None),
        template("满整单", amount=str(3 * shops + 5), minSpend=str(whole)),
    ):
        templates.append(await create_template(api, data))
    return skus, templates


async def test_six_shops_with_six_coupons_each_price_within_the_budget(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue "Hostile input and faults never cost a worker": trying every coupon set took
    6^6 × 4 pricing runs for this cart (100 s); the search spends at most its budget."""
    skus, templates = await shops_with_coupons(api, engine, 6)
    token = await customer(api, "13800138000")
    for tid in templates:
        await api.ok("CouponClaim", {"templateId": tid}, token=token)
    await api.ok("CartCreate", {"lines": [{"skuId": s, "quantity": 1} for s in skus]}, token=token)
    runs = [0]
    evaluate = pricing._evaluate

    def counting(*args: Any, **kwargs: Any) -> pricing.PricingResult:
        runs[0] += 1
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(pricing, "_evaluate", counting)
    start = time.perf_counter()
    cart = (await api.ok("MyCart", token=token))["me"]["cart"]
    elapsed = time.perf_counter() - start
    print(f"MyCart, 6 shops × 6 coupons + 3: {elapsed * 1000:.1f} ms, {runs[0]} pricing runs")
    assert len(cart["coupons"]["usable"]) == 39
    assert runs[0] <= pricing.COUPON_SEARCH_BUDGET + 1
    recommended = sorted(
        u["coupon"]["template"]["name"] for u in cart["coupons"]["usable"] if u["recommended"]
    )
    assert recommended == sorted(["无门槛5元", *(f"S{m}-5" for m in range(1, 7))])
    # Σ (3.00 + 0.10 m + 0.05) for m = 1…6 = 20.40, plus 5
    assert cart["cost"]["couponDiscount"]["amount"] == "25.40"


async def test_product_shows_claimable_coupons(api: Api, engine: AsyncEngine) -> None:
    c, *_ = await shop(api, engine)
    await create_template(api, template("全场券"))
    await create_template(api, template("B专享", scope={"productIds": [c.products["B"]["id"]]}))
    detail = (await api.ok("ProductDetail", {"id": c.products["A"]["id"]}))["product"]
    assert [t["name"] for t in detail["claimableCoupons"]] == ["全场券"]
    assert detail["claimableCoupons"][0]["discountText"] == "满200减20"


async def test_registration_coupons(api: Api) -> None:
    await create_template(
        api,
        template(
            "新人券", distribution="SYSTEM", onRegistration=True, validity={"daysAfterClaim": 30}
        ),
    )
    token = await customer(api, "13800138000")
    wallet = (await api.ok("MyCoupons", token=token))["me"]["coupons"]
    assert [c["template"]["name"] for c in wallet] == ["新人券"]


async def test_lifecycle_lock_use_release_refund(
    engine: AsyncEngine, api: Api, clock: FixedClock
) -> None:
    tid = await create_template(api, template(validity={"daysAfterClaim": 10}))
    token = await customer(api, "13800138000")
    coupon_id = decode_id(
        (await api.ok("CouponClaim", {"templateId": tid}, token=token))["couponClaim"]["coupon"][
            "id"
        ]
    )[1]
    factory = create_session_factory(engine)
    now = clock.now()

    async def status() -> CouponStatus:
        async with factory() as s:
            return (await s.get_one(Coupon, coupon_id)).status

    async with factory() as s:
        await coupons.lock(s, [coupon_id], 1, "payment:1", now)
        await s.commit()
    assert await status() == CouponStatus.LOCKED
    async with factory() as s:
        with pytest.raises(Exception):  # noqa: B017 - a locked coupon cannot be locked twice
            await coupons.lock(s, [coupon_id], 1, "payment:2", now)
    async with factory() as s:
        assert await coupons.release(s, "payment:1", now) == 1  # unpaid order cancelled
        await s.commit()
    assert await status() == CouponStatus.AVAILABLE
    async with factory() as s:
        await coupons.lock(s, [coupon_id], 1, "payment:3", now)
        assert await coupons.use(s, "payment:3", now) == 1
        await s.commit()
    assert await status() == CouponStatus.USED
    async with factory() as s:  # full refund within validity: back to AVAILABLE
        assert await coupons.return_after_full_refund(s, "payment:3", now) == 1
        await s.commit()
    assert await status() == CouponStatus.AVAILABLE
    async with factory() as s:
        await coupons.lock(s, [coupon_id], 1, "payment:4", now)
        await s.commit()
    later = now + timedelta(days=11)
    async with factory() as s:  # released after its validity: EXPIRED, not AVAILABLE
        await coupons.release(s, "payment:4", later)
        await s.commit()
    assert await status() == CouponStatus.EXPIRED
    assert datetime(2026, 1, 1, tzinfo=UTC) < later
