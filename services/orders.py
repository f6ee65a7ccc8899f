"""Orders after checkout (DOMAIN.md §7): the state machine, payment confirmation, expiry and
cancellation, shipments, after-sales refunds, and the queries over orders.

Locks are always taken in one order — reservation, then payment, then orders — the order the
reservation sweeper uses, so a payment confirmation racing its own expiry waits instead of
deadlocking."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import from_minor
from models.accounts import Customer
from models.catalog import Category
from models.catalog import Product
from models.catalog import ShippingKind
from models.catalog import Sku
from models.catalog import path_ids
from models.inventory import MovementType
from models.inventory import Reservation
from models.inventory import ReservationStatus
from models.orders import Order
from models.orders import OrderDiscount
from models.orders import OrderLine
from models.orders import OrderStatus
from models.orders import Payment
from models.orders import PaymentKind
from models.orders import PaymentStatus
from models.orders import Refund
from models.orders import RefundLine
from models.orders import RefundStatus
from models.orders import Shipment
from models.orders import ShipmentLine
from models.promotions import Promotion
from models.promotions import PromotionType
from services import coupons
from services import inventory
from services import ledger
from services import members
from services import parcels
from services import payments
from services import pricing
from services import promotions
from services import red_packets
from services.errors import DomainError
from services.errors import ErrorCode
from services.messages import message
from services.messages import word
from services.unit_of_work import BACKGROUND
from services.unit_of_work import UnitOfWork

S = OrderStatus
# not paid in full: a presale AWAITING_BALANCE (deposit in) is still an unpaid order
UNPAID = frozenset({S.PENDING_PAYMENT, S.AWAITING_BALANCE})

# --- the state machine, as data ------------------------------------------------------------------

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.AWAITING_BALANCE, S.PAID, S.CANCELLED}),
    S.AWAITING_BALANCE: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.PARTIALLY_SHIPPED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.COMPLETED, S.REFUNDED}),
    S.COMPLETED: frozenset({S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

# What may be done to an order in each state, beyond moving it (asking for a refund leaves
# the order's status alone).
ACTIONS: dict[str, frozenset[OrderStatus]] = {
    "pay": UNPAID,
    "cancel before payment": UNPAID,
    "cancel after payment": frozenset({S.PAID}),
    "ship": frozenset({S.PAID, S.PARTIALLY_SHIPPED}),
    "confirm receipt": frozenset({S.SHIPPED}),
    "request a refund": frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED}),
    "decide a refund": frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED}),
}

_STAMPS = {
    S.PAID: "paid_at",
    S.SHIPPED: "shipped_at",
    S.COMPLETED: "completed_at",
    S.CANCELLED: "cancelled_at",
}


def ensure_can(order: Order, action: str) -> None:
    if order.status not in ACTIONS[action]:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            message(
                "order.cannot",
                action=word(action),
                number=order.number,
                status=word(order.status.value),
            ),
            "id",
        )


def move(order: Order, to: OrderStatus, now: datetime) -> None:
    """The only place an order's status changes."""
    if to not in TRANSITIONS[order.status]:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            f"Order {order.number} cannot go from {order.status.value} to {to.value}.",
            "id",
        )
    order.status = to
    stamp = _STAMPS.get(to)
    if stamp and getattr(order, stamp) is None:
        setattr(order, stamp, now)


# --- loading with locks --------------------------------------------------------------------------


async def _payment(session: AsyncSession, payment_id: int) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such payment.", "paymentId")
    return payment


