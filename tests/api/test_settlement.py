"""Merchant settlement (结算, DOMAIN.md §7): discounts recorded per line by who funds them, a
statement per merchant and period checked against hand-computed figures, the same figures as
CSV, and merchant staff held to their own statement."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.settings import Settings
from resolvers.context import Permission
from tests.api.checkout_data import Shop
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import request_refund
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.api.test_orders import detail
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.conftest import Api

DAY = {"from": "2026-04-10", "to": "2026-04-10"}  # T0 is 2026-04-10 16:00 in Shanghai


async def commission(api: Api, merchant: str, basis_points: int) -> None:
    """The platform sets a merchant's rate (merchantUpdate keeps the name)."""
    found = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Merchant { name selfOperated } } }",
        {"id": merchant},
        token=api.admin_token,
    )
    current = found["data"]["node"]
    done = await api.admin(
        "MerchantUpdate",
        {
            "id": merchant,
            "input": {
                "name": current["name"],
                "selfOperated": current["selfOperated"],
                "commissionRate": basis_points,
            },
        },
    )
    assert done["merchantUpdate"]["merchant"]["commissionRate"] == basis_points


async def sold_and_partly_refunded(api: Api, engine: AsyncEngine) -> Shop:
    """A×2 (120 each, first merchant M1, 5%) and C×1 (200, M2, 3%), paid together; one A
    refunded.

    Discounts, in pricing order:
      M2's promotion: C at 180                      → 20.00 funded by M2
      M1's cash coupon 10 on A                      → 10.00 funded by M1
      the platform's 满200减30 over A 230 + C 180 = 410, largest remainder:
        A 30 × 230/410 = 16.829… → 16.83, C 30 × 180/410 = 13.170… → 13.17  (platform)
    Lines: A 240 − 10 − 16.83 = 213.17; C 200 − 20 − 13.17 = 166.83; no shipping.
    Refund of 1 A: 213.17 × 1/2 = 106.585 → 106.58 (floor, the last unit takes the rest);
    the platform's share on it: 16.83 × 1/2 = 8.415 → 8.41 no longer owed."""
    shop = await open_shop(api, engine, two_merchants=True)
    await commission(api, shop.merchant, 500)
    await commission(api, shop.other_merchant, 300)
    await live(
        api,
        {
            "name": "C 特价",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_c]},
            "merchantId": shop.other_merchant,
            "rules": {"singleProduct": {"specialPrice": "180.00"}},
        },
    )
    platform = await create_template(api, template("满200减30", amount="30"))
    theirs = await create_template(
        api, template("M1 10 元", type="CASH", amount="10", minSpend=None, merchantId=shop.merchant)
    )
    who = await shopper(api, "13900004001", [(shop.sku_a, 2), (shop.sku_c, 1)])
    for tid in (platform, theirs):
        await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    payment = await place(api, who)
    assert payment["amountDue"]["amount"] == "380.00"  # 213.17 + 166.83
    await pay(api, who, payment)
    m1 = next(o for o in payment["orders"] if o["merchant"]["id"] == shop.merchant)
    line = (await detail(api, who, m1["id"]))["lines"][0]
    assert line["total"]["amount"] == "213.17"
    refund = await request_refund(api, who.token, m1["id"], [(line["id"], 1)], "one too many")
    assert refund["amount"]["amount"] == "106.58"
    await api.admin("RefundApprove", {"id": refund["id"]})
    return shop


def amounts(statement: dict[str, Any]) -> dict[str, str]:
    return {k: v["amount"] for k, v in statement.items() if isinstance(v, dict) and "amount" in v}


async def statement_of(api: Api, merchant: str, token: str | None = None) -> dict[str, Any]:
    found = await api.op(
        "SettlementStatement", {"merchantId": merchant, **DAY}, token=token or api.admin_token
    )
    assert "errors" not in found, found
    return found["data"]["settlementStatement"]


