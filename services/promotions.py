"""Promotions (DOMAIN.md §4): validation, lifecycle (DRAFT → SCHEDULED → ACTIVE → ENDED, or
CANCELLED), the hard conflict rule, conversion to the pricing engine, and flash-sale stock.

Conflict rule: two promotions of the same level conflict when their windows, channels and
audiences overlap and their scopes share a SKU. The SKU overlap is computed in the database
from the indexed scope rows (categories include descendants, exclusions win), never by loading
every promotion into memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any
from typing import cast

from sqlalchemy import Row
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core import changes
from core.ids import encode_id
from core.money import InvalidMoney
from core.money import percent_of
from core.money import to_minor
from models.catalog import AnySku
from models.catalog import Brand
from models.catalog import Category
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import Sku
from models.promotions import Promotion
from models.promotions import PromotionScope
from models.promotions import PromotionState
from models.promotions import PromotionType
from models.promotions import ScopeKind
from services import catalog
from services import pricing
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

LEVEL = {t: pricing.LEVEL[t].value for t in PromotionType}
MAX_SHARED_PRODUCTS = 20


class PromotionStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    CANCELLED = "CANCELLED"


def status_of(promotion: Promotion | RunningPromotion, now: datetime) -> PromotionStatus:
    if promotion.state == PromotionState.DRAFT:
        return PromotionStatus.DRAFT
    if promotion.state == PromotionState.CANCELLED:
        return PromotionStatus.CANCELLED
    if now < promotion.starts_at:
        return PromotionStatus.SCHEDULED
    return PromotionStatus.ACTIVE if now < promotion.ends_at else PromotionStatus.ENDED


@dataclass
class ScopeData:
    sku_ids: list[int] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    brand_ids: list[int] = field(default_factory=list)
    excluded_product_ids: list[int] = field(default_factory=list)

    def rows(self) -> list[tuple[ScopeKind, int]]:
        pairs = [
            (ScopeKind.SKU, self.sku_ids),
            (ScopeKind.PRODUCT, self.product_ids),
            (ScopeKind.CATEGORY, self.category_ids),
            (ScopeKind.BRAND, self.brand_ids),
            (ScopeKind.EXCLUDED_PRODUCT, self.excluded_product_ids),
        ]
        return sorted({(kind, i) for kind, ids in pairs for i in ids})


@dataclass
class PromotionData:
    name: str
    type: PromotionType
    starts_at: datetime
    ends_at: datetime
    rules: dict[str, Any]  # the raw rule shape for the type (Decimal money), see _rules
    channels: list[str] = field(default_factory=list)
    per_customer_limit: int | None = None
    combinable: bool = True
    audience: str = "ALL"
    min_member_level: int = 0
    scope: ScopeData = field(default_factory=ScopeData)
    merchant_id: int | None = None


@dataclass(frozen=True)
class Conflict:
    """Plain ids (not ORM rows), so a conflict outlives the rollback of the refused save."""

    promotion_id: int
    promotion_name: str
    product_ids: tuple[int, ...]
    product_titles: tuple[str, ...]


class PromotionConflict(DomainError):
    def __init__(self, conflicts: list[Conflict]) -> None:
        names = ", ".join(f"'{c.promotion_name}'" for c in conflicts)
        titles = sorted({t for c in conflicts for t in c.product_titles})
        super().__init__(
            ErrorCode.PROMOTION_CONFLICT,
            f"Conflicts with {names} on {', '.join(titles[:5])}.",
            "scope",
        )
        self.conflicts = conflicts


# --- validation ----------------------------------------------------------------------------------


def _money(v: Violations, value: Any, path: str, *, positive: bool = False) -> int:
    try:
        minor = to_minor(value if isinstance(value, Decimal) else Decimal(str(value)))
    except (InvalidMoney, ArithmeticError):
        v.add(ErrorCode.INVALID_PRICE, "Give a decimal amount such as 30.00.", path)
        return 0
    if positive and minor <= 0:
        v.add(ErrorCode.INVALID_PRICE, "Must be more than zero.", path)
    return minor


def _percent(v: Violations, value: Any, path: str) -> str:
    try:
        percent = Decimal(str(value))
    except ArithmeticError:
        percent = Decimal(-1)
    if not (0 < percent < 100):
        v.add(ErrorCode.INVALID_RULE, "A percentage is between 0 and 100 (exclusive).", path)
    return str(percent)


def _count(v: Violations, value: Any, path: str, minimum: int = 1) -> int:
    if not isinstance(value, int) or value < minimum:
        v.add(ErrorCode.INVALID_RULE, f"Must be a whole number ≥ {minimum}.", path)
        return minimum
    return value


def _items(v: Violations, items: list[dict[str, Any]] | None, path: str) -> list[list[int]]:
    if not items:
        v.add(ErrorCode.INVALID_RULE, "List at least one SKU.", path)
        return []
    return [
        [item["sku_id"], _count(v, item.get("quantity"), f"{path}.{i}.quantity")]
        for i, item in enumerate(items)
    ]


def _tiers(v: Violations, tiers: list[dict[str, Any]], path: str, gifts: bool) -> list[list[Any]]:
    """Tiers strictly increase; a reduction stays below its threshold."""
    if not tiers:
        v.add(ErrorCode.INVALID_RULE, "Give at least one tier.", path)
    clean: list[list[Any]] = []
    for i, tier in enumerate(tiers):
        threshold = _money(v, tier.get("threshold"), f"{path}.{i}.threshold", positive=True)
        if clean and threshold <= clean[-1][0]:
            v.add(
                ErrorCode.INVALID_RULE,
                "Tier thresholds must strictly increase.",
                f"{path}.{i}.threshold",
            )
        if gifts:
            clean.append([threshold, _items(v, tier.get("gifts"), f"{path}.{i}.gifts")])
            continue
        amount = _money(v, tier.get("amount"), f"{path}.{i}.amount", positive=True)
        if amount >= threshold:
            v.add(
                ErrorCode.INVALID_RULE,
                "A reduction must be below its threshold.",
                f"{path}.{i}.amount",
            )
        if clean and amount <= clean[-1][1]:
            v.add(ErrorCode.INVALID_RULE, "Higher tiers must give more.", f"{path}.{i}.amount")
        clean.append([threshold, amount])
    return clean


def _rules(v: Violations, data: PromotionData) -> tuple[dict[str, Any], int | None]:
    """Normalise the rule shape of the type (money in minor units); returns (rules, stock)."""
    r, path, kind = data.rules, "rules", data.type
    if kind == PromotionType.SINGLE_PRODUCT:
        if (r.get("special_price") is None) == (r.get("percent_off") is None):
            v.add(ErrorCode.INVALID_RULE, "Give either specialPrice or percentOff.", path)
            return {}, None
        stock = r.get("promotion_stock")
        if stock is not None:
            _count(v, stock, f"{path}.promotionStock")
        if r.get("special_price") is not None:
            return {"specialPrice": _money(v, r["special_price"], f"{path}.specialPrice")}, stock
        return {"percentOff": _percent(v, r["percent_off"], f"{path}.percentOff")}, stock
    if kind == PromotionType.MULTI_BUY:
        return _multi_buy_rules(v, r, path), None
    if kind == PromotionType.BUNDLE:
        skus = _items(v, r.get("skus"), f"{path}.skus")
        if len({s for s, _ in skus}) < 2:
            v.add(
                ErrorCode.INVALID_RULE,
                "A bundle lists at least two different SKUs.",
                f"{path}.skus",
            )
        return {
            "skus": skus,
            "price": _money(v, r.get("price"), f"{path}.price", positive=True),
        }, None
    if kind == PromotionType.DEPOSIT:
        deposit = _money(v, r.get("deposit"), f"{path}.deposit", positive=True)
        worth = _money(v, r.get("deposit_worth") or r.get("deposit"), f"{path}.depositWorth")
        if worth < deposit:
            v.add(
                ErrorCode.INVALID_RULE,
                "A deposit is worth at least what is paid.",
                f"{path}.depositWorth",
            )
        starts, ends = r.get("balance_starts_at"), r.get("balance_ends_at")
        if starts is None or ends is None or starts < data.ends_at or ends <= starts:
            v.add(
                ErrorCode.INVALID_SCHEDULE,
                "The balance window opens after the promotion window and ends after it opens.",
                f"{path}.balanceStartsAt",
            )
        return {
            "deposit": deposit,
            "depositWorth": worth,
            "balanceStartsAt": starts.isoformat() if starts else None,
            "balanceEndsAt": ends.isoformat() if ends else None,
        }, None
    if kind == PromotionType.FULL_REDUCTION:
        if r.get("every") is not None:
            every = r["every"]
            step = _money(v, every.get("step"), f"{path}.every.step", positive=True)
            amount = _money(v, every.get("amount"), f"{path}.every.amount", positive=True)
            if amount >= step:
                v.add(
                    ErrorCode.INVALID_RULE,
                    "The reduction must be below the step.",
                    f"{path}.every.amount",
                )
            cap = every.get("cap")
            return {
                "every": {
                    "step": step,
                    "amount": amount,
                    "cap": _money(v, cap, f"{path}.every.cap", positive=True)
                    if cap is not None
                    else None,
                }
            }, None
        return {"tiers": _tiers(v, r.get("tiers") or [], f"{path}.tiers", False)}, None
    if kind == PromotionType.ADD_ON:
        return _add_on_rules(v, r, path), None
    if kind == PromotionType.SPEND_GIFT:
        return {
            "tiers": _tiers(v, r.get("tiers") or [], f"{path}.tiers", True),
            "giftReturnPolicy": _gift_return_policy(v, r, f"{path}.giftReturnPolicy"),
        }, None
    return {
        "gifts": _items(v, r.get("gifts"), f"{path}.gifts"),
        "giftReturnPolicy": _gift_return_policy(v, r, f"{path}.giftReturnPolicy"),
    }, None


MULTI_BUY_SHAPES = ("fromNthUnit", "units", "minUnits", "everySecondUnit")


def _multi_buy_rules(v: Violations, r: dict[str, Any], path: str) -> dict[str, Any]:
    """Exactly one shape: from the Nth unit X% off (第2件5折), N units for a price (3件150),
    N units of the scope all X% off (满3件8折), or every second unit X% off (第二件半价)."""
    given = [
        shape
        for shape, present in zip(
            MULTI_BUY_SHAPES,
            (
                r.get("from_nth_unit") is not None,
                r.get("units") is not None or r.get("price") is not None,
                r.get("min_units") is not None,
                bool(r.get("every_second_unit")),
            ),
            strict=True,
        )
        if present
    ]
    if len(given) != 1:
        v.add(
            ErrorCode.INVALID_RULE,
            "Give exactly one multi-buy shape: fromNthUnit, units with price, minUnits or "
            "everySecondUnit (each but units with percentOff).",
            path,
        )
        return {}
    shape = given[0]
    if shape == "units":
        if r.get("percent_off") is not None:
            v.add(ErrorCode.INVALID_RULE, "N units for a price take no percentOff.", path)
        return {
            "units": _count(v, r.get("units"), f"{path}.units", 2),
            "price": _money(v, r.get("price"), f"{path}.price", positive=True),
        }
    percent = _percent(v, r.get("percent_off"), f"{path}.percentOff")
    if shape == "everySecondUnit":
        return {"everySecondUnit": True, "percentOff": percent}
    key = "from_nth_unit" if shape == "fromNthUnit" else "min_units"
    return {shape: _count(v, r[key], f"{path}.{shape}", 2), "percentOff": percent}


MAX_ADD_ON_CHOICES = 20


def _add_on_rules(v: Violations, r: dict[str, Any], path: str) -> dict[str, Any]:
    """加价购: a threshold on the scope's post-item-promotion subtotal, the SKUs offered (each
    once, at a special price above zero), and how many units one order may take."""
    threshold = _money(v, r.get("threshold"), f"{path}.threshold", positive=True)
    choices = r.get("choices") or []
    if not choices or len(choices) > MAX_ADD_ON_CHOICES:
        v.add(ErrorCode.INVALID_RULE, f"Offer 1 to {MAX_ADD_ON_CHOICES} SKUs.", f"{path}.choices")
    clean: list[list[int]] = []
    for i, choice in enumerate(choices):
        if choice["sku_id"] in {sku for sku, _ in clean}:
            v.add(ErrorCode.INVALID_RULE, "Each SKU is offered once.", f"{path}.choices.{i}.skuId")
        price = _money(v, choice.get("price"), f"{path}.choices.{i}.price", positive=True)
        clean.append([choice["sku_id"], price])
    limit = _count(v, r.get("limit_per_order", 1), f"{path}.limitPerOrder")
    if limit > 99:
        v.add(ErrorCode.INVALID_RULE, "At most 99 units per order.", f"{path}.limitPerOrder")
    return {"threshold": threshold, "choices": clean, "limitPerOrder": limit}


async def _check_add_on_prices(session: AsyncSession, rules: dict[str, Any]) -> None:
    """An add-on price is a special price: below the SKU's own."""
    choices = rules.get("choices", [])
    prices = dict(
        (
            await session.execute(
                select(Sku.id, Sku.price).where(Sku.id.in_([s for s, _ in choices]))
            )
        )
        .tuples()
        .all()
    )
    v = Violations()
    for i, (sku_id, price) in enumerate(choices):
        if price >= prices.get(sku_id, 0):
            v.add(
                ErrorCode.INVALID_RULE,
                "An add-on price is below the SKU's own price.",
                f"rules.choices.{i}.price",
            )
    v.raise_if_any()


