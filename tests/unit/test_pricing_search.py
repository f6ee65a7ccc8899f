"""The coupon recommendation's search (DOMAIN.md §5): bounded to COUPON_SEARCH_BUDGET pricing
runs however many shops and coupons a cart holds, and the same answer as trying every set
whenever it finishes within that budget."""

from __future__ import annotations

import math
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from itertools import product
from typing import Any
from unittest.mock import patch

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from services import pricing
from services.pricing import CouponRule
from services.pricing import Line
from services.pricing import PricingInput
from services.pricing import PricingResult
from services.pricing import PromotionType
from services.pricing import Scope
from services.pricing import Tier
from services.pricing import price
from tests.factories import NOW
from tests.factories import best_set
from tests.factories import coupon
from tests.factories import line
from tests.factories import promo
from tests.factories import shop_coupons
from tests.factories import shops_cart


@contextmanager
def counted_runs() -> Iterator[list[int]]:
    """Counts pricing runs: [all of them, those of the coupon search]."""
    calls = [0, 0]
    original = pricing._evaluate

    def counting(*args: Any, **kwargs: Any) -> PricingResult:
        calls[0] += 1
        calls[1] += kwargs.get("with_options") is False
        return original(*args, **kwargs)

    with patch.object(pricing, "_evaluate", counting):
        yield calls


class Exhaustive:
    """The search as it was: every set of one option per issuer, in order."""

    def __init__(self, data: PricingInput, picks: Mapping[str, int], base: PricingResult):
        self.data, self.picks, self.base = data, picks, base

    def run(self) -> PricingResult:
        best, best_key = self.base, (0, 0.0)
        for combo in product(*pricing._issuer_choices(self.data, self.base)):
            ids = [c.coupon.id for c in combo if c.coupon is not None]
            if not ids:
                continue
            result = pricing._evaluate(self.data, self.picks, ids)
            key = pricing.set_key(result.coupon_discount, combo)[:2]
            if key > best_key:
                best, best_key = result, key
        return best


def exhaustive(data: PricingInput) -> PricingResult:
    with patch.object(pricing, "_CouponSearch", Exhaustive):
        return price(data)


def sets_of(data: PricingInput) -> int:
    base = price(PricingInput(**{**data.__dict__, "coupon_ids": []}))
    sizes = [len(choices) for choices in pricing._issuer_choices(data, base)]
    return math.prod(sizes)


def same(a: PricingResult, b: PricingResult) -> None:
    assert (sorted(a.coupons_applied), a.coupon_discount, a.total) == (
        sorted(b.coupons_applied),
        b.coupon_discount,
        b.total,
    )
    assert [ln.discounts for ln in a.lines] == [ln.discounts for ln in b.lines]


def test_ten_shops_cost_at_most_the_budget_and_get_the_best_set() -> None:
    """6^10 × 4 sets (hours to try them all); the best is known: see `best_set`."""
    with counted_runs() as runs:
        result = price(shops_cart(10))
    assert runs[1] <= pricing.COUPON_SEARCH_BUDGET and runs[0] <= runs[1] + 1, runs
    ids, discount = best_set(10)
    assert sorted(result.coupons_applied) == ids
    assert result.coupon_discount == discount


def test_a_merchant_gives_up_a_little_to_reach_the_platform_threshold() -> None:
    """Ten shops, one 100.00 line each; shop m's coupons are 4.00 + 0.10 m, then that less
    (m + 4) fen, then less again. 满(cart − all the best merchant coupons + 0.05)减30 needs
    0.05 of merchant discount given up: shop 1's second coupon exactly (every other step is
    bigger), worth 30 − 0.05."""
    shops = range(1, 11)
    lines = [line(f"s{m}", m, 10000, merchant_id=m) for m in shops]
    wallet = [
        coupon(100 * m + k, amount=400 + 10 * m - k * (m + 4), merchant_id=m)
        for m in shops
        for k in range(4)
    ]
    best = sum(400 + 10 * m for m in shops)
    platform = coupon(1, "THRESHOLD", amount=3000, min_spend=10000 * 10 - best + 5)
    with counted_runs() as runs:
        result = price(PricingInput(lines=lines, coupons=[*wallet, platform], now=NOW))
    assert sorted(result.coupons_applied) == [1, 101, *(100 * m for m in shops if m > 1)]
    assert result.coupon_discount == best - 5 + 3000
    assert runs[1] <= 4, runs  # the greedy set, then the one step that reaches 满


