"""Member center (会员中心): levels, growth value and points (积分).

* **Levels** are admin-defined and ordered: each has a rank (what promotion and coupon
  audiences compare, `customers.member_level`) and a growth threshold; thresholds rise with
  rank. A customer holds the highest level whose threshold their growth reaches (rank 0: none
  reached), unless staff set an override, which holds until cleared.
* **Growth** is the whole yuan a paid order cost (floor of its total), earned when it is paid
  and taken back in proportion to what is refunded; levels follow it both ways.
* **Points** are earned per whole yuan paid (`POINTS_EARN_PER_YUAN`), taken back in
  proportion on refunds (never below a zero balance), and spent at checkout at
  `POINTS_PER_YUAN` points to ¥1, at most `POINTS_MAX_PERCENT` of the goods after
  promotions and coupons; shipping is never paid with points and is priced as without them.
  Points spent on an order come back in proportion to its refunded points discount, all of
  them when it is cancelled.
* **The ledger** (`points_entries`): the balance and growth are the sums of a member's rows.
  Each order event writes one row per kind with a unique reference, so a replayed event writes
  nothing; the account row's CHECK and a conditional UPDATE keep the balance from going
  negative under any concurrency.

Lock order: an account row is locked after stock, payments, orders and coupons (checkout
spends last of all). A growth change that moves the level then updates the customer's row,
which a concurrent checkout of the same customer may hold: PostgreSQL detects that deadlock and
the mutation is retried (resolvers/common.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from models.accounts import Customer
from models.members import MemberAccount
from models.members import MemberLevel
from models.members import PointsEntry
from models.members import PointsKind
from models.orders import Order
from models.orders import OrderLine
from models.orders import OrderStatus
from services import pricing
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations
from services.messages import message

POINTS_SOURCE = "POINTS"
POINTS_LABEL = "积分抵扣"
MAX_RANK = 1000
MAX_THRESHOLD = 10**12
MAX_BENEFITS = 10
MAX_BENEFIT_LENGTH = 100
MAX_ADJUST = 10**9


@dataclass(frozen=True)
class PointsRules:
    """The platform's points settings."""

    earn_per_yuan: int = 1
    per_yuan: int = 100  # points worth ¥1 at checkout
    max_percent: int = 50  # of the goods after promotions and coupons

    @classmethod
    def of(cls, settings: Settings) -> PointsRules:
        return cls(
            max(0, settings.points_earn_per_yuan),
            max(1, settings.points_per_yuan),
            min(100, max(0, settings.points_max_percent)),
        )

    def value_of(self, points: int) -> int:
        """What `points` pay for, in minor units (fen), rounded down."""
        return points * 100 // self.per_yuan

    def points_for(self, minor: int) -> int:
        """The fewest points that pay `minor` fen."""
        return -(-minor * self.per_yuan // 100)


# --- levels ----------------------------------------------------------------------------------


@dataclass
class LevelData:
    name: str
    rank: int
    growth_threshold: int
    benefits: list[str]


async def levels(session: AsyncSession) -> list[MemberLevel]:
    return list((await session.scalars(select(MemberLevel).order_by(MemberLevel.rank))).all())


def level_for(ordered: Sequence[MemberLevel], growth: int) -> MemberLevel | None:
    """The highest level whose threshold `growth` reaches."""
    reached = [lv for lv in ordered if lv.growth_threshold <= growth]
    return max(reached, key=lambda lv: lv.rank, default=None)


def next_level(ordered: Sequence[MemberLevel], growth: int) -> MemberLevel | None:
    """The lowest level `growth` has not reached yet."""
    ahead = [lv for lv in ordered if lv.growth_threshold > growth]
    return min(ahead, key=lambda lv: lv.rank, default=None)


def _clean(data: LevelData) -> LevelData:
    v = Violations()
    name = data.name.strip()
    if not 1 <= len(name) <= 40:
        v.add(ErrorCode.INVALID_INPUT, "Give a name of 1 to 40 characters.", "input.name")
    if not 1 <= data.rank <= MAX_RANK:
        v.add(ErrorCode.INVALID_INPUT, f"A rank is 1 to {MAX_RANK}.", "input.rank")
    if not 0 <= data.growth_threshold <= MAX_THRESHOLD:
        v.add(
            ErrorCode.INVALID_INPUT,
            f"A growth threshold is 0 to {MAX_THRESHOLD}.",
            "input.growthThreshold",
        )
    benefits = [b.strip() for b in data.benefits]
    if len(benefits) > MAX_BENEFITS or any(not 1 <= len(b) <= MAX_BENEFIT_LENGTH for b in benefits):
        v.add(
            ErrorCode.INVALID_INPUT,
            f"At most {MAX_BENEFITS} benefits of 1 to {MAX_BENEFIT_LENGTH} characters.",
            "input.benefits",
        )
    v.raise_if_any()
    return LevelData(name, data.rank, data.growth_threshold, benefits)


async def _check_levels(session: AsyncSession, level: MemberLevel) -> None:
    """Names, ranks and thresholds unique; thresholds rising with rank."""
    others = [lv for lv in await levels(session) if lv.id != level.id]
    v = Violations()
    if any(lv.name.casefold() == level.name.casefold() for lv in others):
        v.add(ErrorCode.DUPLICATE_NAME, "Another level has this name.", "input.name")
    for lv in others:
        if lv.rank == level.rank:
            v.add(ErrorCode.LEVEL_ORDER, f"{lv.name} has rank {lv.rank}.", "input.rank")
        elif (lv.rank < level.rank) != (lv.growth_threshold < level.growth_threshold):
            v.add(
                ErrorCode.LEVEL_ORDER,
                f"{lv.name} (rank {lv.rank}) needs {lv.growth_threshold} growth: thresholds "
                "rise with rank.",
                "input.growthThreshold",
            )
    v.raise_if_any()


async def create_level(session: AsyncSession, data: LevelData, now: datetime) -> MemberLevel:
    data = _clean(data)
    level = MemberLevel(
        name=data.name,
        rank=data.rank,
        growth_threshold=data.growth_threshold,
        benefits=data.benefits,
        created_at=now,
    )
    await _check_levels(session, level)
    session.add(level)
    await session.flush()
    await recompute_all(session)
    return level


async def update_level(session: AsyncSession, level_id: int, data: LevelData) -> MemberLevel:
    level = await _level(session, level_id, "id")
    data = _clean(data)
    level.name, level.rank = data.name, data.rank
    level.growth_threshold, level.benefits = data.growth_threshold, data.benefits
    await _check_levels(session, level)
    await session.flush()
    await recompute_all(session)
    return level


async def delete_level(session: AsyncSession, level_id: int) -> MemberLevel:
    level = await _level(session, level_id, "id")
    held = await session.scalar(
        select(func.count())
        .select_from(MemberAccount)
        .where(MemberAccount.override_level_id == level.id)
    )
    if held:
        raise DomainError(
            ErrorCode.LEVEL_IN_USE,
            f"{held} customer(s) are held at {level.name} by a staff override: clear it first.",
            "id",
        )
    await session.delete(level)
    await session.flush()
    await recompute_all(session)
    return level


async def _level(session: AsyncSession, level_id: int, field: str) -> MemberLevel:
    level = await session.get(MemberLevel, level_id)
    if level is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such member level.", field)
    return level


async def recompute_all(session: AsyncSession) -> None:
    """Every customer's level after the levels changed: one statement."""
    account = select(MemberAccount).where(MemberAccount.customer_id == Customer.id)
    override = (
        select(MemberLevel.rank)
        .join(MemberAccount, MemberAccount.override_level_id == MemberLevel.id)
        .where(MemberAccount.customer_id == Customer.id)
        .scalar_subquery()
    )
    growth = func.coalesce(account.with_only_columns(MemberAccount.growth).scalar_subquery(), 0)
    reached = (
        select(func.max(MemberLevel.rank))
        .where(MemberLevel.growth_threshold <= growth)
        .scalar_subquery()
    )
    await session.execute(
        update(Customer)
        .values(member_level=func.coalesce(override, reached, 0))
        .execution_options(synchronize_session=False)
    )


async def _refresh_level(session: AsyncSession, account: MemberAccount) -> None:
    """The customer's level from their growth and override; written only when it moves."""
    if account.override_level_id is not None:
        level = await session.get(MemberLevel, account.override_level_id)
    else:
        level = level_for(await levels(session), account.growth)
    rank = level.rank if level else 0
    await session.execute(
        update(Customer)
        .where(Customer.id == account.customer_id, Customer.member_level != rank)
        .values(member_level=rank)
        .execution_options(synchronize_session=False)
    )


# --- accounts and the ledger -------------------------------------------------------------------


def dialect_insert(session: AsyncSession, model: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT (PostgreSQL and SQLite both have it)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


async def account(
    session: AsyncSession, customer_id: int, now: datetime, *, lock: bool = False
) -> MemberAccount:
    """The customer's account, created on first use (one statement, race-free)."""
    await session.execute(
        dialect_insert(session, MemberAccount)
        .values(customer_id=customer_id, points=0, growth=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=[MemberAccount.customer_id])
    )
    stmt = (
        select(MemberAccount)
        .where(MemberAccount.customer_id == customer_id)
        .execution_options(populate_existing=True)
    )
    found = await session.scalar(stmt.with_for_update() if lock else stmt)
    assert found is not None
    return found


async def read_account(session: AsyncSession, customer_id: int) -> MemberAccount | None:
    """For display: no row yet reads as zeros."""
    return await session.get(MemberAccount, customer_id)


async def post(
    session: AsyncSession,
    customer_id: int,
    kind: PointsKind,
    points: int,
    growth: int,
    now: datetime,
    *,
    reference: str | None = None,
    order_id: int | None = None,
    note: str | None = None,
    actor_id: int | None = None,
) -> PointsEntry | None:
    """One ledger row and the account moved by it, in one transaction. A reference already
    written is a replay: nothing happens. A row that would take the balance below zero is
    refused (INSUFFICIENT_POINTS): the UPDATE's condition decides, atomically."""
    await account(session, customer_id, now)
    if reference is not None:
        seen = await session.scalar(
            select(PointsEntry.id).where(
                PointsEntry.customer_id == customer_id, PointsEntry.reference == reference
            )
        )
        if seen is not None:
            return None
    moved: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(MemberAccount)
        .where(
            MemberAccount.customer_id == customer_id,
            MemberAccount.points + points >= 0,
            MemberAccount.growth + growth >= 0,
        )
        .values(
            points=MemberAccount.points + points,
            growth=MemberAccount.growth + growth,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise DomainError(ErrorCode.INSUFFICIENT_POINTS, message("points.over_balance"), "points")
    entry = PointsEntry(
        customer_id=customer_id,
        kind=kind,
        points=points,
        growth=growth,
        order_id=order_id,
        reference=reference,
        note=note,
        actor_id=actor_id,
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    if growth:
        await _refresh_level(session, await account(session, customer_id, now))
    return entry


async def adjust(
    session: AsyncSession,
    customer_id: int,
    points: int,
    reason: str,
    now: datetime,
    actor_id: int | None,
) -> MemberAccount:
    """Staff add or take points, with a reason (ADJUST); never below a zero balance."""
    await _customer(session, customer_id)
    reason = reason.strip()
    v = Violations()
    if points == 0 or abs(points) > MAX_ADJUST:
        v.add(ErrorCode.INVALID_INPUT, f"Adjust by 1 to {MAX_ADJUST} points, up or down.", "points")
    if not 1 <= len(reason) <= 300:
        v.add(ErrorCode.INVALID_INPUT, "Say why, in at most 300 characters.", "reason")
    v.raise_if_any()
    await post(
        session, customer_id, PointsKind.ADJUST, points, 0, now, note=reason, actor_id=actor_id
    )
    return await account(session, customer_id, now)


async def override_level(
    session: AsyncSession,
    customer_id: int,
    level_id: int | None,
    reason: str,
    now: datetime,
    actor_id: int | None,
) -> MemberAccount:
    """Hold a customer at a level whatever their growth (null clears it: growth decides
    again). Audited by the caller; the account keeps who set it, when and why."""
    await _customer(session, customer_id)
    reason = reason.strip()
    if not 1 <= len(reason) <= 300:
        raise DomainError(ErrorCode.INVALID_INPUT, "Say why, in at most 300 characters.", "reason")
    if level_id is not None:
        await _level(session, level_id, "levelId")
    found = await account(session, customer_id, now, lock=True)
    found.override_level_id = level_id
    found.override_reason, found.override_by, found.override_at = reason, actor_id, now
    found.updated_at = now
    await session.flush()
    await _refresh_level(session, found)
    return found


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such customer.", "customerId")
    return customer


async def ledger_page(
    session: AsyncSession, customer_id: int, offset: int, limit: int
) -> tuple[list[PointsEntry], int]:
    """Newest first."""
    total = await session.scalar(
        select(func.count()).select_from(PointsEntry).where(PointsEntry.customer_id == customer_id)
    )
    rows = await session.scalars(
        select(PointsEntry)
        .where(PointsEntry.customer_id == customer_id)
        .order_by(PointsEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total or 0)


# --- checkout ----------------------------------------------------------------------------------


@dataclass
class BalanceMerchantResult(pricing.MerchantResult):
    """A merchant's amounts with what a customer's platform-funded balances pay on its lines:
    points and red packets (services/red_packets.py); shipping unchanged."""

    points_discount: int = 0
    red_packet_discount: int = 0

    @property
    def total(self) -> int:
        return super().total - self.points_discount - self.red_packet_discount


def spread_balance(
    result: pricing.PricingResult,
    line_merchants: dict[str, int],
    lines: Sequence[pricing.LineResult],
    weights: Sequence[int],
    discount: int,
    source: str,
    label: str,
) -> dict[int, int]:
    """Spread `discount`, paid from a platform-funded balance, over `lines` in proportion to
    `weights` (largest remainder; none gets more than its weight): a `source` discount on
    each line, funded by the platform, and each merchant's total lowered by its lines' share
    (kept in the `{source.lower()}_discount` field). What each merchant's lines got."""
    shares = pricing.allocate(discount, weights)
    by_merchant: dict[int, int] = {}
    for r, share in zip(lines, shares, strict=True):
        if share:
            r.discounts.append(pricing.Discount(source, 0, label, share, None))
            merchant = line_merchants[r.line_id]
            by_merchant[merchant] = by_merchant.get(merchant, 0) + share
    field = f"{source.lower()}_discount"
    merchants: list[pricing.MerchantResult] = []
    for m in result.merchants:
        if not isinstance(m, BalanceMerchantResult):
            m = BalanceMerchantResult(
                m.merchant_id, m.subtotal, m.promotion_discount, m.coupon_discount, m.shipping
            )
        setattr(m, field, getattr(m, field) + by_merchant.get(m.merchant_id, 0))
        merchants.append(m)
    result.merchants = merchants
    return by_merchant


@dataclass
class PointsUse:
    balance: int
    max_points: int  # the most this checkout could take (cap and balance)
    used: int
    discount: int  # minor units
    by_merchant: dict[int, tuple[int, int]]  # merchant → (points, discount)


def usable_lines(result: pricing.PricingResult) -> list[pricing.LineResult]:
    """Lines points may pay for: priced, not presale, something left to pay."""
    return [r for r in result.lines if r.available and r.deposit_due is None and r.total > 0]


def max_discount(result: pricing.PricingResult, balance: int, rules: PointsRules) -> int:
    goods = sum(r.total for r in usable_lines(result))
    return min(goods * rules.max_percent // 100, rules.value_of(balance))


def apply_points(
    result: pricing.PricingResult,
    line_merchants: dict[str, int],
    requested: int,
    balance: int,
    rules: PointsRules,
) -> PointsUse:
    """Spend up to `requested` points on a priced checkout, after promotions and coupons:
    the discount is spread over the usable lines by the largest remainder (a POINTS discount
    on each, funded by the platform), merchants' totals lowered by their lines' share. Asking
    more than the cap uses the cap; more than the balance is refused."""
    if requested < 0:
        raise DomainError(ErrorCode.INVALID_INPUT, message("points.negative"), "pointsToUse")
    if requested > balance:
        raise DomainError(
            ErrorCode.INSUFFICIENT_POINTS,
            f"The balance is {balance} points.",
            "pointsToUse",
        )
    lines = usable_lines(result)
    cap = max_discount(result, balance, rules)
    if requested and (not lines or cap <= 0 or rules.value_of(requested) <= 0):
        raise DomainError(
            ErrorCode.POINTS_UNUSABLE,
            "Points cannot pay for this checkout."
            if not lines or cap <= 0
            else f"{rules.per_yuan} points are worth ¥1: use more points.",
            "pointsToUse",
        )
    discount = min(rules.value_of(requested), cap)
    by_merchant = spread_balance(
        result,
        line_merchants,
        lines,
        [r.total for r in lines],
        discount,
        POINTS_SOURCE,
        POINTS_LABEL,
    )
    used = rules.points_for(discount)
    merchants = sorted(by_merchant)
    points = pricing.allocate(used, [by_merchant[m] for m in merchants])
    split = {m: (p, by_merchant[m]) for m, p in zip(merchants, points, strict=True)}
    return PointsUse(balance, rules.points_for(cap), used, discount, split)


def points_discount_of(result: pricing.PricingResult) -> int:
    return sum(getattr(m, "points_discount", 0) for m in result.merchants)


async def balance(session: AsyncSession, customer_id: int) -> int:
    return int(
        await session.scalar(
            select(MemberAccount.points).where(MemberAccount.customer_id == customer_id)
        )
        or 0
    )


async def spend(session: AsyncSession, orders: Sequence[Order], now: datetime) -> None:
    """At checkout, last of all: one SPEND row per order that used points."""
    for order in orders:
        if order.points_used:
            await post(
                session,
                order.customer_id,
                PointsKind.SPEND,
                -order.points_used,
                0,
                now,
                reference=f"spend:order:{order.id}",
                order_id=order.id,
                note=f"Order {order.number}",
            )


# --- paid orders, refunds and cancellations ----------------------------------------------------


def growth_of(order: Order) -> int:
    return max(0, order.total) // 100


async def on_paid(
    session: AsyncSession, orders: Sequence[Order], rules: PointsRules, now: datetime
) -> None:
    """Each order just paid earns its growth and points (EARN)."""
    for order in orders:
        growth = growth_of(order)
        points = growth * rules.earn_per_yuan
        if growth or points:
            await post(
                session,
                order.customer_id,
                PointsKind.EARN,
                points,
                growth,
                now,
                reference=f"earn:order:{order.id}",
                order_id=order.id,
                note=f"Order {order.number}",
            )


async def _order_sums(session: AsyncSession, order_id: int) -> dict[PointsKind, tuple[int, int]]:
    rows = await session.execute(
        select(PointsEntry.kind, func.sum(PointsEntry.points), func.sum(PointsEntry.growth))
        .where(PointsEntry.order_id == order_id)
        .group_by(PointsEntry.kind)
    )
    return {PointsKind(k): (int(p or 0), int(g or 0)) for k, p, g in rows.all()}


def discount_refunded(lines: Sequence[OrderLine], source: str) -> int:
    """A `source` discount (points, red packets) on refunded units: each line's in proportion
    to its refunded units (a whole line gives back exactly its share)."""
    total = 0
    for line in lines:
        on_line = sum(d["amount"] for d in line.discounts or () if d["source"] == source)
        total += on_line * line.refunded_quantity // line.quantity if line.quantity else 0
    return total


async def on_refunded(
    session: AsyncSession,
    order: Order,
    lines: Sequence[OrderLine],
    event: str,
    now: datetime,
) -> None:
    """After a refund or a cancellation (`event` names it, e.g. "refund:7"): spent points back
    in proportion to the points discount refunded (REFUND); earned points and growth taken
    back in proportion to the money refunded (CLAWBACK; points never below a zero balance —
    what could not be taken is taken at the next refund of the order, if any)."""
    if not order.points_used and order.paid_at is None:
        return
    sums = await _order_sums(session, order.id)
    spent = -sums.get(PointsKind.SPEND, (0, 0))[0]
    if spent:
        due = spent
        if order.points_discount and order.status != OrderStatus.CANCELLED:
            due = spent * discount_refunded(lines, POINTS_SOURCE) // order.points_discount
        back = due - sums.get(PointsKind.REFUND, (0, 0))[0]
        if back > 0:
            await post(
                session,
                order.customer_id,
                PointsKind.REFUND,
                back,
                0,
                now,
                reference=f"refund:{event}",
                order_id=order.id,
                note=f"Order {order.number}",
            )
    earned, grown = sums.get(PointsKind.EARN, (0, 0))
    if not (earned or grown) or order.total <= 0:
        return
    refunded = min(order.refunded_amount, order.total)
    kept = order.total - refunded
    points_due = earned - earned * kept // order.total
    growth_due = grown - grown * kept // order.total
    taken_points, taken_growth = (-x for x in sums.get(PointsKind.CLAWBACK, (0, 0)))
    points = max(0, points_due - taken_points)
    growth = max(0, growth_due - taken_growth)
    if points:  # locked: what is there now is what can be taken
        points = min(points, (await account(session, order.customer_id, now, lock=True)).points)
    if points or growth:
        await post(
            session,
            order.customer_id,
            PointsKind.CLAWBACK,
            -points,
            -growth,
            now,
            reference=f"clawback:{event}",
            order_id=order.id,
            note=f"Order {order.number}",
        )


async def on_cancelled_unpaid(
    session: AsyncSession, orders: Sequence[Order], now: datetime
) -> None:
    """Unpaid orders cancelled or expired: the points spent on them come back."""
    for order in orders:
        if order.points_used:
            await on_refunded(session, order, (), f"cancel:{order.id}", now)


async def ledger_sums(session: AsyncSession, customer_id: int) -> tuple[int, int]:
    """(points, growth) as the ledger sums them; equal to the account's (tested)."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(PointsEntry.points), 0),
                func.coalesce(func.sum(PointsEntry.growth), 0),
            ).where(and_(PointsEntry.customer_id == customer_id))
        )
    ).one()
    return int(row[0]), int(row[1])
