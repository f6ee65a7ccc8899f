"""Builders of the pricing engine's inputs (services.pricing), shared by the pricing tests, the
API tests that check the engine's numbers by hand and bench/pricing.py. Money in fen (分).

Every builder fills in only what a case does not care about (a window around NOW, the product
being the SKU, merchant 1), so a case names just what it checks."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from services import pricing
from services.pricing import ShippingKind
from services.pricing import ShippingRule

NOW = datetime(2026, 4, 10, 12, tzinfo=UTC)

# The shipping templates the cases use: 10元 flat, free from 99元; 8元 the first piece and 2元
# each further one; 12元 the first kilogram and 5元 each further one.
FLAT10_FREE99 = ShippingRule(1, ShippingKind.FLAT, flat_fee=1000, free_over=9900)
PIECE8_2 = ShippingRule(2, ShippingKind.BY_PIECE, first_fee=800, additional_fee=200)
WEIGHT12_5 = ShippingRule(3, ShippingKind.BY_WEIGHT, first_fee=1200, additional_fee=500)


def promo(pid: int, kind: pricing.PromotionType, **kw: Any) -> pricing.Promotion:
    """Promotion `pid` named P<pid>, running from a day before NOW to a day after."""
    kw.setdefault("starts_at", NOW - timedelta(days=1))
    kw.setdefault("ends_at", NOW + timedelta(days=1))
    return pricing.Promotion(id=pid, name=kw.pop("name", f"P{pid}"), kind=kind, **kw)


def line(lid: str, sku: int, unit: int, qty: int = 1, **kw: Any) -> pricing.Line:
    """`qty` units of SKU `sku` at `unit` fen; its product is numbered as the SKU, merchant 1."""
    kw.setdefault("product_id", sku)
    kw.setdefault("merchant_id", 1)
    return pricing.Line(id=lid, sku_id=sku, quantity=qty, unit_price=unit, **kw)


def skus(*ids: int) -> pricing.Scope:
    return pricing.Scope(sku_ids=frozenset(ids))


def coupon(cid: int, kind: str = "CASH", **kw: Any) -> pricing.CouponRule:
    """Coupon `cid` named C<cid>, valid until `cid` days after NOW (so a lower id expires
    sooner: the tie-break of equal recommendations)."""
    kw.setdefault("valid_until", NOW + timedelta(days=cid))
    return pricing.CouponRule(id=cid, name=kw.pop("name", f"C{cid}"), kind=kind, **kw)


# --- many shops and a full coupon wallet (the recommendation's search) ---------------------------
# Built so the best set is known without searching (see `best_set`).

CASH_500, PERCENT_3, ALL_OR_NOTHING = 1, 2, 3  # the platform coupons' ids


def shop_coupons(shop: int, count: int) -> list[pricing.CouponRule]:
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


def shops_cart(shops: int, per_shop: int = 6) -> pricing.PricingInput:
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
    return pricing.PricingInput(lines=lines, coupons=[*wallet, *platform], now=NOW)


def best_set(shops: int, per_shop: int = 6) -> tuple[list[int], int]:
    """Merchant coupons touch only their shop's lines, so each shop's biggest coupon is best
    on its own; 满<whole cart>减(3 × shops + 5) needs every shop to give up its coupon (each
    worth more than 3, and 5元 is lost too), so 无门槛5元 (the biggest of the rest: 3% of what
    is left is capped at 4元) completes the set."""
    ids = [100 * m + per_shop - 1 for m in range(1, shops + 1)]
    discount = sum(300 + 10 * m + per_shop - 1 for m in range(1, shops + 1)) + 500
    return sorted([*ids, CASH_500]), discount
