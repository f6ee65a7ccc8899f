"""Red packets as pure steps (services/red_packets.py): the configured amount rule, and the
balance spent after pricing and before points, on flagged products under their per-unit cap.
Worked by hand."""

from __future__ import annotations

import pytest

from core.settings import Settings
from models.catalog import Product
from services import members
from services import pricing
from services import red_packets
from services.errors import DomainError

RANDOM = red_packets.RedPacketRules(min_amount=100, max_amount=300)
FIXED = red_packets.RedPacketRules(min_amount=188, max_amount=188)


def test_the_amount_rule_is_a_draw_within_bounds_or_fixed() -> None:
    # min + draw mod (max − min + 1): 201 amounts, 100..300
    assert [RANDOM.amount(d, 10_000) for d in (0, 88, 200, 201, 2**32 - 1)] == [
        100,
        188,
        300,
        100,
        100 + (2**32 - 1) % 201,
    ]
    assert {RANDOM.amount(d, 10_000) for d in range(1000)} == set(range(100, 301))
    assert [FIXED.amount(d, 10_000) for d in (0, 7, 99)] == [188, 188, 188]
    assert RANDOM.amount(200, 120) == 120  # never more than the packet has left
    assert RANDOM.amount(200, 0) == 0


def test_settings_are_made_sane() -> None:
    rules = red_packets.RedPacketRules.of(
        Settings(red_packet_min_amount=0, red_packet_max_amount=-5, red_packet_max_opens=-1)
    )
    assert (rules.min_amount, rules.max_amount, rules.max_opens) == (1, 1, 0)


def priced() -> pricing.PricingResult:
    return pricing.price(
        pricing.PricingInput(
            lines=[
                pricing.Line("1", 1, 1, 1, 3, 10000),  # 3 × 100.00 from merchant 1
                pricing.Line("2", 2, 2, 2, 1, 5001),  # 50.01 from merchant 2
                pricing.Line("3", 3, 3, 2, 1, 2000),  # 20.00, takes no red packets
            ]
        )
    )


PRODUCTS = {
    "1": Product(red_packets_usable=True, red_packet_cap=150),  # at most 1.50 a unit
    "2": Product(red_packets_usable=True, red_packet_cap=None),  # up to the line
    "3": Product(red_packets_usable=False, red_packet_cap=None),
}
MERCHANTS = {"1": 1, "2": 2, "3": 2}


def test_red_packets_then_points_on_one_checkout() -> None:
    result = priced()
    # the lines take 1.50 × 3 = 4.50 and 50.01: with a 6.00 balance at most 6.00
    assert red_packets.max_discount(result, PRODUCTS, 600) == 600
    use = red_packets.apply(result, MERCHANTS, PRODUCTS, 600, 600)
    assert (use.used, use.max_usable) == (600, 600)
    # 600 over 450 : 5001 by largest remainder: 49.53 → 50, 550.46 → 550
    assert [ln.discounts[-1].amount for ln in result.lines[:2]] == [50, 550]
    assert result.lines[2].discounts == []
    assert red_packets.discount_of(result) == 600
    # points after: 50% of the goods left (29950 + 4451 + 2000 = 36401) caps at 18200
    points = members.apply_points(result, MERCHANTS, 1000, 1000, members.PointsRules())
    assert points.discount == 1000
    assert result.total == 30000 + 5001 + 2000 - 600 - 1000
    assert [m.total for m in result.merchants] == [
        m.subtotal - m.red_packet_discount - m.points_discount  # type: ignore[attr-defined]
        for m in result.merchants
    ]


def test_more_than_the_balance_or_nothing_usable_is_refused() -> None:
    with pytest.raises(DomainError) as over:
        red_packets.apply(priced(), MERCHANTS, PRODUCTS, 601, 600)
    assert over.value.code == "INSUFFICIENT_RED_PACKETS"
    with pytest.raises(DomainError) as none:
        red_packets.apply(priced(), MERCHANTS, {"3": PRODUCTS["3"]}, 100, 600)
    assert none.value.code == "RED_PACKETS_UNUSABLE"
    result = priced()  # asking nothing changes nothing
    assert red_packets.apply(result, MERCHANTS, PRODUCTS, 0, 600).used == 0
    assert result.total == 37001
