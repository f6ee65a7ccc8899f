"""Price calculation (DOMAIN.md §4 and §6): one pure, synchronous, deterministic function over
plain data — no ORM objects, no I/O — that the cart, the checkout preview and order placement
all call, so the price a customer sees is the price they pay.

Order of application: ITEM promotions → ORDER promotions → merchant coupons → platform coupon
(coupon stages are pass-through until coupons land) → shipping. An order-level discount is
spread over its eligible lines in proportion to their amounts by the largest-remainder method,
so line discounts always sum exactly to the discount and no line goes below zero. Percentages
round half up to the minor unit. All money is integer minor units."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from core.money import from_minor
from core.money import percent_of

# The kinds are the stored ones (plain StrEnums, not ORM objects): one definition each.
from models.catalog import ShippingKind
from models.promotions import PromotionType
from services.messages import Message
from services.messages import message


class Level(StrEnum):
    ITEM = "ITEM"
    ORDER = "ORDER"
    GIFT = "GIFT"


LEVEL = {
    PromotionType.SINGLE_PRODUCT: Level.ITEM,
    PromotionType.MULTI_BUY: Level.ITEM,
    PromotionType.BUNDLE: Level.ITEM,
    PromotionType.DEPOSIT: Level.ITEM,
    PromotionType.FULL_REDUCTION: Level.ORDER,
    PromotionType.SPEND_GIFT: Level.ORDER,
    PromotionType.ADD_ON: Level.ORDER,
    PromotionType.GIFT: Level.GIFT,
}


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Empty includes mean "everything"; exclusions always win."""

    sku_ids: frozenset[int] = frozenset()
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()  # any level: descendants are included
    brand_ids: frozenset[int] = frozenset()
    excluded_product_ids: frozenset[int] = frozenset()
    # A merchant-funded discount reaches that merchant's goods only, whatever else it names.
    merchant_id: int | None = None

    def covers(self, line: Line) -> bool:
        if line.product_id in self.excluded_product_ids:
            return False
        if self.merchant_id is not None and line.merchant_id != self.merchant_id:
            return False
        if not (self.sku_ids or self.product_ids or self.category_ids or self.brand_ids):
            return True
        return (
            line.sku_id in self.sku_ids
            or line.product_id in self.product_ids
            or line.brand_id in self.brand_ids
            or bool(self.category_ids.intersection(line.category_path))
        )


SCOPE_KEYS = (
    ("sku_ids", "SKU"),
    ("product_ids", "PRODUCT"),
    ("category_ids", "CATEGORY"),
    ("brand_ids", "BRAND"),
    ("excluded_product_ids", "EXCLUDED_PRODUCT"),
)


def scope_from_json(
    stored: Mapping[str, Sequence[int]] | None, merchant_id: int | None = None
) -> Scope:
    """A scope as promotions and coupon templates store it ({"SKU": [..], "BRAND": [..], …}),
    limited to the funding merchant's goods when a merchant pays for it."""
    stored = stored or {}
    return Scope(
        **{name: frozenset(stored.get(key, ())) for name, key in SCOPE_KEYS},
        merchant_id=merchant_id,
    )


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str = "ALL"  # ALL | NEW_CUSTOMERS | MIN_MEMBER_LEVEL
    min_member_level: int = 0

    def admits(self, customer: Customer) -> bool:
        if self.kind == "NEW_CUSTOMERS":
            return customer.is_new
        if self.kind == "MIN_MEMBER_LEVEL":
            return customer.member_level >= self.min_member_level
        return True


@dataclass(frozen=True, slots=True)
class GiftItem:
    sku_id: int
    quantity: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Tier:
    threshold: int
    amount: int = 0  # FULL_REDUCTION
    gifts: tuple[GiftItem, ...] = ()  # SPEND_GIFT


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    name: str
    kind: PromotionType
    starts_at: datetime
    ends_at: datetime
    scope: Scope = Scope()
    audience: Audience = Audience()
    channels: frozenset[str] = frozenset()  # empty = every channel
    combinable: bool = True  # with the other level (DEPOSIT never is)
    per_customer_limit: int | None = None
    # SINGLE_PRODUCT
    special_price: int | None = None
    percent_off: Decimal | None = None  # also MULTI_BUY "from the Nth unit, X% off"
    promotion_stock_left: int | None = None  # flash sale: units left at this price
    # MULTI_BUY
    from_nth_unit: int | None = None
    units: int | None = None
    units_price: int | None = None
    min_units: int | None = None  # 满N件M折: N units of the whole scope, every unit percent_off
    every_second: bool = False  # 第二件半价: every second unit by price, per product
    # BUNDLE
    bundle: tuple[tuple[int, int], ...] = ()  # (sku, quantity per set)
    bundle_price: int | None = None
    # DEPOSIT (per unit)
    deposit: int | None = None
    deposit_worth: int | None = None
    # FULL_REDUCTION / SPEND_GIFT
    tiers: tuple[Tier, ...] = ()
    every_step: int | None = None
    every_amount: int | None = None
    every_cap: int | None = None
    # GIFT
    gifts: tuple[GiftItem, ...] = ()
    # ADD_ON (加价购): spend add_on_threshold on the scope, buy up to add_on_limit units of
    # the (sku, special price) choices
    add_on_threshold: int = 0
    add_on_choices: tuple[tuple[int, int], ...] = ()
    add_on_limit: int = 1

    @property
    def level(self) -> Level:
        return LEVEL[self.kind]

    @property
    def combines(self) -> bool:
        return self.combinable and self.kind != PromotionType.DEPOSIT


