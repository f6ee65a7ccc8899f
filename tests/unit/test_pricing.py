"""The pricing function (DOMAIN.md §4, §6), case by case. Every expected number is worked out
by hand in the case's comment; each case names the rule it checks. Money in fen (分)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.messages import Message
from services.pricing import Audience
from services.pricing import Customer
from services.pricing import GiftItem
from services.pricing import Line
from services.pricing import PricingInput
from services.pricing import Promotion
from services.pricing import PromotionType
from services.pricing import Scope
from services.pricing import Tier
from services.pricing import allocate
from services.pricing import price
from services.pricing import tag_of
from tests.factories import FLAT10_FREE99
from tests.factories import NOW
from tests.factories import PIECE8_2
from tests.factories import WEIGHT12_5
from tests.factories import line
from tests.factories import promo
from tests.factories import skus

K = PromotionType
TIERS = (Tier(30000, 3000), Tier(50000, 6000))


def sale_of_a(**rules: Any) -> Promotion:
    """SKU 1 ("a") at a special price of 80.00, under `rules`."""
    return promo(1, K.SINGLE_PRODUCT, special_price=8000, scope=skus(1), **rules)


@dataclass
class Case:
    rule: str
    lines: list[Line]
    promotions: list[Promotion] = field(default_factory=list)
    total: int = 0
    discount: int | None = None  # promotion discount
    shipping: int = 0
    line_discounts: dict[str, int] | None = None
    gifts: list[tuple[int, int]] | None = None  # (sku, quantity)
    customer: Customer = field(default_factory=Customer)
    channel: str = "WEB"
    choices: dict[str, int] = field(default_factory=dict)
    gift_stock: dict[int, int] = field(default_factory=dict)
    explains: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("no promotion: payable = base", [line("a", 1, 12900, 2)], total=25800, discount=0),
    # 2 × (100.00 − 80.00) = 40.00 off
    Case(
        "SINGLE_PRODUCT special price per unit",
        [line("a", 1, 10000, 2)],
        [sale_of_a()],
        total=16000,
        discount=4000,
    ),
    # 15% of 9.99 = 1.4985 → 1.50 (half up)
    Case(
        "percent off rounds half up",
        [line("a", 1, 999)],
        [promo(1, K.SINGLE_PRODUCT, percent_off=Decimal(15), scope=skus(1))],
        total=849,
        discount=150,
    ),
    # 10% of 0.05 = 0.005 → 0.01
    Case(
        "half a fen rounds up",
        [line("a", 1, 5)],
        [promo(1, K.SINGLE_PRODUCT, percent_off=Decimal(10), scope=skus(1))],
        total=4,
    ),
    Case(
        "special price above base gives nothing",
        [line("a", 1, 5000)],
        [promo(1, K.SINGLE_PRODUCT, special_price=6000, scope=skus(1))],
        total=5000,
        discount=0,
    ),
    # flash sale: 1 unit left at 50.00, the other 2 at 100.00 → 250.00
    Case(
        "flash-sale stock caps units at the price",
        [line("a", 1, 10000, 3)],
        [promo(1, K.SINGLE_PRODUCT, special_price=5000, promotion_stock_left=1, scope=skus(1))],
        total=25000,
        explains="beyond",
    ),
    # stock 3 shared in line order: a gets 2, b gets 1 → (2+1) × 10.00 off
    Case(
        "flash stock is shared across lines",
        [line("a", 1, 3000, 2), line("b", 2, 3000, 2)],
        [promo(1, K.SINGLE_PRODUCT, special_price=2000, promotion_stock_left=3, scope=skus(1, 2))],
        total=9000,
        line_discounts={"a": 2000, "b": 1000},
    ),
    # limit 2, 1 already bought: 1 unit at 80.00, 2 at 100.00
    Case(
        "per-customer limit counts past purchases",
        [line("a", 1, 10000, 3)],
        [sale_of_a(per_customer_limit=2)],
        total=28000,
        customer=Customer(bought={1: 1}),
        explains="over the limit",
    ),
    Case(
        "limit used up: full price and a notice",
        [line("a", 1, 10000, 1)],
        [sale_of_a(per_customer_limit=1)],
        total=10000,
        customer=Customer(bought={1: 1}),
        explains="1 unit(s) over the limit",
    ),
    # 2nd unit at 50%: 100 + 50
    Case(
        "MULTI_BUY second unit half price",
        [line("a", 1, 10000, 2)],
        [promo(1, K.MULTI_BUY, from_nth_unit=2, percent_off=Decimal(50), scope=skus(1))],
        total=15000,
    ),
    # same product, SKUs 100.00 and 80.00: the cheaper unit is the 2nd → 40.00 off
    Case(
        "MULTI_BUY counts units of the same product across SKUs",
        [line("a", 1, 10000, product_id=7), line("b", 2, 8000, product_id=7)],
        [
            promo(
                1,
                K.MULTI_BUY,
                from_nth_unit=2,
                percent_off=Decimal(50),
                scope=Scope(product_ids=frozenset({7})),
            )
        ],
        total=14000,
        line_discounts={"a": 0, "b": 4000},
    ),
    Case(
        "MULTI_BUY from the 3rd unit: two units get nothing",
        [line("a", 1, 10000, 2)],
        [promo(1, K.MULTI_BUY, from_nth_unit=3, percent_off=Decimal(50), scope=skus(1))],
        total=20000,
    ),
    Case(
        "MULTI_BUY does not pool different products",
        [line("a", 1, 10000), line("b", 2, 10000)],
        [promo(1, K.MULTI_BUY, from_nth_unit=2, percent_off=Decimal(50), scope=skus(1, 2))],
        total=20000,
    ),
    # 4 × 50.00, 3 for 99.00: one set (150 → 99, −51), one unit at 50 → 149.00
    Case(
        "MULTI_BUY N units for a fixed price",
        [line("a", 1, 5000, 4)],
        [promo(1, K.MULTI_BUY, units=3, units_price=9900, scope=skus(1))],
        total=14900,
    ),
    Case(
        "MULTI_BUY fixed price needs a full set",
        [line("a", 1, 5000, 2)],
        [promo(1, K.MULTI_BUY, units=3, units_price=9900, scope=skus(1))],
        total=10000,
    ),
    # 满3件8折 over the scope: 100 + 80 + 80 (two products together) → every unit 20% off:
    # 20 + 16 + 16 = 52 off, 260 − 52 = 208
    Case(
        "MULTI_BUY N units of the scope, every unit at M折",
        [line("a", 1, 10000), line("b", 2, 8000, 2)],
        [promo(1, K.MULTI_BUY, min_units=3, percent_off=Decimal(20), scope=skus(1, 2))],
        total=20800,
        line_discounts={"a": 2000, "b": 3200},
    ),
    Case(
        "MULTI_BUY N units: one short gives nothing",
        [line("a", 1, 10000), line("b", 2, 8000)],
        [promo(1, K.MULTI_BUY, min_units=3, percent_off=Decimal(20), scope=skus(1, 2))],
        total=18000,
        discount=0,
    ),
    # 第二件半价, one product, units 100, 100, 80, 80, 80 (dearest first): pairs (100, 100),
    # (80, 80), (80): the 2nd and 4th units half price: 50 + 40 = 90 off, 440 − 90 = 350
    Case(
        "MULTI_BUY every second unit in price order, per pair",
        [line("a", 1, 10000, 2, product_id=7), line("b", 2, 8000, 3, product_id=7)],
        [promo(1, K.MULTI_BUY, every_second=True, percent_off=Decimal(50), scope=skus(1, 2))],
        total=35000,
        line_discounts={"a": 5000, "b": 4000},
    ),
    # 满200换购: A 150 + B 100 in scope (250 ≥ 200); the add-on C (normal 90) at 9.90 → −80.10
    Case(
        "ADD_ON reached: the add-on line at its special price",
        [line("a", 1, 15000), line("b", 2, 10000), line("c", 3, 9000, add_on=1)],
        [
            promo(
                1,
                K.ADD_ON,
                scope=skus(1, 2),
                add_on_threshold=20000,
                add_on_choices=((3, 990),),
            )
        ],
        total=25990,
        line_discounts={"a": 0, "b": 0, "c": 8010},
    ),
    # below the threshold the add-on line is out of the totals, not charged at 90
    Case(
        "ADD_ON below the threshold leaves the add-on out",
        [line("a", 1, 15000), line("c", 3, 9000, add_on=1)],
        [
            promo(
                1,
                K.ADD_ON,
                scope=skus(1),
                add_on_threshold=20000,
                add_on_choices=((3, 990),),
            )
        ],
        total=15000,
        explains="Add 50 more for 满200换购",
    ),
    # bundle 150 for A(100)+B(80): saving 30 → 30×100/180=16.67, 30×80/180=13.33 → 17 + 13
    Case(
        "BUNDLE price allocated by base price, remainder to the larger fraction",
        [line("a", 1, 10000), line("b", 2, 8000)],
        [promo(1, K.BUNDLE, bundle=((1, 1), (2, 1)), bundle_price=15000, scope=skus(1, 2))],
        total=15000,
        line_discounts={"a": 1667, "b": 1333},
    ),
    Case(
        "BUNDLE needs every component",
        [line("a", 1, 10000)],
        [promo(1, K.BUNDLE, bundle=((1, 1), (2, 1)), bundle_price=15000, scope=skus(1, 2))],
        total=10000,
    ),
    # 2 sets: 2 × (100 + 80) = 360 → 300
    Case(
        "BUNDLE counts whole sets",
        [line("a", 1, 10000, 2), line("b", 2, 8000, 3)],
        [promo(1, K.BUNDLE, bundle=((1, 1), (2, 1)), bundle_price=15000, scope=skus(1, 2))],
        total=38000,
        discount=6000,
    ),
    # set = 2×A(30) + B(50) = 110 for 100: −10 allocated 60:50 → 5.45/4.55 → 545 + 455
    Case(
        "BUNDLE with quantities per set",
        [line("a", 1, 3000, 2), line("b", 2, 5000)],
        [promo(1, K.BUNDLE, bundle=((1, 2), (2, 1)), bundle_price=10000, scope=skus(1, 2))],
        total=10000,
        line_discounts={"a": 545, "b": 455},
    ),
    # deposit 50 counts as 100 on a 500 item: payable 450; 50 now, 400 later
    Case(
        "DEPOSIT expansion (定金膨胀)",
        [line("a", 1, 50000)],
        [promo(1, K.DEPOSIT, deposit=5000, deposit_worth=10000, scope=skus(1))],
        total=45000,
        extra={"deposit_due": 5000, "balance_due": 40000},
    ),
    # the deposit line (500) stays out of 满300减30; only b (300) is eligible → −30
    Case(
        "DEPOSIT never combines with order-level offers",
        [line("a", 1, 50000), line("b", 2, 30000)],
        [
            promo(1, K.DEPOSIT, deposit=5000, deposit_worth=10000, scope=skus(1)),
            promo(2, K.FULL_REDUCTION, tiers=TIERS),
        ],
        total=72000,
        line_discounts={"a": 5000, "b": 3000},
    ),
    Case(
        "满300减30 at exactly 300",
        [line("a", 1, 30000)],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS)],
        total=27000,
    ),
    Case(
        "one fen below the threshold: nothing, and how much is missing",
        [line("a", 1, 29999)],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS)],
        total=29999,
        explains="Add 0.01 more",
    ),
    Case(
        "highest tier reached only",
        [line("a", 1, 50000)],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS)],
        total=44000,
    ),
    # each full 100 −10, cap 30: 450 → 4 × 10 = 40 → capped at 30
    Case(
        "every 100 −10 with a cap",
        [line("a", 1, 45000)],
        [promo(1, K.FULL_REDUCTION, every_step=10000, every_amount=1000, every_cap=3000)],
        total=42000,
    ),
    Case(
        "every 100 −10 under the cap",
        [line("a", 1, 25000)],
        [promo(1, K.FULL_REDUCTION, every_step=10000, every_amount=1000, every_cap=3000)],
        total=23000,
    ),
    # −10 over three equal lines: 3.33 each, the leftover fen to the first
    Case(
        "order discount split by largest remainder",
        [line("a", 1, 10000), line("b", 2, 10000), line("c", 3, 10000)],
        [promo(1, K.FULL_REDUCTION, tiers=(Tier(30000, 1000),))],
        total=29000,
        line_discounts={"a": 334, "b": 333, "c": 333},
    ),
    # only category 5's line (200) counts: under 300, no discount
    Case(
        "order scope by category (descendants via path)",
        [line("a", 1, 20000, category_path=(1, 5, 9)), line("b", 2, 20000, category_path=(2, 6))],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS, scope=Scope(category_ids=frozenset({5})))],
        total=40000,
    ),
    Case(
        "excluded product is out of scope",
        [line("a", 1, 20000, product_id=1), line("b", 2, 20000, product_id=2)],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS, scope=Scope(excluded_product_ids=frozenset({2})))],
        total=40000,
    ),
    # combinable: 2 × 200 → 360 after −20 each, then 满300减30 → 330
    Case(
        "ITEM then ORDER when they combine",
        [line("a", 1, 20000, 2)],
        [
            promo(1, K.SINGLE_PRODUCT, special_price=18000, scope=skus(1)),
            promo(2, K.FULL_REDUCTION, tiers=TIERS),
        ],
        total=33000,
    ),
    # non-combinable: item −40 (360) vs order −60 (400 → ≥… only 满300减30 on 400 → 370)
    # item alone 360 < 370 → the item promotion is the default
    Case(
        "non-combinable: the lower total wins (item)",
        [line("a", 1, 20000, 2)],
        [
            promo(1, K.SINGLE_PRODUCT, special_price=18000, combinable=False, scope=skus(1)),
            promo(2, K.FULL_REDUCTION, tiers=TIERS),
        ],
        total=36000,
        extra={"item_promotion": 1},
    ),
    # item −2 (598) vs 满500减60 on 600 (540): the order offer wins
    Case(
        "non-combinable: the lower total wins (order)",
        [line("a", 1, 30000, 2)],
        [
            promo(1, K.SINGLE_PRODUCT, special_price=29900, combinable=False, scope=skus(1)),
            promo(2, K.FULL_REDUCTION, tiers=TIERS),
        ],
        total=54000,
        extra={"item_promotion": None},
    ),
    Case(
        "the customer's choice is kept even if dearer",
        [line("a", 1, 30000, 2)],
        [
            promo(1, K.SINGLE_PRODUCT, special_price=29900, combinable=False, scope=skus(1)),
            promo(2, K.FULL_REDUCTION, tiers=TIERS),
        ],
        total=59800,
        choices={"a": 1},
    ),
    Case(
        "channel outside the promotion's channels",
        [line("a", 1, 10000)],
        [sale_of_a(channels=frozenset({"APP"}))],
        total=10000,
        channel="H5",
    ),
    Case(
        "NEW_CUSTOMERS audience excludes returning customers",
        [line("a", 1, 10000)],
        [sale_of_a(audience=Audience("NEW_CUSTOMERS"))],
        total=10000,
        customer=Customer(is_new=False),
    ),
    Case(
        "member level below the minimum",
        [line("a", 1, 10000)],
        [sale_of_a(audience=Audience("MIN_MEMBER_LEVEL", 3))],
        total=10000,
        customer=Customer(member_level=2),
    ),
    Case(
        "member level at the minimum",
        [line("a", 1, 10000)],
        [sale_of_a(audience=Audience("MIN_MEMBER_LEVEL", 3))],
        total=8000,
        customer=Customer(member_level=3),
    ),
    Case(
        "promotion that ended is ignored",
        [line("a", 1, 10000)],
        [sale_of_a(starts_at=NOW - timedelta(days=2), ends_at=NOW)],
        total=10000,
    ),
    Case(
        "promotion not yet started is ignored",
        [line("a", 1, 10000)],
        [sale_of_a(starts_at=NOW + timedelta(seconds=1))],
        total=10000,
    ),
    Case(
        "SPEND_GIFT gives the highest tier's gifts only",
        [line("a", 1, 60000)],
        [
            promo(
                1,
                K.SPEND_GIFT,
                tiers=(
                    Tier(30000, gifts=(GiftItem(90, 1),)),
                    Tier(50000, gifts=(GiftItem(91, 2),)),
                ),
            )
        ],
        total=60000,
        gifts=[(91, 2)],
        gift_stock={90: 10, 91: 10},
    ),
    Case(
        "SPEND_GIFT below every tier",
        [line("a", 1, 20000)],
        [promo(1, K.SPEND_GIFT, tiers=(Tier(30000, gifts=(GiftItem(90, 1),)),))],
        total=20000,
        gifts=[],
        gift_stock={90: 10},
    ),
    # 2 units bought × 1 gift each, but only 1 gift in stock
    Case(
        "GIFT per unit bought, as far as gift stock allows",
        [line("a", 1, 10000, 2)],
        [promo(1, K.GIFT, gifts=(GiftItem(90, 1, "mug"),), scope=skus(1))],
        total=20000,
        gifts=[(90, 1)],
        gift_stock={90: 1},
        explains="Gift mug out of stock",
    ),
    Case(
        "GIFT out of stock gives nothing",
        [line("a", 1, 10000)],
        [promo(1, K.GIFT, gifts=(GiftItem(90, 1, "mug"),), scope=skus(1))],
        total=10000,
        gifts=[],
        explains="out of stock",
    ),
    # merchant 1: 50.00 FLAT 10 (under 99) → 10; merchant 2: 3 pieces 8 + 2 × 2 = 12
    Case(
        "two merchants, two shipping templates",
        [
            line("a", 1, 5000, shipping=FLAT10_FREE99),
            line("b", 2, 1000, 3, merchant_id=2, shipping=PIECE8_2),
        ],
        total=5000 + 1000 + 3000 + 1200,
        shipping=2200,
    ),
    Case(
        "free shipping at the threshold",
        [line("a", 1, 9900, shipping=FLAT10_FREE99)],
        total=9900,
        shipping=0,
    ),
    # 100.00 − 满100减10 = 90.00 payable < 99 → shipping is charged again
    Case(
        "free-shipping threshold is on the payable subtotal",
        [line("a", 1, 10000, shipping=FLAT10_FREE99)],
        [promo(1, K.FULL_REDUCTION, tiers=(Tier(10000, 1000),))],
        total=9000 + 1000,
        shipping=1000,
    ),
    # 2 × 1.25 kg = 2.5 kg → 3 kg: 12 + 2 × 5 = 22
    Case(
        "shipping by weight rounds up to whole kilos",
        [line("a", 1, 1000, 2, weight_grams=1250, shipping=WEIGHT12_5)],
        total=2000 + 2200,
        shipping=2200,
    ),
    Case(
        "the dearest template of a merchant applies",
        [line("a", 1, 1000, shipping=FLAT10_FREE99), line("b", 2, 1000, 2, shipping=PIECE8_2)],
        total=3000 + 1000,
        shipping=1000,
    ),
    Case(
        "zero-price line",
        [line("a", 1, 0, 3)],
        [promo(1, K.SINGLE_PRODUCT, percent_off=Decimal(50), scope=skus(1))],
        total=0,
    ),
    Case(
        "unavailable lines are out of the totals",
        [line("a", 1, 10000), line("b", 2, 5000, available=False)],
        [promo(1, K.FULL_REDUCTION, tiers=(Tier(15000, 5000),))],
        total=10000,
    ),
    # 满300减30 across merchants: 200 + 200 → −15 / −15
    Case(
        "a platform order promotion spans merchants",
        [line("a", 1, 20000), line("b", 2, 20000, merchant_id=2)],
        [promo(1, K.FULL_REDUCTION, tiers=TIERS)],
        total=37000,
        line_discounts={"a": 1500, "b": 1500},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_pricing_case(case: Case) -> None:
    result = price(
        PricingInput(
            lines=case.lines,
            promotions=case.promotions,
            customer=case.customer,
            channel=case.channel,
            now=NOW,
            choices=case.choices,
            gift_stock=case.gift_stock,
        )
    )
    assert result.total == case.total, (result.total, result.explanations)
    assert result.shipping == case.shipping
    if case.discount is not None:
        assert result.promotion_discount == case.discount
    if case.line_discounts is not None:
        assert {r.line_id: r.discount for r in result.lines} == case.line_discounts
    if case.gifts is not None:
        assert [(g.sku_id, g.quantity) for g in result.gifts] == case.gifts
    if case.explains is not None:
        assert any(case.explains in e for e in result.explanations), result.explanations
    for key, value in case.extra.items():
        assert getattr(result.lines[0], key) == value, key
    # every note is a catalog message, said in zh-CN and en (tests/unit/test_messages.py)
    notes = [*result.explanations, *(n for r in result.lines for n in r.notices)]
    assert all(isinstance(n, Message) for n in notes), notes


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


def test_allocate_sums_exactly_and_never_exceeds_a_weight() -> None:
    assert allocate(1000, [10000, 10000, 10000]) == [334, 333, 333]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(7, [0, 0]) == [0, 0]
    assert allocate(10, [3, 7]) == [3, 7]


@pytest.mark.parametrize(
    "p,tag",
    [
        (promo(1, K.FULL_REDUCTION, tiers=(Tier(30000, 3000),)), "满300减30"),
        (promo(1, K.FULL_REDUCTION, every_step=10000, every_amount=1000), "每满100减10"),
        (promo(1, K.MULTI_BUY, from_nth_unit=2, percent_off=Decimal(50)), "第2件5折"),
        (promo(1, K.MULTI_BUY, from_nth_unit=2, percent_off=Decimal(15)), "第2件8.5折"),
        (promo(1, K.MULTI_BUY, units=3, units_price=9900), "3件99元"),
        (promo(1, K.SINGLE_PRODUCT, special_price=1), "直降"),
        (promo(1, K.DEPOSIT, deposit=5000, deposit_worth=10000), "定金50抵100"),
        (promo(1, K.MULTI_BUY, min_units=3, percent_off=Decimal(20)), "满3件8折"),
        (promo(1, K.MULTI_BUY, every_second=True, percent_off=Decimal(50)), "第二件半价"),
        (promo(1, K.MULTI_BUY, every_second=True, percent_off=Decimal(30)), "第二件7折"),
        (promo(1, K.ADD_ON, add_on_threshold=9900), "满99换购"),
    ],
)
def test_storefront_tags(p: Promotion, tag: str) -> None:
    assert tag_of(p) == tag
