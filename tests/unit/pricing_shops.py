"""Carts with many shops and a full coupon wallet, for the recommendation's search tests and
bench/pricing.py. Built so the best set is known without searching (see `best_set`)."""

from __future__ import annotations

from decimal import Decimal

from services.pricing import CouponRule, PricingInput
from tests.unit.test_pricing import NOW, line
from tests.unit.test_pricing_coupons import coupon

CASH_500, PERCENT_3, ALL_OR_NOTHING = 1, 2, 3  # the platform coupons' ids


def shop_coupons(shop: int, count: int) -> list[CouponRule]:
    """Shop `shop`'s coupons: CASH, THRESHOLD (满50) and capped PERCENT in turn, worth
    3.00 + 0.10 × shop + 0.01 × k fen… so within a shop the last one is the biggest and no
    two are equal."""
    made = []
    for k in range(count):
        cid, value = 100 * shop + k, 300 + 10 * shop + k
        if k % 3 == 0:
            made.append(coupon(cid, amount=value, merchant_id=shop))
        elif k % 3 == 1:
            made.append(coupon(cid, "THRESHOLD", amount=value, min_spend=5000, merchant_id=shop))
        else:
            made.append(
                coupon(
                    cid, "PERCENT", percent_off=Decimal(10), max_discount=value, merchant_id=shop
                )
            )
    return made


def shops_cart(shops: int, per_shop: int = 6) -> PricingInput:
    """One 100.00+ line per shop, `per_shop` coupons per shop and three platform coupons:
    无门槛5元, 3% off (at most 4元) and 满<whole cart>减(3 × shops + 5), which any merchant
    coupon breaks."""
    lines = [line(f"s{m}", m, 10000 + 100 * m, merchant_id=m) for m in range(1, shops + 1)]
    whole = sum(ln.unit_price for ln in lines)
    platform = [
        coupon(CASH_500, amount=500),
        coupon(PERCENT_3, "PERCENT", percent_off=Decimal(3), max_discount=400),
        coupon(ALL_OR_NOTHING, "THRESHOLD", amount=300 * shops + 500, min_spend=whole),
    ]
    wallet = [c for m in range(1, shops + 1) for c in shop_coupons(m, per_shop)]
    return PricingInput(lines=lines, coupons=[*wallet, *platform], now=NOW)


def best_set(shops: int, per_shop: int = 6) -> tuple[list[int], int]:
    """Merchant coupons touch only their shop's lines, so each shop's biggest coupon is best
    on its own; 满<whole cart>减(3 × shops + 5) needs every shop to give up its coupon (each
    worth more than 3, and 5元 is lost too), so 无门槛5元 (the biggest of the rest: 3% of what
    is left is capped at 4元) completes the set."""
    ids = [100 * m + per_shop - 1 for m in range(1, shops + 1)]
    discount = sum(300 + 10 * m + per_shop - 1 for m in range(1, shops + 1)) + 500
    return sorted([*ids, CASH_500]), discount
