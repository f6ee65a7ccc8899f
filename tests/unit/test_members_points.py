"""Points at checkout as a pure step after pricing (services/members.apply_points), at a rate
other than the default: 1000 points = ¥1, at most 30% of the goods. Worked by hand."""

from __future__ import annotations

import pytest

from services import members
from services import pricing
from services.errors import DomainError

RULES = members.PointsRules(earn_per_yuan=2, per_yuan=1000, max_percent=30)


def priced() -> pricing.PricingResult:
    return pricing.price(
        pricing.PricingInput(
            lines=[
                pricing.Line("1", 1, 1, 1, 1, 10000),  # 100.00 from merchant 1
                pricing.Line("2", 2, 2, 2, 1, 5001),  # 50.01 from merchant 2
            ]
        )
    )


def test_a_configured_rate_and_cap() -> None:
    result = priced()
    # 12345 points at 1000 per ¥1 pay ⌊12345 × 100 / 1000⌋ = 1234 fen, within the cap
    # (30% of 150.01 = 45.00) and the balance (20000 points = 20.00); spending them takes
    # ⌈1234 × 1000 / 100⌉ = 12340 points, never more than asked
    use = members.apply_points(result, {"1": 1, "2": 2}, 12345, 20000, RULES)
    assert (use.used, use.discount, use.max_points) == (12340, 1234, 20000)
    # 1234 over 10000 : 5001 by largest remainder: 822.6 → 823, 411.4 → 411
    assert [ln.discounts[-1].amount for ln in result.lines] == [823, 411]
    assert all(ln.discounts[-1].funder is None for ln in result.lines)  # the platform's
    assert use.by_merchant == {1: (8230, 823), 2: (4110, 411)}
    assert [m.total for m in result.merchants] == [10000 - 823, 5001 - 411]
    assert result.total == 15001 - 1234
    assert members.points_discount_of(result) == 1234


def test_the_cap_limits_and_the_balance_refuses() -> None:
    result = priced()
    use = members.apply_points(result, {"1": 1, "2": 2}, 10**6, 10**6, RULES)
    assert (use.discount, use.used) == (4500, 45000)  # ⌊15001 × 30%⌋ = 4500 fen
    with pytest.raises(DomainError) as refused:
        members.apply_points(priced(), {"1": 1, "2": 2}, 101, 100, RULES)
    assert refused.value.code == "INSUFFICIENT_POINTS"
    with pytest.raises(DomainError) as worthless:
        members.apply_points(priced(), {"1": 1, "2": 2}, 5, 100, RULES)
    assert worthless.value.code == "POINTS_UNUSABLE"  # 5 points are worth 0.5 fen


def test_earning_and_levels() -> None:
    levels = [
        members.MemberLevel(id=1, rank=1, name="a", growth_threshold=0),
        members.MemberLevel(id=2, rank=2, name="b", growth_threshold=300),
    ]
    assert members.level_for(levels, 299) is levels[0]
    assert members.level_for(levels, 300) is levels[1]
    assert members.next_level(levels, 299) is levels[1] and members.next_level(levels, 300) is None
    assert RULES.value_of(999) == 99 and RULES.points_for(99) == 990