def test_the_budget_holds_when_no_set_can_be_proven_best() -> None:
    """Eight shops with two lines each (100.00 in a platform 满减's scope, 50.00 outside) and
    six coupons each, on both lines. Every merchant coupon lowers the 满's amount by a share
    only pricing tells, so bounds stay loose and the search stops at the budget; the 满 alone
    (50元, more than all the merchant coupons' 28元) is among the sets tried first."""
    shops = range(1, 9)
    lines = [
        ln
        for m in shops
        for ln in (
            line(f"a{m}", m, 10000, merchant_id=m),
            line(f"b{m}", 100 + m, 5000, merchant_id=m),
        )
    ]
    wallet = [c for m in shops for c in shop_coupons(m, 6)]
    platform = coupon(
        1, "THRESHOLD", amount=5000, min_spend=10000 * 8, scope=Scope(product_ids=frozenset(shops))
    )
    with counted_runs() as runs:
        result = price(PricingInput(lines=lines, coupons=[*wallet, platform], now=NOW))
    assert runs[1] == pricing.COUPON_SEARCH_BUDGET
    assert (result.coupons_applied, result.coupon_discount) == ([1], 5000)


# --- against the exhaustive search ---------------------------------------------------------

amounts = st.sampled_from([100, 300, 500, 2000, 5000])  # few values: ties happen


@st.composite
def coupons_of(draw: st.DrawFn, cid: int, merchant: int | None) -> CouponRule:
    kind = draw(st.sampled_from(["CASH", "THRESHOLD", "PERCENT"]))
    extra: dict[str, Any] = {
        "merchant_id": merchant,
        "combines_with_promotions": draw(st.booleans()),
        "valid_until": NOW + timedelta(days=draw(st.integers(1, 2))),
    }
    if draw(st.booleans()):
        extra["scope"] = Scope(product_ids=frozenset(draw(st.lists(st.integers(1, 4), max_size=2))))
    if kind == "PERCENT":
        extra.update(
            percent_off=Decimal(draw(st.sampled_from([5, 10, 30]))),
            max_discount=draw(st.none() | amounts),
            min_spend=draw(st.sampled_from([0, 10000, 30000])),
        )
    else:
        extra.update(
            amount=draw(amounts),
            min_spend=draw(st.sampled_from([0, 10000, 20000, 30000, 45000]))
            if kind == "THRESHOLD"
            else 0,
        )
    return coupon(cid, kind, **extra)


@st.composite
def carts(draw: st.DrawFn, merchants: int, per_issuer: int) -> PricingInput:
    count = draw(st.integers(1, 4))
    lines: Sequence[Line] = [
        line(
            f"l{n}",
            n,
            draw(st.sampled_from([5000, 10000, 20000, 30000])),
            qty=draw(st.integers(1, 2)),
            merchant_id=draw(st.integers(1, merchants)),
        )
        for n in range(1, count + 1)
    ]
    wallet, cid = [], 1
    for issuer in [None, *range(1, merchants + 1)]:
        for _ in range(draw(st.integers(0, per_issuer))):
            wallet.append(draw(coupons_of(cid, issuer)))
            cid += 1
    promotions = (
        [promo(90, PromotionType.FULL_REDUCTION, tiers=(Tier(20000, 2000), Tier(40000, 5000)))]
        if draw(st.booleans())
        else []
    )
    return PricingInput(lines=lines, promotions=promotions, coupons=wallet, now=NOW)


@settings(max_examples=200, deadline=None)
@given(carts(merchants=2, per_issuer=3))
def test_within_the_budget_the_answer_is_the_exhaustive_one(data: PricingInput) -> None:
    assert sets_of(data) <= pricing.COUPON_SEARCH_BUDGET  # 4 × 4 × 4 at most
    same(price(data), exhaustive(data))


@settings(max_examples=60, deadline=None)
@given(carts(merchants=3, per_issuer=4))
def test_a_finished_search_is_the_exhaustive_answer(data: PricingInput) -> None:
    """Up to 5 × 5 × 5 × 5 sets; with room to finish, branch and bound prunes only sets
    that cannot win, and prices no more than trying them all."""
    with patch.object(pricing, "COUPON_SEARCH_BUDGET", 10_000), counted_runs() as runs:
        searched = price(data)
    same(searched, exhaustive(data))
    assert runs[1] < sets_of(data)
    with counted_runs() as runs:
        price(data)
    assert runs[1] <= pricing.COUPON_SEARCH_BUDGET