async def orders_of_payment(session: AsyncSession, payment: Payment) -> list[Order]:
    """The orders a payment pays for (a presale's balance pays for its deposit's orders; a
    sub-order's own payment for that order only)."""
    if payment.order_id is not None:
        where = Order.id == payment.order_id
    elif payment.kind == PaymentKind.BALANCE:
        where = Order.balance_payment_id == payment.id
    else:
        where = Order.payment_id == payment.id
    return list(
        (
            await session.scalars(
                select(Order)
                .where(where)
                .order_by(Order.id)
                .with_for_update()
                # as locked, not as an earlier read of this session left them
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def lines_of(session: AsyncSession, order_ids: Sequence[int]) -> list[OrderLine]:
    return list(
        (
            await session.scalars(
                select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id)
            )
        ).all()
    )


async def _lock_chain(
    session: AsyncSession,
    order_id: int,
    *,
    customer_id: int | None = None,
    merchant_id: int | None = None,
    staff: bool = False,
) -> tuple[Payment, Order]:
    """The order (visible to this customer, or to staff of its merchant), locked after its
    reservation and payment. A customer never learns that someone else's order exists."""
    found = await session.get(Order, order_id)
    visible = found is not None and (
        (staff and (merchant_id is None or found.merchant_id == merchant_id))
        or (customer_id is not None and found.customer_id == customer_id)
    )
    if found is None or not visible:
        raise DomainError(ErrorCode.NOT_FOUND, message("order.not_found"), "id")
    await inventory.lock_reservation(session, f"payment:{found.payment_id}")
    payment = await _payment(session, found.payment_id)
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert order is not None
    return payment, order


async def lock_order(session: AsyncSession, order_id: int, *, merchant_id: int | None) -> Order:
    """The order locked for staff (of its merchant, for merchant staff)."""
    return (await _lock_chain(session, order_id, merchant_id=merchant_id, staff=True))[1]


async def lock_checkout(session: AsyncSession, payment_id: int) -> tuple[Payment, list[Order]]:
    """A checkout's combined payment and its orders, locked in the usual order (reservation,
    payment, orders)."""
    await inventory.lock_reservation(session, f"payment:{payment_id}", missing_ok=True)
    payment = await _payment(session, payment_id)
    return payment, await orders_of_payment(session, payment)


# --- what an order line records of its pricing ---------------------------------------------------


def priced_fields(r: pricing.LineResult) -> dict[str, Any]:
    """An order line's amounts and discounts (by funder, for settlement) from its pricing."""
    return {
        "discount": r.discount,
        "total": r.total,
        "merchant_discount": sum(d.amount for d in r.discounts if d.funder is not None),
        "platform_discount": sum(d.amount for d in r.discounts if d.funder is None),
        "discounts": [
            {
                "source": d.source,
                "sourceId": d.source_id,
                "label": d.label,
                "amount": d.amount,
                "funder": d.funder,
            }
            for d in r.discounts
        ],
    }


# The form of `OrderLine.placed_facts`: a line recorded in another form is not priced as
# placed (its checkout is cancelled instead when its coupon moves), never misread.
PLACED_FACTS_VERSION = 1


def placed_facts(line: pricing.Line, product: red_packets.Terms) -> dict[str, Any]:
    """What the pricing function knew of a line's product at checkout, beyond what the line
    records anyway (SKU, product, unit price, quantity; the merchant is its order's): what
    re-pricing the order as placed needs (services/held_coupons.py)."""
    rule = line.shipping
    return {
        "v": PLACED_FACTS_VERSION,
        "categoryPath": list(line.category_path),  # coupon and promotion scopes
        "brandId": line.brand_id,
        "weightGrams": line.weight_grams,  # BY_WEIGHT shipping
        "shipping": None
        if rule is None
        else {
            "id": rule.id,
            "kind": rule.kind.value,
            "firstFee": rule.first_fee,
            "additionalFee": rule.additional_fee,
            "flatFee": rule.flat_fee,
            "freeOver": rule.free_over,
        },
        "redPacketsUsable": product.red_packets_usable,
        "redPacketCap": product.red_packet_cap,
    }


@dataclass(frozen=True)
class PlacedTerms:
    """A line's red-packet terms as placed (red_packets.Terms)."""

    red_packets_usable: bool
    red_packet_cap: int | None


def line_as_placed(
    line: OrderLine, merchant_id: int, add_on: int | None
) -> tuple[pricing.Line, PlacedTerms] | None:
    """An order line as the pricing function saw it at checkout, and its red-packet terms
    then; None when the line recorded no facts (a gift, or placed before they were)."""
    facts = line.placed_facts
    if not facts or facts.get("v") != PLACED_FACTS_VERSION:
        return None  # none recorded, or in a form this code does not read: not as placed
    try:
        return _as_placed(line, facts, merchant_id, add_on)
    except (KeyError, TypeError, ValueError):
        return None


def _as_placed(
    line: OrderLine, facts: dict[str, Any], merchant_id: int, add_on: int | None
) -> tuple[pricing.Line, PlacedTerms]:
    rule = facts["shipping"]
    priced = pricing.Line(
        id=str(line.id),
        sku_id=line.sku_id,
        product_id=line.product_id,
        merchant_id=merchant_id,
        quantity=line.quantity,
        unit_price=line.unit_price,
        category_path=tuple(facts["categoryPath"]),
        brand_id=facts["brandId"],
        weight_grams=facts["weightGrams"],
        shipping=None
        if rule is None
        else pricing.ShippingRule(
            rule["id"],
            ShippingKind(rule["kind"]),
            rule["firstFee"],
            rule["additionalFee"],
            rule["flatFee"],
            rule["freeOver"],
        ),
        title=line.title,
        add_on=add_on,
    )
    return priced, PlacedTerms(facts["redPacketsUsable"], facts["redPacketCap"])


def discount_rows(lines: Sequence[OrderLine], templates: dict[int, int]) -> list[OrderDiscount]:
    """Per order, each promotion's and coupon's total (gifts count as an order for the
    promotion that gave them)."""
    totals: dict[tuple[int, str, int], int] = defaultdict(int)
    for line in lines:
        for d in line.discounts:
            totals[(line.order_id, d["source"], d["sourceId"])] += d["amount"]
    return [
        OrderDiscount(
            order_id=order_id,
            source=source,
            source_id=source_id,
            coupon_template_id=templates.get(source_id) if source == "COUPON" else None,
            amount=amount,
        )
        for (order_id, source, source_id), amount in sorted(totals.items())
    ]


# --- payment -------------------------------------------------------------------------------------


@dataclass
class Confirmation:
    payment: Payment
    late: bool  # arrived after the payment was closed: kept and flagged for refund


async def confirm_payment(
    session: AsyncSession,
    payment_id: int,
    customer_id: int | None,
    provider_name: str,
    transaction_id: str,
    amount: int,
    now: datetime,
    points: members.PointsRules,
) -> Confirmation:
    """The customer-facing confirmation: the TEST provider only (absent in production). Real
    providers confirm through their signed notifications (services/trades.py)."""
    gateway = payments.provider(provider_name)
    if not isinstance(gateway, payments.TestProvider):
        raise DomainError(
            ErrorCode.PAYMENT_PROVIDER_DISABLED,
            f"{provider_name} payments are confirmed by the provider's signed notification only.",
            "provider",
        )
    if not gateway.verify(transaction_id, amount):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "The provider does not confirm this transaction.",
            "transactionId",
        )
    return await record_payment(
        session,
        payment_id,
        gateway.name,
        transaction_id,
        amount,
        now,
        points=points,
        customer_id=customer_id,
    )


async def record_payment(
    session: AsyncSession,
    payment_id: int,
    provider_name: str,
    transaction_id: str,
    amount: int,
    now: datetime,
    *,
    points: members.PointsRules,
    customer_id: int | None = None,
    paid_at: datetime | None = None,
) -> Confirmation:
    """Money the provider vouches for (the caller has verified it). Idempotent by (provider,
    transaction id); one transaction pays one payment. The amount must equal the amount due.
    Paid in time means by the provider's clock (`paid_at`): a notification or a query that
    comes after the deadline for money taken before it still pays. Money for a payment that
    expired or was cancelled is recorded and flagged for refund; it never revives the
    orders."""
    found = await session.get(Payment, payment_id)
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise DomainError(ErrorCode.NOT_FOUND, "No such payment.", "paymentId")
    await inventory.lock_reservation(session, found.reservation_owner, missing_ok=True)
    payment = await _payment(session, payment_id)
    if payment.transaction_id == transaction_id and payment.provider == provider_name:
        return Confirmation(payment, payment.needs_refund)
    if payment.transaction_id is not None:
        raise DomainError(
            ErrorCode.PAYMENT_ALREADY_PAID,
            "This payment was already confirmed by another transaction.",
            "transactionId",
        )
    await _ensure_unused(session, provider_name, transaction_id)
    if payment.kind == PaymentKind.BALANCE and payment.status == PaymentStatus.PENDING:
        await _ensure_balance_due(session, payment, now)
    if amount != payment.amount_due:
        raise DomainError(
            ErrorCode.PAYMENT_AMOUNT_MISMATCH,
            f"The amount due is {from_minor(payment.amount_due)}.",
            "amount",
        )
    paid_at = min(paid_at or now, now)
    if payment.status == PaymentStatus.PENDING and payment.expires_at <= paid_at:
        await close_unpaid(session, payment, PaymentStatus.EXPIRED, "Not paid in time.", now)
    payment.provider, payment.transaction_id = provider_name, transaction_id
    payment.amount_paid, payment.paid_at = amount, now
    if payment.status != PaymentStatus.PENDING:
        payment.needs_refund = True
        await session.flush()
        return Confirmation(payment, True)
    await _mark_paid(session, payment, now, points)
    return Confirmation(payment, False)


async def _ensure_unused(session: AsyncSession, provider_name: str, transaction_id: str) -> None:
    """The unique index also says so; this says it as a user error before any write."""
    taken = await session.scalar(
        select(Payment.id).where(
            Payment.provider == provider_name, Payment.transaction_id == transaction_id
        )
    )
    if taken is not None:
        raise DomainError(
            ErrorCode.DUPLICATE_TRANSACTION,
            "This transaction already paid another payment.",
            "transactionId",
        )


async def _ensure_balance_due(session: AsyncSession, balance: Payment, now: datetime) -> None:
    deposit = await session.get(Payment, balance.deposit_payment_id)
    if deposit is None or deposit.status != PaymentStatus.PAID:
        raise DomainError(ErrorCode.BALANCE_NOT_DUE, "Pay the deposit first.", "paymentId")
    if balance.opens_at is not None and now < balance.opens_at:
        raise DomainError(
            ErrorCode.BALANCE_NOT_DUE,
            f"The balance is payable from {balance.opens_at.isoformat()}.",
            "paymentId",
        )


async def _mark_paid(
    session: AsyncSession, payment: Payment, now: datetime, points: members.PointsRules
) -> None:
    payment.status = PaymentStatus.PAID
    if payment.kind == PaymentKind.DEPOSIT:
        # The stock stays held (not committed) until the balance window closes.
        balance = await session.scalar(
            select(Payment).where(Payment.deposit_payment_id == payment.id)
        )
        assert balance is not None
        await inventory.extend(session, payment.reservation_owner, balance.expires_at, now)
        for order in await orders_of_payment(session, payment):
            move(order, S.AWAITING_BALANCE, now)  # 待付尾款, until the balance is paid
        await session.flush()
        return
    if payment.order_id is not None:
        orders = await _paid_alone(session, payment, now)
    else:
        await inventory.commit(session, payment.reservation_owner, now)
        orders = await orders_of_payment(session, payment)
        await _close_own_payments(session, orders, PaymentStatus.CANCELLED)
    # the platform coupon is used once any order it was spread over is paid
    await coupons.use(session, payment.reservation_owner, now)
    for order in orders:
        ensure_can(order, "pay")
        move(order, S.PAID, now)
        await coupons.use(session, order.coupon_owner, now)
    await session.execute(
        update(Customer)
        .where(Customer.id == payment.customer_id, Customer.first_paid_at.is_(None))
        .values(first_paid_at=now)
    )
    sold: dict[int, int] = defaultdict(int)
    paid_lines = await lines_of(session, [o.id for o in orders])
    for line in paid_lines:
        if not line.is_gift:
            sold[line.product_id] += line.quantity
    for order in orders:  # 第二次拆单: the parcels are planned once, at payment
        await parcels.plan_order(session, order, [x for x in paid_lines if x.order_id == order.id])
    if sold:  # one statement however many products the payment covers
        await session.execute(
            update(Product)
            .where(Product.id.in_(sorted(sold)))
            .values(sales_count=Product.sales_count + case(sold, value=Product.id, else_=0))
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    # growth and points earned, last: the member's account is the last lock (services/members)
    await members.on_paid(session, orders, points, now)


# --- sub-orders paid on their own ----------------------------------------------------------------
#
# A checkout's combined payment (合并付款) captures all its orders at once, and only while every
# one of them is still unpaid: paying or cancelling any sub-order on its own closes it (status
# CANCELLED: superseded), so money for it afterwards is recorded and flagged for refund. Each
# unpaid sub-order can then be paid through a payment of its own (`start_order_payment`). Every
# path takes the checkout's reservation lock first, so the two can never both capture an order.


async def start_order_payment(
    session: AsyncSession, order_id: int, customer_id: int, now: datetime
) -> Payment:
    """The payment for one unpaid sub-order alone (the same one if asked again)."""
    combined, order = await _lock_chain(session, order_id, customer_id=customer_id)
    ensure_can(order, "pay")
    if combined.kind != PaymentKind.FULL:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            "A presale order is paid through its deposit and balance payments.",
            "orderId",
        )
    if combined.expires_at <= now:
        raise DomainError(
            ErrorCode.PAYMENT_CLOSED,
            message("order.not_paid_in_time", number=order.number),
            "orderId",
        )
    found = await session.scalar(select(Payment).where(Payment.order_id == order.id))
    if found is not None:
        return found
    payment = Payment(
        customer_id=customer_id,
        idempotency_key=order.payment_number,
        request_hash=combined.request_hash,
        status=PaymentStatus.PENDING,
        kind=PaymentKind.FULL,
        order_id=order.id,
        combined_payment_id=combined.id,
        amount_due=order.total,
        expires_at=combined.expires_at,
        created_at=now,
    )
    session.add(payment)
    await session.flush()
    return payment


async def _paid_alone(session: AsyncSession, payment: Payment, now: datetime) -> list[Order]:
    """One sub-order's own payment arrived: its units leave the checkout's reservation for a
    committed one of their own (its siblings' still expire), and the combined payment can no
    longer capture."""
    assert payment.combined_payment_id is not None
    combined = await _payment(session, payment.combined_payment_id)
    orders = await orders_of_payment(session, payment)
    for order in orders:
        ensure_can(order, "pay")
        lines = await lines_of(session, [order.id])
        order.own_reservation = f"order:{order.id}"
        await inventory.split_off(
            session,
            payment.reservation_owner,
            order.own_reservation,
            [(line.sku_id, line.quantity) for line in lines],
            now,
        )
    if combined.status == PaymentStatus.PENDING:
        combined.status = PaymentStatus.CANCELLED
    return orders


async def _close_own_payments(
    session: AsyncSession, orders: Sequence[Order], status: PaymentStatus
) -> None:
    """Sub-orders settled otherwise (paid together, cancelled): their own payments close."""
    await session.execute(
        update(Payment)
        .where(
            Payment.order_id.in_([o.id for o in orders]), Payment.status == PaymentStatus.PENDING
        )
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )


async def _captured_by(session: AsyncSession, payment: Payment, order: Order) -> Payment:
    """The payment the order's money came through: its own, or the checkout's."""
    alone = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.PAID)
    )
    return alone or payment