GIFT_RETURN_POLICIES = ("RETURN_GIFT", "DEDUCT_VALUE")


def _gift_return_policy(v: Violations, r: dict[str, Any], path: str) -> str:
    """What a refund does to a shipped gift whose condition the order no longer meets: the
    gift comes back with the return (RETURN_GIFT, the default) or its value is kept back from
    the money refunded (DEDUCT_VALUE)."""
    policy = r.get("gift_return_policy") or "RETURN_GIFT"
    if policy not in GIFT_RETURN_POLICIES:
        v.add(ErrorCode.INVALID_RULE, "Unknown gift return policy.", path)
    return str(policy)


def gift_return_policy(rules: dict[str, Any] | None) -> str:
    """The stored policy (promotions saved before it existed return their gifts)."""
    return str((rules or {}).get("giftReturnPolicy") or "RETURN_GIFT")


def _gift_skus(kind: PromotionType, rules: dict[str, Any]) -> list[int]:
    if kind == PromotionType.GIFT:
        return [s for s, _ in rules.get("gifts", [])]
    if kind == PromotionType.SPEND_GIFT:
        return [s for _, gifts in rules.get("tiers", []) for s, _ in gifts]
    if kind == PromotionType.BUNDLE:
        return [s for s, _ in rules.get("skus", [])]
    if kind == PromotionType.ADD_ON:  # what it sells at its price: funded like gifts
        return [s for s, _ in rules.get("choices", [])]
    return []


