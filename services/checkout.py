"""Checkout (DOMAIN.md §7): price the selected available lines of a customer's cart with the
one pricing function, then — in the caller's single transaction — create one order per
merchant under one payment, reserve stock, take flash-sale stock, lock coupons and empty
the checked-out cart lines. Any refusal raises before commit, so nothing is left behind.

Locks, in order: the customer row (one checkout per customer at a time: idempotency keys,
per-customer promotion limits and coupons stay exact), the customer's coupons, then the
shared rows — stock levels, then promotion stock — as late as possible, in the order every
release path (cancellation, the sweeper) takes them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import from_minor
from models.accounts import Address
from models.accounts import Customer
from models.cart import CartLine
from models.catalog import Merchant
from models.orders import Order
from models.orders import OrderDiscount
from models.orders import OrderLine
from models.orders import Payment
from models.orders import PaymentKind
from models.orders import PaymentStatus
from models.promotions import Promotion as PromotionRow
from services import accounts
from services import cart as carts
from services import coupons
from services import held_coupons
from services import inventory
from services import members
from services import pricing
from services import promotions
from services import red_packets
from services.errors import DomainError
from services.errors import ErrorCode
from services.messages import message
from services.orders import discount_rows
from services.orders import placed_facts
from services.orders import priced_fields

MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class CheckoutRequest:
    cart_token: str
    address_id: int
    coupon_ids: tuple[int, ...] | None = None  # None: the recommended set; (): none
    expected_total: int | None = None
    note: str | None = None
    points_to_use: int = 0  # points (积分) to pay with, after promotions and coupons
    red_packets_to_use: int = 0  # red packet balance (红包, fen), before points

    def digest(self) -> str:
        """What an idempotency key promises: the same key always means this same request."""
        fields = asdict(self)
        for optional in ("points_to_use", "red_packets_to_use"):
            if not fields[optional]:  # as before it existed: keys stored then still match
                del fields[optional]
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass
class Quote:
    customer: Customer
    address: Address
    view: carts.CartView
    lines: list[carts.LineView]  # the selected, available lines that check out
    points: members.PointsUse | None = None  # points spent, when the request uses any
    packets: red_packets.RedPacketUse | None = None  # red packets (红包) spent, likewise
    # the points settings it was priced by
    rules: members.PointsRules = field(default_factory=members.PointsRules)

    @property
    def result(self) -> pricing.PricingResult:
        return self.view.result


async def quote(
    session: AsyncSession,
    customer_id: int,
    request: CheckoutRequest,
    now: datetime,
    channel: str,
    rules: members.PointsRules,
    customer: Customer | None = None,
    plan_stock: bool = False,
) -> Quote:
    """The priced checkout, exactly as it would be placed now; with `plan_stock`, also each
    SKU's units by warehouse, which placing it reserves from (a preview shows only sums)."""
    customer = customer or await session.get(Customer, customer_id)
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such customer.", "customer")
    cart, cart_lines, address = await carts.cart_with_lines(
        session, request.cart_token, customer_id, request.address_id
    )
    if cart.customer_id != customer_id:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            message("checkout.log_in"),
            "cartId",
        )
    if address is None:
        raise accounts.address_not_found()
    view = await carts.evaluate(
        session,
        cart,
        now,
        channel,
        customer,
        None if request.coupon_ids is None else list(request.coupon_ids),
        cart_lines,
        plan_stock=plan_stock,
    )
    lines = [
        item
        for item in view.lines
        if item.line.selected and item.status == carts.LineStatus.AVAILABLE
    ]
    if not lines:
        raise DomainError(ErrorCode.EMPTY_CHECKOUT, message("checkout.empty"), "cartId")
    _check_coupons(view, request.coupon_ids)
    asked_packets, asked_points = request.red_packets_to_use, request.points_to_use
    packets, points = red_packets.spend_balances(  # after promotions and coupons
        view.result,
        {str(item.line.id): item.product.merchant_id for item in view.lines},
        {str(item.line.id): item.product for item in view.lines},
        (
            asked_packets,
            await red_packets.balance(session, customer_id, now) if asked_packets else 0,
        ),
        (asked_points, await members.balance(session, customer_id) if asked_points else 0),
        rules,
    )
    return Quote(customer, address, view, lines, points, packets, rules)


