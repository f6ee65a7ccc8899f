"""More promotion shapes (issue 19) through GraphQL, with hand-computed numbers: 满N件M折 (N
units of the scope, every unit at M折), 第二件半价 per pair (every second unit in price order)
next to the existing multi-buy shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from models import Promotion
from services import inventory
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.checkout_data import ADDRESS
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import stock_of
from tests.api.test_coupons import customer
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import create
from tests.api.test_promotions import live
from tests.conftest import Api


@dataclass
class Goods:
    a_black: str  # Phone A 黑, 120.00
    a_white: str  # Phone A 白, 99.99
    b: str  # Phone B, 300.00
    product_a: str
    product_b: str
    merchant: str
    other_merchant: str


async def goods(api: Api, engine: AsyncEngine) -> Goods:
    """Phone A in two colours at different prices, Phone B; 20 units of each SKU."""
    c = await build_catalog(api)
    await add_product(
        api, c, "A", phone_input(c, "Phone A", "Apple", ["120.00", "99.99"], code="A")
    )
    await add_product(api, c, "B", phone_input(c, "Phone B", "华为 Huawei", ["300.00"], code="B"))
    warehouse = (
        await api.admin(
            "WarehouseCreate", {"input": {"code": "W1", "name": "W1", "merchantId": c.merchant}}
        )
    )["warehouseCreate"]["warehouse"]["id"]
    skus = []
    for key in ("A", "B"):
        detail = await api.ok("ProductDetail", {"id": c.products[key]["id"]})
        skus += [s["id"] for s in detail["product"]["skus"]]
    async with create_session_factory(engine)() as s:
        for sku in skus:
            await inventory.receive_stock(
                s, decode_id(sku)[1], decode_id(warehouse)[1], 20, "stock", None
            )
        await s.commit()
    return Goods(
        skus[0],
        skus[1],
        skus[2],
        product_a=c.products["A"]["id"],
        product_b=c.products["B"]["id"],
        merchant=c.merchant,
        other_merchant=c.other_merchant,
    )


def multi_buy(name: str, rule: dict[str, Any], products: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "MULTI_BUY",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "scope": {"productIds": products},
        "rules": {"multiBuy": rule},
        **extra,
    }


async def live_multi_buy(
    api: Api, name: str, rule: dict[str, Any], products: list[str], **extra: Any
) -> str:
    return await live(api, multi_buy(name, rule, products, **extra))


async def cart_of(api: Api, lines: list[tuple[str, int]], token: str | None = None) -> Any:
    created = await api.ok(
        "CartCreate", {"lines": [{"skuId": s, "quantity": q} for s, q in lines]}, token=token
    )
    return created["cartCreate"]["cart"]


def money(cart: dict[str, Any], key: str) -> str:
    return str(cart["cost"][key]["amount"])


def line_discounts(cart: dict[str, Any]) -> list[list[tuple[str, str]]]:
    return [
        [(d["label"], d["amount"]["amount"]) for d in ln["cost"]["discounts"]]
        for ln in cart["lines"]
    ]


# --- 满N件M折 ---------------------------------------------------------------------------


async def test_n_units_of_the_scope_put_every_unit_at_m_zhe(api: Api, engine: AsyncEngine) -> None:
    g = await goods(api, engine)
    await live_multi_buy(
        api, "满3件8.5折", {"minUnits": 3, "percentOff": "15"}, [g.product_a, g.product_b]
    )
    # Two units of the scope: below 3, nothing.
    two = await cart_of(api, [(g.a_black, 1), (g.b, 1)])
    assert money(two, "promotionDiscount") == "0.00"
    assert money(two, "total") == "420.00"
    # A third unit of another product of the scope: the scope counts together, every unit at
    # 8.5折 (15% off, each unit rounded half up): 120 → 18.00, 300 → 45.00, 99.99 → 14.9985 →
    # 15.00. 519.99 − 78.00 = 441.99 (shipping free over 99).
    three = (
        await api.ok(
            "CartLinesAdd", {"cartId": two["id"], "lines": [{"skuId": g.a_white, "quantity": 1}]}
        )
    )["cartLinesAdd"]["cart"]
    assert line_discounts(three) == [
        [("满3件8.5折", "18.00")],
        [("满3件8.5折", "45.00")],
        [("满3件8.5折", "15.00")],
    ]
    assert money(three, "subtotal") == "519.99"
    assert money(three, "promotionDiscount") == "78.00"
    assert money(three, "total") == "441.99"
    # The storefront tag says what it is.
    detail = await api.ok("ProductDetail", {"id": g.product_b})
    assert "满3件8.5折" in detail["product"]["promotionTags"]


async def test_n_units_count_only_units_within_the_per_customer_limit(
    api: Api, engine: AsyncEngine
) -> None:
    g = await goods(api, engine)
    await live_multi_buy(
        api,
        "满3件8折",
        {"minUnits": 3, "percentOff": "20"},
        [g.product_a, g.product_b],
        perCustomerLimit=3,
    )
    # Four units, a limit of 3: the first three in cart order are at 8折 (A黑 2 × 24.00, one B
    # 60.00), the fourth at full price with a notice.
    four = await cart_of(api, [(g.a_black, 2), (g.b, 2)])
    assert line_discounts(four) == [[("满3件8折", "48.00")], [("满3件8折", "60.00")]]
    assert "1 unit(s) over the limit of 满3件8折 at full price" in four["lines"][1]["notices"]
    assert money(four, "total") == "732.00"  # 240 + 600 − 108


async def test_below_n_within_the_limit_gives_nothing(api: Api, engine: AsyncEngine) -> None:
    g = await goods(api, engine)
    await live_multi_buy(
        api, "满3件8折", {"minUnits": 3, "percentOff": "20"}, [g.product_a], perCustomerLimit=2
    )
    # Three units but only two may be at the promotion price: fewer than 3 count, so none.
    cart = await cart_of(api, [(g.a_black, 3)])
    assert money(cart, "promotionDiscount") == "0.00"
    assert money(cart, "total") == "360.00"


# --- 第二件半价 -------------------------------------------------------------------------


async def test_every_second_unit_in_price_order_is_half_price(
    api: Api, engine: AsyncEngine
) -> None:
    g = await goods(api, engine)
    await live_multi_buy(
        api,
        "第二件半价",
        {"everySecondUnit": True, "percentOff": "50"},
        [g.product_a, g.product_b],
    )
    # Three units of A (120, 120, 99.99 dearest first): pairs (120, 120) and (99.99): one unit
    # at half price, the cheaper of its pair: 60.00. B alone pairs with nothing (per product).
    three = await cart_of(api, [(g.a_black, 2), (g.a_white, 1), (g.b, 1)])
    assert line_discounts(three) == [[("第二件半价", "60.00")], [], []]
    assert money(three, "total") == "579.99"  # 240 + 99.99 + 300 − 60
    # A fourth unit (99.99): pairs (120, 120) and (99.99, 99.99): 60.00 + 49.995 → 50.00.
    line_white = three["lines"][1]["id"]
    four = (
        await api.ok(
            "CartLinesUpdate",
            {"cartId": three["id"], "lines": [{"id": line_white, "quantity": 2}]},
        )
    )["cartLinesUpdate"]["cart"]
    assert line_discounts(four) == [[("第二件半价", "60.00")], [("第二件半价", "50.00")], []]
    assert money(four, "promotionDiscount") == "110.00"
    assert money(four, "total") == "629.98"  # 240 + 199.98 + 300 − 110


async def test_checkout_charges_the_cart_numbers(api: Api, engine: AsyncEngine) -> None:
    g = await goods(api, engine)
    await live_multi_buy(
        api, "第二件7折", {"everySecondUnit": True, "percentOff": "30"}, [g.product_a]
    )
    token = await customer(api, "13800138000")
    address = (await api.ok("AddressCreate", {"input": ADDRESS}, token=token))["addressCreate"][
        "address"
    ]["id"]
    cart = await cart_of(api, [(g.a_white, 3)], token=token)
    # 99.99 × 3, the second unit 30% off: 29.997 → 30.00; 299.97 − 30.00 = 269.97.
    assert money(cart, "total") == "269.97"
    preview = await api.ok(
        "CheckoutPreview", {"input": {"cartId": cart["id"], "addressId": address}}, token=token
    )
    assert preview["checkoutPreview"]["cost"]["total"]["amount"] == "269.97"
    assert preview["checkoutPreview"]["cost"]["promotionDiscount"]["amount"] == "30.00"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"minUnits": 1, "percentOff": "20"}, "rules.minUnits"),
        ({"minUnits": 3, "percentOff": "100"}, "rules.percentOff"),
        ({"minUnits": 3}, "rules.percentOff"),
        ({"everySecondUnit": True}, "rules.percentOff"),
        ({"everySecondUnit": True, "percentOff": "0"}, "rules.percentOff"),
        ({"minUnits": 3, "everySecondUnit": True, "percentOff": "50"}, "rules"),
        ({"fromNthUnit": 2, "units": 3, "price": "150", "percentOff": "50"}, "rules"),
        ({"units": 3, "price": "150", "percentOff": "10"}, "rules"),
        ({}, "rules"),
        ({"everySecondUnit": False}, "rules"),
    ],
)
async def test_multi_buy_takes_exactly_one_valid_shape(
    api: Api, engine: AsyncEngine, rule: dict[str, Any], field: str
) -> None:
    g = await goods(api, engine)
    result = await create(api, multi_buy("x", rule, [g.product_a]))
    assert result["promotion"] is None
    assert {"code": "INVALID_RULE", "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in result["userErrors"]
    ], result


# --- 加价购 / 换购 ---------------------------------------------------------------------------


def add_on(
    name: str, products: list[str], choices: list[tuple[str, str]], **rule: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "ADD_ON",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "scope": {"productIds": products},
        "rules": {
            "addOn": {
                "threshold": "200",
                "choices": [{"skuId": s, "price": p} for s, p in choices],
                **rule,
            }
        },
    }


async def buyer(api: Api) -> tuple[str, str]:
    token = await customer(api, "13800138000")
    address = (await api.ok("AddressCreate", {"input": ADDRESS}, token=token))["addressCreate"][
        "address"
    ]["id"]
    return token, address


async def select(
    api: Api, token: str, cart: str, promotion: str, choices: list[tuple[str, int]]
) -> dict[str, Any]:
    done = await api.op(
        "CartAddOnSelect",
        {
            "cartId": cart,
            "promotionId": promotion,
            "choices": [{"skuId": s, "quantity": q} for s, q in choices],
        },
        token=token,
    )
    assert "errors" not in done, done
    return dict(done["data"]["cartAddOnSelect"])


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_add_on_offer_in_the_cart_and_at_checkout(api: Api, engine: AsyncEngine) -> None:
    g = await goods(api, engine)
    # An item promotion on A: the threshold counts A after it (120 → 100 a unit).
    await live(
        api,
        {
            "name": "A 直降",
            "type": "SINGLE_PRODUCT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [g.a_black]},
            "rules": {"singleProduct": {"specialPrice": "100.00"}},
        },
    )
    offer = await live(api, add_on("满200换购", [g.product_a], [(g.b, "199.00")]))
    admin_view = await api.admin("PromotionAddOn", {"id": offer})
    assert admin_view["promotion"]["tag"] == "满200换购"
    assert admin_view["promotion"]["addOn"] == {
        "threshold": {"amount": "200.00"},
        "limitPerOrder": 1,
        "choices": [{"sku": {"id": g.b, "code": "B-0"}, "addOnPrice": {"amount": "199.00"}}],
    }
    token, address = await buyer(api)
    cart = await cart_of(api, [(g.a_black, 1)], token=token)
    shown = (await api.ok("CartAddOns", {"id": cart["id"]}, token=token))["cart"]
    assert shown["addOnOffers"] == [
        {
            "promotion": {"id": offer, "name": "满200换购", "tag": "满200换购"},
            "threshold": {"amount": "200.00", "currencyCode": "CNY"},
            "eligibleSubtotal": {"amount": "100.00", "currencyCode": "CNY"},
            "reached": False,
            "shortfall": {"amount": "100.00", "currencyCode": "CNY"},
            "limitPerOrder": 1,
            "selectedQuantity": 0,
            "choices": [
                {
                    "sku": {"id": g.b, "specText": "黑 128GB"},
                    "name": "Phone B",
                    "price": {"amount": "300.00", "currencyCode": "CNY"},
                    "addOnPrice": {"amount": "199.00", "currencyCode": "CNY"},
                    "inStock": True,
                    "selectedQuantity": 0,
                }
            ],
        }
    ]
    # Picked below the threshold: the add-on line waits outside the totals, saying why.
    picked = await select(api, token, cart["id"], offer, [(g.b, 1)])
    assert picked["userErrors"] == []
    waiting = picked["cart"]
    assert [ln["status"] for ln in waiting["lines"]] == ["AVAILABLE", "ADD_ON_LOCKED"]
    assert waiting["lines"][1]["addOnPromotion"] == {"id": offer}
    assert "Spend ¥100 more on the offer's goods to add this" in waiting["lines"][1]["notices"]
    assert waiting["cost"]["total"]["amount"] == "100.00"
    assert waiting["addOnOffers"][0]["selectedQuantity"] == 1
    # Over the per-order limit, or a SKU the offer does not list: refused, nothing changes.
    over = await select(api, token, cart["id"], offer, [(g.b, 2)])
    assert [(e["code"], e["field"]) for e in over["userErrors"]] == [
        ("ADD_ON_LIMIT_EXCEEDED", "choices")
    ]
    stranger = await select(api, token, cart["id"], offer, [(g.a_white, 1)])
    assert [(e["code"], e["field"]) for e in stranger["userErrors"]] == [
        ("PROMOTION_NOT_APPLICABLE", "choices.0.skuId")
    ]
    more = await api.op(
        "CartLinesUpdate",
        {"cartId": cart["id"], "lines": [{"id": waiting["lines"][1]["id"], "quantity": 2}]},
        token=token,
    )
    assert more["data"]["cartLinesUpdate"]["userErrors"][0]["code"] == "ADD_ON_LIMIT_EXCEEDED"
    # A second A reaches 200 (2 × 100 after 直降): B at 199.00 instead of 300.00 (−101.00).
    # The ordinary B line and the add-on B line are two lines of the same SKU.
    await api.ok(
        "CartLinesAdd",
        {"cartId": cart["id"], "lines": [{"skuId": g.a_black, "quantity": 1}]},
        token=token,
    )
    reached = (await api.ok("CartAddOns", {"id": cart["id"]}, token=token))["cart"]
    assert reached["addOnOffers"][0]["reached"] is True
    assert reached["addOnOffers"][0]["shortfall"]["amount"] == "0.00"
    assert [ln["status"] for ln in reached["lines"]] == ["AVAILABLE", "AVAILABLE"]
    assert [ln["cost"]["total"]["amount"] for ln in reached["lines"]] == ["200.00", "199.00"]
    assert reached["cost"]["promotionDiscount"]["amount"] == "141.00"  # 2 × 20 + 101
    assert reached["cost"]["total"]["amount"] == "399.00"
    # Checkout charges the add-on price and reserves the add-on unit like any line.
    placed = await api.ok(
        "CheckoutComplete",
        {"input": {"cartId": cart["id"], "addressId": address}, "idempotencyKey": "k1"},
        token=token,
    )
    payment = placed["checkoutComplete"]["payment"]
    assert payment["amountDue"]["amount"] == "399.00"
    assert await stock_of(engine, g.b) == (20, 1)
    order = await api.post(ORDER_DETAIL, {"id": payment["orders"][0]["id"]}, token=token)
    lines = order["data"]["order"]["lines"]
    assert [(ln["total"]["amount"], ln["isGift"]) for ln in lines] == [
        ("200.00", False),
        ("199.00", False),
    ]
    assert [(d["label"], d["amount"]["amount"]) for d in lines[1]["discounts"]] == [
        ("满200换购", "101.00")
    ]
    after = (await api.ok("CartAddOns", {"id": cart["id"]}, token=token))["cart"]
    assert after["lines"] == [] and after["addOnOffers"] == []
    # Paid, then main goods come back: without them the offer no longer holds, so the
    # add-on must come back in the same request (its price is never kept unearned).
    await api.ok(
        "PaymentConfirm",
        {"paymentId": payment["id"], "transactionId": "t1", "amount": "399.00"},
        token=token,
    )

    async def refund(*wanted: tuple[int, int]) -> dict[str, Any]:
        asked = await api.op(
            "RefundRequest",
            {
                "orderId": payment["orders"][0]["id"],
                "lines": [{"orderLineId": lines[i]["id"], "quantity": q} for i, q in wanted],
                "reason": "不想要了",
            },
            token=token,
        )
        return dict(asked["data"]["orderRefundRequest"])

    for alone in ((0, 1), (0, 2)):  # 100 or 0 left of the 200 that earned the add-on
        refused = await refund(alone)
        assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
            ("ADD_ON_MUST_RETURN", "lines")
        ]
        assert refused["refund"] is None
    both = await refund((0, 2), (1, 1))
    assert both["userErrors"] == []
    assert both["refund"]["amount"]["amount"] == "399.00"  # 200 + 199, as paid


async def test_an_add_on_below_the_threshold_does_not_check_out(
    api: Api, engine: AsyncEngine
) -> None:
    g = await goods(api, engine)
    offer = await live(api, add_on("满200换购", [g.product_a], [(g.b, "199.00")]))
    token, address = await buyer(api)
    cart = await cart_of(api, [(g.a_black, 1)], token=token)  # 120: below 200
    await select(api, token, cart["id"], offer, [(g.b, 1)])
    placed = await api.ok(
        "CheckoutComplete",
        {"input": {"cartId": cart["id"], "addressId": address}, "idempotencyKey": "k1"},
        token=token,
    )
    payment = placed["checkoutComplete"]["payment"]
    assert payment["amountDue"]["amount"] == "120.00"  # A alone (free shipping over 99)
    assert await stock_of(engine, g.b) == (20, 0)
    left = (await api.ok("CartAddOns", {"id": cart["id"]}, token=token))["cart"]
    assert [(ln["status"], ln["addOnPromotion"]) for ln in left["lines"]] == [
        ("ADD_ON_LOCKED", {"id": offer})
    ]
    # Taking the pick back empties it.
    cleared = await select(api, token, cart["id"], offer, [])
    assert cleared["cart"]["lines"] == []


async def test_add_on_is_order_level_in_the_conflict_rule(api: Api, engine: AsyncEngine) -> None:
    g = await goods(api, engine)
    await live(api, add_on("满200换购", [g.product_a], [(g.b, "199.00")]))
    clash = await create(
        api,
        {
            "name": "满300减30",
            "type": "FULL_REDUCTION",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"productIds": [g.product_a]},
            "rules": {"fullReduction": {"tiers": [{"threshold": "300", "amount": "30"}]}},
        },
    )
    assert clash["userErrors"][0]["code"] == "PROMOTION_CONFLICT"
    assert [c["promotion"]["name"] for c in clash["conflicts"]] == ["满200换购"]
    elsewhere = await create(  # order level on B only: shares nothing with A's offer
        api,
        {
            "name": "B 满300减30",
            "type": "FULL_REDUCTION",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"productIds": [g.product_b]},
            "rules": {"fullReduction": {"tiers": [{"threshold": "300", "amount": "30"}]}},
        },
    )
    assert elsewhere["userErrors"] == []


@pytest.mark.parametrize(
    ("rule", "code", "field"),
    [
        ({"threshold": "0"}, "INVALID_PRICE", "rules.threshold"),
        ({"empty": True}, "INVALID_RULE", "rules.choices"),
        ({"limitPerOrder": 0}, "INVALID_RULE", "rules.limitPerOrder"),
        ({"limitPerOrder": 100}, "INVALID_RULE", "rules.limitPerOrder"),
        ({"price": "300.00"}, "INVALID_RULE", "rules.choices.0.price"),
        ({"price": "0"}, "INVALID_PRICE", "rules.choices.0.price"),
        ({"twice": True}, "INVALID_RULE", "rules.choices.1.skuId"),
        ({"foreign": True}, "MERCHANT_MISMATCH", "scope"),
    ],
)
async def test_add_on_rules_are_validated(
    api: Api, engine: AsyncEngine, rule: dict[str, Any], code: str, field: str
) -> None:
    g = await goods(api, engine)
    rule = dict(rule)  # the parameter is shared by both databases' runs: never changed
    price = rule.pop("price", "199.00")
    units = 0 if rule.pop("empty", False) else 2 if rule.pop("twice", False) else 1
    data = add_on("x", [g.product_a], [(g.b, price)] * units, **rule)
    if data["rules"]["addOn"].pop("foreign", False):  # B is not the other merchant's
        data["merchantId"] = g.other_merchant
        data["scope"] = {}
    result = await create(api, data)
    assert result["promotion"] is None
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in result["userErrors"]
    ], result


async def test_an_add_on_naming_a_sku_gone_since_is_a_user_error(
    api: Api, engine: AsyncEngine
) -> None:
    """Hostile input and faults: an offer may still name a SKU deleted after it was made (a
    never-listed product can be deleted); picking it is PRODUCT_UNAVAILABLE on the choice,
    not an internal error (found in review: a KeyError answered INTERNAL_ERROR)."""
    g = await goods(api, engine)
    offer = await live(api, add_on("满200换购", [g.product_a], [(g.b, "199.00")]))
    gone = 999_999
    async with create_session_factory(engine)() as s:
        row = await s.get_one(Promotion, decode_id(offer)[1])
        row.rules = {**row.rules, "choices": [[gone, price] for _, price in row.rules["choices"]]}
        await s.commit()
    token, _ = await buyer(api)
    cart = await cart_of(api, [(g.a_black, 1)], token=token)
    refused = await select(api, token, cart["id"], offer, [(encode_id("Sku", gone), 1)])
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("PRODUCT_UNAVAILABLE", "choices.0.skuId")
    ]