async def _exist(session: AsyncSession, model: Any, ids: list[int]) -> bool:
    if not ids:
        return True
    found = (await session.scalars(select(model.id).where(model.id.in_(set(ids))))).all()
    return len(set(found)) == len(set(ids))


async def validate(session: AsyncSession, data: PromotionData) -> tuple[dict[str, Any], int | None]:
    v = Violations()
    data.name = check.text(v, data.name, "name", max_len=120) or ""
    if data.ends_at <= data.starts_at:
        v.add(ErrorCode.INVALID_SCHEDULE, "endsAt must be after startsAt.", "endsAt")
    if data.per_customer_limit is not None and data.per_customer_limit < 1:
        v.add(ErrorCode.INVALID_INPUT, "A limit is at least 1.", "perCustomerLimit")
    if data.audience not in ("ALL", "NEW_CUSTOMERS", "MIN_MEMBER_LEVEL"):
        v.add(ErrorCode.INVALID_INPUT, "Unknown audience.", "audience.kind")
    rules, stock = _rules(v, data)
    v.raise_if_any()
    s = data.scope
    checks = [
        (Sku, s.sku_ids + _gift_skus(data.type, rules), "scope.skuIds"),
        (Product, s.product_ids + s.excluded_product_ids, "scope.productIds"),
        (Category, s.category_ids, "scope.categoryIds"),
        (Brand, s.brand_ids, "scope.brandIds"),
    ]
    for model, ids, where in checks:
        if not await _exist(session, model, ids):
            raise DomainError(
                ErrorCode.NOT_FOUND, f"Some {model.__name__} ids do not exist.", where
            )
    if data.merchant_id is not None and await session.get(Merchant, data.merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    await catalog.ensure_funded_by(
        session,
        data.merchant_id,
        s.sku_ids + _gift_skus(data.type, rules),
        s.product_ids + s.excluded_product_ids,
        "scope",
    )
    if data.type == PromotionType.ADD_ON:
        await _check_add_on_prices(session, rules)
    return rules, stock


# --- lifecycle -----------------------------------------------------------------------------------


async def _write(
    session: AsyncSession,
    promotion: Promotion,
    data: PromotionData,
    rules: dict[str, Any],
    stock: int | None,
    now: datetime,
) -> None:
    scope = data.scope
    if data.type == PromotionType.BUNDLE:  # a bundle's scope is its SKUs
        scope = ScopeData(sku_ids=[s for s, _ in rules["skus"]])
    promotion.name, promotion.type = data.name, data.type
    promotion.level = LEVEL[data.type]
    promotion.starts_at, promotion.ends_at = data.starts_at, data.ends_at
    promotion.channels = sorted(set(data.channels))
    promotion.audience, promotion.min_member_level = data.audience, data.min_member_level
    promotion.per_customer_limit = data.per_customer_limit
    promotion.combinable = data.combinable and data.type != PromotionType.DEPOSIT
    promotion.merchant_id, promotion.rules, promotion.stock = data.merchant_id, rules, stock
    promotion.scope = {k.value: [i for kk, i in scope.rows() if kk == k] for k in ScopeKind}
    promotion.updated_at = now
    await session.flush()
    await session.execute(delete(PromotionScope).where(PromotionScope.promotion_id == promotion.id))
    session.add_all(
        PromotionScope(promotion_id=promotion.id, kind=k, target_id=i) for k, i in scope.rows()
    )
    await session.flush()


async def create_promotion(session: AsyncSession, data: PromotionData, now: datetime) -> Promotion:
    """Saved as a DRAFT; refused if it conflicts with a live (scheduled/active) promotion."""
    rules, stock = await validate(session, data)
    promotion = Promotion(state=PromotionState.DRAFT, stock_sold=0, created_at=now)
    session.add(promotion)
    await _write(session, promotion, data, rules, stock, now)
    await ensure_no_conflicts(session, promotion)
    return promotion


async def update_promotion(
    session: AsyncSession, promotion_id: int, data: PromotionData, now: datetime
) -> Promotion:
    promotion = await _get(session, promotion_id)
    status = status_of(promotion, now)
    if status not in (PromotionStatus.DRAFT, PromotionStatus.SCHEDULED):
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"A {status.value} promotion cannot be edited.",
            "id",
        )
    rules, stock = await validate(session, data)
    await _write(session, promotion, data, rules, stock, now)
    await ensure_no_conflicts(session, promotion)
    return promotion


