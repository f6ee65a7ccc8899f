"""Coupons (DOMAIN.md §5): templates, claiming, bulk issue, single-use codes, the lifecycle
AVAILABLE → LOCKED → USED (or back, or EXPIRED/VOID), and statistics.

Quantities hold under any concurrency because each limit is one conditional UPDATE in the
database: the template's `issued_count < total_quantity`, the customer's claim counter
`count < per_customer_limit`, and a code's `redeemed_by IS NULL`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from typing import cast

from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import changes
from core.money import InvalidMoney
from core.money import to_minor
from models.accounts import Customer
from models.catalog import Merchant
from models.coupons import Coupon
from models.coupons import CouponClaimCount
from models.coupons import CouponCode
from models.coupons import CouponStatus
from models.coupons import CouponTemplate
from models.coupons import CouponType
from models.coupons import Distribution
from services import catalog
from services import pricing
from services import reports
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations
from services.messages import message
from services.pricing import yuan

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand
CODE_LENGTH = 16
MAX_CODES_PER_CALL = 10_000


# --- templates -----------------------------------------------------------------------------------


@dataclass
class TemplateData:
    name: str
    type: CouponType
    total_quantity: int
    distribution: Distribution
    amount: Decimal | None = None
    percent_off: Decimal | None = None
    min_spend: Decimal | None = None
    max_discount: Decimal | None = None
    scope: dict[str, list[int]] = field(default_factory=dict)  # as promotions' scope JSON
    merchant_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    days_after_claim: int | None = None
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    per_customer_limit: int = 1
    audience: str = "ALL"
    min_member_level: int = 0
    combines_with_promotions: bool = True
    on_registration: bool = False


def _minor(
    v: Violations,
    value: Decimal | None,
    path: str,
    *,
    required: bool = False,
    positive: bool = False,
) -> int | None:
    if value is None:
        if required:
            v.add(ErrorCode.INVALID_PRICE, "An amount is required.", path)
        return None
    try:
        minor = to_minor(value)
    except InvalidMoney as exc:
        v.add(ErrorCode.INVALID_PRICE, f"Amount {exc}.", path)
        return None
    if positive and minor <= 0:
        v.add(ErrorCode.INVALID_PRICE, "Must be more than zero.", path)
    return minor


async def _apply_template(
    session: AsyncSession, template: CouponTemplate, data: TemplateData
) -> None:
    v = Violations()
    name = check.text(v, data.name, "name", max_len=120)
    amount = _minor(
        v, data.amount, "amount", required=data.type != CouponType.PERCENT, positive=True
    )
    min_spend = _minor(
        v, data.min_spend, "minSpend", required=data.type == CouponType.THRESHOLD, positive=True
    )
    max_discount = _minor(v, data.max_discount, "maxDiscount", positive=True)
    if data.type == CouponType.PERCENT and not (data.percent_off and 0 < data.percent_off < 100):
        v.add(
            ErrorCode.INVALID_RULE, "A percentage is between 0 and 100 (exclusive).", "percentOff"
        )
    if data.type == CouponType.THRESHOLD and amount and min_spend and amount >= min_spend:
        v.add(ErrorCode.INVALID_RULE, "The amount must be below the minimum spend.", "amount")
    fixed = data.valid_from is not None or data.valid_until is not None
    if fixed == (data.days_after_claim is not None):
        v.add(
            ErrorCode.INVALID_SCHEDULE,
            "Give a fixed window (startsAt, endsAt) or daysAfterClaim.",
            "validity",
        )
    elif fixed and (
        data.valid_from is None or data.valid_until is None or data.valid_until <= data.valid_from
    ):
        v.add(
            ErrorCode.INVALID_SCHEDULE, "The validity window must end after it starts.", "validity"
        )
    elif data.days_after_claim is not None and data.days_after_claim < 1:
        v.add(ErrorCode.INVALID_SCHEDULE, "Valid for at least one day.", "validity")
    if data.claim_starts_at and data.claim_ends_at and data.claim_ends_at <= data.claim_starts_at:
        v.add(
            ErrorCode.INVALID_SCHEDULE, "The claim window must end after it starts.", "claimEndsAt"
        )
    if data.total_quantity < max(1, template.issued_count or 0):
        v.add(
            ErrorCode.INVALID_QUANTITY,
            "Total quantity must cover what was issued (≥ 1).",
            "totalQuantity",
        )
    if data.per_customer_limit < 1:
        v.add(ErrorCode.INVALID_QUANTITY, "A per-customer limit is at least 1.", "perCustomerLimit")
    v.raise_if_any()
    if data.merchant_id is not None and await session.get(Merchant, data.merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    await catalog.ensure_funded_by(
        session,
        data.merchant_id,
        list(data.scope.get("SKU", [])),
        [*data.scope.get("PRODUCT", []), *data.scope.get("EXCLUDED_PRODUCT", [])],
        "scope",
    )
    template.name, template.type = name or "", data.type
    template.amount = amount if data.type != CouponType.PERCENT else None
    template.percent_off = str(data.percent_off) if data.type == CouponType.PERCENT else None
    template.min_spend, template.max_discount = min_spend, max_discount
    template.scope, template.merchant_id = data.scope, data.merchant_id
    template.valid_from, template.valid_until = data.valid_from, data.valid_until
    template.days_after_claim = data.days_after_claim
    template.claim_starts_at, template.claim_ends_at = data.claim_starts_at, data.claim_ends_at
    template.total_quantity, template.per_customer_limit = (
        data.total_quantity,
        data.per_customer_limit,
    )
    template.distribution, template.audience = data.distribution, data.audience
    template.min_member_level = data.min_member_level
    template.combines_with_promotions = data.combines_with_promotions
    template.on_registration = data.on_registration
    await session.flush()


async def create_template(session: AsyncSession, data: TemplateData) -> CouponTemplate:
    template = CouponTemplate(issued_count=0, voided=False)
    session.add(template)
    await _apply_template(session, template, data)
    return template


async def update_template(
    session: AsyncSession, template_id: int, data: TemplateData, now: datetime
) -> CouponTemplate:
    """Editable until customers can get it (claim window open or coupons issued)."""
    template = await _template(session, template_id)
    if template.issued_count > 0 or (template.claim_starts_at or now) <= now:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            "The template is already claimable or issued.",
            "id",
        )
    await _apply_template(session, template, data)
    return template


async def void_template(session: AsyncSession, template_id: int) -> CouponTemplate:
    """Stop the batch: no more claims, and unused coupons become VOID."""
    template = await _template(session, template_id)
    template.voided = True
    await session.execute(
        update(Coupon)
        .where(Coupon.template_id == template.id, Coupon.status == CouponStatus.AVAILABLE)
        .values(status=CouponStatus.VOID)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return template


async def _template(session: AsyncSession, template_id: int) -> CouponTemplate:
    template = await session.get(CouponTemplate, template_id)
    if template is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Coupon template not found.", "templateId")
    return template


def discount_text(t: CouponTemplate) -> str:
    """满200减20, 8.5折 最高减50, 无门槛减10."""
    if t.type == CouponType.PERCENT:
        tenths = ((Decimal(100) - Decimal(t.percent_off or 0)) / 10).normalize()
        text = f"{tenths:f}折"
        if t.min_spend:
            text = f"满{yuan(t.min_spend)}享{text}"
        return f"{text} 最高减{yuan(t.max_discount)}" if t.max_discount else text
    if t.type == CouponType.THRESHOLD:
        return f"满{yuan(t.min_spend or 0)}减{yuan(t.amount or 0)}"
    return f"无门槛减{yuan(t.amount or 0)}"


def claimable(t: CouponTemplate, now: datetime) -> bool:
    return (
        t.distribution == Distribution.PUBLIC
        and not t.voided
        and t.issued_count < t.total_quantity
        and (t.claim_starts_at is None or t.claim_starts_at <= now)
        and (t.claim_ends_at is None or now < t.claim_ends_at)
        and (t.valid_until is None or now < t.valid_until)
    )


def claimable_condition(now: datetime) -> Any:
    return and_(
        CouponTemplate.distribution == Distribution.PUBLIC,
        CouponTemplate.voided.is_(False),
        CouponTemplate.issued_count < CouponTemplate.total_quantity,
        or_(CouponTemplate.claim_starts_at.is_(None), CouponTemplate.claim_starts_at <= now),
        or_(CouponTemplate.claim_ends_at.is_(None), CouponTemplate.claim_ends_at > now),
        or_(CouponTemplate.valid_until.is_(None), CouponTemplate.valid_until > now),
    )


# --- getting coupons -----------------------------------------------------------------------------


def _admits(t: CouponTemplate, customer: Customer) -> bool:
    return pricing.Audience(t.audience, t.min_member_level).admits(
        pricing.Customer(member_level=customer.member_level, is_new=customer.first_paid_at is None)
    )


async def _bump_customer_count(session: AsyncSession, t: CouponTemplate, customer_id: int) -> bool:
    """Count one more coupon for the customer, if under the limit (conditional UPDATE; the
    first claim inserts the counter row, a concurrent first claim falls back to the UPDATE)."""
    bumped = await session.execute(
        update(CouponClaimCount)
        .where(
            CouponClaimCount.template_id == t.id,
            CouponClaimCount.customer_id == customer_id,
            CouponClaimCount.count < t.per_customer_limit,
        )
        .values(count=CouponClaimCount.count + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], bumped).rowcount == 1:
        return True
    exists = await session.scalar(
        select(func.count())
        .select_from(CouponClaimCount)
        .where(CouponClaimCount.template_id == t.id, CouponClaimCount.customer_id == customer_id)
    )
    if exists:
        return False
    try:
        async with session.begin_nested():
            session.add(CouponClaimCount(template_id=t.id, customer_id=customer_id, count=1))
        return True
    except IntegrityError:  # someone inserted it meanwhile: now it is an UPDATE
        return await _bump_customer_count(session, t, customer_id)


async def _take_quantity(session: AsyncSession, template_id: int, units: int) -> bool:
    taken = await session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == template_id,
            CouponTemplate.issued_count + units <= CouponTemplate.total_quantity,
        )
        .values(issued_count=CouponTemplate.issued_count + units)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], taken).rowcount == 1


def _validity(t: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    if t.days_after_claim is not None:
        return now, now + timedelta(days=t.days_after_claim)
    return t.valid_from or now, t.valid_until or now


async def _grant(
    session: AsyncSession,
    t: CouponTemplate,
    customer: Customer,
    now: datetime,
    source: str,
    *,
    quantity_taken: bool = False,
) -> Coupon:
    if not _admits(t, customer):
        raise DomainError(
            ErrorCode.AUDIENCE_MISMATCH, message("coupon.claim_audience"), "templateId"
        )
    if not await _bump_customer_count(session, t, customer.id):
        raise DomainError(
            ErrorCode.COUPON_LIMIT_REACHED,
            message("coupon.claim_limit", most=t.per_customer_limit),
            "templateId",
        )
    if not quantity_taken and not await _take_quantity(session, t.id, 1):
        raise DomainError(ErrorCode.COUPON_SOLD_OUT, message("coupon.claim_sold_out"), "templateId")
    valid_from, valid_until = _validity(t, now)
    coupon = Coupon(
        template_id=t.id,
        customer_id=customer.id,
        status=CouponStatus.AVAILABLE,
        source=source,
        valid_from=valid_from,
        valid_until=valid_until,
        claimed_at=now,
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def claim(session: AsyncSession, template_id: int, customer_id: int, now: datetime) -> Coupon:
    t = await _template(session, template_id)
    if not claimable(t, now):
        code = (
            ErrorCode.COUPON_SOLD_OUT
            if t.issued_count >= t.total_quantity
            else ErrorCode.COUPON_NOT_CLAIMABLE
        )
        raise DomainError(code, message("coupon.not_claimable"), "templateId")
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return await _grant(session, t, customer, now, "CLAIM")


async def issue(
    session: AsyncSession, template_id: int, customer_ids: list[int], now: datetime
) -> int:
    """SYSTEM push to many customers; those over their limit are skipped, the batch's
    quantity is never exceeded (all-or-nothing when it would be)."""
    t = await _template(session, template_id)
    if t.distribution != Distribution.SYSTEM or t.voided:
        raise DomainError(
            ErrorCode.COUPON_NOT_CLAIMABLE,
            "Only a SYSTEM template that is not void can be issued.",
            "templateId",
        )
    customers = (await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))).all()
    if len(customers) != len(set(customer_ids)):
        raise DomainError(ErrorCode.NOT_FOUND, "Some customers do not exist.", "customerIds")
    issued = 0
    for customer in sorted(customers, key=lambda c: c.id):
        if not _admits(t, customer):
            continue
        if not await _bump_customer_count(session, t, customer.id):
            continue
        if not await _take_quantity(session, t.id, 1):
            raise DomainError(
                ErrorCode.COUPON_SOLD_OUT,
                f"Only {t.total_quantity - t.issued_count} left to issue.",
                "customerIds",
            )
        valid_from, valid_until = _validity(t, now)
        session.add(
            Coupon(
                template_id=t.id,
                customer_id=customer.id,
                source="ISSUE",
                status=CouponStatus.AVAILABLE,
                valid_from=valid_from,
                valid_until=valid_until,
                claimed_at=now,
            )
        )
        issued += 1
    await session.flush()
    return issued


async def issue_on_registration(
    session: AsyncSession, customer: Customer, now: datetime
) -> list[Coupon]:
    """Templates marked "on registration" greet each new customer (while quantity lasts)."""
    templates = (
        await session.scalars(
            select(CouponTemplate).where(
                CouponTemplate.on_registration.is_(True),
                CouponTemplate.voided.is_(False),
                CouponTemplate.issued_count < CouponTemplate.total_quantity,
            )
        )
    ).all()
    granted = []
    for t in templates:
        try:
            async with session.begin_nested():
                granted.append(await _grant(session, t, customer, now, "REGISTRATION"))
        except DomainError:
            continue  # sold out meanwhile, or not for this audience: registration goes on
    return granted


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


async def generate_codes(session: AsyncSession, template_id: int, count: int) -> list[str]:
    """Unguessable single-use codes, returned once (only hashes are stored). They reserve
    the batch's quantity now, so redemption can never over-issue."""
    t = await _template(session, template_id)
    if t.distribution != Distribution.CODE or t.voided:
        raise DomainError(
            ErrorCode.COUPON_NOT_CLAIMABLE,
            "Codes are for a CODE template that is not void.",
            "templateId",
        )
    if not 1 <= count <= MAX_CODES_PER_CALL:
        raise DomainError(
            ErrorCode.INVALID_QUANTITY,
            f"Generate 1 to {MAX_CODES_PER_CALL} codes at a time.",
            "count",
        )
    if not await _take_quantity(session, t.id, count):
        raise DomainError(
            ErrorCode.COUPON_SOLD_OUT,
            f"Only {t.total_quantity - t.issued_count} left in this batch.",
            "count",
        )
    codes = [
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)
    ]
    session.add_all(CouponCode(template_id=t.id, code_hash=_hash(c)) for c in codes)
    await session.flush()
    return ["-".join(c[i : i + 4] for i in range(0, CODE_LENGTH, 4)) for c in codes]


