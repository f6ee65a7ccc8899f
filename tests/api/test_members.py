"""Member center (会员中心) through the API: levels, growth, points, the ledger, staff overrides
and adjustments. Every number is worked out by hand in the comments (README "Member levels,
growth and points"): growth = whole yuan of a paid order, points earned 1 per yuan, 100 points
= ¥1 at checkout, at most 50% of the goods after promotions and coupons."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from models import MemberAccount
from models import PointsEntry
from services import members
from tests.api import checkout_data
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import checkout_input
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import refill
from tests.api.checkout_data import shopper
from tests.conftest import Api
from tests.conftest import make_staff

LEVELS = [("普通会员", 1, 0), ("银卡会员", 2, 300), ("金卡会员", 3, 1000)]


async def define_levels(api: Api) -> dict[str, str]:
    ids = {}
    for name, rank, threshold in LEVELS:
        made = await api.admin(
            "MemberLevelCreate",
            {
                "input": {
                    "name": name,
                    "rank": rank,
                    "growthThreshold": threshold,
                    "benefits": [f"{name}专享价"],
                }
            },
        )
        ids[name] = made["memberLevelCreate"]["memberLevel"]["id"]
    return ids


async def center(api: Api, who: Shopper) -> dict[str, Any]:
    return (await api.ok("MemberCenter", token=who.token))["me"]


async def ledger(api: Api, who: Shopper) -> list[tuple[str, int, int]]:
    found = (await api.ok("PointsLedger", token=who.token))["me"]["pointsLedger"]
    return [(e["node"]["kind"], e["node"]["points"], e["node"]["growth"]) for e in found["edges"]]


async def customer_id(api: Api, who: Shopper) -> str:
    return (await api.ok("Me", token=who.token))["me"]["id"]


async def refund(api: Api, who: Shopper, order_id: str, line_id: str, quantity: int) -> None:
    asked = await checkout_data.request_refund(
        api, who.token, order_id, [(line_id, quantity)], "不想要了"
    )
    await api.admin("RefundApprove", {"id": asked["id"]})


async def order_points(api: Api, who: Shopper, order_id: str) -> dict[str, Any]:
    return (await api.ok("OrderPoints", {"id": order_id}, token=who.token))["order"]


async def assert_ledger_is_the_balance(engine: AsyncEngine) -> None:
    async with create_session_factory(engine)() as s:
        for account in (await s.scalars(select(MemberAccount))).all():
            assert await members.ledger_sums(s, account.customer_id) == (
                account.points,
                account.growth,
            )


@pytest.mark.sqlite_too  # the contract flow, also on the newcomer's SQLite
async def test_member_center_as_written(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    ids = await define_levels(api)
    listed = (await api.admin("MemberLevels"))["memberLevels"]
    assert [(lv["name"], lv["rank"], lv["growthThreshold"]) for lv in listed] == LEVELS
    # Phone B 300 + Phone A 120 = 420.00, shipping free over 99
    who = await shopper(api, "13800138001", [(shop.sku_b, 1), (shop.sku_a, 1)])
    me = await center(api, who)
    assert (me["memberLevel"], me["growth"], me["points"]) == (1, 0, 0)
    assert me["level"]["name"] == "普通会员" and me["nextLevel"]["name"] == "银卡会员"
    assert me["growthToNextLevel"] == 300
    assert me["level"]["benefits"] == ["普通会员专享价"]
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "420.00"
    assert (await center(api, who))["growth"] == 0  # earned when paid, not before
    await pay(api, who, payment)
    me = await center(api, who)
    # growth 420 (whole yuan paid), points 420 (1 per yuan): 银卡 reached, 金卡 at 1000
    assert (me["memberLevel"], me["growth"], me["points"]) == (2, 420, 420)
    assert me["level"]["id"] == ids["银卡会员"] and me["growthToNextLevel"] == 580
    assert await ledger(api, who) == [("EARN", 420, 420)]
    page = (await api.ok("PointsLedger", token=who.token))["me"]["pointsLedger"]
    assert page["edges"][0]["node"]["order"]["id"] == payment["orders"][0]["id"]

    # staff: adjust the balance, hold at 金卡, then give the level back to growth
    customer = await customer_id(api, who)
    adjusted = (
        await api.admin(
            "CustomerPointsAdjust", {"customerId": customer, "points": 20000, "reason": "活动赠送"}
        )
    )["customerPointsAdjust"]["customer"]
    assert adjusted["points"] == 20420
    held = (
        await api.admin(
            "CustomerLevelOverride",
            {"customerId": customer, "levelId": ids["金卡会员"], "reason": "VIP 客户"},
        )
    )["customerLevelOverride"]["customer"]
    assert (held["memberLevel"], held["level"]["name"], held["levelOverride"]["name"]) == (
        3,
        "金卡会员",
        "金卡会员",
    )
    assert (await center(api, who))["memberLevel"] == 3
    cleared = (
        await api.admin(
            "CustomerLevelOverride", {"customerId": customer, "levelId": None, "reason": "到期"}
        )
    )["customerLevelOverride"]["customer"]
    assert (cleared["memberLevel"], cleared["levelOverride"]) == (2, None)
    seen = (await api.admin("CustomerMember", {"id": customer}))["node"]
    assert seen["pointsLedger"]["totalCount"] == 2 and seen["growth"] == 420
    await assert_ledger_is_the_balance(engine)


@pytest.mark.sqlite_too  # a contract flow: checkout with points
async def test_points_at_checkout_capped_and_refunded_in_proportion(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    await define_levels(api)
    who = await shopper(api, "13800138002", [(shop.sku_a, 2)])  # 2 × 120 = 240.00
    customer = await customer_id(api, who)
    await api.admin(
        "CustomerPointsAdjust", {"customerId": customer, "points": 20000, "reason": "活动赠送"}
    )
    preview = (
        await api.ok("CheckoutPointsPreview", {"input": checkout_input(who)}, token=who.token)
    )["checkoutPreview"]
    # cap: 50% of 240.00 = 120.00 = 12000 points; the balance (20000) is more
    assert preview["points"] == {
        "balance": 20000,
        "maxUsable": 12000,
        "used": 0,
        "discount": {"amount": "0.00"},
    }
    asked = (
        await api.ok(
            "CheckoutPointsPreview",
            {"input": checkout_input(who, pointsToUse=15000)},
            token=who.token,
        )
    )["checkoutPreview"]
    # asking 15000 uses the cap: 12000 points pay 120.00; shipping stays free (judged on 240)
    assert asked["points"]["used"] == 12000 and asked["points"]["discount"]["amount"] == "120.00"
    assert asked["cost"]["pointsDiscount"]["amount"] == "120.00"
    assert asked["cost"]["couponDiscount"]["amount"] == "0.00"
    assert asked["cost"]["total"]["amount"] == "120.00"
    assert asked["merchantOrders"][0]["pointsDiscount"]["amount"] == "120.00"
    payment = await place(api, who, pointsToUse=15000)
    assert payment["amountDue"]["amount"] == "120.00"
    order_id = payment["orders"][0]["id"]
    order = await order_points(api, who, order_id)
    assert order["pointsUsed"] == 12000 and order["pointsDiscount"]["amount"] == "120.00"
    line = order["lines"][0]
    assert line["total"]["amount"] == "120.00"
    assert line["discounts"] == [
        {"amount": {"amount": "120.00"}, "label": "积分抵扣", "sourceId": None}
    ]
    assert (await center(api, who))["points"] == 8000  # 20000 − 12000
    await pay(api, who, payment)
    me = await center(api, who)
    assert (me["points"], me["growth"], me["memberLevel"]) == (8120, 120, 1)  # +120 earned

    # refund 1 of 2 units: money 120.00 × 1/2 = 60.00; points spent back 12000 × 1/2 = 6000;
    # earned taken back 120 − ⌊120 × 60/120⌋ = 60 points and 60 growth
    await refund(api, who, order_id, line["id"], 1)
    assert (await order_points(api, who, order_id))["refundedAmount"]["amount"] == "60.00"
    me = await center(api, who)
    assert (me["points"], me["growth"]) == (8120 + 6000 - 60, 60)
    # the last unit: everything left comes back and goes
    await refund(api, who, order_id, line["id"], 1)
    me = await center(api, who)
    assert (me["points"], me["growth"]) == (20000, 0)
    assert await ledger(api, who) == [
        ("CLAWBACK", -60, -60),
        ("REFUND", 6000, 0),
        ("CLAWBACK", -60, -60),
        ("REFUND", 6000, 0),
        ("EARN", 120, 120),
        ("SPEND", -12000, 0),
        ("ADJUST", 20000, 0),
    ]
    await assert_ledger_is_the_balance(engine)


async def test_refunds_downgrade_and_cancellations_give_points_back(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine)
    await define_levels(api)
    who = await shopper(api, "13800138003", [(shop.sku_b, 1), (shop.sku_a, 1)])
    payment = await place(api, who)
    await pay(api, who, payment)
    assert (await center(api, who))["memberLevel"] == 2  # 420 growth: 银卡
    order = await order_points(api, who, payment["orders"][0]["id"])
    # refund Phone B (300.00 of 420.00): growth 420 − ⌊420 × 120/420⌋ = 300 taken back → 120
    b_line = next(ln for ln in order["lines"] if ln["total"]["amount"] == "300.00")
    await refund(api, who, order["id"], b_line["id"], 1)
    me = await center(api, who)
    assert (me["growth"], me["points"], me["memberLevel"]) == (120, 120, 1)  # back to 普通

    # an unpaid order using points, cancelled: the points come back at once
    await refill(api, who, [(shop.sku_a, 1)])  # 120.00: cap 60.00 = 6000 points; balance 120
    placed = await place(api, who, key="key-2", pointsToUse=100)
    assert placed["amountDue"]["amount"] == "119.00"
    assert (await center(api, who))["points"] == 20
    cancelled = await api.ok(
        "OrderCancel", {"id": placed["orders"][0]["id"], "reason": "改主意"}, token=who.token
    )
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    assert (await center(api, who))["points"] == 120
    assert (await ledger(api, who))[:2] == [("REFUND", 100, 0), ("SPEND", -100, 0)]
    await assert_ledger_is_the_balance(engine)


async def test_points_refusals_write_nothing(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13800138004", [(shop.sku_a, 1)])
    too_many = await api.op(
        "CheckoutComplete",
        {"input": checkout_input(who, pointsToUse=1), "idempotencyKey": "k"},
        token=who.token,
    )
    errors = too_many["data"]["checkoutComplete"]["userErrors"]
    assert errors == [
        {
            "field": "pointsToUse",
            "code": "INSUFFICIENT_POINTS",
            "message": "The balance is 0 points.",
        }
    ]
    customer = await customer_id(api, who)
    taken = await api.op(
        "CustomerPointsAdjust",
        {"customerId": customer, "points": -1, "reason": "x"},
        token=api.admin_token,
    )
    assert taken["data"]["customerPointsAdjust"]["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"
    await api.admin("CustomerPointsAdjust", {"customerId": customer, "points": 50, "reason": "x"})
    # 100 points = ¥1, so 50 points pay 0.50 of the 120.00
    preview = (
        await api.ok(
            "CheckoutPointsPreview", {"input": checkout_input(who, pointsToUse=50)}, token=who.token
        )
    )["checkoutPreview"]
    assert preview["cost"]["total"]["amount"] == "119.50"
    async with create_session_factory(engine)() as s:
        assert len((await s.scalars(select(PointsEntry))).all()) == 1  # the adjustment only


async def test_levels_are_ordered_and_follow_their_changes(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    ids = await define_levels(api)
    bad = await api.op(
        "MemberLevelCreate",
        {"input": {"name": "铂金", "rank": 4, "growthThreshold": 500}},
        token=api.admin_token,
    )
    errors = bad["data"]["memberLevelCreate"]["userErrors"]
    assert [e["code"] for e in errors] == ["LEVEL_ORDER"]  # 金卡 (rank 3) needs 1000
    same = await api.op(
        "MemberLevelCreate",
        {"input": {"name": "金卡会员", "rank": 4, "growthThreshold": 5000}},
        token=api.admin_token,
    )
    assert same["data"]["memberLevelCreate"]["userErrors"][0]["code"] == "DUPLICATE_NAME"
    who = await shopper(api, "13800138005", [(shop.sku_b, 1), (shop.sku_a, 1)])
    await pay(api, who, await place(api, who))  # growth 420: 银卡
    moved = await api.admin(
        "MemberLevelUpdate",
        {"id": ids["银卡会员"], "input": {"name": "银卡会员", "rank": 2, "growthThreshold": 500}},
    )
    assert moved["memberLevelUpdate"]["memberLevel"]["growthThreshold"] == 500
    assert (await center(api, who))["memberLevel"] == 1  # 420 < 500 now
    customer = await customer_id(api, who)
    await api.admin(
        "CustomerLevelOverride",
        {"customerId": customer, "levelId": ids["金卡会员"], "reason": "VIP"},
    )
    held = await api.op("MemberLevelDelete", {"id": ids["金卡会员"]}, token=api.admin_token)
    assert held["data"]["memberLevelDelete"]["userErrors"][0]["code"] == "LEVEL_IN_USE"
    await api.admin("CustomerLevelOverride", {"customerId": customer, "reason": "清除"})
    gone = await api.admin("MemberLevelDelete", {"id": ids["普通会员"]})
    assert gone["memberLevelDelete"]["memberLevel"]["name"] == "普通会员"
    me = await center(api, who)
    assert (me["memberLevel"], me["level"], me["nextLevel"]["name"]) == (0, None, "银卡会员")


async def test_member_fields_are_the_members_and_customer_staffs_only(
    api: Api, engine: AsyncEngine, settings: Any, clock: Any
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13800138006", [(shop.sku_a, 1)])
    customer = await customer_id(api, who)
    _, orders_staff = await make_staff(
        engine, settings, clock, email="cs@example.com", permissions=["MANAGE_ORDERS"]
    )
    seen = await api.op("CustomerMember", {"id": customer}, token=orders_staff)
    assert {e["extensions"]["code"] for e in seen["errors"]} == {"FORBIDDEN"}
    _, members_staff = await make_staff(
        engine, settings, clock, email="crm@example.com", permissions=["MANAGE_CUSTOMERS"]
    )
    ok = await api.ok("CustomerMember", {"id": customer}, token=members_staff)
    assert ok["node"]["points"] == 0 and decode_id(ok["node"]["id"])[0] == "Customer"


async def test_points_split_over_sub_orders_and_one_cancelled_gives_its_share_back(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    # Phone A 120.00 (merchant 1) + Phone C 200.00 (merchant 2) = 320.00, shipping free
    who = await shopper(api, "13800138007", [(shop.sku_a, 1), (shop.sku_c, 1)])
    customer = await customer_id(api, who)
    await api.admin(
        "CustomerPointsAdjust", {"customerId": customer, "points": 10000, "reason": "活动赠送"}
    )
    # 10000 points = 100.00 (cap 160.00): spread 120:200 → 37.50 and 62.50; the points too
    payment = await place(api, who, pointsToUse=10000)
    assert payment["amountDue"]["amount"] == "220.00"
    totals = {o["merchant"]["id"]: o["total"]["amount"] for o in payment["orders"]}
    assert totals == {shop.merchant: "82.50", shop.other_merchant: "137.50"}
    mine = next(o for o in payment["orders"] if o["merchant"]["id"] == shop.merchant)
    order = await order_points(api, who, mine["id"])
    assert (order["pointsUsed"], order["pointsDiscount"]["amount"]) == (3750, "37.50")
    funders = (await api.admin("OrderDiscountFunders", {"id": mine["id"]}))["order"]
    assert funders["lines"][0]["platformFundedDiscount"]["amount"] == "37.50"  # the platform's
    await api.ok("OrderCancel", {"id": mine["id"], "reason": "不要了"}, token=who.token)
    assert (await center(api, who))["points"] == 3750  # its share only; 6250 stay spent
    log = (await api.admin("AuditLog"))["auditLog"]["edges"]
    assert [e["node"]["action"] for e in log][:1] == ["member.points_adjust"]
    await assert_ledger_is_the_balance(engine)
