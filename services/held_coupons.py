"""A coupon held by an unpaid order follows the customer (DOMAIN.md §5, 被占用的优惠券…优先把优惠券
用到那边): a coupon LOCKED by the customer's order still waiting for its first payment is offered
at a new checkout where it fits; using it there moves the lock to the new order, and the checkout
it leaves is re-priced without it, or cancelled when it is a presale.

Decisions:
- Only an order in PENDING_PAYMENT before its deadline gives its coupon up. A presale whose
  deposit is paid (AWAITING_BALANCE) keeps it: money was taken at that price.
- A sibling paid on its own (sub-orders are payable alone; paid once counts, refunded and
  cancelled since or not) keeps the platform coupon where it is: that payment used it, and
  the order left behind could not be given back its share. A merchant coupon still follows
  when the checkout holds no platform coupon: the paid sibling then shares nothing with the
  order it leaves but the promotions, and those are priced again over the paid sibling's
  lines too, as placed, so a 满减 reached by the two orders together is still reached. Only
  the unpaid orders are written.
- The old checkout's unpaid orders (with any sibling paid on its own, as placed) are priced
  again with the same pricing function: the lines as snapshotted (unit prices, quantities),
  the promotions it got (as they were at order time: its clock, its channel, the units its
  per-customer limits and flash stock gave it) and the coupons it still holds. When the
  promotions come out as recorded, its coupons, red packets and points spread, shipping and
  totals are rewritten, its payments ask the new amount, and a coupon no
  longer reaching its threshold goes back to the wallet. When they do not (a promotion edited
  since, the member level lowered), or it is a presale, the checkout is cancelled as an
  unpaid one is: stock, promotion stock, coupons and points go back.
- The catalog as placed, never as it is now (DOMAIN §7: an order keeps what it was placed
  with): each line records at checkout what pricing knew of its product
  (`OrderLine.placed_facts`: category path and brand, which coupon and promotion scopes test;
  weight and shipping template with its fees and free-shipping threshold; the red-packet flag
  and cap), and the merchant is its order's. A merchant who moves the product to another
  category or brand, switches or edits its shipping template, or changes its red-packet
  terms after the order changes nothing here. Recorded rather than compared with today's
  catalog: nothing else tells what the product was at checkout (templates keep no history),
  and a rule that cancels on any difference would cancel orders that could be re-priced. A
  line that recorded no facts (placed before they were) cannot be priced as placed: its
  checkout is cancelled instead.
- Shipping is priced again, by the template as placed, not kept as recorded. Losing a coupon
  only raises the payable of the order it left (a platform coupon left behind gives the
  other orders the same or a smaller share), and a fee only falls as the payable rises: it
  stays as recorded, or drops to 0 when the order now reaches the template's free-shipping
  threshold (满230包邮: placed at 240 − 20 = 220 + 10; without the coupon 240 ships free).
  Keeping the recorded fee would charge that 10.00 where pricing does not; the template as
  placed gives exactly pricing's answer, and the recorded fee whenever no threshold is
  crossed. (A percent platform coupon's share of another order may move by a fen of
  rounding; its fee is then pricing's answer at that amount, as for any other order.)
- Points stay as spent: each order keeps the points it used and the discount they gave
  (recorded per order), spread again over its own lines. Neither today's points settings nor
  the percent cap are asked again: the cap held for the whole checkout when it was placed,
  and a coupon that leaves only raises what is left to pay. Capped order by order instead, a
  largest-remainder fen over one order's own share cancelled a checkout that was valid.
- Money must never pay the old amount: an open Alipay/WeChat trade of the old checkout refuses
  the move (`HeldInPayment`); the checkout resolver then asks the provider and closes the
  trade (as before a cancellation) and tries once more. A trade closed this way is reopened
  under a new number at the new amount (services/trades.py). The TEST provider and offline
  transfers are checked against the amount due (PAYMENT_AMOUNT_MISMATCH).

Locks: the checkout holds the customer row; the old checkout is locked as any payment path
locks it (reservation, payment, orders) before its coupon moves."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Customer
from models.coupons import Coupon
from models.coupons import CouponStatus
from models.coupons import CouponTemplate
from models.orders import Order
from models.orders import OrderDiscount
from models.orders import OrderLine
from models.orders import OrderStatus
from models.orders import Payment
from models.orders import PaymentKind
from models.orders import PaymentStatus
from models.promotions import Promotion as PromotionRow
from models.promotions import PromotionType
from services import coupons
from services import members
from services import orders
from services import pricing
from services import promotions
from services import red_packets
from services import trades
from services.errors import DomainError
from services.errors import ErrorCode

_GONE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class Holder:
    """Who holds a coupon now: the checkout (combined payment) and its first unpaid order,
    which the client names ("this moves the coupon from order …")."""

    owner: str  # the coupon's locked_by
    payment_id: int
    order: Order


class HeldInPayment(DomainError):
    """The order holding the coupon has a trade open at a payment provider: it is settled
    (asked, closed) outside the transaction, then the checkout is tried again."""

    def __init__(self, order: Order, payment_ids: list[int]) -> None:
        super().__init__(
            ErrorCode.COUPON_IN_PAYMENT,
            f"Order {order.number}, which holds this coupon, is being paid right now.",
            "couponIds",
        )
        self.payment_ids = payment_ids


def _owner_ids(owner: str) -> tuple[str, int]:
    kind, _, number = owner.partition(":")
    return kind, int(number)


def _may_follow(
    owner: str, holder: Order | None, checkout: Sequence[Order], platform_coupon: bool
) -> Order | None:
    """The unpaid order a LOCKED coupon leaves from, if it may follow the customer (DOMAIN
    §5): a merchant coupon (held by an order) while that order waits for its first payment,
    and no sibling is paid or the checkout holds no platform coupon; the platform coupon (held
    by the checkout) while no order of it is paid. The checkout's deadline is the caller's.
    Asked when the coupon is offered and again, under the checkout's locks, when it moves."""
    any_paid = any(_was_paid(o) for o in checkout)
    if _owner_ids(owner)[0] == "order":
        if holder is None or holder.status != OrderStatus.PENDING_PAYMENT:
            return None
        return holder if not any_paid or not platform_coupon else None
    if any_paid:
        return None
    return next((o for o in checkout if o.status == OrderStatus.PENDING_PAYMENT), None)