def _check_coupons(view: carts.CartView, chosen: tuple[int, ...] | None) -> None:
    if not chosen:
        return
    entries = {e.coupon.id: e for e in view.coupons}
    rules = [
        coupons.as_rule(entries[c].coupon, entries[c].template) for c in chosen if c in entries
    ]
    if len(set(chosen)) != len(chosen) or not pricing.valid_coupon_set(rules):
        raise DomainError(
            ErrorCode.COUPON_UNUSABLE,
            message("checkout.one_coupon_each"),
            "couponIds",
        )
    for i, coupon_id in enumerate(chosen):
        if coupon_id not in view.result.coupons_applied:
            entry = entries.get(coupon_id)
            why = entry.text if entry and entry.text else message("coupon.not_yours")
            raise DomainError(
                ErrorCode.COUPON_UNUSABLE,
                message("checkout.coupon_unusable", why=why),
                f"couponIds.{i}",
            )


# Built once: they run in every checkout.
_LOCK_CUSTOMER = select(Customer).where(Customer.id == bindparam("customer")).with_for_update()
_BY_KEY = select(Payment).where(
    Payment.customer_id == bindparam("customer"), Payment.idempotency_key == bindparam("key")
)


async def complete(
    session: AsyncSession,
    customer_id: int,
    request: CheckoutRequest,
    idempotency_key: str,
    now: datetime,
    channel: str,
    ttl: timedelta,
    rules: members.PointsRules,
) -> Placed:
    """Place the checkout, or return what this key placed before."""
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"Send an idempotency key of 1 to {MAX_KEY_LENGTH} characters.",
            "idempotencyKey",
        )
    customer = await session.scalar(_LOCK_CUSTOMER, {"customer": customer_id})
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such customer.", "customer")
    # Looked up only once the lock is ours, in a statement of its own: under READ COMMITTED
    # it then sees the payment a concurrent call with the same key has just committed (a
    # join locked together with the customer would read it from the older snapshot).
    placed = await session.scalar(_BY_KEY, {"customer": customer_id, "key": key})
    digest = request.digest()
    if placed is not None:
        if placed.request_hash != digest:
            raise DomainError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was used for a different checkout.",
                "idempotencyKey",
            )
        return Placed(placed)
    q = await quote(session, customer_id, request, now, channel, rules, customer, plan_stock=True)
    total = q.result.total
    if request.expected_total is not None and request.expected_total != total:
        raise DomainError(
            ErrorCode.PRICE_CHANGED,
            message("checkout.price_changed", total=from_minor(total)),
            "expectedTotal",
        )
    presale = await _deposit_terms(session, q)
    payment = Payment(
        customer_id=customer_id,
        idempotency_key=key,
        request_hash=digest,
        status=PaymentStatus.PENDING,
        expires_at=now + ttl,
        created_at=now,
        kind=PaymentKind.DEPOSIT if presale else PaymentKind.FULL,
        amount_due=presale.deposit if presale else total,
    )
    session.add(payment)
    await session.flush()
    orders, lines = await _place_orders(session, q, payment, channel, request.note, now)
    if presale:
        await _open_balance(session, payment, list(orders.values()), presale, now)
    await _lock_coupons(session, q, payment, orders, now)
    await session.execute(delete(CartLine).where(CartLine.id.in_([i.line.id for i in q.lines])))
    # The shared, hot rows last, so their locks are held for the least time before commit.
    await inventory.reserve(
        session,
        [(ln.sku_id, ln.quantity) for ln in lines],
        payment.reservation_owner,
        now,
        ttl,
        new_owner=True,
        stock=q.view.stock,
    )
    await _claim_promotion_stock(session, lines)
    if q.points:  # the member's account last of all (services/members.py: lock order)
        await members.spend(session, list(orders.values()), now)
    if q.packets:  # the customer's grants, after the account
        await red_packets.spend(session, list(orders.values()), now)
    return Placed(payment, list(orders.values()), list(q.view.merchants.values()))


@dataclass
class Placed:
    payment: Payment
    orders: list[Order] | None = None  # None: placed before (the key was seen)
    merchants: list[Merchant] = field(default_factory=list)  # the orders' sellers, as read


