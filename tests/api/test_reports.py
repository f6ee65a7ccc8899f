"""Reports (DOMAIN.md §10, issue 7) from paid orders: SalesReport as written (days in the
business time zone, GMV, AOV, units, top products), coupon and promotion statistics, and the
CMS ranking fed by orders."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import request_refund
from tests.api.checkout_data import shopper
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api

PROMOTION_STATS = """
query PromotionStats($id: ID!) {
  promotion(id: $id) { stats { orders discountCost { amount } orderGmv { amount } } }
}"""


async def sales(api: Api, engine: AsyncEngine, clock: FixedClock) -> dict[str, Any]:
    """Day 1 (Shanghai 04-10): A×2 + B×1 with 满400减20 and a coupon, paid: 500.00.
    Day 2 (paid 17:00Z = 01:00 04-11 in Shanghai): B×1, 300.00. An unpaid checkout."""
    shop = await open_shop(api, engine)
    promotion = await live(api, reduction("满400减20", amount="20", threshold="400"))
    tid = await create_template(api, template())
    first = await shopper(api, "13900003331", [(shop.sku_a, 2), (shop.sku_b, 1)])
    await api.ok("CouponClaim", {"templateId": tid}, token=first.token)
    await pay(api, first, await place(api, first))
    unpaid = await shopper(api, "13900003332", [(shop.sku_a, 1)])
    await place(api, unpaid)
    clock.advance(hours=9)
    second = await shopper(api, "13900003333", [(shop.sku_b, 1)])
    await pay(api, second, await place(api, second))
    return {"shop": shop, "promotion": promotion, "template": tid}


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_sales_report_as_written(api: Api, engine: AsyncEngine, clock: FixedClock) -> None:
    await sales(api, engine, clock)
    report = (await api.admin("SalesReport", {"from": "2026-04-09", "to": "2026-04-11"}))[
        "salesReport"
    ]
    assert report["days"] == [
        {
            "date": "2026-04-09",
            "gmv": {"amount": "0.00"},
            "paidOrders": 0,
            "units": 0,
            "averageOrderValue": {"amount": "0.00"},
        },
        {
            "date": "2026-04-10",
            "gmv": {"amount": "500.00"},
            "paidOrders": 1,
            "units": 3,
            "averageOrderValue": {"amount": "500.00"},
        },
        {
            "date": "2026-04-11",
            "gmv": {"amount": "300.00"},
            "paidOrders": 1,
            "units": 1,
            "averageOrderValue": {"amount": "300.00"},
        },
    ]
    top = [(t["product"]["title"], t["units"], t["gmv"]["amount"]) for t in report["topProducts"]]
    assert top == [("Phone A", 2, "222.22"), ("Phone B", 2, "577.78")]
    one_day = (await api.admin("SalesReport", {"from": "2026-04-11", "to": "2026-04-11"}))[
        "salesReport"
    ]
    assert [t["product"]["title"] for t in one_day["topProducts"]] == ["Phone B"]


async def test_report_range_is_checked(api: Api) -> None:
    backwards = await api.op(
        "SalesReport", {"from": "2026-04-11", "to": "2026-04-01"}, token=api.admin_token
    )
    assert backwards["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    customer = await api.op("SalesReport", {"from": "2026-04-01", "to": "2026-04-02"})
    assert customer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # a guest: log in first


async def test_coupon_and_promotion_stats_come_from_paid_orders(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    made = await sales(api, engine, clock)
    stats = (await api.admin("CouponStats", {"id": made["template"]}))["couponTemplate"]["stats"]
    assert stats == {
        "issued": 1,
        "claimed": 1,
        "used": 1,
        "redemptionRate": 1.0,
        "discountCost": {"amount": "20.00"},
        "orderGmv": {"amount": "500.00"},
    }
    promo = await api.post(PROMOTION_STATS, {"id": made["promotion"]}, token=api.admin_token)
    assert promo["data"]["promotion"]["stats"] == {
        "orders": 1,
        "discountCost": {"amount": "20.00"},
        "orderGmv": {"amount": "500.00"},
    }


async def publish_ranking_page(api: Api) -> None:
    """The APP page `rank`: one module ranking the last 7 days' top 10 sellers."""
    modules = [{"ranking": {"title": "热卖", "days": 7, "limit": 10}}]
    page = (
        await api.admin(
            "PageCreate",
            {"input": {"slug": "rank", "title": "榜单", "channels": ["APP"], "modules": modules}},
        )
    )["pageCreate"]["page"]
    await api.admin("PagePublish", {"id": page["id"]})


async def test_cms_ranking_lists_top_sellers_from_orders(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    buyers = [("13900003341", [(shop.sku_b, 3)]), ("13900003342", [(shop.sku_a, 1)])]
    for phone, lines in buyers:
        who = await shopper(api, phone, lines)
        await pay(api, who, await place(api, who))
    unpaid = await shopper(api, "13900003343", [(shop.sku_a, 5)])
    await place(api, unpaid)  # not paid: does not rank
    await publish_ranking_page(api)
    shown = (await api.ok("Page", {"slug": "rank"}, channel="APP"))["page"]["modules"][0]
    assert [(i["rank"], i["product"]["title"], i["unitsSold"]) for i in shown["items"]] == [
        (1, "Phone B", 3),
        (2, "Phone A", 1),
    ]
    clock.advance(days=8)  # the module counts the last 7 days
    later = (await api.ok("Page", {"slug": "rank"}, channel="APP"))["page"]["modules"][0]
    assert later["items"] == []


async def test_rankings_count_units_net_of_refunds(api: Api, engine: AsyncEngine) -> None:
    """Issue 20: B×3 outsells A×2 until two units of B come back; then A leads, in the CMS
    ranking and in the report's top products alike."""
    shop = await open_shop(api, engine)
    first = await shopper(api, "13900003351", [(shop.sku_b, 3)])
    refunded = await place(api, first)
    await pay(api, first, refunded)
    second = await shopper(api, "13900003352", [(shop.sku_a, 2)])
    await pay(api, second, await place(api, second))
    await publish_ranking_page(api)

    async def ranked() -> list[tuple[str, int]]:
        shown = (await api.ok("Page", {"slug": "rank"}, channel="APP"))["page"]["modules"][0]
        return [(i["product"]["title"], i["unitsSold"]) for i in shown["items"]]

    async def top() -> list[tuple[str, int]]:
        report = (await api.admin("SalesReport", {"from": "2026-04-10", "to": "2026-04-10"}))[
            "salesReport"
        ]
        return [(t["product"]["title"], t["units"]) for t in report["topProducts"]]

    assert await ranked() == await top() == [("Phone B", 3), ("Phone A", 2)]
    order_id = refunded["orders"][0]["id"]
    order = await api.post(ORDER_DETAIL, {"id": order_id}, token=first.token)
    line = order["data"]["order"]["lines"][0]
    asked = await request_refund(api, first.token, order_id, [(line["id"], 2)])
    await api.admin("RefundApprove", {"id": asked["id"]})
    assert await ranked() == await top() == [("Phone A", 2), ("Phone B", 1)]