async def _cancel_alone(
    session: AsyncSession, combined: Payment, order: Order, reason: str, now: datetime
) -> None:
    """One unpaid sub-order goes; its siblings stay payable. Only its stock, promotion stock
    and merchant coupon are released. The platform coupon, spread over every sibling, stays
    with them (their prices keep its share) and comes back only when none is left to pay
    and none was paid."""
    lines = await lines_of(session, [order.id])
    for line in lines:
        await inventory.release_units(
            session, combined.reservation_owner, line.sku_id, line.quantity, now
        )
    move(order, S.CANCELLED, now)
    order.cancel_reason = reason
    await _close_own_payments(session, [order], PaymentStatus.CANCELLED)
    if combined.status == PaymentStatus.PENDING:
        combined.status = PaymentStatus.CANCELLED  # it covered this order: superseded
    await _return_promotion_stock(session, lines)
    await coupons.release(session, order.coupon_owner, now)
    await _release_platform_coupon_when_done(session, combined, now)
    await members.on_cancelled_unpaid(session, [order], now)
    await red_packets.on_cancelled_unpaid(session, [order])
    await session.flush()


async def _release_platform_coupon_when_done(
    session: AsyncSession, combined: Payment, now: datetime
) -> None:
    """LOCKED → AVAILABLE once no sibling is left unpaid (a coupon already USED stays)."""
    unpaid = await session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.payment_id == combined.id, Order.status.in_(UNPAID))
    )
    if not unpaid:
        await coupons.release(session, combined.reservation_owner, now)


