"""The coupon stages of the pricing function (DOMAIN.md §5, §6): merchant coupons then the
platform coupon, on post-promotion amounts; thresholds on the eligible post-promotion subtotal;
the recommended set maximises the discount (tie: the one expiring soonest). Fen throughout;
each expected number is worked out in the case's comment."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal

import pytest

from services.pricing import CouponRule
from services.pricing import Line
from services.pricing import PricingInput
from services.pricing import Promotion
from services.pricing import PromotionType
from services.pricing import Scope
from services.pricing import Tier
from services.pricing import price
from tests.factories import FLAT10_FREE99
from tests.factories import NOW
from tests.factories import coupon
from tests.factories import line
from tests.factories import promo
from tests.factories import skus

K = PromotionType


@dataclass
class Case:
    rule: str
    lines: list[Line]
    coupons: list[CouponRule]
    discount: int  # coupon discount
    applied: list[int] | None = None
    promotions: list[Promotion] = field(default_factory=list)
    coupon_ids: list[int] | None = None
    line_discounts: dict[str, int] | None = None  # coupon share per line
    total: int | None = None


FULL_300_30 = promo(90, K.FULL_REDUCTION, tiers=(Tier(30000, 3000),), scope=skus(1))

CASES = [
    Case("CASH takes its amount", [line("a", 1, 5000)], [coupon(1, amount=1000)], 1000, [1]),
    Case(
        "CASH never exceeds the subtotal",
        [line("a", 1, 1500)],
        [coupon(1, amount=2000)],
        1500,
        [1],
        total=0,
    ),
    Case(
        "THRESHOLD at exactly the minimum",
        [line("a", 1, 20000)],
        [coupon(1, "THRESHOLD", amount=2000, min_spend=20000)],
        2000,
        [1],
    ),
    Case(
        "THRESHOLD one fen below is not usable",
        [line("a", 1, 19999)],
        [coupon(1, "THRESHOLD", amount=2000, min_spend=20000)],
        0,
        [],
    ),
    # 15% of 99.99 = 14.9985 → 15.00
    Case(
        "PERCENT rounds half up",
        [line("a", 1, 9999)],
        [coupon(1, "PERCENT", percent_off=Decimal(15))],
        1500,
        [1],
    ),
    # 20% of 500 = 100, capped at 50
    Case(
        "PERCENT max discount",
        [line("a", 1, 50000)],
        [coupon(1, "PERCENT", percent_off=Decimal(20), max_discount=5000)],
        5000,
        [1],
    ),
    Case(
        "PERCENT minimum spend not met",
        [line("a", 1, 9000)],
        [coupon(1, "PERCENT", percent_off=Decimal(20), min_spend=10000)],
        0,
        [],
    ),
    Case(
        "PERCENT of half a fen rounds up",
        [line("a", 1, 5)],
        [coupon(1, "PERCENT", percent_off=Decimal(10))],
        1,
        [1],
    ),
    Case(
        "scope: only in-scope lines get a share",
        [line("a", 1, 10000), line("b", 2, 10000)],
        [coupon(1, amount=1000, scope=Scope(product_ids=frozenset({1})))],
        1000,
        [1],
        line_discounts={"a": 1000, "b": 0},
    ),
    Case(
        "scope: excluded product leaves nothing",
        [line("a", 1, 10000)],
        [coupon(1, amount=1000, scope=Scope(excluded_product_ids=frozenset({1})))],
        0,
        [],
    ),
    # 满300减30 takes 300 → 270; 满300减20 then misses its threshold
    Case(
        "threshold tested after promotions",
        [line("a", 1, 30000)],
        [coupon(1, "THRESHOLD", amount=2000, min_spend=30000)],
        0,
        [],
        promotions=[FULL_300_30],
    ),
    # a (300, in 满减) excluded; b (100) alone carries the coupon
    Case(
        "combinesWithPromotions false skips lines with an order promotion",
        [line("a", 1, 30000), line("b", 2, 10000)],
        [coupon(1, amount=1000, combines_with_promotions=False)],
        1000,
        [1],
        promotions=[FULL_300_30],
        line_discounts={"a": 3000, "b": 1000},
    ),
    Case(
        "combinable coupon goes on top of the order promotion",
        [line("a", 1, 30000)],
        [coupon(1, amount=1000)],
        1000,
        [1],
        promotions=[FULL_300_30],
        total=26000,
    ),
    Case(
        "merchant coupon plus platform coupon stack",
        [line("a", 1, 10000), line("b", 2, 10000, merchant_id=2)],
        [coupon(1, amount=1000, merchant_id=1), coupon(2, amount=2000)],
        3000,
        [1, 2],
    ),
    Case(
        "merchant coupon stays on its merchant's lines",
        [line("a", 1, 10000), line("b", 2, 10000, merchant_id=2)],
        [coupon(1, amount=1000, merchant_id=2)],
        1000,
        [1],
        line_discounts={"a": 0, "b": 1000},
    ),
    Case(
        "one coupon per merchant: the bigger one is recommended",
        [line("a", 1, 10000)],
        [coupon(1, amount=500, merchant_id=1), coupon(2, amount=800, merchant_id=1)],
        800,
        [2],
    ),
    Case(
        "one platform coupon per order",
        [line("a", 1, 10000)],
        [coupon(1, amount=500), coupon(2, amount=700)],
        700,
        [2],
    ),
    # merchant −30 first: 280 left < 300 → the platform 满300减20 no longer applies
    Case(
        "platform threshold is on post-merchant-coupon amounts",
        [line("a", 1, 31000)],
        [
            coupon(1, amount=3000, merchant_id=1),
            coupon(2, "THRESHOLD", amount=2000, min_spend=30000),
        ],
        3000,
        [1],
        coupon_ids=[1, 2],
    ),
    # 10 over three equal lines: 3.34 + 3.33 + 3.33
    Case(
        "coupon split by largest remainder",
        [line("a", 1, 1000), line("b", 2, 1000), line("c", 3, 1000)],
        [coupon(1, amount=1000)],
        1000,
        [1],
        line_discounts={"a": 334, "b": 333, "c": 333},
    ),
    Case(
        "an empty choice means no coupon",
        [line("a", 1, 10000)],
        [coupon(1, amount=1000)],
        0,
        [],
        coupon_ids=[],
    ),
    Case(
        "the customer's choice beats the recommendation",
        [line("a", 1, 10000)],
        [coupon(1, amount=500), coupon(2, amount=700)],
        500,
        [1],
        coupon_ids=[1],
    ),
    # two equal platform coupons: the one expiring first (C1: NOW + 1 day) is recommended
    Case(
        "tie: the coupon expiring soonest",
        [line("a", 1, 10000)],
        [coupon(2, amount=500), coupon(1, amount=500)],
        500,
        [1],
    ),
    Case(
        "presale deposit lines take no coupon",
        [line("a", 1, 50000)],
        [coupon(1, amount=1000)],
        0,
        [],
        promotions=[promo(91, K.DEPOSIT, deposit=5000, deposit_worth=10000)],
    ),
    Case("zero-price line", [line("a", 1, 0)], [coupon(1, amount=1000)], 0, []),
    # 100 − 5 = 95 < 99: the flat fee comes back
    Case(
        "free shipping is judged after coupons",
        [line("a", 1, 10000, shipping=FLAT10_FREE99)],
        [coupon(1, amount=500)],
        500,
        [1],
        total=9500 + 1000,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_coupon_case(case: Case) -> None:
    result = price(
        PricingInput(
            lines=case.lines,
            promotions=case.promotions,
            coupons=case.coupons,
            coupon_ids=case.coupon_ids,
            now=NOW,
        )
    )
    assert result.coupon_discount == case.discount, result.explanations
    if case.applied is not None:
        assert sorted(result.coupons_applied) == sorted(case.applied)
    if case.line_discounts is not None:
        assert {r.line_id: r.discount for r in result.lines} == case.line_discounts
    if case.total is not None:
        assert result.total == case.total


def test_at_least_25_coupon_cases() -> None:
    assert len(CASES) >= 25


def test_recommendation_beats_the_greedy_choice() -> None:
    """Greedy takes the biggest merchant coupon (−50), which leaves 270 < 300 for the platform
    满300减60: 50 in all. The best set is the small merchant coupon (−10, 310 left) plus the
    platform coupon (−60): 70."""
    cart = [line("a", 1, 32000)]
    coupons = [
        coupon(1, amount=5000, merchant_id=1),
        coupon(2, amount=1000, merchant_id=1),
        coupon(3, "THRESHOLD", amount=6000, min_spend=30000),
    ]
    result = price(PricingInput(lines=cart, coupons=coupons, now=NOW))
    assert sorted(result.coupons_applied) == [2, 3]
    assert result.coupon_discount == 7000 and result.total == 25000


def test_coupon_options_explain_unusable_ones() -> None:
    cart = [line("a", 1, 15000)]
    coupons = [
        coupon(1, "THRESHOLD", amount=2000, min_spend=20000),
        coupon(2, amount=1000, scope=Scope(product_ids=frozenset({9}))),
        coupon(3, amount=1000),
    ]
    options = {
        o.coupon_id: o
        for o in price(PricingInput(lines=cart, coupons=coupons, now=NOW)).coupon_options
    }
    assert (options[1].reason, options[1].shortfall) == ("BELOW_THRESHOLD", 5000)
    assert options[2].reason == "OUT_OF_SCOPE"
    assert (options[3].reason, options[3].discount) == (None, 1000)