@dataclass(frozen=True)
class DepositTerms:
    deposit: int  # payable now
    opens_at: datetime  # the balance window
    closes_at: datetime


async def _deposit_terms(session: AsyncSession, q: Quote) -> DepositTerms | None:
    """A presale checks out on its own (one presale promotion, nothing else): its deposit is
    paid now, the rest in the promotion's balance window."""
    results = {r.line_id: r for r in q.result.lines}
    mine = [results[str(item.line.id)] for item in q.lines]
    presale = [r for r in mine if r.deposit_due is not None]
    if not presale:
        return None
    promotion_ids = {r.item_promotion for r in presale}
    if len(presale) != len(mine) or len(promotion_ids) != 1 or q.result.gifts:
        raise DomainError(
            ErrorCode.PRESALE_ALONE,
            message("checkout.presale_alone"),
            "cartId",
        )
    promotion = await session.get(PromotionRow, promotion_ids.pop())
    assert promotion is not None
    return DepositTerms(
        sum(r.deposit_due or 0 for r in presale),
        datetime.fromisoformat(promotion.rules["balanceStartsAt"]),
        datetime.fromisoformat(promotion.rules["balanceEndsAt"]),
    )


async def _open_balance(
    session: AsyncSession, deposit: Payment, orders: list[Order], terms: DepositTerms, now: datetime
) -> None:
    """The balance is a payment of its own, payable once the deposit is in and the window
    is open; the orders are AWAITING_BALANCE from the deposit until it is paid."""
    balance = Payment(
        customer_id=deposit.customer_id,
        kind=PaymentKind.BALANCE,
        idempotency_key=f"{deposit.idempotency_key}#balance",
        request_hash=deposit.request_hash,
        status=PaymentStatus.PENDING,
        deposit_payment_id=deposit.id,
        opens_at=terms.opens_at,
        expires_at=terms.closes_at,
        created_at=now,
        amount_due=sum(o.total - o.deposit_amount for o in orders),
    )
    session.add(balance)
    await session.flush()
    for order in orders:
        order.balance_payment_id = balance.id


async def _claim_promotion_stock(session: AsyncSession, lines: list[OrderLine]) -> None:
    for line in lines:
        for promotion_id, units in sorted(line.promotion_units.items()):
            if not await promotions.claim_stock(session, int(promotion_id), units):
                raise DomainError(
                    ErrorCode.PROMOTION_SOLD_OUT,
                    message("checkout.offer_sold_out", title=line.title),
                    "cartId",
                )


async def _lock_coupons(
    session: AsyncSession, q: Quote, payment: Payment, orders: dict[int, Order], now: datetime
) -> None:
    """A merchant coupon belongs to that merchant's order; the platform coupon, spread over
    every order, to the payment. A coupon held by another unpaid order moves from it."""
    entries = {e.coupon.id: e for e in q.view.coupons}
    for coupon_id in sorted(q.result.coupons_applied):
        entry = entries[coupon_id]
        merchant_id = entry.template.merchant_id
        order = orders[merchant_id] if merchant_id is not None else next(iter(orders.values()))
        owner = payment.reservation_owner if merchant_id is None else order.coupon_owner
        if entry.held_by is None:
            await coupons.lock(session, [coupon_id], q.customer.id, owner, now)
        else:
            await held_coupons.take_over(
                session, coupon_id, entry.held_by, owner, q.customer.id, order.number, now
            )


def _address_snapshot(address: Address) -> dict[str, Any]:
    return {
        "name": address.name,
        "phone": address.phone,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "line1": address.line1,
        "postalCode": address.postal_code,
    }