# --- closing unpaid payments ---------------------------------------------------------------------


async def _return_promotion_stock(session: AsyncSession, lines: Sequence[OrderLine]) -> None:
    for line in lines:
        for promotion_id, units in sorted((line.promotion_units or {}).items()):
            await promotions.return_stock(session, int(promotion_id), int(units))


async def close_unpaid(
    session: AsyncSession,
    payment: Payment,
    status: PaymentStatus,
    reason: str,
    now: datetime,
    *,
    release_stock: bool = True,
) -> None:
    """Cancel every still unpaid order of a checkout in this transaction: stock released (the
    sweeper has already done it for an expired one), coupons back to AVAILABLE if still
    valid, flash-sale stock returned. A sub-order's own payment shares its checkout's
    deadline, so closing it closes the checkout's other unpaid orders too. Orders already
    paid on their own hold their stock elsewhere and are left alone."""
    if payment.order_id is not None:
        if payment.status == PaymentStatus.PENDING:
            payment.status = status
        assert payment.combined_payment_id is not None
        payment = await _payment(session, payment.combined_payment_id)
    if release_stock:
        await inventory.release(
            session,
            payment.reservation_owner,
            now,
            status=ReservationStatus.EXPIRED
            if status == PaymentStatus.EXPIRED
            else ReservationStatus.RELEASED,
        )
    if payment.status == PaymentStatus.PENDING:
        payment.status = status
    orders = [o for o in await orders_of_payment(session, payment) if o.status in UNPAID]
    for order in orders:
        move(order, S.CANCELLED, now)
        order.cancel_reason = reason
    await _close_own_payments(session, orders, status)
    await _close_balances(session, orders, status)
    # stock, then promotion stock, then coupons: the order checkout takes them in
    await _return_promotion_stock(session, await lines_of(session, [o.id for o in orders]))
    for order in orders:
        await coupons.release(session, order.coupon_owner, now)
    await coupons.release(session, payment.reservation_owner, now)
    await members.on_cancelled_unpaid(session, orders, now)
    await red_packets.on_cancelled_unpaid(session, orders)
    await session.flush()


async def _close_balances(
    session: AsyncSession, orders: Sequence[Order], status: PaymentStatus
) -> None:
    """A presale cancelled before its deposit is paid takes its balance payment along."""
    for balance_id in sorted({o.balance_payment_id for o in orders if o.balance_payment_id}):
        balance = await _payment(session, balance_id)
        if balance.status == PaymentStatus.PENDING:
            balance.status = status


async def _closing(session: AsyncSession, payment: Payment, order: Order) -> Payment:
    """The payment still open for an unpaid order: its own, or — deposit paid — the balance
    (closing that forfeits the deposit)."""
    if payment.status == PaymentStatus.PAID and order.balance_payment_id:
        return await _payment(session, order.balance_payment_id)
    return payment


async def on_reservation_expired(session: AsyncSession, reservation: Reservation) -> None:
    """Sweeper hook: the stock is already released; cancel the payment's orders."""
    if not reservation.owner.startswith("payment:"):
        return
    payment = await _payment(session, int(reservation.owner.split(":", 1)[1]))
    reason = "Not paid in time."
    if payment.kind == PaymentKind.DEPOSIT and payment.status == PaymentStatus.PAID:
        payment = await _payment(
            session,
            (
                await session.scalars(
                    select(Payment.id).where(Payment.deposit_payment_id == payment.id)
                )
            ).one(),
        )
        reason = "The balance was not paid in time; the deposit is forfeited."
    # a combined payment superseded by a sibling paid or cancelled alone is no longer
    # PENDING, yet its other sub-orders were held by this reservation: they go too
    if payment.status == PaymentStatus.PENDING or payment.kind == PaymentKind.FULL:
        await close_unpaid(
            session,
            payment,
            PaymentStatus.EXPIRED,
            reason,
            reservation.updated_at,
            release_stock=False,
        )


inventory.expiry_hooks.append(on_reservation_expired)