async def activate(session: AsyncSession, promotion_id: int, now: datetime) -> Promotion:
    promotion = await _get(session, promotion_id)
    if promotion.state != PromotionState.DRAFT:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"Only a draft can be activated; this one is {status_of(promotion, now).value}.",
            "id",
        )
    if promotion.ends_at <= now:
        raise DomainError(ErrorCode.INVALID_SCHEDULE, "The promotion window is over.", "id")
    await ensure_no_conflicts(session, promotion)
    promotion.state, promotion.updated_at = PromotionState.ACTIVATED, now
    await session.flush()
    return promotion


async def cancel(session: AsyncSession, promotion_id: int, now: datetime) -> Promotion:
    promotion = await _get(session, promotion_id)
    status = status_of(promotion, now)
    if status in (PromotionStatus.ENDED, PromotionStatus.CANCELLED):
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"A {status.value} promotion cannot be cancelled.",
            "id",
        )
    promotion.state, promotion.updated_at = PromotionState.CANCELLED, now
    await session.flush()
    return promotion


async def _get(session: AsyncSession, promotion_id: int) -> Promotion:
    promotion = await session.get(Promotion, promotion_id)
    if promotion is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Promotion not found.", "id")
    return promotion


# --- conflicts -----------------------------------------------------------------------------------