@dataclass(frozen=True)
class ShippingRule:
    id: int
    kind: ShippingKind
    first_fee: int = 0
    additional_fee: int = 0
    flat_fee: int = 0
    free_over: int | None = None


@dataclass(frozen=True)
class Line:
    id: str
    sku_id: int
    product_id: int
    merchant_id: int
    quantity: int
    unit_price: int
    category_path: tuple[int, ...] = ()
    brand_id: int = 0
    weight_grams: int = 0
    shipping: ShippingRule | None = None
    available: bool = True
    title: str = ""
    add_on: int | None = None  # bought through this ADD_ON promotion (加价购), not for itself


@dataclass(frozen=True)
class Customer:
    member_level: int = 0
    is_new: bool = True
    bought: Mapping[int, int] = field(default_factory=dict)  # units bought per promotion


@dataclass(frozen=True)
class CouponRule:
    """A customer's coupon as pricing sees it. `merchant_id` None = issued by the platform."""

    id: int
    name: str
    kind: str  # CASH | THRESHOLD | PERCENT
    amount: int = 0
    percent_off: Decimal | None = None
    min_spend: int = 0
    max_discount: int | None = None
    scope: Scope = Scope()
    merchant_id: int | None = None
    combines_with_promotions: bool = True
    valid_until: datetime | None = None


@dataclass(frozen=True)
class PricingInput:
    lines: Sequence[Line]
    promotions: Sequence[Promotion] = ()
    coupons: Sequence[CouponRule] = ()  # the customer's usable-in-time coupons
    coupon_ids: Sequence[int] | None = None  # None: the recommended set; []: no coupon
    customer: Customer = Customer()
    channel: str = "WEB"
    now: datetime | None = None
    # line id → the ITEM promotion the customer picked (0 = none, to join order-level offers)
    choices: Mapping[str, int] = field(default_factory=dict)
    gift_stock: Mapping[int, int] = field(default_factory=dict)  # sku → sellable units
    gift_names: Mapping[int, str] = field(default_factory=dict)  # sku → what notices call it


# --- outputs -------------------------------------------------------------------------------------


@dataclass
class Discount:
    source: str  # PROMOTION | COUPON
    source_id: int
    label: str
    amount: int
    funder: int | None = None  # the merchant paying for it; None: the platform (settlement)


@dataclass
class LineResult:
    line_id: str
    quantity: int
    unit_price: int
    subtotal: int
    available: bool
    discounts: list[Discount] = field(default_factory=list)
    item_promotion: int | None = None
    order_promotion: int | None = None
    item_choices: list[int] = field(default_factory=list)  # ITEM promotions the line may take
    notices: list[Message] = field(default_factory=list)
    deposit_due: int | None = None  # presale: payable now; the rest in the balance window
    balance_due: int | None = None
    # units given a promotion that has a per-customer limit or flash stock: what an order
    # records and what checkout claims from the promotion's stock
    promotion_units: dict[int, int] = field(default_factory=dict)

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount if self.available else 0

    def promotion_discount(self) -> int:
        return sum(d.amount for d in self.discounts if d.source == "PROMOTION")


@dataclass
class GiftResult:
    sku_id: int
    quantity: int
    promotion_id: int


@dataclass
class AddOnResult:
    """An add-on offer on this cart: the scope's post-item-promotion subtotal against the
    threshold, and the add-on units priced at the special price."""

    promotion_id: int
    subtotal: int
    threshold: int
    units: int = 0

    @property
    def reached(self) -> bool:
        return self.subtotal >= self.threshold

    @property
    def shortfall(self) -> int:
        return max(0, self.threshold - self.subtotal)


@dataclass
class MerchantResult:
    merchant_id: int
    subtotal: int
    promotion_discount: int
    coupon_discount: int
    shipping: int

    @property
    def total(self) -> int:
        return self.subtotal - self.promotion_discount - self.coupon_discount + self.shipping


@dataclass
class CouponOption:
    """What one coupon would do on this cart on its own: a discount, or why it cannot."""

    coupon_id: int
    discount: int
    reason: str | None  # None when usable
    shortfall: int = 0  # how much more spend the threshold needs
    lines: frozenset[str] = frozenset()  # ids of the lines it may discount


@dataclass
class PricingResult:
    lines: list[LineResult]
    gifts: list[GiftResult]
    merchants: list[MerchantResult]
    explanations: list[Message]
    coupons_applied: list[int] = field(default_factory=list)
    coupon_options: list[CouponOption] = field(default_factory=list)
    add_ons: list[AddOnResult] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(m.subtotal for m in self.merchants)

    @property
    def promotion_discount(self) -> int:
        return sum(m.promotion_discount for m in self.merchants)

    @property
    def coupon_discount(self) -> int:
        return sum(m.coupon_discount for m in self.merchants)

    @property
    def shipping(self) -> int:
        return sum(m.shipping for m in self.merchants)

    @property
    def total(self) -> int:
        return sum(m.total for m in self.merchants)