async def cancel(
    session: AsyncSession,
    order_id: int,
    reason: str | None,
    now: datetime,
    *,
    customer_id: int | None = None,
    staff: bool = False,
    merchant_id: int | None = None,
) -> Order:
    """A customer cancels an unpaid sub-order (its siblings stay payable; a presale goes as
    a whole); an admin also before shipment, refunding the order through the provider."""
    payment, order = await _lock_chain(
        session, order_id, customer_id=customer_id, merchant_id=merchant_id, staff=staff
    )
    note = (reason or "").strip()[:500] or None
    if order.status == S.PENDING_PAYMENT and payment.kind == PaymentKind.FULL:
        await _cancel_alone(session, payment, order, note or "Cancelled before payment.", now)
        return order
    if order.status in UNPAID:
        await close_unpaid(
            session,
            await _closing(session, payment, order),
            PaymentStatus.CANCELLED,
            note or "Cancelled before payment.",
            now,
        )
        await session.refresh(order)
        return order
    if not staff:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            message("order.refund_instead", number=order.number, status=word(order.status.value)),
            "id",
        )
    ensure_can(order, "cancel after payment")
    lines = await lines_of(session, [order.id])
    for line in lines:
        held = line.quantity - line.shipped_quantity - line.released_quantity
        if held:
            await inventory.release_units(session, order.stock_owner, line.sku_id, held, now)
            line.released_quantity += held
        line.refunded_quantity = line.quantity
    await _pay_back(
        session,
        await _captured_by(session, payment, order),
        order,
        order.total - order.refunded_amount,
        f"cancel-{order.id}",
        now,
    )
    move(order, S.CANCELLED, now)
    order.cancel_reason = note or "Cancelled by the merchant."
    await _return_promotion_stock(session, lines)
    await _return_coupons(session, payment, order, now)
    await members.on_refunded(session, order, lines, f"cancel:{order.id}", now)
    await red_packets.on_refunded(session, order, lines)
    await session.flush()
    return order


async def _pay_back(
    session: AsyncSession,
    payment: Payment,
    order: Order,
    amount: int,
    reference: str,
    now: datetime,
) -> None:
    """Through the provider that took the money, on its refund ledger (never more than it
    captured); a provider that is down refuses the whole operation, to be tried again. A
    presale order's money came in two payments: the balance is paid back first, then the
    deposit, each on its own transaction."""
    left = amount
    if order.balance_payment_id is not None:
        balance = await _payment(session, order.balance_payment_id)
        if balance.status == PaymentStatus.PAID:
            part = min(left, balance.amount_paid - balance.amount_refunded)
            await ledger.pay_back(session, balance, part, f"{reference}-balance", now)
            left -= part
    await ledger.pay_back(session, payment, left, reference, now)
    order.refunded_amount += amount


async def _return_coupons(
    session: AsyncSession, payment: Payment, order: Order, now: datetime
) -> None:
    """A fully refunded (or cancelled) order gives its merchant coupon back; the platform
    coupon comes back once every order it was spread over is closed."""
    await coupons.return_after_full_refund(session, order.coupon_owner, now)
    siblings = await session.scalars(
        select(Order.status).where(Order.payment_id == payment.id, Order.id != order.id)
    )
    if all(s in (S.CANCELLED, S.REFUNDED) for s in siblings):
        await coupons.return_after_full_refund(session, payment.reservation_owner, now)


# --- shipment and receipt ------------------------------------------------------------------------


def _outstanding(line: OrderLine) -> int:
    return line.quantity - line.shipped_quantity - line.released_quantity


def _settle_shipping(order: Order, lines: Sequence[OrderLine], now: datetime) -> None:
    shipped = sum(line.shipped_quantity for line in lines)
    if order.status not in (S.PAID, S.PARTIALLY_SHIPPED) or not shipped:
        return
    target = S.SHIPPED if not any(_outstanding(line) for line in lines) else S.PARTIALLY_SHIPPED
    if target != order.status or target == S.PARTIALLY_SHIPPED:
        move(order, target, now)


@dataclass(frozen=True)
class Dispatch:
    """A hand-over to a carrier: by whom (merchant staff ship only their merchant's
    orders), when, and the carrier's tracking number."""

    carrier: str
    tracking_number: str
    at: datetime
    actor_id: int | None
    merchant_id: int | None


async def ship(
    session: AsyncSession,
    order_id: int,
    warehouse_id: int,
    wanted: Sequence[tuple[int, int]] | None,
    dispatch: Dispatch,
    *,
    as_planned: bool = False,
) -> tuple[Shipment, Order]:
    """Ship units held for the order in one warehouse (all of them when no lines are named):
    the reservation is consumed and SHIPMENT movements are written. Unless this ships a
    planned parcel (`as_planned`), the parcels still to ship are planned again."""
    now, actor_id, merchant_id = dispatch.at, dispatch.actor_id, dispatch.merchant_id
    carrier, tracking_number = dispatch.carrier.strip(), dispatch.tracking_number.strip()
    if not carrier or not tracking_number or len(carrier) > 60 or len(tracking_number) > 60:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "Give a carrier and a tracking number (at most 60 characters each).",
            "carrier" if not carrier or len(carrier) > 60 else "trackingNumber",
        )
    _, order = await _lock_chain(session, order_id, merchant_id=merchant_id, staff=True)
    ensure_can(order, "ship")
    lines = {line.id: line for line in await lines_of(session, [order.id])}
    held = await inventory.held_in(session, order.stock_owner, warehouse_id)
    plan = _shipment_plan(lines, held, wanted)
    shipment = Shipment(
        order_id=order.id,
        warehouse_id=warehouse_id,
        carrier=carrier,
        tracking_number=tracking_number,
        created_at=now,
    )
    session.add(shipment)
    await session.flush()
    by_sku: dict[int, int] = defaultdict(int)
    for line_id, quantity in plan:
        session.add(ShipmentLine(shipment_id=shipment.id, order_line_id=line_id, quantity=quantity))
        lines[line_id].shipped_quantity += quantity
        by_sku[lines[line_id].sku_id] += quantity
    await inventory.consume(
        session,
        order.stock_owner,
        str(shipment.id),
        [(sku, warehouse_id, q) for sku, q in by_sku.items()],
        now,
        actor_id,
    )
    _settle_shipping(order, list(lines.values()), now)
    if not as_planned:
        await parcels.replan_order(session, order, list(lines.values()))
    await session.flush()
    return shipment, order


