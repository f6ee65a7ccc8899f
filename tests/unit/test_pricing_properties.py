"""Properties of the pricing function over random carts and promotions: line discounts sum
exactly to the totals, nothing is negative, and the payable total never exceeds the base
subtotal plus shipping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from services.pricing import GiftItem
from services.pricing import Line
from services.pricing import PricingInput
from services.pricing import Promotion
from services.pricing import PromotionType
from services.pricing import Tier
from services.pricing import price
from tests.factories import FLAT10_FREE99
from tests.factories import NOW
from tests.factories import PIECE8_2
from tests.factories import WEIGHT12_5
from tests.factories import promo
from tests.factories import skus

K = PromotionType
money = st.integers(min_value=0, max_value=200_000)
sku_ids = st.integers(min_value=1, max_value=6)


@st.composite
def lines(draw: st.DrawFn) -> list[Line]:
    count = draw(st.integers(min_value=1, max_value=5))
    chosen = draw(st.lists(sku_ids, min_size=count, max_size=count, unique=True))
    rules = [None, FLAT10_FREE99, PIECE8_2, WEIGHT12_5]
    return [
        Line(
            id=f"l{sku}",
            sku_id=sku,
            product_id=sku % 3,
            merchant_id=sku % 2 + 1,
            quantity=draw(st.integers(min_value=1, max_value=99)),
            unit_price=draw(money),
            category_path=(sku % 2,),
            weight_grams=draw(st.integers(min_value=0, max_value=5000)),
            shipping=draw(st.sampled_from(rules)),
            available=draw(st.integers(0, 4)) > 0,
            add_on=draw(st.sampled_from([None, None, None, 1, 2])),  # bought through an offer
        )
        for sku in chosen
    ]


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    made: list[Promotion] = []
    for pid in range(1, draw(st.integers(min_value=0, max_value=5)) + 1):
        kind = draw(st.sampled_from(list(K)))
        common: dict[str, Any] = {
            "scope": skus(*draw(st.lists(sku_ids, max_size=3))),
            "combinable": draw(st.booleans()),
            "per_customer_limit": draw(st.none() | st.integers(0, 5)),
        }
        percent = Decimal(draw(st.integers(min_value=1, max_value=99)))
        by_kind: dict[PromotionType, dict[str, Any]] = {
            K.SINGLE_PRODUCT: {
                "special_price": draw(st.none() | money),
                "percent_off": percent,
                "promotion_stock_left": draw(st.none() | st.integers(0, 20)),
            },
            K.MULTI_BUY: draw(
                st.sampled_from(
                    [
                        {"from_nth_unit": 2, "percent_off": percent},
                        {"units": 3, "units_price": draw(money)},
                        {"min_units": 3, "percent_off": percent},
                        {"every_second": True, "percent_off": percent},
                    ]
                )
            ),
            K.BUNDLE: {
                "bundle": ((1, 1), (2, draw(st.integers(1, 2)))),
                "bundle_price": draw(money),
            },
            K.DEPOSIT: {
                "deposit": draw(st.integers(0, 5000)),
                "deposit_worth": draw(st.integers(0, 10000)),
            },
            K.FULL_REDUCTION: draw(
                st.sampled_from(
                    [
                        {"tiers": (Tier(30000, 3000), Tier(50000, 6000))},
                        {
                            "every_step": 10000,
                            "every_amount": 1000,
                            "every_cap": draw(st.none() | money),
                        },
                    ]
                )
            ),
            K.SPEND_GIFT: {"tiers": (Tier(10000, gifts=(GiftItem(90, 1),)),)},
            K.GIFT: {"gifts": (GiftItem(91, draw(st.integers(1, 3))),)},
            K.ADD_ON: {
                "add_on_threshold": draw(money),
                "add_on_choices": tuple((sku, draw(money)) for sku in range(1, 4)),
                "add_on_limit": draw(st.integers(1, 3)),
            },
        }
        made.append(promo(pid, kind, **common, **by_kind[kind]))
    return made


@settings(max_examples=300, deadline=None)
@given(lines(), promotions(), st.integers(0, 5))
def test_pricing_invariants(cart: list[Line], promos: list[Promotion], gift_stock: int) -> None:
    result = price(
        PricingInput(
            lines=cart, promotions=promos, now=NOW, gift_stock={90: gift_stock, 91: gift_stock}
        )
    )
    for line in result.lines:
        assert line.total >= 0
        assert all(d.amount > 0 for d in line.discounts)
        if not line.available:  # visible, but out of every total
            assert line.discounts == [] and line.total == 0
            continue
        assert line.subtotal - line.discount == line.total
        if line.deposit_due is not None:
            assert line.deposit_due >= 0 and 0 <= (line.balance_due or 0) <= line.total
    # an add-on short of its offer is left out like an unavailable line
    base = sum(line.subtotal for line in result.lines if line.available)
    assert result.subtotal == base
    assert result.promotion_discount == sum(line.discount for line in result.lines)
    assert result.total == sum(line.total for line in result.lines) + result.shipping
    assert 0 <= result.total <= base + result.shipping
    assert all(m.shipping >= 0 and m.total >= 0 for m in result.merchants)
    assert all(g.quantity > 0 for g in result.gifts)
    assert sum(g.quantity for g in result.gifts if g.sku_id == 90) <= gift_stock