async def test_statements_by_hand_with_a_platform_coupon_over_two_merchants(
    api: Api, engine: AsyncEngine
) -> None:
    shop = await sold_and_partly_refunded(api, engine)
    m1 = await statement_of(api, shop.merchant)
    assert (m1["commissionRate"], m1["paidOrders"]) == (500, 1)
    assert amounts(m1) == {
        "grossSales": "240.00",  # 2 × 120
        "merchantFundedDiscounts": "10.00",  # M1's coupon
        "platformFundedDiscounts": "16.83",  # M1's share of the platform's 30
        "shipping": "0.00",
        "collected": "213.17",  # 240 − 10 − 16.83
        "refunds": "106.58",
        "refundedShipping": "0.00",
        "refundedPlatformFundedDiscounts": "8.41",
        "platformOwes": "8.42",  # 16.83 − 8.41
        "commissionBase": "115.01",  # 240 − 10 − (106.58 − 0 + 8.41)
        "commission": "5.75",  # 115.01 × 5% = 5.7505 → 5.75
        "netPayable": "109.26",  # 240 − 10 + 0 − 106.58 − 8.41 − 5.75 (= 213.17 + 8.42 − …)
    }
    m2 = await statement_of(api, shop.other_merchant)
    assert amounts(m2) == {
        "grossSales": "200.00",
        "merchantFundedDiscounts": "20.00",  # M2's own promotion
        "platformFundedDiscounts": "13.17",  # 30 − 16.83: the coupon's two shares sum to 30
        "shipping": "0.00",
        "collected": "166.83",  # 200 − 20 − 13.17
        "refunds": "0.00",
        "refundedShipping": "0.00",
        "refundedPlatformFundedDiscounts": "0.00",
        "platformOwes": "13.17",
        "commissionBase": "180.00",  # 200 − 20
        "commission": "5.40",  # 180 × 3%
        "netPayable": "174.60",  # 200 − 20 − 5.40 (= 166.83 + 13.17 − 5.40)
    }
    empty = await api.op(
        "SettlementStatement",
        {"merchantId": shop.merchant, "from": "2026-04-11", "to": "2026-04-30"},
        token=api.admin_token,
    )
    assert amounts(empty["data"]["settlementStatement"])["netPayable"] == "0.00"


async def test_lines_record_discounts_by_funder(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    tid = await create_template(api, template("满200减30", amount="30"))
    who = await shopper(api, "13900004002", [(shop.sku_a, 2)])
    await api.ok("CouponClaim", {"templateId": tid}, token=who.token)
    payment = await place(api, who)
    found = await api.admin("OrderDiscountFunders", {"id": payment["orders"][0]["id"]})
    line = found["order"]["lines"][0]
    assert line["platformFundedDiscount"]["amount"] == "30.00"
    assert line["merchantFundedDiscount"]["amount"] == "0.00"


async def test_merchant_staff_see_their_own_statement_only(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await sold_and_partly_refunded(api, engine)
    _, token = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="m1@shop.example",
        permissions=[Permission.VIEW_REPORTS.value],
    )
    mine = await statement_of(api, shop.merchant, token)
    assert amounts(mine)["netPayable"] == "109.26"
    theirs = await api.op(
        "SettlementStatement", {"merchantId": shop.other_merchant, **DAY}, token=token
    )
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await api.client.get(
        "/exports/settlement.csv",
        params={"merchantId": shop.other_merchant, **DAY},
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 403
    guest = await api.client.get(
        "/exports/settlement.csv", params={"merchantId": shop.merchant, **DAY}
    )
    assert guest.status_code == 401


async def test_csv_equals_the_query(api: Api, engine: AsyncEngine) -> None:
    shop = await sold_and_partly_refunded(api, engine)
    for merchant in (shop.merchant, shop.other_merchant):
        query = await statement_of(api, merchant)
        got = await api.client.get(
            "/exports/settlement.csv",
            params={"merchantId": merchant, **DAY},
            headers={"authorization": f"Bearer {api.admin_token}"},
        )
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        (row,) = list(csv.DictReader(io.StringIO(got.text)))
        assert {k: row[k] for k in amounts(query)} == amounts(query)
        assert (row["merchantId"], row["from"], row["to"]) == (merchant, DAY["from"], DAY["to"])
        assert int(row["commissionRate"]) == query["commissionRate"]
        assert int(row["paidOrders"]) == query["paidOrders"]


async def test_commission_rates_are_the_platforms_to_set(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    update = {"name": "自营 Self", "selfOperated": True}
    for rate in (-1, 10_001):
        refused = await api.op(
            "MerchantUpdate",
            {"id": shop.merchant, "input": {**update, "commissionRate": rate}},
            token=api.admin_token,
        )
        assert [e["code"] for e in refused["data"]["merchantUpdate"]["userErrors"]] == [
            "INVALID_INPUT"
        ]
    _, own = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="boss@m1.example",
        permissions=["MANAGE_CATALOG"],
    )
    raise_own = await api.op(
        "MerchantUpdate", {"id": shop.merchant, "input": {**update, "commissionRate": 0}}, token=own
    )
    assert raise_own["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a merchant's staff read their own rate, not another merchant's
    await commission(api, shop.merchant, 450)
    mine = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Merchant { commissionRate } } }",
        {"id": shop.merchant},
        token=own,
    )
    assert mine["data"]["node"] == {"commissionRate": 450}
    theirs = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Merchant { commissionRate } } }",
        {"id": shop.other_merchant},
        token=own,
    )
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # every admin change is audited: the rate before and after
    log = (await api.admin("AuditLog", {"first": 5}))["auditLog"]["edges"]
    change = next(e["node"] for e in log if e["node"]["action"] == "merchant.update")
    assert (change["before"]["commission_rate"], change["after"]["commission_rate"]) == (0, 450)