async def redeem_code(session: AsyncSession, code: str, customer_id: int, now: datetime) -> Coupon:
    """A code works once: the first redemption marks it (conditional UPDATE); any other,
    concurrent or later, is refused."""
    row = await session.scalar(select(CouponCode).where(CouponCode.code_hash == _hash(code)))
    if row is None:
        raise DomainError(ErrorCode.INVALID_CODE, message("coupon.no_such_code"), "code")
    t = await _template(session, row.template_id)
    if t.voided:
        raise DomainError(ErrorCode.COUPON_NOT_CLAIMABLE, message("coupon.batch_withdrawn"), "code")
    marked = await session.execute(
        update(CouponCode)
        .where(CouponCode.id == row.id, CouponCode.redeemed_by.is_(None))
        .values(redeemed_by=customer_id, redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], marked).rowcount != 1:
        raise DomainError(ErrorCode.CODE_ALREADY_USED, message("coupon.code_used"), "code")
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    return await _grant(session, t, customer, now, "CODE", quantity_taken=True)


# --- lifecycle -----------------------------------------------------------------------------------


def status_at(coupon: Coupon, now: datetime) -> CouponStatus:
    """AVAILABLE turns EXPIRED by time even before the sweep writes it."""
    if coupon.status == CouponStatus.AVAILABLE and coupon.valid_until <= now:
        return CouponStatus.EXPIRED
    return coupon.status