def channels_overlap(a: list[str], b: list[str]) -> bool:
    return not a or not b or bool(set(a) & set(b))


def audiences_overlap(a: Promotion, b: Promotion) -> bool:
    """ALL overlaps everything; two member-level audiences always share the higher levels;
    new customers (no paid order yet) are level 0, so they meet a member-level audience only
    when its minimum is 0."""
    kinds = {a.audience, b.audience}
    if "ALL" in kinds or len(kinds) == 1:
        return True
    member = a if a.audience == "MIN_MEMBER_LEVEL" else b
    return member.min_member_level <= 0


def _covers(promotion_id: int) -> Any:
    """SQL condition on (Sku, Product): the promotion's scope covers this SKU."""

    def ids(kind: ScopeKind) -> Any:
        return select(PromotionScope.target_id).where(
            PromotionScope.promotion_id == promotion_id, PromotionScope.kind == kind
        )

    includes = exists(
        select(literal(1))
        .select_from(PromotionScope)
        .where(
            PromotionScope.promotion_id == promotion_id,
            PromotionScope.kind != ScopeKind.EXCLUDED_PRODUCT,
        )
    )
    root = aliased(Category)
    in_category = Product.category_id.in_(
        select(Category.id)
        .join(root, Category.path.startswith(root.path))
        .where(root.id.in_(ids(ScopeKind.CATEGORY)))
    )
    # A merchant-funded promotion reaches its merchant's products only (pricing.Scope).
    funder = select(Promotion.merchant_id).where(Promotion.id == promotion_id).scalar_subquery()
    return and_(
        or_(
            ~includes,
            Sku.id.in_(ids(ScopeKind.SKU)),
            Product.id.in_(ids(ScopeKind.PRODUCT)),
            Product.brand_id.in_(ids(ScopeKind.BRAND)),
            in_category,
        ),
        Product.id.not_in(ids(ScopeKind.EXCLUDED_PRODUCT)),
        Product.merchant_id == func.coalesce(funder, Product.merchant_id),
    )