def _was_paid(order: Order) -> bool:
    """Paid on its own at some time: its payment used the checkout's platform coupon, even if
    the order was refunded and cancelled since."""
    return order.paid_at is not None or order.status not in _GONE


def _platform_coupon_of(checkout: Any) -> Any:
    """Whether a coupon is (or was, used) held by the checkout `checkout` (a payment id
    column): its platform coupon, spread over every order of it."""
    owner = literal("payment:") + cast(checkout, String)
    return exists().where(Coupon.locked_by == owner)


async def holders(
    session: AsyncSession, customer_id: int, locked: Sequence[Coupon], now: datetime
) -> dict[int, Holder]:
    """Of the customer's LOCKED coupons, those that may follow them (`_may_follow`), before
    their checkout's deadline. One statement."""
    order_ids: set[int] = set()
    payment_ids: set[int] = set()
    for coupon in locked:
        kind, number = _owner_ids(coupon.locked_by or ":0")
        (order_ids if kind == "order" else payment_ids).add(number)
    rows = (
        await session.execute(
            select(Order, Payment.expires_at, _platform_coupon_of(Payment.id))
            .join(Payment, Payment.id == Order.payment_id)
            .where(
                Order.customer_id == customer_id,
                # a merchant coupon's whole checkout: its siblings tell whether it may follow
                or_(
                    Order.payment_id.in_(payment_ids),
                    Order.payment_id.in_(select(Order.payment_id).where(Order.id.in_(order_ids))),
                ),
            )
            .order_by(Order.id)
        )
    ).all()
    by_id = {order.id: order for order, _, _ in rows}
    by_checkout: dict[int, list[Order]] = defaultdict(list)
    deadline: dict[int, datetime] = {}
    platform: dict[int, bool] = {}
    for order, expires_at, has_platform_coupon in rows:
        by_checkout[order.payment_id].append(order)
        deadline[order.payment_id] = expires_at
        platform[order.payment_id] = bool(has_platform_coupon)
    found = {}
    for coupon in locked:
        owner = coupon.locked_by or ":0"
        kind, number = _owner_ids(owner)
        holder = by_id.get(number) if kind == "order" else None
        checkout_id = (holder.payment_id if holder else 0) if kind == "order" else number
        if checkout_id not in deadline or deadline[checkout_id] <= now:
            continue
        leaving = _may_follow(owner, holder, by_checkout[checkout_id], platform[checkout_id])
        if leaving is not None:
            found[coupon.id] = Holder(owner, checkout_id, leaving)
    return found