_LOCK = (
    update(Coupon)
    .where(
        Coupon.id == bindparam("coupon_id"),
        Coupon.customer_id == bindparam("customer"),
        Coupon.status == CouponStatus.AVAILABLE,
        Coupon.valid_from <= bindparam("now"),
        Coupon.valid_until > bindparam("now"),
    )
    .values(status=CouponStatus.LOCKED, locked_by=bindparam("owner"))
    .execution_options(synchronize_session=False)
)  # built once: it runs per checkout


async def lock(
    session: AsyncSession, coupon_ids: list[int], customer_id: int, owner: str, now: datetime
) -> None:
    """AVAILABLE → LOCKED for an unpaid order; all or nothing."""
    for coupon_id in sorted(coupon_ids):
        locked = await session.execute(
            _LOCK, {"coupon_id": coupon_id, "customer": customer_id, "now": now, "owner": owner}
        )
        if cast(CursorResult[Any], locked).rowcount != 1:
            raise DomainError(
                ErrorCode.COUPON_UNUSABLE, message("coupon.no_longer_usable"), "couponIds"
            )


_MOVE = (
    update(Coupon)
    .where(
        Coupon.id == bindparam("coupon_id"),
        Coupon.customer_id == bindparam("customer"),
        Coupon.status == CouponStatus.LOCKED,
        Coupon.locked_by == bindparam("holder"),
        Coupon.valid_from <= bindparam("now"),
        Coupon.valid_until > bindparam("now"),
    )
    .values(locked_by=bindparam("owner"))
    .execution_options(synchronize_session=False)
)