async def shared_products(session: AsyncSession, a: int, b: int) -> list[Product]:
    stmt = (
        select(Product)
        .where(
            Product.id.in_(
                select(Sku.product_id)
                .join(Product, Product.id == Sku.product_id)
                .where(_covers(a), _covers(b))
            )
        )
        .order_by(Product.id)
        .limit(MAX_SHARED_PRODUCTS)
    )
    return list((await session.scalars(stmt)).all())


async def find_conflicts(session: AsyncSession, promotion: Promotion) -> list[Conflict]:
    """Live promotions of the same level whose window, channels and audience overlap this
    one's, with the products they share (windows that only touch do not overlap)."""
    candidates = (
        await session.scalars(
            select(Promotion)
            .where(
                Promotion.id != promotion.id,
                Promotion.level == promotion.level,
                Promotion.state == PromotionState.ACTIVATED,
                Promotion.starts_at < promotion.ends_at,
                Promotion.ends_at > promotion.starts_at,
            )
            .order_by(Promotion.id)
        )
    ).all()
    conflicts = []
    for other in candidates:
        if not (
            channels_overlap(promotion.channels, other.channels)
            and audiences_overlap(promotion, other)
        ):
            continue
        products = await shared_products(session, promotion.id, other.id)
        if products:
            conflicts.append(
                Conflict(
                    other.id,
                    other.name,
                    tuple(p.id for p in products),
                    tuple(p.title for p in products),
                )
            )
    return conflicts


async def ensure_no_conflicts(session: AsyncSession, promotion: Promotion) -> None:
    conflicts = await find_conflicts(session, promotion)
    if conflicts:
        raise PromotionConflict(conflicts)


async def preview_conflicts(
    session: AsyncSession, data: PromotionData, now: datetime
) -> list[Conflict]:
    """Conflicts of a draft that is not saved: written in a savepoint, checked, rolled back."""
    rules, stock = await validate(session, data)
    savepoint = await session.begin_nested()
    try:
        promotion = Promotion(state=PromotionState.DRAFT, stock_sold=0, created_at=now)
        session.add(promotion)
        await _write(session, promotion, data, rules, stock, now)
        return await find_conflicts(session, promotion)
    finally:
        await savepoint.rollback()


# --- flash-sale stock ----------------------------------------------------------------------------