async def take_over(
    session: AsyncSession,
    coupon_id: int,
    holder: Holder,
    owner: str,
    customer_id: int,
    new_order: str,
    now: datetime,
) -> None:
    """Move a held coupon to `owner` (the new checkout's order or payment), then re-price or
    cancel the checkout it leaves — all in the caller's transaction."""
    payment, all_orders = await orders.lock_checkout(session, holder.payment_id)
    waiting = [o for o in all_orders if o.status == OrderStatus.PENDING_PAYMENT]
    paid = [o for o in all_orders if _was_paid(o)]
    mine = next((o for o in all_orders if o.id == holder.order.id), None)
    platform_coupon = bool(paid) and bool(
        await session.scalar(select(exists().where(Coupon.locked_by == payment.reservation_owner)))
    )
    if (
        payment.expires_at <= now
        or _may_follow(holder.owner, mine, all_orders, platform_coupon) is None
    ):
        # no longer held there: back in the wallet if an earlier coupon of this checkout
        # cancelled that order (then it locks as any coupon), else paid or gone (refused)
        await coupons.lock(session, [coupon_id], customer_id, owner, now)
        return
    own = list(
        (
            await session.scalars(
                select(Payment.id).where(Payment.order_id.in_([o.id for o in waiting]))
            )
        ).all()
    )
    ids = [payment.id, *own]
    if await trades.open_trades(
        session, [Payment.id.in_(ids), Payment.status == PaymentStatus.PENDING]
    ):
        raise HeldInPayment(holder.order, ids)
    await coupons.move(session, coupon_id, customer_id, holder.owner, owner, now)
    reason = f"Its coupon moved to order {new_order}."
    if payment.kind == PaymentKind.DEPOSIT or not await _reprice(
        session, payment, waiting, paid, now
    ):
        await orders.close_unpaid(session, payment, PaymentStatus.CANCELLED, reason, now)


async def _reprice(
    session: AsyncSession,
    payment: Payment,
    waiting: list[Order],
    paid: list[Order],
    now: datetime,
) -> bool:
    """Price the checkout's unpaid orders again without the coupon that left — together with
    any sibling paid on its own, as placed (its lines and its used coupon), so promotions
    reached by the orders together come out as they did; only the unpaid orders are written.
    False when its promotions no longer come out as recorded, or a line recorded no facts to
    price it by (nothing written then)."""
    lines = await orders.lines_of(session, [o.id for o in (*waiting, *paid)])
    goods = [ln for ln in lines if not ln.is_gift]
    merchant_of = {o.id: o.merchant_id for o in (*waiting, *paid)}
    rules = await _promotions_as_placed(session, lines)
    placed = {
        str(ln.id): orders.line_as_placed(ln, merchant_of[ln.order_id], _add_on(ln, rules))
        for ln in goods
    }
    as_placed = {line_id: found for line_id, found in placed.items() if found is not None}
    if len(as_placed) != len(placed):  # placed before lines recorded their facts
        return False
    held = (
        await session.execute(
            select(Coupon, CouponTemplate)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(
                # A paid sibling's own coupon is left out: it priced that sibling's lines
                # only, which are never written here.
                Coupon.status == CouponStatus.LOCKED,
                Coupon.locked_by.in_(
                    [o.coupon_owner for o in waiting] + [payment.reservation_owner]
                ),
            )
            .order_by(Coupon.id)
        )
    ).all()
    customer = await session.get(Customer, payment.customer_id)
    assert customer is not None
    placed_at = min(o.created_at for o in (*waiting, *paid))
    gifts: dict[int, int] = defaultdict(int)
    for ln in lines:
        if ln.is_gift:
            gifts[ln.sku_id] += ln.quantity
    result = pricing.price(
        pricing.PricingInput(
            lines=[as_placed[str(ln.id)][0] for ln in goods],
            promotions=list(rules.values()),
            coupons=[coupons.as_rule(c, t) for c, t in held],
            coupon_ids=[c.id for c, _ in held],
            customer=pricing.Customer(
                member_level=customer.member_level,
                is_new=customer.first_paid_at is None or customer.first_paid_at >= placed_at,
            ),
            channel=waiting[0].channel,
            now=placed_at,
            choices={str(ln.id): _item_promotion(ln, rules) for ln in goods},
            gift_stock=gifts,
        )
    )
    terms = {line_id: found[1] for line_id, found in as_placed.items()}
    if not _balances_as_placed(result, waiting, goods, merchant_of, terms):
        return False
    if not _as_placed(result, lines):
        return False
    unpaid = {o.id for o in waiting}
    await _write(
        session, payment, waiting, [ln for ln in lines if ln.order_id in unpaid], result, held, now
    )
    return True