def _shipment_plan(
    lines: dict[int, OrderLine], held: dict[int, int], wanted: Sequence[tuple[int, int]] | None
) -> list[tuple[int, int]]:
    left = dict(held)
    plan: list[tuple[int, int]] = []
    line: OrderLine | None
    if wanted is None:
        for line in lines.values():
            quantity = min(_outstanding(line), left.get(line.sku_id, 0))
            if quantity > 0:
                plan.append((line.id, quantity))
                left[line.sku_id] -= quantity
    else:
        for i, (line_id, quantity) in enumerate(wanted):
            line = lines.get(line_id)
            field = f"lines.{i}"
            if line is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, "No such line in this order.", f"{field}.orderLineId"
                )
            if (
                not 1
                <= quantity
                <= _outstanding(line) - sum(q for lid, q in plan if lid == line_id)
            ):
                raise DomainError(
                    ErrorCode.INVALID_SHIPMENT,
                    f"Ship 1 to {_outstanding(line)} unit(s) of this line.",
                    f"{field}.quantity",
                )
            if left.get(line.sku_id, 0) < quantity:
                raise DomainError(
                    ErrorCode.INVALID_SHIPMENT,
                    "Those units are not held in this warehouse.",
                    f"{field}.quantity",
                )
            left[line.sku_id] -= quantity
            plan.append((line_id, quantity))
    if not plan:
        raise DomainError(
            ErrorCode.INVALID_SHIPMENT,
            "Nothing of this order is held in that warehouse.",
            "warehouseId",
        )
    return plan


async def confirm_receipt(
    session: AsyncSession, order_id: int, customer_id: int, now: datetime
) -> Order:
    _, order = await _lock_chain(session, order_id, customer_id=customer_id)
    ensure_can(order, "confirm receipt")
    move(order, S.COMPLETED, now)
    await session.flush()
    return order


async def complete_delivered(session: AsyncSession, now: datetime, after_days: int) -> int:
    """Orders shipped more than `after_days` ago complete on their own (as if received). A
    sweeper's job, not a request's step: its own unit of work, committed here."""
    return await UnitOfWork(session, BACKGROUND).run(
        lambda s: _complete_delivered(s, now, after_days)
    )