async def claim_stock(session: AsyncSession, promotion_id: int, units: int) -> bool:
    """Take `units` of a flash sale's promotion stock, atomically (one conditional UPDATE):
    False when they are not there. Promotions without stock always succeed."""
    result = await session.execute(
        update(Promotion)
        .where(
            Promotion.id == promotion_id,
            or_(Promotion.stock.is_(None), Promotion.stock_sold + units <= Promotion.stock),
        )
        .values(stock_sold=Promotion.stock_sold + units)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def return_stock(session: AsyncSession, promotion_id: int, units: int) -> None:
    await session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.stock_sold >= units)
        .values(stock_sold=Promotion.stock_sold - units)
        .execution_options(synchronize_session=False)
    )


# --- for pricing and storefronts -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunningPromotion:
    """A running (or scheduled) promotion as every request shares it until the promotions table
    is written: immutable, built once from its row when the running set is read. Pricing reads
    `rule`; the other fields are the columns a storefront shows of it (the GraphQL Promotion
    type reads them as it reads a row)."""

    rule: pricing.Promotion
    state: PromotionState
    level: str
    audience: str
    min_member_level: int
    channels: tuple[str, ...]
    merchant_id: int | None
    stock: int | None
    stock_sold: int
    gift_return_policy: str | None = None

    @classmethod
    def of(cls, row: Promotion | Row[Any]) -> RunningPromotion:
        """From a promotion row (an entity or its columns)."""
        return cls(
            rule=as_rule(row),
            state=row.state,
            level=row.level,
            audience=row.audience,
            min_member_level=row.min_member_level,
            channels=tuple(row.channels or ()),
            merchant_id=row.merchant_id,
            stock=row.stock,
            stock_sold=row.stock_sold,
            gift_return_policy=gift_return_policy(row.rules)
            if row.level == "GIFT" or row.type == PromotionType.SPEND_GIFT
            else None,
        )

    # The row's own names for what the rule holds.
    @property
    def id(self) -> int:
        return self.rule.id

    @property
    def global_id(self) -> str:
        return encode_id(Promotion.node_type, self.rule.id)

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def type(self) -> PromotionType:
        return self.rule.kind

    @property
    def starts_at(self) -> datetime:
        return self.rule.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.rule.ends_at

    @property
    def combinable(self) -> bool:
        return self.rule.combinable

    @property
    def per_customer_limit(self) -> int | None:
        return self.rule.per_customer_limit


@cache
def _promotion_columns() -> tuple[Any, ...]:
    """Every column of a promotion as ORM attributes: the statement autoflushes like an entity
    query, but its rows are plain values that never join a session's identity map."""
    return tuple(getattr(Promotion, a.key) for a in inspect(Promotion).column_attrs)


async def live_promotions(session: AsyncSession, now: datetime) -> list[RunningPromotion]:
    """Every promotion running now, with its scope, as immutable rules. Read once and kept
    (shared by every request) until the promotions table is written in any process, so
    pricing a cart or a page costs no statement for them; a clock before the read re-reads."""
    # an answer pricing with them shows them all: any promotion write may change it
    changes.depends_on("promotions", [changes.ANY])
    feed = changes.feed_of(session.bind)
    version = feed.version("promotions")
    kept: tuple[changes.Kept, tuple[RunningPromotion, ...]] | None = feed.memo.get("promotions")
    if kept is not None and feed.live and kept[0].holds(version, now):
        running = kept[1]
    else:
        # A session already holding promotions may have changed them: read for it alone.
        shareable = not any(
            isinstance(o, Promotion) for o in session.sync_session.identity_map.values()
        )
        stmt = (
            select(*_promotion_columns())
            .where(
                Promotion.state == PromotionState.ACTIVATED, Promotion.ends_at > now
            )  # running now or later
            .order_by(Promotion.id)
        )
        running = tuple(RunningPromotion.of(row) for row in await session.execute(stmt))
        if shareable and feed.live and feed.version("promotions") == version:
            feed.memo["promotions"] = (changes.Kept(version, now), running)
    return [p for p in running if p.starts_at <= now < p.ends_at]


