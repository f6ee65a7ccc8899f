"""Gifts on refunds (issue 20): a gift (满赠/赠品) follows its main items back when the order
no longer earns it — released at once when unshipped; when shipped, returned with them
(RETURN_GIFT) or its price kept back from the money (DEDUCT_VALUE). Amounts by hand: Phone A
120.00, Phone B 300.00, 10 of each on hand."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id_of
from models import Sku
from models import StockMovement
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import request_refund
from tests.api.checkout_data import ship_all
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.test_orders import detail
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import create
from tests.api.test_promotions import gift_promotion
from tests.conftest import Api

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too


def spend_gift(threshold: str, gift_sku: str, policy: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "tiers": [{"threshold": threshold, "gifts": [{"skuId": gift_sku, "quantity": 1}]}]
    }
    if policy:
        rule["giftReturnPolicy"] = policy
    return {
        "name": f"满{threshold}赠",
        "type": "SPEND_GIFT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "rules": {"spendGift": rule},
    }


async def paid_gift_order(
    api: Api,
    engine: AsyncEngine,
    *,
    main: str,
    units: int,
    threshold: str,
    gift: str,
    policy: str | None = None,
) -> tuple[Shop, Shopper, str, dict[str, Any], dict[str, Any]]:
    shop = await open_shop(api, engine)
    skus = {"A": shop.sku_a, "B": shop.sku_b}
    created = await create(api, spend_gift(threshold, skus[gift], policy))
    assert created["userErrors"] == [], created
    assert created["promotion"]["giftReturnPolicy"] == (policy or "RETURN_GIFT")
    await api.admin("PromotionActivate", {"id": created["promotion"]["id"]})
    who = await shopper(api, "13900007777", [(skus[main], units)])
    payment = await place(api, who)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    main_line, gift_line = (await detail(api, who, order_id))["lines"]
    assert not main_line["isGift"] and gift_line["isGift"]
    return shop, who, order_id, main_line, gift_line


async def refund(
    api: Api, who: Shopper, order_id: str, line: dict[str, Any], quantity: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    asked = await request_refund(api, who.token, order_id, [(line["id"], quantity)], "不要了")
    approved = (await api.admin("RefundApprove", {"id": asked["id"]}))["refundApprove"]
    assert approved["userErrors"] == [], approved
    return asked, approved


async def returns(engine: AsyncEngine) -> list[int]:
    async with create_session_factory(engine)() as s:
        return list(
            (
                await s.scalars(
                    select(StockMovement.sku_id)
                    .where(StockMovement.type == "RETURN")
                    .order_by(StockMovement.id)
                )
            ).all()
        )


async def test_unshipped_gift_is_released_with_its_main_items(
    api: Api, engine: AsyncEngine
) -> None:
    # A×2 = 240 reaches 满200赠 B×1; nothing shipped
    shop, who, order_id, main, _gift = await paid_gift_order(
        api, engine, main="A", units=2, threshold="200", gift="B"
    )
    assert await stock_of(engine, shop.sku_b) == (10, 1)  # the gift is held
    # the main line recorded what it was priced by; the gift none: SQL NULL, not JSON null
    async with create_session_factory(engine)() as s:
        recorded = (
            await s.execute(
                text("SELECT is_gift, placed_facts IS NULL FROM order_lines ORDER BY id")
            )
        ).all()
    assert [tuple(map(bool, r)) for r in recorded] == [(False, False), (True, True)]
    asked, approved = await refund(api, who, order_id, main, 2)
    # every paid unit back and nothing sent: 240 plus the shipping fee, if any
    order = await detail(api, who, order_id)
    assert asked["amount"]["amount"] == order["total"]["amount"]
    assert approved["refund"]["amount"]["amount"] == order["total"]["amount"]
    assert approved["order"]["status"] == "REFUNDED"
    assert await stock_of(engine, shop.sku_b) == (10, 0)  # released at once
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert [ln["refundedQuantity"] for ln in order["lines"]] == [2, 1]
    assert order["payment"]["amountRefunded"]["amount"] == order["total"]["amount"]


async def test_partial_refund_that_still_qualifies_keeps_the_gift(
    api: Api, engine: AsyncEngine
) -> None:
    # A×3 = 360; refunding one keeps 240 ≥ 200: the gift stays held for shipping
    shop, who, order_id, main, _gift = await paid_gift_order(
        api, engine, main="A", units=3, threshold="200", gift="B"
    )
    asked, approved = await refund(api, who, order_id, main, 1)
    assert approved["refund"]["amount"]["amount"] == asked["amount"]["amount"] == "120.00"
    assert approved["order"]["status"] == "PAID"
    assert await stock_of(engine, shop.sku_b) == (10, 1)
    order = await detail(api, who, order_id)
    assert [ln["refundedQuantity"] for ln in order["lines"]] == [1, 0]
    # refunding one more drops to 120 < 200: now the gift goes
    await refund(api, who, order_id, main, 1)
    assert await stock_of(engine, shop.sku_b) == (10, 0)
    order = await detail(api, who, order_id)
    assert [ln["refundedQuantity"] for ln in order["lines"]] == [2, 1]
    assert order["status"] == "PAID"  # one A still to ship


async def test_shipped_gift_returns_with_the_refund(api: Api, engine: AsyncEngine) -> None:
    shop, who, order_id, main, _gift = await paid_gift_order(
        api, engine, main="A", units=2, threshold="200", gift="B", policy="RETURN_GIFT"
    )
    await ship_all(api, shop, order_id)
    assert await stock_of(engine, shop.sku_b) == (9, 0)
    asked, approved = await refund(api, who, order_id, main, 2)
    # shipped: the fee stays; the gift joins at 0
    assert approved["refund"]["amount"]["amount"] == asked["amount"]["amount"] == "240.00"
    assert approved["order"]["status"] == "REFUNDED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)
    assert await stock_of(engine, shop.sku_b) == (10, 0)  # restocked with the rest
    assert len(await returns(engine)) == 2
    order = await detail(api, who, order_id)
    assert [ln["refundedQuantity"] for ln in order["lines"]] == [2, 1]
    assert order["refundedAmount"]["amount"] == "240.00"


async def test_shipped_gift_kept_against_its_value(api: Api, engine: AsyncEngine) -> None:
    # B×2 = 600 reaches 满500赠 A×1 (A sells at 120.00); refunding one B keeps 300 < 500
    shop, who, order_id, main, _gift = await paid_gift_order(
        api, engine, main="B", units=2, threshold="500", gift="A", policy="DEDUCT_VALUE"
    )
    await ship_all(api, shop, order_id)
    # A's price rises after the order: the gift is worth what it was worth when given
    async with engine.begin() as conn:
        await conn.execute(
            update(Sku).where(Sku.id == decode_id_of(shop.sku_a, "Sku")).values(price=15000)
        )
    asked, approved = await refund(api, who, order_id, main, 1)
    assert asked["amount"]["amount"] == "300.00"
    assert approved["refund"]["amount"]["amount"] == "180.00"  # 300 − 120, not 300 − 150
    assert approved["order"]["status"] == "SHIPPED"
    assert await stock_of(engine, shop.sku_a) == (9, 0)  # the customer keeps the gift
    assert await stock_of(engine, shop.sku_b) == (9, 0)  # one B back
    order = await detail(api, who, order_id)
    assert order["refundedAmount"]["amount"] == "180.00"
    assert order["payment"]["amountRefunded"]["amount"] == "180.00"
    # the gift is settled: the last B refunds in full, nothing kept back twice
    _, last = await refund(api, who, order_id, main, 1)
    assert last["refund"]["amount"]["amount"] == "300.00"
    assert last["order"]["status"] == "REFUNDED"


async def test_per_unit_gift_follows_the_units_kept(api: Api, engine: AsyncEngine) -> None:
    # 赠品: each A bought adds one B; A×2 → B×2. Refunding one A (unshipped) releases one B.
    shop = await open_shop(api, engine)
    created = await create(
        api,
        gift_promotion("买A送B", shop.sku_b),
    )
    assert created["promotion"]["giftReturnPolicy"] == "RETURN_GIFT"
    await api.admin("PromotionActivate", {"id": created["promotion"]["id"]})
    who = await shopper(api, "13900008888", [(shop.sku_a, 2)])
    payment = await place(api, who)
    await pay(api, who, payment)
    order_id = payment["orders"][0]["id"]
    main, gift = (await detail(api, who, order_id))["lines"]
    assert gift["isGift"] and gift["quantity"] == 2
    assert await stock_of(engine, shop.sku_b) == (10, 2)
    _, approved = await refund(api, who, order_id, main, 1)
    assert approved["refund"]["amount"]["amount"] == "120.00"
    assert await stock_of(engine, shop.sku_b) == (10, 1)
    order = await detail(api, who, order_id)
    assert [ln["refundedQuantity"] for ln in order["lines"]] == [1, 1]