# --- helpers -------------------------------------------------------------------------------------


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` proportionally by the largest-remainder method: shares are
    whole minor units, sum exactly to `total`, and none exceeds its weight when
    total ≤ sum(weights). Ties go to the earlier weight."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    raw = [total * w for w in weights]
    shares = [r // whole for r in raw]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-(raw[i] % whole), i))[:left]:
        shares[i] += 1
    return shares


def yuan(minor: int) -> str:
    """Amounts in labels: 300 not 300.00, 9.9 not 9.90."""
    text = f"{from_minor(minor):f}".rstrip("0").rstrip(".")
    return text or "0"


def _percent_label(percent: Decimal) -> str:
    tenths = (Decimal(100) - percent) / 10  # 30% off → 7折, 15% off → 8.5折
    return f"{tenths.normalize():f}折"


def tag_of(p: Promotion) -> str:
    """The short storefront label of a promotion, e.g. 满300减30, 第2件5折."""
    if p.kind == PromotionType.SINGLE_PRODUCT:
        return "限时秒杀" if p.promotion_stock_left is not None else "直降"
    if p.kind == PromotionType.MULTI_BUY:
        if p.from_nth_unit and p.percent_off is not None:
            return f"第{p.from_nth_unit}件{_percent_label(p.percent_off)}"
        if p.min_units and p.percent_off is not None:
            return f"满{p.min_units}件{_percent_label(p.percent_off)}"
        if p.every_second and p.percent_off is not None:
            half = p.percent_off == 50
            return "第二件半价" if half else f"第二件{_percent_label(p.percent_off)}"
        return f"{p.units}件{yuan(p.units_price or 0)}元"
    if p.kind == PromotionType.BUNDLE:
        return f"套装{yuan(p.bundle_price or 0)}元"
    if p.kind == PromotionType.DEPOSIT:
        return f"定金{yuan(p.deposit or 0)}抵{yuan(p.deposit_worth or p.deposit or 0)}"
    if p.kind == PromotionType.FULL_REDUCTION:
        if p.every_step:
            return f"每满{yuan(p.every_step)}减{yuan(p.every_amount or 0)}"
        return "，".join(f"满{yuan(t.threshold)}减{yuan(t.amount)}" for t in p.tiers)
    if p.kind == PromotionType.SPEND_GIFT:
        return "，".join(f"满{yuan(t.threshold)}赠" for t in p.tiers)
    if p.kind == PromotionType.ADD_ON:
        return f"满{yuan(p.add_on_threshold)}换购"
    return "买赠"


def admits(p: Promotion, customer: Customer, channel: str, now: datetime | None) -> bool:
    """Running now, on this channel, for this shopper — whatever the goods."""
    in_time = now is None or p.starts_at <= now < p.ends_at
    return in_time and (not p.channels or channel in p.channels) and p.audience.admits(customer)


def applies(
    p: Promotion, line: Line, customer: Customer, channel: str, now: datetime | None
) -> bool:
    return admits(p, customer, channel, now) and p.scope.covers(line)


# --- the stages ----------------------------------------------------------------------------------


@dataclass
class _Work:
    """Per-evaluation state: results by line and what promotions have left to give."""

    lines: dict[str, Line]
    results: dict[str, LineResult]
    limit_left: dict[int, int]
    stock_left: dict[int, int]
    explanations: list[Message]
    add_ons: list[AddOnResult] = field(default_factory=list)
    gift_names: Mapping[int, str] = field(default_factory=dict)


def _capped_units(w: _Work, p: Promotion, wanted: int, line: LineResult) -> int:
    """Units of a line that may get promotion `p`: the per-customer limit (units in paid
    orders count) and flash-sale stock are shared across the cart's lines, in line order."""
    units = wanted
    if p.id in w.limit_left:
        units = min(units, w.limit_left[p.id])
        w.limit_left[p.id] -= units
        if units < wanted:
            note = message("notice.over_limit", units=wanted - units, promotion=p.name)
            line.notices.append(note)
            w.explanations.append(note)
    if p.id in w.stock_left:
        allowed = min(units, w.stock_left[p.id])
        w.stock_left[p.id] -= allowed
        if allowed < units:
            note = message("notice.over_stock", units=units - allowed, promotion=p.name)
            line.notices.append(note)
            w.explanations.append(note)
        units = allowed
    if p.id in w.limit_left or p.id in w.stock_left:
        line.promotion_units[p.id] = line.promotion_units.get(p.id, 0) + units
    return units


def _discount(result: LineResult, p: Promotion, amount: int) -> None:
    if amount > 0:
        result.discounts.append(Discount("PROMOTION", p.id, tag_of(p), amount, p.scope.merchant_id))


def _single_product(w: _Work, p: Promotion, line: Line) -> None:
    result = w.results[line.id]
    units = _capped_units(w, p, line.quantity, result)
    if p.special_price is not None:
        per_unit = max(0, line.unit_price - p.special_price)
    else:
        per_unit = percent_of(line.unit_price, p.percent_off or Decimal(0))
    _discount(result, p, min(per_unit, line.unit_price) * units)


def _multi_buy(w: _Work, p: Promotion, lines: list[Line]) -> None:
    """Per product: from the Nth unit X% off, every second unit by price X% off, or every N
    units for a fixed price — the discounted units are the cheapest ones (shoppers would
    otherwise game the order). 满N件M折 counts the units of the whole scope together."""
    if p.min_units:
        _min_units(w, p, lines)
        return
    by_product: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        by_product[line.product_id].append(line)
    for product_lines in by_product.values():
        units = _units_by_price(w, p, product_lines)
        off: dict[str, int] = defaultdict(int)
        if p.from_nth_unit and p.percent_off is not None:
            for price, line_id in units[p.from_nth_unit - 1 :]:
                off[line_id] += percent_of(price, p.percent_off)
        elif p.every_second and p.percent_off is not None:
            # Pairs in price order: the cheaper unit of each pair is discounted.
            for price, line_id in units[1::2]:
                off[line_id] += percent_of(price, p.percent_off)
        elif p.units and p.units_price is not None:
            full_sets = len(units) // p.units
            # Sets are formed from the cheapest units, keeping the dearest at full price.
            in_sets = units[len(units) - full_sets * p.units :]
            for s in range(full_sets):
                group = in_sets[s * p.units : (s + 1) * p.units]
                saving = sum(price for price, _ in group) - p.units_price
                shares = allocate(max(0, saving), [price for price, _ in group])
                for (_, line_id), share in zip(group, shares, strict=True):
                    off[line_id] += share
        for line_id, amount in off.items():
            _discount(w.results[line_id], p, amount)


def _units_by_price(w: _Work, p: Promotion, lines: list[Line]) -> list[tuple[int, str]]:
    """One (price, line id) per unit that may get `p` (limits applied), dearest first."""
    units: list[tuple[int, str]] = []
    for line in lines:
        eligible = _capped_units(w, p, line.quantity, w.results[line.id])
        units.extend([(line.unit_price, line.id)] * eligible)
    units.sort(key=lambda u: -u[0])
    return units


def _min_units(w: _Work, p: Promotion, lines: list[Line]) -> None:
    """满N件M折: once the scope's units (within the limit) number N, every one of them is
    at M折, each unit rounded half up; below N nothing, and no unit counts as sold at the
    promotion price."""
    before = {line.id: dict(w.results[line.id].promotion_units) for line in lines}
    left = w.limit_left.get(p.id)
    units = _units_by_price(w, p, lines)
    if len(units) < (p.min_units or 0) or p.percent_off is None:
        for line in lines:
            w.results[line.id].promotion_units = before[line.id]
        if left is not None:
            w.limit_left[p.id] = left
        return
    off: dict[str, int] = defaultdict(int)
    for price, line_id in units:
        off[line_id] += percent_of(price, p.percent_off)
    for line_id, amount in off.items():
        _discount(w.results[line_id], p, amount)


def _bundle(w: _Work, p: Promotion, lines: list[Line]) -> None:
    by_sku: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        by_sku[line.sku_id].append(line)
    if not p.bundle or any(sku not in by_sku for sku, _ in p.bundle) or p.bundle_price is None:
        return
    sets = min(sum(x.quantity for x in by_sku[sku]) // qty for sku, qty in p.bundle)
    if sets <= 0:
        return
    components = [(by_sku[sku][0], qty * sets) for sku, qty in p.bundle]
    base = [line.unit_price * units for line, units in components]
    saving = max(0, sum(base) - p.bundle_price * sets)
    for (line, _), share in zip(components, allocate(saving, base), strict=True):
        _discount(w.results[line.id], p, share)
    w.explanations.append(message("pricing.bundle_sets", tag=tag_of(p), sets=sets))


def _deposit(w: _Work, p: Promotion, line: Line) -> None:
    result = w.results[line.id]
    deposit = p.deposit or 0
    worth = max(deposit, p.deposit_worth or deposit)
    _discount(result, p, min(line.unit_price, worth - deposit) * line.quantity)
    result.deposit_due = deposit * line.quantity
    result.balance_due = max(0, result.total - result.deposit_due)


def _order_discount(p: Promotion, subtotal: int) -> int:
    if p.every_step:
        amount = (subtotal // p.every_step) * (p.every_amount or 0)
        return min(amount, p.every_cap) if p.every_cap is not None else amount
    reached = [t for t in p.tiers if subtotal >= t.threshold]
    return max(reached, key=lambda t: t.threshold).amount if reached else 0


def _order_stage(
    w: _Work, p: Promotion, lines: list[Line], gifts: list[GiftResult], gift_stock: dict[int, int]
) -> None:
    if not lines:
        return
    amounts = [w.results[line.id].total for line in lines]
    subtotal = sum(amounts)
    if p.kind == PromotionType.FULL_REDUCTION:
        amount = min(subtotal, _order_discount(p, subtotal))
        if amount > 0:
            for line, share in zip(lines, allocate(amount, amounts), strict=True):
                _discount(w.results[line.id], p, share)
                w.results[line.id].order_promotion = p.id
            w.explanations.append(message("pricing.applied", tag=tag_of(p), amount=yuan(amount)))
        elif p.tiers:
            gap = min(t.threshold for t in p.tiers) - subtotal
            w.explanations.append(message("pricing.add_more", amount=yuan(gap), tag=tag_of(p)))
        return
    reached = [t for t in p.tiers if subtotal >= t.threshold]
    if reached:
        tier = max(reached, key=lambda t: t.threshold)
        for line in lines:
            w.results[line.id].order_promotion = p.id
        _give(w, p, [(g, g.quantity) for g in tier.gifts], gifts, gift_stock)


def _add_on(w: _Work, p: Promotion, scope_lines: list[Line], add_on_lines: list[Line]) -> None:
    """加价购: once the scope's subtotal after item promotions reaches the threshold, the
    add-on lines (in cart order) get the special price on up to the per-order limit of units
    (and the per-customer limit, if any); the units beyond it cost the normal price. Below the
    threshold the add-on lines are locked out of the totals (see _without_locked_add_ons)."""
    if not scope_lines and not add_on_lines:
        return
    offer = AddOnResult(
        p.id, sum(w.results[line.id].total for line in scope_lines), p.add_on_threshold
    )
    w.add_ons.append(offer)
    if not add_on_lines:
        return
    if not offer.reached:
        w.explanations.append(
            message("pricing.add_more", amount=yuan(offer.shortfall), tag=tag_of(p))
        )
        return
    prices = dict(p.add_on_choices)
    left = p.add_on_limit
    for line in add_on_lines:
        result = w.results[line.id]
        if line.sku_id not in prices:
            continue  # no longer offered: locked
        units = min(line.quantity, left)
        left -= units
        if units < line.quantity:
            result.notices.append(
                message("notice.add_on_over_limit", units=line.quantity - units, tag=tag_of(p))
            )
        units = _capped_units(w, p, units, result)
        offer.units += units
        _discount(result, p, max(0, line.unit_price - prices[line.sku_id]) * units)
        result.order_promotion = p.id


def _without_locked_add_ons(w: _Work, lines: list[Line]) -> list[Line]:
    """Add-on lines whose offer is not reached, not running or no longer lists the SKU stay
    in the cart but out of the totals and the checkout, with a notice: never an add-on at its
    full price by surprise."""
    offers = {o.promotion_id: o for o in w.add_ons}
    kept = []
    for line in lines:
        offer = offers.get(line.add_on) if line.add_on is not None else None
        result = w.results[line.id]
        if line.add_on is None or (offer is not None and offer.reached and result.order_promotion):
            kept.append(line)
            continue
        result.available = False
        if offer is not None and not offer.reached:
            result.notices.append(message("notice.add_on_locked", amount=yuan(offer.shortfall)))
        else:
            result.notices.append(message("notice.add_on_unavailable"))
    return kept


def _give(
    w: _Work,
    p: Promotion,
    items: list[tuple[GiftItem, int]],
    gifts: list[GiftResult],
    gift_stock: dict[int, int],
) -> None:
    """Gifts need stock: each is given as far as stock allows; the rest is explained."""
    for gift, quantity in items:
        available = gift_stock.get(gift.sku_id, 0)
        given = min(quantity, available)
        gift_stock[gift.sku_id] = available - given
        if given:
            gifts.append(GiftResult(gift.sku_id, given, p.id))
        if given < quantity:
            name = gift.name or w.gift_names.get(gift.sku_id, "")
            w.explanations.append(
                message("pricing.gift_out_of_stock", gift=name, units=quantity - given)
            )


def _shipping(rule: ShippingRule | None, lines: list[Line], payable: int) -> int:
    if rule is None or rule.kind == ShippingKind.FREE:
        return 0
    if rule.free_over is not None and payable >= rule.free_over:
        return 0
    if rule.kind == ShippingKind.FLAT:
        return rule.flat_fee
    if rule.kind == ShippingKind.BY_PIECE:
        pieces = sum(line.quantity for line in lines)
        return rule.first_fee + rule.additional_fee * max(0, pieces - 1)
    grams = sum(line.weight_grams * line.quantity for line in lines)
    kilos = max(1, math.ceil(grams / 1000))
    return rule.first_fee + rule.additional_fee * (kilos - 1)


def _merchants(w: _Work, lines: list[Line]) -> list[MerchantResult]:
    """Per merchant: amounts of its lines; shipping per template over the merchant's payable
    subtotal, the highest fee among its templates (运费取最高)."""
    by_merchant: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        by_merchant[line.merchant_id].append(line)
    merchants = []
    for merchant_id in sorted(by_merchant):
        group = by_merchant[merchant_id]
        results = [w.results[line.id] for line in group]
        subtotal = sum(r.subtotal for r in results)
        promo = sum(r.promotion_discount() for r in results)
        coupon = sum(r.discount - r.promotion_discount() for r in results)
        payable = subtotal - promo - coupon
        by_rule: dict[int | None, list[Line]] = defaultdict(list)
        rules: dict[int | None, ShippingRule | None] = {}
        for line in group:
            key = line.shipping.id if line.shipping else None
            by_rule[key].append(line)
            rules[key] = line.shipping
        fee = max((_shipping(rules[k], ls, payable) for k, ls in by_rule.items()), default=0)
        merchants.append(MerchantResult(merchant_id, subtotal, promo, coupon, fee))
    return merchants


# --- coupons -------------------------------------------------------------------------------------


def _coupon_lines(w: _Work, c: CouponRule, lines: list[Line]) -> list[Line]:
    """Lines a coupon may discount: in scope, of its merchant (merchant coupons), not presale
    deposits, and — unless it combines with promotions — without an ORDER promotion."""
    eligible = []
    for line in lines:
        result = w.results[line.id]
        if not c.scope.covers(line) or result.deposit_due is not None or line.add_on:
            continue
        if c.merchant_id is not None and line.merchant_id != c.merchant_id:
            continue
        if not c.combines_with_promotions and result.order_promotion is not None:
            continue
        eligible.append(line)
    return eligible


def coupon_value(c: CouponRule, subtotal: int) -> int:
    """The discount of a coupon on an eligible subtotal (0 below its threshold)."""
    if subtotal <= 0 or subtotal < c.min_spend:
        return 0
    if c.kind == "PERCENT":
        value = percent_of(subtotal, c.percent_off or Decimal(0))
        if c.max_discount is not None:
            value = min(value, c.max_discount)
    else:
        value = c.amount
    return min(value, subtotal)


def _apply_coupon(w: _Work, c: CouponRule, lines: list[Line]) -> int:
    eligible = _coupon_lines(w, c, lines)
    amounts = [w.results[line.id].total for line in eligible]
    value = coupon_value(c, sum(amounts))
    for line, share in zip(eligible, allocate(value, amounts), strict=True):
        if share:
            w.results[line.id].discounts.append(
                Discount("COUPON", c.id, c.name, share, c.merchant_id)
            )
    if value:
        w.explanations.append(message("pricing.coupon_applied", coupon=c.name, amount=yuan(value)))
    return value


def _option(w: _Work, c: CouponRule, lines: list[Line]) -> CouponOption:
    eligible = _coupon_lines(w, c, lines)
    if not eligible:
        return CouponOption(c.id, 0, "OUT_OF_SCOPE")
    subtotal = sum(w.results[line.id].total for line in eligible)
    if subtotal < c.min_spend:
        return CouponOption(c.id, 0, "BELOW_THRESHOLD", c.min_spend - subtotal)
    value = coupon_value(c, subtotal)
    return CouponOption(
        c.id, value, None if value else "NO_DISCOUNT", lines=frozenset(line.id for line in eligible)
    )


# --- evaluation ----------------------------------------------------------------------------------


def _evaluate(
    data: PricingInput,
    picks: Mapping[str, int],
    coupon_ids: Sequence[int] = (),
    with_options: bool = True,
) -> PricingResult:
    """Price the cart with each line's ITEM promotion fixed by `picks` (0 = none) and the
    given coupons (merchant coupons first, then the platform's); `with_options` also says
    what each coupon would do on its own (the coupon search needs that only once)."""
    lines = [ln for ln in data.lines if ln.available]
    promotions = {p.id: p for p in data.promotions}
    w = _Work(
        lines={ln.id: ln for ln in lines},
        results={
            ln.id: LineResult(
                ln.id, ln.quantity, ln.unit_price, ln.unit_price * ln.quantity, ln.available
            )
            for ln in data.lines
        },
        limit_left={
            p.id: max(0, p.per_customer_limit - data.customer.bought.get(p.id, 0))
            for p in data.promotions
            if p.per_customer_limit is not None
        },
        stock_left={
            p.id: max(0, p.promotion_stock_left)
            for p in data.promotions
            if p.promotion_stock_left is not None
        },
        explanations=[],
        gift_names=data.gift_names,
    )
    # ITEM stage, promotion by promotion (lines of one promotion are priced together).
    item_lines: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        pick = picks.get(line.id, 0)
        if pick:
            item_lines[pick].append(line)
            w.results[line.id].item_promotion = pick
    for promotion_id in sorted(item_lines):
        p = promotions[promotion_id]
        group = item_lines[promotion_id]
        if p.kind == PromotionType.SINGLE_PRODUCT:
            for line in group:
                _single_product(w, p, line)
        elif p.kind == PromotionType.MULTI_BUY:
            _multi_buy(w, p, group)
        elif p.kind == PromotionType.BUNDLE:
            _bundle(w, p, group)
        elif p.kind == PromotionType.DEPOSIT:
            for line in group:
                _deposit(w, p, line)
    # ORDER stage: each line joins at most one order-level promotion, if its ITEM
    # promotion (and the order one) may combine across levels.
    gifts: list[GiftResult] = []
    gift_stock = dict(data.gift_stock)
    taken: set[str] = set()
    order_promotions = sorted(
        (p for p in data.promotions if p.level == Level.ORDER), key=lambda p: p.id
    )
    for p in order_promotions:
        eligible = []
        for line in lines:
            item = promotions.get(picks.get(line.id, 0))
            if line.id in taken or line.add_on is not None:
                continue
            if not applies(p, line, data.customer, data.channel, data.now):
                continue
            if item is not None and not (item.combines and p.combines):
                continue
            eligible.append(line)
        taken.update(line.id for line in eligible)
        if p.kind != PromotionType.ADD_ON:
            _order_stage(w, p, eligible, gifts, gift_stock)
        elif admits(p, data.customer, data.channel, data.now):
            _add_on(w, p, eligible, [ln for ln in lines if ln.add_on == p.id])
    lines = _without_locked_add_ons(w, lines)
    # GIFT stage: buying a product adds all its gift SKUs, per unit bought.
    for p in sorted((p for p in data.promotions if p.level == Level.GIFT), key=lambda p: p.id):
        units = 0
        for line in lines:
            item = promotions.get(picks.get(line.id, 0))
            if (
                line.add_on is None
                and applies(p, line, data.customer, data.channel, data.now)
                and (item is None or item.kind != PromotionType.DEPOSIT)
            ):
                units += line.quantity
        if units:
            _give(w, p, [(g, g.quantity * units) for g in p.gifts], gifts, gift_stock)
    coupons = {c.id: c for c in data.coupons}
    options = [_option(w, c, lines) for c in data.coupons] if with_options else []
    chosen = sorted(
        (coupons[i] for i in coupon_ids if i in coupons),
        key=lambda c: (c.merchant_id is None, c.merchant_id or 0),
    )
    applied = [c.id for c in chosen if _apply_coupon(w, c, lines)]
    for result in w.results.values():
        if result.deposit_due is not None:  # the balance after every discount
            result.balance_due = max(0, result.total - result.deposit_due)
    return PricingResult(
        [w.results[ln.id] for ln in data.lines],
        gifts,
        _merchants(w, lines),
        w.explanations,
        applied,
        options,
        w.add_ons,
    )


def _item_candidates(data: PricingInput) -> dict[str, list[int]]:
    candidates: dict[str, list[int]] = {}
    for line in data.lines:
        if not line.available or line.add_on is not None:  # an add-on takes its own price only
            continue
        candidates[line.id] = sorted(
            p.id
            for p in data.promotions
            if p.level == Level.ITEM and applies(p, line, data.customer, data.channel, data.now)
        )
    return candidates


def price(data: PricingInput) -> PricingResult:
    """Price a cart. Where a line's ITEM promotion and the order-level offers cannot combine,
    the default is whichever gives the lower payable total; a customer's valid choice (an
    ITEM promotion id, or 0 for none) is kept."""
    candidates = _item_candidates(data)
    fixed = {
        line_id: pick
        for line_id, pick in data.choices.items()
        if line_id in candidates and (pick == 0 or pick in candidates[line_id])
    }
    # Start from each line's first candidate, then improve one line at a time.
    picks = {
        line_id: fixed.get(line_id, options[0] if options else 0)
        for line_id, options in candidates.items()
    }
    best = _evaluate(data, picks)
    for _ in range(3):
        improved = False
        for line_id, options in candidates.items():
            if line_id in fixed or not options:
                continue
            for option in [0, *options]:
                if option == picks[line_id]:
                    continue
                trial = {**picks, line_id: option}
                result = _evaluate(data, trial)
                if result.total < best.total:
                    picks, best, improved = trial, result, True
        if not improved:
            break
    if data.coupons and data.coupon_ids != []:
        best = _with_coupons(data, picks, best)
    for line in best.lines:
        line.item_choices = candidates.get(line.line_id, [])
    return best


def valid_coupon_set(coupons: Sequence[CouponRule]) -> bool:
    """At most one platform coupon, and at most one coupon per merchant."""
    issuers = [c.merchant_id for c in coupons]
    return len(issuers) == len(set(issuers))


def _with_coupons(
    data: PricingInput, picks: Mapping[str, int], base: PricingResult
) -> PricingResult:
    """The customer's coupons if they chose (an invalid set is refused by the caller), else
    the recommended set: the largest total discount, ties to the set that expires soonest."""
    if data.coupon_ids is not None:
        return _evaluate(data, picks, list(data.coupon_ids))
    best = _CouponSearch(data, picks, base).run()
    best.coupon_options = base.coupon_options
    return best


# Pricing runs one recommendation may spend. Below it the answer is provably the best set (the
# search is exact when it finishes); a cart of 64 runs prices in a few milliseconds.
COUPON_SEARCH_BUDGET = 64


@dataclass(frozen=True)
class _Choice:
    """One issuer's option: one of its coupons, or none."""

    coupon: CouponRule | None
    value: int  # the coupon's discount on this cart on its own (0: none)
    position: int  # 0 = none, then by value: its place in the exhaustive search's order
    lines: frozenset[str] = frozenset()  # the lines it may discount


def _issuer_choices(data: PricingInput, base: PricingResult) -> list[list[_Choice]]:
    """Per issuer (the platform, each merchant): no coupon, then its five most valuable
    usable coupons."""
    usable = {o.coupon_id: o for o in base.coupon_options if o.reason is None}
    by_issuer: dict[int | None, list[CouponRule]] = defaultdict(list)
    for c in data.coupons:
        if c.id in usable:
            by_issuer[c.merchant_id].append(c)
    return [
        [
            _Choice(None, 0, 0),
            *(
                _Choice(c, usable[c.id].discount, n, usable[c.id].lines)
                for n, c in enumerate(
                    sorted(group, key=lambda c: -usable[c.id].discount)[:5], start=1
                )
            ),
        ]
        for group in by_issuer.values()
    ]


SetKey = tuple[int, float, tuple[int, ...]]


def set_key(discount: int, combo: Sequence[_Choice]) -> SetKey:
    """Bigger is better: the discount, then the soonest expiry, then the set the exhaustive
    search (one option per issuer, issuers in wallet order) would meet first."""
    expiry = min(
        (
            c.coupon.valid_until.timestamp()
            for c in combo
            if c.coupon is not None and c.coupon.valid_until
        ),
        default=math.inf,
    )
    return discount, -expiry, tuple(-c.position for c in combo)


class _CouponSearch:
    """Branch and bound over one option per issuer, within COUPON_SEARCH_BUDGET pricing runs
    (trying every set costs 6^issuers runs: hours for 8 shops).

    A merchant coupon only touches its merchant's lines and merchant coupons go first, so in
    any set each one gives exactly its discount on its own; the platform coupon goes last, on
    amounts the merchant coupons lowered, so it gives at most its own discount (thresholds,
    percentages and caps only shrink with the amount). The sum of the options' own discounts
    is therefore a bound on a set's discount, and sets are visited in falling bound order
    until no bound can beat the best priced set — the answer of the exhaustive search, which
    this equals whenever it finishes within the budget (always when the sets number fewer).
    A visited set is priced only if its tighter `_cap` could still win. The extreme sets come
    first (`_seeds`), so a search cut short keeps at least the best of them; the sets after
    them give up a little merchant discount to reach a platform threshold."""

    def __init__(self, data: PricingInput, picks: Mapping[str, int], base: PricingResult):
        self.data, self.picks = data, picks
        self.issuers = [
            sorted(choices, key=lambda c: (-c.value, c.position))
            for choices in _issuer_choices(data, base)
        ]
        self.amounts = {r.line_id: r.total for r in base.lines}
        self.best = base
        self.best_key: tuple[int, float, tuple[int, ...]] = (0, 0.0, ())
        self.priced: set[tuple[int, ...]] = set()

    def run(self) -> PricingResult:
        for at in self._seeds():
            self._consider(at)
        top = tuple(0 for _ in self.issuers)
        heap = [(-self._bound(top), top, 0)]
        visits = 0
        while (
            heap and len(self.priced) < COUPON_SEARCH_BUDGET and visits < 4 * COUPON_SEARCH_BUDGET
        ):
            negated, at, pivot = heapq.heappop(heap)
            visits += 1
            bound = -negated
            if bound <= 0 or bound < self.best_key[0]:
                break  # every set left is bounded by this one
            for i in range(pivot, len(at)):  # one step down; see `_step`
                if at[i] + 1 < len(self.issuers[i]):
                    step = self.issuers[i][at[i]].value - self.issuers[i][at[i] + 1].value
                    heapq.heappush(heap, (step - bound, _step(at, i), i))
            self._consider(at)
        return self.best

    def _seeds(self) -> list[tuple[int, ...]]:
        """Each merchant's most valuable coupon with each platform option (the greedy sets),
        then each platform coupon alone (one whose threshold every merchant coupon breaks)."""
        platform = next(
            (
                i
                for i, choices in enumerate(self.issuers)
                if choices[0].coupon is not None and choices[0].coupon.merchant_id is None
            ),
            None,
        )
        top = tuple(0 for _ in self.issuers)
        if platform is None:
            return [top]
        alone = tuple(len(choices) - 1 for choices in self.issuers)  # "none" sorts last
        return [
            *(
                (*top[:platform], n, *top[platform + 1 :])
                for n in range(len(self.issuers[platform]))
            ),
            *(
                (*alone[:platform], n, *alone[platform + 1 :])
                for n in range(len(self.issuers[platform]) - 1)
            ),
        ]

    def _combo(self, at: tuple[int, ...]) -> list[_Choice]:
        return [self.issuers[i][n] for i, n in enumerate(at)]

    def _bound(self, at: tuple[int, ...]) -> int:
        return sum(c.value for c in self._combo(at))

    def _cap(self, combo: list[_Choice]) -> int:
        """A tighter bound: the platform coupon is valued on its lines' amounts less the
        merchant coupons that fall wholly on them (those lower its amount by exactly their
        discount; the others by something from zero up)."""
        platform = next(
            (c for c in combo if c.coupon is not None and c.coupon.merchant_id is None), None
        )
        merchants = sum(c.value for c in combo if c is not platform)
        if platform is None or platform.coupon is None:
            return merchants
        left = sum(self.amounts[line_id] for line_id in platform.lines) - sum(
            c.value for c in combo if c is not platform and c.lines <= platform.lines
        )
        return merchants + coupon_value(platform.coupon, left)

    def _consider(self, at: tuple[int, ...]) -> None:
        combo = self._combo(at)
        ids = [c.coupon.id for c in combo if c.coupon is not None]
        if not ids or at in self.priced or set_key(self._cap(combo), combo) <= self.best_key:
            return
        self.priced.add(at)
        result = _evaluate(self.data, self.picks, ids, with_options=False)
        key = set_key(result.coupon_discount, combo)
        if key > self.best_key:
            self.best, self.best_key = result, key


def _step(at: tuple[int, ...], issuer: int) -> tuple[int, ...]:
    """`at` with `issuer` on its next option. Stepping only issuers from the last one that
    stepped reaches every set exactly once (its parent: its last stepped issuer undone)."""
    return (*at[:issuer], at[issuer] + 1, *at[issuer + 1 :])