async def _complete_delivered(session: AsyncSession, now: datetime, after_days: int) -> int:
    stmt = (
        select(Order)
        .where(Order.status == S.SHIPPED, Order.shipped_at <= now - timedelta(days=after_days))
        .order_by(Order.id)
        .limit(500)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    orders = (await session.scalars(stmt)).all()
    for order in orders:
        move(order, S.COMPLETED, now)
    return len(orders)


# --- after-sales refunds -------------------------------------------------------------------------


async def _claimed_amounts(session: AsyncSession, line_ids: Sequence[int]) -> dict[int, int]:
    """Money already refunded or asked for, per order line (rejected requests don't count)."""
    rows = (
        await session.execute(
            select(RefundLine.order_line_id, func.sum(RefundLine.amount))
            .join(Refund, Refund.id == RefundLine.refund_id)
            .where(RefundLine.order_line_id.in_(line_ids), Refund.status != RefundStatus.REJECTED)
            .group_by(RefundLine.order_line_id)
        )
    ).all()
    return {line_id: int(total) for line_id, total in rows}


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned or len(cleaned) > 500:
        raise DomainError(ErrorCode.INVALID_INPUT, "Say why, in at most 500 characters.", "reason")
    return cleaned


def refund_share(line: OrderLine, quantity: int, claimed: int) -> int:
    """What `quantity` units of a line pay back: their share of the line's payable amount
    (so discounts come back in proportion); the last units take whatever is left, so a line
    refunded in parts pays back exactly its payable amount."""
    remaining_units = line.quantity - line.refunded_quantity - line.requested_quantity
    if quantity >= remaining_units:
        return line.total - claimed
    return min(line.total * quantity // line.quantity, line.total - claimed)


async def request_refund(
    session: AsyncSession,
    order_id: int,
    customer_id: int,
    wanted: Sequence[tuple[int, int]],
    reason: str,
    now: datetime,
) -> Refund:
    reason = _reason(reason)
    if not wanted:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one line.", "lines")
    _, order = await _lock_chain(session, order_id, customer_id=customer_id)
    ensure_can(order, "request a refund")
    lines = {line.id: line for line in await lines_of(session, [order.id])}
    claimed = await _claimed_amounts(session, list(lines))
    refund = Refund(
        order_id=order.id,
        status=RefundStatus.REFUND_REQUESTED,
        amount=0,
        reason=reason,
        created_at=now,
    )
    session.add(refund)
    await session.flush()
    for i, (line_id, quantity) in enumerate(wanted):
        line = lines.get(line_id)
        if line is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "No such line in this order.", f"lines.{i}.orderLineId"
            )
        open_units = line.quantity - line.refunded_quantity - line.requested_quantity
        if not 1 <= quantity <= open_units:
            raise DomainError(
                ErrorCode.INVALID_QUANTITY,
                message("order.refund_units", most=open_units),
                f"lines.{i}.quantity",
            )
        amount = refund_share(line, quantity, claimed.get(line.id, 0))
        claimed[line.id] = claimed.get(line.id, 0) + amount
        line.requested_quantity += quantity
        refund.amount += amount
        session.add(
            RefundLine(refund_id=refund.id, order_line_id=line.id, quantity=quantity, amount=amount)
        )
    leaving: dict[int, int] = defaultdict(int)
    for line_id, quantity in wanted:
        leaving[line_id] += quantity
    await _ensure_add_ons_follow(session, lines, leaving)
    every_unit = all(  # gifts follow their main items (see _take_back_gifts)
        ln.refunded_quantity + ln.requested_quantity == ln.quantity
        for ln in lines.values()
        if not ln.is_gift
    )
    if every_unit and not any(ln.shipped_quantity for ln in lines.values()):
        refund.amount += order.shipping  # nothing was sent: the shipping fee comes back too
    await session.flush()
    return refund


async def _refund_for_staff(
    session: AsyncSession, refund_id: int, merchant_id: int | None
) -> tuple[Refund, Payment, Order]:
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such refund.", "id")
    payment, order = await _lock_chain(
        session, refund.order_id, merchant_id=merchant_id, staff=True
    )
    refund = await session.scalar(
        select(Refund)
        .where(Refund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert refund is not None
    if refund.status != RefundStatus.REFUND_REQUESTED:
        raise DomainError(
            ErrorCode.INVALID_REFUND_STATE, f"This refund is already {refund.status.value}.", "id"
        )
    ensure_can(order, "decide a refund")
    return refund, payment, order


async def _refund_lines(session: AsyncSession, refund_id: int) -> list[RefundLine]:
    return list(
        (
            await session.scalars(
                select(RefundLine).where(RefundLine.refund_id == refund_id).order_by(RefundLine.id)
            )
        ).all()
    )


async def approve_refund(
    session: AsyncSession,
    refund_id: int,
    restock: bool,
    now: datetime,
    *,
    actor_id: int | None,
    merchant_id: int | None,
) -> tuple[Refund, Order]:
    """Pay the refund back. Units not shipped yet leave the reservation; shipped units come
    back into the warehouse they left (a RETURN movement) when `restock`."""
    refund, payment, order = await _refund_for_staff(session, refund_id, merchant_id)
    lines = {line.id: line for line in await lines_of(session, [order.id])}
    for item in await _refund_lines(session, refund.id):
        line = lines[item.order_line_id]
        from_held = min(item.quantity, _outstanding(line))
        if from_held:
            await inventory.release_units(session, order.stock_owner, line.sku_id, from_held, now)
            line.released_quantity += from_held
        returned = item.quantity - from_held
        if returned and restock:
            await _restock(session, refund, line, returned, actor_id)
        line.refunded_quantity += item.quantity
        line.requested_quantity -= item.quantity
    refund.amount = max(
        0,
        refund.amount
        - await _take_back_gifts(session, refund, order, lines, restock, now, actor_id),
    )
    refund.status, refund.decided_at = RefundStatus.REFUNDED, now
    await _pay_back(
        session,
        await _captured_by(session, payment, order),
        order,
        refund.amount,
        f"refund-{refund.id}",
        now,
    )
    # a gift the customer keeps against a deduction leaves nothing more to refund
    if all(ln.refunded_quantity == ln.quantity for ln in lines.values() if not ln.is_gift):
        move(order, S.REFUNDED, now)
        await _return_coupons(session, payment, order, now)
    else:
        _settle_shipping(order, list(lines.values()), now)
    await parcels.replan_order(session, order, list(lines.values()))  # units released
    await members.on_refunded(session, order, list(lines.values()), f"refund:{refund.id}", now)
    await red_packets.on_refunded(session, order, list(lines.values()))
    await session.flush()
    return refund, order


# --- gifts on refunds -----------------------------------------------------------------------------
#
# A gift (满赠 SPEND_GIFT, 赠品 GIFT) is earned by the order's other lines. When a refund is
# approved, each gift line's promotion is asked again over the units the order keeps (not
# refunded; units in other open requests still count as kept): SPEND_GIFT keeps its gifts while
# the kept in-scope amount still reaches a tier listing the gift SKU; GIFT keeps
# `gift quantity × kept in-scope units`. Gift units beyond that are taken back: unshipped ones
# leave the reservation at once; shipped ones follow the promotion's giftReturnPolicy —
# RETURN_GIFT joins them to this return (a refund line at 0, restocked with the rest),
# DEDUCT_VALUE keeps the gift's price when it was given × units back from the money
# refunded (never below 0). Only gift lines of the refund's own order are considered.


def _kept_spend(line: OrderLine, leaving: int = 0) -> int:
    """The kept units' share of the amount the order-level stage saw (before coupons); the
    `leaving` units (asked back now) are not kept."""
    promoted = sum(
        int(d.get("amount") or 0) for d in line.discounts or [] if d.get("source") == "PROMOTION"
    )
    kept = line.quantity - line.refunded_quantity - leaving
    return (line.subtotal - promoted) * kept // line.quantity if line.quantity else 0


# --- add-ons on refunds ---------------------------------------------------------------------------
#
# 加价购: an add-on's special price is earned by the spend on the offer's goods. A refund request
# that would leave that spend below the offer's threshold while add-on units stay with the
# customer is refused (ADD_ON_MUST_RETURN): the add-on units come back in the same request, as
# 换购 rules usually read. So the price the customer keeps is always one the order still earns,
# and nothing is deducted or re-priced after the fact.


async def _ensure_add_ons_follow(
    session: AsyncSession, lines: dict[int, OrderLine], leaving: dict[int, int]
) -> None:
    offers: dict[int, list[OrderLine]] = defaultdict(list)  # ADD_ON promotion → its lines
    for line in lines.values():
        for d in line.discounts or []:
            if d.get("source") == "PROMOTION":
                offers[int(d["sourceId"])].append(line)
    if not offers:
        return
    rows = (
        await session.scalars(
            select(Promotion).where(
                Promotion.id.in_(offers), Promotion.type == PromotionType.ADD_ON
            )
        )
    ).all()
    for promotion in rows:
        bought = offers[promotion.id]
        if all(ln.quantity - ln.refunded_quantity - leaving.get(ln.id, 0) <= 0 for ln in bought):
            continue  # every add-on unit comes back (or came back) anyway
        goods = [ln for ln in lines.values() if not ln.is_gift and ln not in bought]
        if not any(leaving.get(ln.id) for ln in goods):
            continue  # none of the goods that earned it leaves now
        covered = await _in_scope(session, promotion, goods)
        spend = sum(_kept_spend(ln, leaving.get(ln.id, 0)) for ln in covered)
        if spend < promotions.as_rule(promotion).add_on_threshold:
            raise DomainError(
                ErrorCode.ADD_ON_MUST_RETURN,
                message("order.add_on_must_return", promotion=promotion.name),
                "lines",
            )


async def _in_scope(
    session: AsyncSession, promotion: Promotion, lines: Sequence[OrderLine]
) -> list[OrderLine]:
    """The lines (as ordered) a promotion's scope covers, judged on today's catalog facts."""
    if not lines:
        return []
    scope = pricing.scope_from_json(promotion.scope, promotion.merchant_id)
    products = {
        p.id: p
        for p in (
            await session.scalars(
                select(Product).where(Product.id.in_({ln.product_id for ln in lines}))
            )
        ).all()
    }
    paths = dict(
        (
            await session.execute(
                select(Category.id, Category.path).where(
                    Category.id.in_({p.category_id for p in products.values()})
                )
            )
        ).all()
    )
    return [
        ln
        for ln in lines
        if scope.covers(
            pricing.Line(
                id=str(ln.id),
                sku_id=ln.sku_id,
                product_id=ln.product_id,
                merchant_id=products[ln.product_id].merchant_id,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                category_path=path_ids(paths.get(products[ln.product_id].category_id)),
                brand_id=products[ln.product_id].brand_id,
            )
        )
    ]


async def _gift_entitlement(
    session: AsyncSession, promotion: Promotion, gift: OrderLine, lines: Sequence[OrderLine]
) -> int:
    """Gift units of `gift` the kept units of `lines` still earn under `promotion`."""
    covered = await _in_scope(session, promotion, [ln for ln in lines if not ln.is_gift])
    rules = promotion.rules or {}
    if promotion.type == PromotionType.GIFT:
        per_unit = sum(q for s, q in rules.get("gifts", []) if s == gift.sku_id)
        kept = sum(ln.quantity - ln.refunded_quantity for ln in covered)
        return min(gift.quantity, per_unit * kept)
    spend = sum(_kept_spend(ln) for ln in covered)
    thresholds = [
        t for t, gifts in rules.get("tiers", []) if any(s == gift.sku_id for s, _ in gifts)
    ]
    return gift.quantity if thresholds and spend >= min(thresholds) else 0


async def _gift_unit_value(session: AsyncSession, gift: OrderLine) -> int:
    """What one unit of the gift was worth when it was given (recorded on the line since
    gifts carried it); orders placed before that fall back to the SKU's price today."""
    for d in gift.discounts or []:
        if d.get("source") == "PROMOTION" and isinstance(d.get("unitValue"), int):
            return int(d["unitValue"])
    return int(await session.scalar(select(Sku.price).where(Sku.id == gift.sku_id)) or 0)


async def _take_back_gifts(
    session: AsyncSession,
    refund: Refund,
    order: Order,
    lines: dict[int, OrderLine],
    restock: bool,
    now: datetime,
    actor_id: int | None,
) -> int:
    """Take back the gifts the order no longer earns; returns the money to keep back."""
    gifts = [ln for ln in lines.values() if ln.is_gift]
    if not gifts:
        return 0
    deducted = 0
    for gift in gifts:
        source = next(
            (d.get("sourceId") for d in gift.discounts or [] if d.get("source") == "PROMOTION"),
            None,
        )
        promotion = await session.get(Promotion, int(source)) if source is not None else None
        if promotion is None:
            continue
        earned = await _gift_entitlement(session, promotion, gift, list(lines.values()))
        excess = min(
            gift.quantity - gift.refunded_quantity - gift.requested_quantity,
            gift.quantity - gift.refunded_quantity - earned,
        )
        if excess <= 0:
            continue
        from_held = min(excess, _outstanding(gift))
        if from_held:
            await inventory.release_units(session, order.stock_owner, gift.sku_id, from_held, now)
            gift.released_quantity += from_held
        shipped = excess - from_held
        joined = from_held
        if shipped and promotions.gift_return_policy(promotion.rules) == "DEDUCT_VALUE":
            deducted += await _gift_unit_value(session, gift) * shipped
            gift.refunded_quantity += shipped  # settled by the deduction: never taken twice
        elif shipped:
            joined += shipped
            if restock:
                await _restock(session, refund, gift, shipped, actor_id)
        if joined:
            gift.refunded_quantity += joined
            session.add(
                RefundLine(refund_id=refund.id, order_line_id=gift.id, quantity=joined, amount=0)
            )
    return deducted


async def _restock(
    session: AsyncSession, refund: Refund, line: OrderLine, quantity: int, actor_id: int | None
) -> None:
    """Returned units of `line` go back on hand in the warehouse they were shipped from."""
    await inventory.move_stock(
        session,
        sku_id=line.sku_id,
        warehouse_id=await _shipped_from(session, line),
        quantity=quantity,
        kind=MovementType.RETURN,
        reason=refund.reason[:300],
        actor_id=actor_id,
        reference=f"refund:{refund.id}",
    )
    refund.restocked = True


async def _shipped_from(session: AsyncSession, line: OrderLine) -> int:
    warehouse_id = await session.scalar(
        select(Shipment.warehouse_id)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(ShipmentLine.order_line_id == line.id)
        .order_by(Shipment.id.desc())
        .limit(1)
    )
    assert warehouse_id is not None  # a shipped unit has a shipment
    return int(warehouse_id)


async def reject_refund(
    session: AsyncSession, refund_id: int, reason: str, now: datetime, *, merchant_id: int | None
) -> Refund:
    reason = _reason(reason)
    refund, _, order = await _refund_for_staff(session, refund_id, merchant_id)
    lines = {line.id: line for line in await lines_of(session, [order.id])}
    for item in await _refund_lines(session, refund.id):
        lines[item.order_line_id].requested_quantity -= item.quantity
    refund.status, refund.decided_at, refund.reject_reason = RefundStatus.REJECTED, now, reason
    await session.flush()
    return refund


# --- queries -------------------------------------------------------------------------------------


@dataclass
class OrderFilter:
    status: OrderStatus | None = None
    customer_id: int | None = None
    merchant_id: int | None = None
    number: str | None = None
    created_from: date | None = None
    created_to: date | None = None  # inclusive


def _conditions(f: OrderFilter) -> list[Any]:
    found: list[Any] = []
    if f.status is not None:
        found.append(Order.status == f.status)
    if f.customer_id is not None:
        found.append(Order.customer_id == f.customer_id)
    if f.merchant_id is not None:
        found.append(Order.merchant_id == f.merchant_id)
    if f.number:
        found.append(Order.number == f.number.strip())
    if f.created_from is not None:
        found.append(Order.created_at >= datetime.combine(f.created_from, time(), tzinfo=UTC))
    if f.created_to is not None:
        found.append(
            Order.created_at
            < datetime.combine(f.created_to + timedelta(days=1), time(), tzinfo=UTC)
        )
    return found


async def find_orders(
    session: AsyncSession, f: OrderFilter, offset: int, limit: int
) -> tuple[list[Order], int]:
    """Newest first; one statement for the page, one for the count."""
    total = await count_orders(session, f)
    rows = (
        await session.scalars(
            select(Order)
            .where(*_conditions(f))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    return list(rows), total


async def count_orders(session: AsyncSession, f: OrderFilter) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Order).where(*_conditions(f))) or 0
    )


async def units_bought(session: AsyncSession, customer_id: int) -> dict[int, int]:
    """Units the customer got at each limited or flash promotion's price, in orders not
    cancelled (paid or still payable: a second unpaid order cannot dodge a limit)."""
    rows = (
        await session.scalars(
            select(OrderLine.promotion_units)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.customer_id == customer_id, Order.status != S.CANCELLED)
        )
    ).all()
    bought: dict[int, int] = defaultdict(int)
    for units in rows:
        for promotion_id, quantity in (units or {}).items():
            bought[int(promotion_id)] += int(quantity)
    return dict(bought)