def as_rule(p: Promotion | Row[Any]) -> pricing.Promotion:
    """The pricing engine's view of a stored promotion."""
    r = p.rules or {}
    kw: dict[str, Any] = {}
    kind = p.type
    if kind == PromotionType.SINGLE_PRODUCT:
        kw = {
            "special_price": r.get("specialPrice"),
            "percent_off": Decimal(r["percentOff"]) if r.get("percentOff") else None,
            "promotion_stock_left": (p.stock - p.stock_sold) if p.stock is not None else None,
        }
    elif kind == PromotionType.MULTI_BUY:
        kw = {
            "from_nth_unit": r.get("fromNthUnit"),
            "min_units": r.get("minUnits"),
            "every_second": bool(r.get("everySecondUnit")),
            "units": r.get("units"),
            "units_price": r.get("price"),
            "percent_off": Decimal(r["percentOff"]) if r.get("percentOff") else None,
        }
    elif kind == PromotionType.BUNDLE:
        kw = {"bundle": tuple((s, q) for s, q in r["skus"]), "bundle_price": r["price"]}
    elif kind == PromotionType.DEPOSIT:
        kw = {"deposit": r["deposit"], "deposit_worth": r["depositWorth"]}
    elif kind == PromotionType.FULL_REDUCTION:
        every = r.get("every")
        kw = (
            {
                "every_step": every["step"],
                "every_amount": every["amount"],
                "every_cap": every.get("cap"),
            }
            if every
            else {"tiers": tuple(pricing.Tier(t, a) for t, a in r["tiers"])}
        )
    elif kind == PromotionType.SPEND_GIFT:
        kw = {
            "tiers": tuple(
                pricing.Tier(t, gifts=tuple(pricing.GiftItem(s, q) for s, q in gifts))
                for t, gifts in r["tiers"]
            )
        }
    elif kind == PromotionType.ADD_ON:
        kw = {
            "add_on_threshold": r["threshold"],
            "add_on_choices": tuple((s, price) for s, price in r["choices"]),
            "add_on_limit": r["limitPerOrder"],
        }
    else:
        kw = {"gifts": tuple(pricing.GiftItem(s, q) for s, q in r["gifts"])}
    return pricing.Promotion(
        id=p.id,
        name=p.name,
        kind=kind,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        scope=pricing.scope_from_json(p.scope, p.merchant_id),
        audience=pricing.Audience(p.audience, p.min_member_level),
        channels=frozenset(p.channels or []),
        combinable=p.combinable,
        per_customer_limit=p.per_customer_limit,
        **kw,
    )


def sku_line(product: Product, sku: AnySku, category_path: tuple[int, ...]) -> pricing.Line:
    """One unit of a SKU as the pricing rules see it (for matching scopes)."""
    return pricing.Line(
        id="",
        sku_id=sku.id,
        product_id=product.id,
        merchant_id=product.merchant_id,
        quantity=1,
        unit_price=sku.price,
        category_path=category_path,
        brand_id=product.brand_id,
    )


def for_product(
    rules: Sequence[pricing.Promotion],
    product: Product,
    skus: Sequence[AnySku],
    category_path: tuple[int, ...],
    channel: str,
    now: datetime,
    customer: pricing.Customer | None = None,
) -> tuple[pricing.Promotion, ...]:
    """The promotions a product card shows: those covering any of its SKUs for this channel
    and shopper (a guest counts as a new customer at level 0)."""
    if not rules:
        return ()
    who = customer or pricing.Customer()
    lines = [sku_line(product, sku, category_path) for sku in skus]
    return tuple(
        rule
        for rule in rules
        if any(pricing.applies(rule, line, who, channel, now) for line in lines)
    )


def promotional_unit_price(
    rules: Sequence[pricing.Promotion],
    product: Product,
    sku: AnySku,
    category_path: tuple[int, ...],
) -> int:
    """A SKU's unit price under the single-product promotion covering it (price ranges)."""
    best = sku.price
    line: pricing.Line | None = None  # made only for a rule that may price it
    for rule in rules:
        if rule.kind != PromotionType.SINGLE_PRODUCT or rule.promotion_stock_left == 0:
            continue
        if line is None:
            line = sku_line(product, sku, category_path)
        if not rule.scope.covers(line):
            continue
        if rule.special_price is not None:
            best = min(best, rule.special_price)
        elif rule.percent_off is not None:
            best = min(best, sku.price - percent_of(sku.price, rule.percent_off))
    return best