async def move(
    session: AsyncSession, coupon_id: int, customer_id: int, holder: str, owner: str, now: datetime
) -> None:
    """LOCKED by `holder` → LOCKED by `owner` (a held coupon following the customer), in one
    conditional UPDATE: a coupon is never locked by two orders, and one used or released
    meanwhile is refused."""
    moved = await session.execute(
        _MOVE,
        {
            "coupon_id": coupon_id,
            "customer": customer_id,
            "holder": holder,
            "owner": owner,
            "now": now,
        },
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise DomainError(ErrorCode.COUPON_UNUSABLE, "A coupon is no longer usable.", "couponIds")


async def use(session: AsyncSession, owner: str, now: datetime) -> int:
    """LOCKED → USED when the order is paid."""
    result = await session.execute(
        update(Coupon)
        .where(Coupon.locked_by == owner, Coupon.status == CouponStatus.LOCKED)
        .values(status=CouponStatus.USED, used_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


async def _give_back(
    session: AsyncSession, owner: str, now: datetime, from_status: CouponStatus
) -> int:
    coupons = (
        await session.scalars(
            select(Coupon).where(Coupon.locked_by == owner, Coupon.status == from_status)
        )
    ).all()
    for coupon in coupons:
        give_back(coupon, now)
    await session.flush()
    return len(coupons)


def give_back(coupon: Coupon, now: datetime) -> None:
    """Back to the customer's wallet: AVAILABLE while still valid, else EXPIRED."""
    coupon.status = CouponStatus.AVAILABLE if coupon.valid_until > now else CouponStatus.EXPIRED
    coupon.locked_by, coupon.used_at = None, None


async def release(session: AsyncSession, owner: str, now: datetime) -> int:
    """An unpaid order cancelled or expired: LOCKED → AVAILABLE if still valid."""
    return await _give_back(session, owner, now, CouponStatus.LOCKED)


async def return_after_full_refund(session: AsyncSession, owner: str, now: datetime) -> int:
    """A full refund: USED → AVAILABLE if still valid (a partial refund keeps them used)."""
    return await _give_back(session, owner, now, CouponStatus.USED)


async def expire(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        update(Coupon)
        .where(Coupon.status == CouponStatus.AVAILABLE, Coupon.valid_until <= now)
        .values(status=CouponStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


# --- for pricing and statistics ------------------------------------------------------------------


def as_rule(coupon: Coupon, t: CouponTemplate) -> pricing.CouponRule:
    return pricing.CouponRule(
        id=coupon.id,
        name=t.name,
        kind=t.type.value,
        amount=t.amount or 0,
        percent_off=Decimal(t.percent_off) if t.percent_off else None,
        min_spend=t.min_spend or 0,
        max_discount=t.max_discount,
        scope=pricing.scope_from_json(t.scope, t.merchant_id),
        merchant_id=t.merchant_id,
        combines_with_promotions=t.combines_with_promotions,
        valid_until=coupon.valid_until,
    )


async def wallet(
    session: AsyncSession, customer_id: int, status: CouponStatus | None, now: datetime
) -> list[Coupon]:
    stmt = (
        select(Coupon)
        .where(Coupon.customer_id == customer_id)
        .order_by(Coupon.valid_until, Coupon.id)
    )
    coupons = (await session.scalars(stmt)).all()
    return [c for c in coupons if status is None or status_at(c, now) == status]


@dataclass
class Stats:
    issued: int
    claimed: int
    used: int
    discount_cost: int
    order_gmv: int

    @property
    def redemption_rate(self) -> float:
        return round(self.used / self.issued, 4) if self.issued else 0.0


async def stats(session: AsyncSession, template_id: int) -> Stats:
    """Counted from the coupons themselves (not from counters that can drift); discount cost
    and order GMV from the paid orders that used a coupon of the batch."""
    rows = dict(
        (
            await session.execute(
                select(Coupon.source, func.count())
                .where(Coupon.template_id == template_id)
                .group_by(Coupon.source)
            )
        ).all()
    )
    used = (
        await session.scalar(
            select(func.count())
            .select_from(Coupon)
            .where(Coupon.template_id == template_id, Coupon.status == CouponStatus.USED)
        )
        or 0
    )
    issued = sum(rows.values())
    orders = await reports.discount_stats(session, coupon_template_id=template_id)
    return Stats(
        issued=issued,
        claimed=rows.get("CLAIM", 0) + rows.get("CODE", 0),
        used=used,
        discount_cost=orders.discount_cost,
        order_gmv=orders.order_gmv,
    )


# --- lists ---------------------------------------------------------------------------------------


def templates_seen_by(
    now: datetime, manager: bool, merchant_id: int | None, claimable_only: bool = False
) -> Any:
    """Storefronts see claimable batches only (the coupon center is public); staff with
    MANAGE_COUPONS (`manager`) see every batch they issue: all for the platform, their own
    for a merchant's staff (`merchant_id`)."""
    stmt = select(CouponTemplate)
    if claimable_only or not manager:
        return stmt.where(claimable_condition(now))
    if merchant_id is not None:
        return stmt.where(CouponTemplate.merchant_id == merchant_id)
    return stmt


async def claimable_batches(session: AsyncSession, now: datetime) -> list[CouponTemplate]:
    """The PUBLIC batches claimable now. An answer showing them depends on their
    claimability and cards only (changes.CLAIMABLE, migration 0023): a claim that leaves
    units to claim drops no product page. (A claim window opening or closing is in the
    response cache's schedule, services/schedule.py.)"""
    changes.depends_on(changes.CLAIMABLE, [changes.ANY])
    with changes.covered("coupon_templates"):
        return list((await session.scalars(claimable_templates(now))).all())


def claimable_templates(now: datetime) -> Any:
    return select(CouponTemplate).where(claimable_condition(now)).order_by(CouponTemplate.id)
