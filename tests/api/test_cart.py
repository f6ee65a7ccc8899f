"""The cart (DOMAIN.md §3, issue 5) through the storefront operations as written: guest carts
by token, line rules, availability, promotions with choices, gifts, and ownership. CartFields
numbers equal the pricing function's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from services import inventory
from services.pricing import PricingInput
from services.pricing import PromotionType
from services.pricing import Scope
from services.pricing import Tier
from services.pricing import price
from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import gift_promotion
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.factories import FLAT10_FREE99
from tests.factories import NOW
from tests.factories import line
from tests.factories import promo


async def shop(api: Api, engine: AsyncEngine) -> tuple[Catalog, str, str, str]:
    """Phone A (120.00) and Phone B (300.00), 10 units each in stock."""
    c = await build_catalog(api)
    await add_product(api, c, "A", phone_input(c, "Phone A", "Apple", ["120.00"], code="A"))
    await add_product(api, c, "B", phone_input(c, "Phone B", "华为 Huawei", ["300.00"], code="B"))
    warehouse = (
        await api.admin(
            "WarehouseCreate", {"input": {"code": "W1", "name": "W1", "merchantId": c.merchant}}
        )
    )["warehouseCreate"]["warehouse"]
    skus = []
    for key in ("A", "B"):
        detail = await api.ok("ProductDetail", {"id": c.products[key]["id"]})
        sku = detail["product"]["skus"][0]["id"]
        skus.append(sku)
        async with create_session_factory(engine)() as s:
            await inventory.receive_stock(
                s, decode_id(sku)[1], decode_id(warehouse["id"])[1], 10, "stock", None
            )
            await s.commit()
    return c, skus[0], skus[1], warehouse["id"]


def amount(money: dict[str, Any]) -> str:
    return money["amount"]


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_guest_cart_flow_as_written(api: Api, engine: AsyncEngine) -> None:
    _, sku_a, sku_b, _ = await shop(api, engine)
    created = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 2}]}))[
        "cartCreate"
    ]["cart"]
    cart_id = created["id"]
    assert len(cart_id) >= 24  # unguessable
    assert amount(created["cost"]["subtotal"]) == "240.00"
    assert amount(created["cost"]["shipping"]) == "0.00"  # flat 10, free over 99
    line = created["lines"][0]
    assert line["status"] == "AVAILABLE" and line["selected"] is True
    assert line["sku"]["product"]["title"] == "Phone A"
    added = (
        await api.ok(
            "CartLinesAdd",
            {
                "cartId": cart_id,
                "lines": [{"skuId": sku_b, "quantity": 1}, {"skuId": sku_a, "quantity": 1}],
            },
        )
    )["cartLinesAdd"]["cart"]
    assert [ln["quantity"] for ln in added["lines"]] == [3, 1]  # same SKU adds up
    assert amount(added["cost"]["total"]) == "660.00"
    line_b = added["lines"][1]["id"]
    updated = (
        await api.ok(
            "CartLinesUpdate", {"cartId": cart_id, "lines": [{"id": line_b, "selected": False}]}
        )
    )["cartLinesUpdate"]["cart"]
    assert amount(updated["cost"]["total"]) == "360.00"  # unselected lines are not priced
    again = (await api.ok("GuestCart", {"id": cart_id}))["cart"]
    assert again["lines"][1]["selected"] is False
    removed = (await api.ok("CartLinesRemove", {"cartId": cart_id, "lineIds": [line_b]}))[
        "cartLinesRemove"
    ]["cart"]
    assert len(removed["lines"]) == 1


async def test_quantity_rules(api: Api, engine: AsyncEngine) -> None:
    _, sku_a, _, _ = await shop(api, engine)
    for quantity in (0, 100, -1):
        result = await api.op("CartCreate", {"lines": [{"skuId": sku_a, "quantity": quantity}]})
        assert result["data"]["cartCreate"]["userErrors"][0]["code"] == "INVALID_QUANTITY"
    cart = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 98}]}))[
        "cartCreate"
    ]["cart"]
    over = await api.op(
        "CartLinesAdd", {"cartId": cart["id"], "lines": [{"skuId": sku_a, "quantity": 2}]}
    )
    assert over["data"]["cartLinesAdd"]["userErrors"][0]["code"] == "INVALID_QUANTITY"
    unknown = await api.op("GuestCart", {"id": "not-a-cart"})
    assert unknown["data"]["cart"] is None


async def test_line_status_and_totals(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, sku_b, _ = await shop(api, engine)
    cart = (
        await api.ok(
            "CartCreate",
            {"lines": [{"skuId": sku_a, "quantity": 12}, {"skuId": sku_b, "quantity": 1}]},
        )
    )["cartCreate"]["cart"]
    statuses = [ln["status"] for ln in cart["lines"]]
    assert statuses == ["INSUFFICIENT_STOCK", "AVAILABLE"]
    assert "Only 10 left" in cart["lines"][0]["notices"]
    assert amount(cart["cost"]["subtotal"]) == "300.00"  # the short line stays out
    await api.admin("ProductDelist", {"id": c.products["B"]["id"]})
    cart = (await api.ok("GuestCart", {"id": cart["id"]}))["cart"]
    assert [ln["status"] for ln in cart["lines"]] == ["INSUFFICIENT_STOCK", "DELISTED"]
    assert amount(cart["cost"]["total"]) == "0.00"
    refused = await api.op(
        "CartLinesAdd", {"cartId": cart["id"], "lines": [{"skuId": sku_b, "quantity": 1}]}
    )
    assert refused["data"]["cartLinesAdd"]["userErrors"][0]["code"] == "PRODUCT_UNAVAILABLE"


async def test_promotions_choices_and_engine_numbers(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, sku_b, _ = await shop(api, engine)
    full = await live(api, reduction("满400减30", threshold="400", amount="30"))
    direct = {
        "name": "A 直降",
        "type": "SINGLE_PRODUCT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "combinable": False,
        "scope": {"productIds": [c.products["A"]["id"]]},
        "rules": {"singleProduct": {"specialPrice": "119.00"}},
    }
    item = await live(api, direct)
    cart = (
        await api.ok(
            "CartCreate",
            {"lines": [{"skuId": sku_a, "quantity": 1}, {"skuId": sku_b, "quantity": 1}]},
        )
    )["cartCreate"]["cart"]
    line_a, line_b = cart["lines"]
    # Non-combinable, so A takes one: its direct price (119 + B 300 alone, under 400: 419) or
    # 满400减30 together with B (420 − 30 = 390). The lower total is the default.
    assert line_a["promotionChoices"] == [
        {"id": item, "name": "A 直降", "type": "SINGLE_PRODUCT"},
        {"id": full, "name": "满400减30", "type": "FULL_REDUCTION"},
    ]
    assert line_a["promotion"]["id"] == full
    assert amount(cart["cost"]["promotionDiscount"]) == "30.00"
    assert amount(cart["cost"]["total"]) == "390.00"
    labels = {d["label"] for ln in cart["lines"] for d in ln["cost"]["discounts"]}
    assert labels == {"满400减30"}
    assert (
        sum(float(d["amount"]["amount"]) for ln in cart["lines"] for d in ln["cost"]["discounts"])
        == 30.0
    )
    # The same numbers from the pricing function fed by hand.
    expected = price(
        PricingInput(
            lines=[
                line("a", 1, 12000, shipping=FLAT10_FREE99),
                line("b", 2, 30000, shipping=FLAT10_FREE99),
            ],
            promotions=[
                promo(
                    1, PromotionType.FULL_REDUCTION, name="满400减30", tiers=(Tier(40000, 3000),)
                ),
                promo(
                    2,
                    PromotionType.SINGLE_PRODUCT,
                    name="A 直降",
                    scope=Scope(product_ids=frozenset({1})),
                    combinable=False,
                    special_price=11900,
                ),
            ],
            now=NOW,
        )
    )
    assert (expected.total, expected.promotion_discount, expected.shipping) == (39000, 3000, 0)
    assert [r.discount for r in expected.lines] == [
        int(
            float(ln["cost"]["subtotal"]["amount"]) * 100
            - float(ln["cost"]["total"]["amount"]) * 100
        )
        for ln in cart["lines"]
    ]
    # The shopper switches A to its direct price: kept, and the cart re-prices.
    switched = (
        await api.ok(
            "CartPromotionSelect",
            {"cartId": cart["id"], "lineId": line_a["id"], "promotionId": item},
        )
    )["cartPromotionSelect"]["cart"]
    assert switched["lines"][0]["promotion"]["id"] == item
    # A at 119 (out of 满减) + B at 300 (alone, under 400) = 419: dearer, but the choice holds
    assert amount(switched["cost"]["total"]) == "419.00"
    kept = (await api.ok("GuestCart", {"id": cart["id"]}))["cart"]
    assert kept["lines"][0]["promotion"]["id"] == item
    back = (
        await api.ok(
            "CartPromotionSelect",
            {"cartId": cart["id"], "lineId": line_a["id"], "promotionId": full},
        )
    )["cartPromotionSelect"]["cart"]
    assert back["lines"][0]["promotion"]["id"] == full
    assert amount(back["cost"]["total"]) == "390.00"
    wrong = await api.op(
        "CartPromotionSelect", {"cartId": cart["id"], "lineId": line_b["id"], "promotionId": item}
    )
    assert (
        wrong["data"]["cartPromotionSelect"]["userErrors"][0]["code"] == "PROMOTION_NOT_APPLICABLE"
    )


async def test_gifts_are_listed(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, sku_b, _ = await shop(api, engine)
    gift = gift_promotion("买A赠B", sku_b, scope={"productIds": [c.products["A"]["id"]]})
    await live(api, gift)
    cart = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 2}]}))["cartCreate"][
        "cart"
    ]
    assert cart["gifts"] == [
        {
            "sku": {"id": sku_b, "specText": "黑 128GB"},
            "quantity": 2,
            "promotion": {"id": cart["gifts"][0]["promotion"]["id"], "name": "买A赠B"},
        }
    ]


async def test_customer_carts_are_private(api: Api, engine: AsyncEngine, clock: FixedClock) -> None:
    _, sku_a, _, _ = await shop(api, engine)
    alice = (
        await api.ok(
            "Register",
            {"input": {"name": "A", "phone": "13800138000", "password": "secret-pass-9"}},
        )
    )["customerRegister"]["accessToken"]
    bob = (
        await api.ok(
            "Register",
            {"input": {"name": "B", "phone": "13900139000", "password": "secret-pass-9"}},
        )
    )["customerRegister"]["accessToken"]
    mine = (await api.ok("MyCart", token=alice))["me"]["cart"]
    assert mine["lines"] == []
    added = (
        await api.ok(
            "CartLinesAdd",
            {"cartId": mine["id"], "lines": [{"skuId": sku_a, "quantity": 1}]},
            token=alice,
        )
    )["cartLinesAdd"]["cart"]
    assert added["id"] == mine["id"]
    assert (await api.ok("GuestCart", {"id": mine["id"]}, token=bob))["cart"] is None
    assert (await api.ok("GuestCart", {"id": mine["id"]}))["cart"] is None
    stolen = await api.op(
        "CartLinesAdd",
        {"cartId": mine["id"], "lines": [{"skuId": sku_a, "quantity": 1}]},
        token=bob,
    )
    assert stolen["data"]["cartLinesAdd"]["userErrors"][0]["code"] == "NOT_FOUND"
    again = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 1}]}, token=alice))[
        "cartCreate"
    ]["cart"]
    assert again["id"] == mine["id"] and again["lines"][0]["quantity"] == 2  # one open cart


async def test_disabled_sku_line_stays_visible_outside_the_totals(
    api: Api, engine: AsyncEngine
) -> None:
    c, sku_a, sku_b, _ = await shop(api, engine)
    cart = (
        await api.ok(
            "CartCreate",
            {"lines": [{"skuId": sku_a, "quantity": 1}, {"skuId": sku_b, "quantity": 1}]},
        )
    )["cartCreate"]["cart"]
    # The merchant replaces B's only SKU with another colour: the old SKU is disabled.
    await api.admin(
        "ProductUpdate",
        {
            "id": c.products["B"]["id"],
            "input": {
                "skus": [
                    {
                        "code": "B-new",
                        "price": "300.00",
                        "specs": [
                            {"attributeId": c.attributes["colour"], "value": "白"},
                            {"attributeId": c.attributes["storage"], "value": "128GB"},
                        ],
                    }
                ]
            },
        },
    )
    cart = (await api.ok("GuestCart", {"id": cart["id"]}))["cart"]
    assert [ln["status"] for ln in cart["lines"]] == ["AVAILABLE", "SKU_DISABLED"]
    assert "No longer available" in cart["lines"][1]["notices"]
    assert amount(cart["cost"]["total"]) == "120.00"
    refused = await api.op(
        "CartLinesAdd", {"cartId": cart["id"], "lines": [{"skuId": sku_b, "quantity": 1}]}
    )
    assert refused["data"]["cartLinesAdd"]["userErrors"][0]["code"] == "PRODUCT_UNAVAILABLE"


async def test_my_cart_beside_other_reads(api: Api, engine: AsyncEngine) -> None:
    """The customer's cart is created and committed under the read lock: committing beside
    sibling fields reading through the same session broke their reads (schema fuzzer)."""
    _, sku_a, _, _ = await shop(api, engine)
    token = (
        await api.ok(
            "Register",
            {"input": {"name": "A", "phone": "13800138000", "password": "secret-pass-9"}},
        )
    )["customerRegister"]["accessToken"]
    siblings = " ".join(f'n{i}: node(id: "{sku_a}") {{ id }}' for i in range(6))
    result = await api.post(
        f"{{ {siblings} me {{ cart {{ id lines {{ id }} }} addresses {{ id }} }} }}", token=token
    )
    assert "errors" not in result, result["errors"]
    assert result["data"]["me"]["cart"]["lines"] == []
    assert (await api.ok("MyCart", token=token))["me"]["cart"]["id"] == result["data"]["me"][
        "cart"
    ]["id"]


@pytest.mark.parametrize("bad", ["not-an-id", "Q2FydExpbmU6eA==", "UHJvZHVjdDox", "12345"])
async def test_a_malformed_line_id_is_a_user_error(api: Api, engine: AsyncEngine, bad: str) -> None:
    """Hostile input: a line id that is no id, or the id of something else, is the client's
    mistake (INVALID_ID on the line), never an internal error; the cart is unchanged."""
    _, sku_a, _, _ = await shop(api, engine)
    cart = (await api.ok("CartCreate", {"lines": [{"skuId": sku_a, "quantity": 1}]}))["cartCreate"][
        "cart"
    ]
    update = await api.op(
        "CartLinesUpdate", {"cartId": cart["id"], "lines": [{"id": bad, "quantity": 2}]}
    )
    remove = await api.op("CartLinesRemove", {"cartId": cart["id"], "lineIds": [bad]})
    for result, field in ((update, "cartLinesUpdate"), (remove, "cartLinesRemove")):
        assert "errors" not in result, result
        assert [e["code"] for e in result["data"][field]["userErrors"]] == ["INVALID_ID"]
    after = (await api.ok("GuestCart", {"id": cart["id"]}))["cart"]
    assert [line["quantity"] for line in after["lines"]] == [1]


# MyCart: the customer (`me`); the open cart with its lines; the lines' SKUs with their
# products and units to sell; the customer's coupons. An empty cart reads neither catalog
# nor stock.
MY_CART_STATEMENTS = {0: 3, 1: 4, 3: 4}
# CartLinesAdd: the cart with its lines; the SKUs with their products; the cart's and the
# line's updates; then the answer: the cart's lines again with the customer, the lines' SKUs
# with their products and units, the customer's coupons.
CART_LINES_ADD_STATEMENTS = 7
# CartLinesUpdate: the cart with its lines (each line named found among them); the cart's
# update; then the answer as above.
CART_LINES_UPDATE_STATEMENTS = 5


@pytest.mark.sqlite_too  # the statements differ by database: both are pinned
async def test_cart_statement_counts_do_not_grow_with_the_lines(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """A customer's cart costs the same statements with 1 line as with 3: the lines are read
    with the cart, and `sku.product` answers from the products the pricing read (no loader
    statement); an empty cart reads no stock."""
    c, sku_a, sku_b, warehouse = await shop(api, engine)
    product = await add_product(api, c, "C", phone_input(c, "Phone C", "Nike", ["50.00"], code="C"))
    sku_c = (await api.ok("ProductDetail", {"id": product["id"]}))["product"]["skus"][0]["id"]
    async with create_session_factory(engine)() as s:
        await inventory.receive_stock(
            s, decode_id(sku_c)[1], decode_id(warehouse)[1], 10, "stock", None
        )
        await s.commit()
    skus = [sku_a, sku_b, sku_c]
    seen: dict[str, dict[int, int]] = {"MyCart": {}, "CartLinesAdd": {}, "CartLinesUpdate": {}}
    for n, phone in ((0, "13800138001"), (1, "13800138002"), (3, "13800138003")):
        token = (
            await api.ok(
                "Register",
                {"input": {"name": "A", "phone": phone, "password": "secret-pass-9"}},
            )
        )["customerRegister"]["accessToken"]
        cart_id = (await api.ok("MyCart", token=token))["me"]["cart"]["id"]  # created, kept reads
        if n:
            lines = [{"skuId": sku, "quantity": 1} for sku in skus[:n]]
            await api.ok("CartLinesAdd", {"cartId": cart_id, "lines": lines}, token=token)
            clock.advance(seconds=1)  # the cart's updated_at moves, as it does when serving
            added = await api.op(
                "CartLinesAdd",
                {"cartId": cart_id, "lines": [{"skuId": sku_a, "quantity": 1}]},
                token=token,
            )
            cart = added["data"]["cartLinesAdd"]["cart"]
            assert [ln["quantity"] for ln in cart["lines"]] == [2] + [1] * (n - 1)
            assert cart["lines"][0]["sku"]["product"]["title"] == "Phone A"
            seen["CartLinesAdd"][n] = added["extensions"]["sqlStatements"]
            line_ids = [ln["id"] for ln in cart["lines"]]
            clock.advance(seconds=1)
            updated = await api.op(
                "CartLinesUpdate",
                {"cartId": cart_id, "lines": [{"id": i, "selected": True} for i in line_ids]},
                token=token,
            )
            assert not updated["data"]["cartLinesUpdate"]["userErrors"]
            seen["CartLinesUpdate"][n] = updated["extensions"]["sqlStatements"]
        mine = await api.op("MyCart", token=token)
        assert len(mine["data"]["me"]["cart"]["lines"]) == n
        seen["MyCart"][n] = mine["extensions"]["sqlStatements"]
    assert seen == {
        "MyCart": MY_CART_STATEMENTS,
        "CartLinesAdd": {1: CART_LINES_ADD_STATEMENTS, 3: CART_LINES_ADD_STATEMENTS},
        # every line named in one change: found with the cart, not read one by one
        "CartLinesUpdate": {1: CART_LINES_UPDATE_STATEMENTS, 3: CART_LINES_UPDATE_STATEMENTS},
    }