async def _promotions_as_placed(
    session: AsyncSession, lines: Sequence[OrderLine]
) -> dict[int, pricing.Promotion]:
    """The promotions the lines got, as rules. The units their per-customer limits and flash
    stock gave this checkout are what they may give again (claimed already)."""
    ids = {d["sourceId"] for ln in lines for d in ln.discounts if d["source"] == "PROMOTION"}
    claimed: dict[int, int] = defaultdict(int)
    for ln in lines:
        for promotion_id, units in (ln.promotion_units or {}).items():
            claimed[int(promotion_id)] += int(units)
    rules = {}
    for row in (await session.scalars(select(PromotionRow).where(PromotionRow.id.in_(ids)))).all():
        rule = promotions.as_rule(row)
        capped = rule.per_customer_limit is not None or rule.promotion_stock_left is not None
        rules[row.id] = dataclasses.replace(
            rule,
            per_customer_limit=None,
            promotion_stock_left=claimed.get(row.id, 0) if capped else None,
        )
    return rules


def _add_on(line: OrderLine, rules: dict[int, pricing.Promotion]) -> int | None:
    """The ADD_ON promotion (加价购) the line was bought through, if any: priced as one again."""
    for d in line.discounts:
        rule = rules.get(d["sourceId"]) if d["source"] == "PROMOTION" else None
        if rule is not None and rule.kind == PromotionType.ADD_ON:
            return rule.id
    return None


def _item_promotion(line: OrderLine, rules: dict[int, pricing.Promotion]) -> int:
    """The ITEM promotion the line got (0: none), kept as the customer's choice."""
    for d in line.discounts:
        rule = rules.get(d["sourceId"]) if d["source"] == "PROMOTION" else None
        if rule is not None and rule.level == pricing.Level.ITEM:
            return rule.id
    return 0


def _balances_as_placed(
    result: pricing.PricingResult,
    waiting: Sequence[Order],
    goods: Sequence[OrderLine],
    merchant_of: dict[int, int],
    terms: dict[str, orders.PlacedTerms],
) -> bool:
    """Spend again, order by order, the red packets and points each order spent, over that
    order's own lines, as checkout does; whether each comes out the same, so what was spent
    (recorded per order) stays as it is. Spread over the whole checkout again, a coupon that
    left moved a fen or two between merchants and cancelled every order of the checkout."""
    line_merchants = {str(ln.id): merchant_of[ln.order_id] for ln in goods}
    for o in waiting:
        if not (o.red_packet_discount or o.points_discount):
            continue
        mine = {str(ln.id) for ln in goods if ln.order_id == o.id}
        part = dataclasses.replace(
            result,
            lines=[r for r in result.lines if r.line_id in mine],
            merchants=[m for m in result.merchants if m.merchant_id == o.merchant_id],
        )
        if o.red_packet_discount:
            try:
                red_packets.apply(part, line_merchants, terms, *(o.red_packet_discount,) * 2)
            except DomainError:
                return False
        if not _points_as_placed(part, line_merchants, o):
            return False
        spent = {m.merchant_id: m for m in part.merchants}  # its lines' shares are in place
        result.merchants = [spent.get(m.merchant_id, m) for m in result.merchants]
        if getattr(spent.get(o.merchant_id), "red_packet_discount", 0) != o.red_packet_discount:
            return False
    return True