async def _place_orders(
    session: AsyncSession, q: Quote, payment: Payment, channel: str, note: str | None, now: datetime
) -> tuple[dict[int, Order], list[OrderLine]]:
    """One order per merchant, numbered from the payment; every line a snapshot."""
    note = (note or "").strip()[:500] or None
    orders: dict[int, Order] = {}
    for index, m in enumerate(q.result.merchants, start=1):
        orders[m.merchant_id] = Order(
            number=f"{now:%Y%m%d}{payment.id:08d}{index:02d}",
            payment_id=payment.id,
            customer_id=q.customer.id,
            merchant_id=m.merchant_id,
            channel=channel,
            subtotal=m.subtotal,
            promotion_discount=m.promotion_discount,
            coupon_discount=m.coupon_discount,
            shipping=m.shipping,
            total=m.total,
            address=_address_snapshot(q.address),
            note=note,
            created_at=now,
            deposit_amount=0,
            refunded_amount=0,
            points_used=q.points.by_merchant.get(m.merchant_id, (0, 0))[0] if q.points else 0,
            points_discount=getattr(m, "points_discount", 0),
            red_packet_discount=getattr(m, "red_packet_discount", 0),
        )
    session.add_all(orders.values())
    await session.flush()
    results = {r.line_id: r for r in q.result.lines}
    lines = [
        _snapshot(orders[item.product.merchant_id], item, results[str(item.line.id)])
        for item in q.lines
    ]
    for item in q.lines:
        due = results[str(item.line.id)].deposit_due
        orders[item.product.merchant_id].deposit_amount += due or 0
    lines += await _gift_lines(session, q.result.gifts, orders)
    # Plain bulk inserts (one statement each, compiled once): nothing here needs the new
    # rows' ids back.
    await session.execute(_INSERT_LINES, [_row(line) for line in lines])
    discounts = discount_rows(lines, {e.coupon.id: e.template.id for e in q.view.coupons})
    if discounts:
        await session.execute(_INSERT_DISCOUNTS, [_row(d) for d in discounts])
    return orders, lines


# render_nulls: rows with None in different columns still go in one batch, one statement
_INSERT_LINES = insert(OrderLine).execution_options(render_nulls=True)
_INSERT_DISCOUNTS = insert(OrderDiscount).execution_options(render_nulls=True)

_UNTOUCHED = {
    "is_gift": False,
    "shipped_quantity": 0,
    "released_quantity": 0,
    "refunded_quantity": 0,
    "requested_quantity": 0,
}


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key != "id"}


def _snapshot(order: Order, item: carts.LineView, r: pricing.LineResult) -> OrderLine:
    thumbnail = item.product.thumbnail
    if item.priced is None:  # every line of a cart view is priced: a bug, never input
        raise RuntimeError(f"cart line {item.line.id} was not priced")
    return OrderLine(
        order_id=order.id,
        sku_id=item.sku.id,
        product_id=item.product.id,
        sku_code=item.sku.code,
        title=item.product.title,
        spec_text=item.sku.spec_text,
        image_url=item.sku.image_url or (thumbnail.url if thumbnail else None),
        unit_price=r.unit_price,
        quantity=r.quantity,
        subtotal=r.subtotal,
        promotion_units={str(k): v for k, v in r.promotion_units.items()},
        placed_facts=placed_facts(item.priced, item.product),
        **priced_fields(r),
        **_UNTOUCHED,
    )


async def _gift_lines(
    session: AsyncSession, gifts: list[pricing.GiftResult], orders: dict[int, Order]
) -> list[OrderLine]:
    """Gifts ship with the order of the merchant selling them (or the first order)."""
    if not gifts:
        return []
    skus, products = await carts.skus_and_products(session, [g.sku_id for g in gifts])
    first = next(iter(orders.values()))
    lines = []
    for gift in gifts:
        sku = skus[gift.sku_id]
        product = products[sku.product_id]
        order = orders.get(product.merchant_id, first)
        lines.append(
            OrderLine(
                order_id=order.id,
                sku_id=sku.id,
                product_id=product.id,
                sku_code=sku.code,
                title=product.title,
                spec_text=sku.spec_text,
                image_url=sku.image_url,
                unit_price=0,
                quantity=gift.quantity,
                subtotal=0,
                discount=0,
                total=0,
                merchant_discount=0,
                platform_discount=0,
                discounts=[
                    {
                        "source": "PROMOTION",
                        "sourceId": gift.promotion_id,
                        "label": "赠品",
                        "amount": 0,
                        # what the gift was worth when given: DEDUCT_VALUE keeps this back
                        "unitValue": sku.price,
                    }
                ],
                promotion_units={},
                placed_facts=None,
                **{**_UNTOUCHED, "is_gift": True},
            )
        )
    return lines