def _points_as_placed(
    part: pricing.PricingResult, line_merchants: dict[str, int], order: Order
) -> bool:
    """The points discount the order recorded, spread over its own lines again as checkout
    spreads it (largest remainder by what is left to pay); False when they cannot take it."""
    if not order.points_discount:
        return True
    lines = members.usable_lines(part)
    weights = [r.total for r in lines]
    if order.points_discount > sum(weights):
        return False
    # every line of `part` is the order's: the whole discount lands on it
    members.spread_balance(
        part,
        line_merchants,
        lines,
        weights,
        order.points_discount,
        members.POINTS_SOURCE,
        members.POINTS_LABEL,
    )
    return True


def _promotion_amounts(discounts: Sequence[tuple[str, int, int]]) -> list[tuple[int, int]]:
    return sorted(
        (source_id, amount) for source, source_id, amount in discounts if source == "PROMOTION"
    )


def _as_placed(result: pricing.PricingResult, lines: Sequence[OrderLine]) -> bool:
    """Whether the promotions and gifts came out as the order recorded them."""
    by_id = {str(ln.id): ln for ln in lines}
    for r in result.lines:
        recorded = [(d["source"], d["sourceId"], d["amount"]) for d in by_id[r.line_id].discounts]
        priced = [(d.source, d.source_id, d.amount) for d in r.discounts]
        if _promotion_amounts(recorded) != _promotion_amounts(priced):
            return False
    gifts = sorted((ln.sku_id, ln.quantity) for ln in lines if ln.is_gift)
    return gifts == sorted((g.sku_id, g.quantity) for g in result.gifts)


async def _write(
    session: AsyncSession,
    payment: Payment,
    waiting: list[Order],
    lines: Sequence[OrderLine],
    result: pricing.PricingResult,
    held: Sequence[tuple[Coupon, CouponTemplate]],
    now: datetime,
) -> None:
    """The new prices onto the lines, orders, discount records and payments; a coupon that no
    longer applies goes back to the wallet."""
    by_id = {str(ln.id): ln for ln in lines}
    for r in result.lines:
        if r.line_id not in by_id:  # a paid sibling's: as it was
            continue
        for key, value in orders.priced_fields(r).items():
            setattr(by_id[r.line_id], key, value)
    merchants = {m.merchant_id: m for m in result.merchants}
    for order in waiting:
        m = merchants[order.merchant_id]
        order.subtotal, order.promotion_discount = m.subtotal, m.promotion_discount
        order.coupon_discount, order.shipping = m.coupon_discount, m.shipping
        order.points_discount, order.total = getattr(m, "points_discount", 0), m.total
        order.red_packet_discount = getattr(m, "red_packet_discount", 0)
        await session.execute(
            update(Payment)
            .where(Payment.order_id == order.id, Payment.status == PaymentStatus.PENDING)
            .values(amount_due=order.total)
            .execution_options(synchronize_session="fetch")
        )
    if payment.status == PaymentStatus.PENDING:  # it still covers every order of the checkout
        payment.amount_due = sum(o.total for o in waiting)
    for coupon, _ in held:
        if coupon.id not in result.coupons_applied:
            coupons.give_back(coupon, now)
    await session.execute(
        delete(OrderDiscount).where(OrderDiscount.order_id.in_([o.id for o in waiting]))
    )
    session.add_all(orders.discount_rows(lines, {c.id: t.id for c, t in held}))
    await session.flush()
