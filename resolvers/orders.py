"""Checkout and order glue: decode inputs, run the checkout and order services in one
transaction each, answer with rows for the schema to shape."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics
from core.money import InvalidMoney
from core.money import to_minor
from models.orders import Order
from models.orders import OrderStatus
from models.orders import Payment
from models.orders import PaymentKind as PaymentKind
from models.orders import PaymentStatus as PaymentStatus
from models.orders import Refund
from models.orders import RefundStatus as RefundStatus
from models.orders import Shipment
from resolvers import nodes
from resolvers import payments as payment_resolvers
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import page_window
from resolvers.common import paid_amount
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.context import Permission
from resolvers.members import points_discount as points_discount
from services import checkout
from services import held_coupons
from services import orders
from services import parcels
from services.errors import DomainError
from services.errors import ErrorCode
from services.unit_of_work import Retry

# A checkout is idempotent per key: a unique-key clash means a racing call with the same key
# won, and the next attempt finds its payment.
CHECKOUT_RETRY = Retry(unique_conflicts=True)


# --- checkout ------------------------------------------------------------------------------------


def _yuan(amount: Any, field: str) -> int | None:
    if amount is None:
        return None
    try:
        return to_minor(Decimal(amount))
    except InvalidMoney as exc:
        raise DomainError(ErrorCode.INVALID_PRICE, f"Amount {exc}.", field) from exc


def checkout_request(data: Any) -> checkout.CheckoutRequest:
    expected = _yuan(data.expected_total, "expectedTotal")
    coupon_ids = (
        None
        if data.coupon_ids is None
        else tuple(
            input_id(g, "Coupon", f"couponIds.{i}") or 0 for i, g in enumerate(data.coupon_ids)
        )
    )
    return checkout.CheckoutRequest(
        cart_token=str(data.cart_id),
        address_id=input_id(data.address_id, "Address", "addressId") or 0,
        coupon_ids=coupon_ids,
        expected_total=expected,
        note=data.note,
        points_to_use=data.points_to_use or 0,
        red_packets_to_use=_yuan(data.red_packets_to_use, "redPacketsToUse") or 0,
    )


async def preview(ctx: Context, data: Any) -> MutationResult[checkout.Quote]:
    """A read: priced like the real thing, nothing written."""
    try:
        request = checkout_request(data)
        quote = await ctx.read(
            lambda s: checkout.quote(
                s,
                ctx.viewer.customer_id or 0,
                request,
                ctx.now,
                ctx.channel.value,
                ctx.points_rules,
            )
        )
    except DomainError as error:
        return MutationResult(None, error.violations, error)
    return MutationResult(quote, [])


async def complete(ctx: Context, data: Any, key: str) -> MutationResult[Payment]:
    ttl = timedelta(minutes=ctx.settings.reservation_ttl_minutes)

    replayed = False

    async def run(session: AsyncSession) -> Payment:
        nonlocal replayed
        placed = await checkout.complete(
            session,
            ctx.viewer.customer_id or 0,
            checkout_request(data),
            key,
            ctx.now,
            ctx.channel.value,
            ttl,
            ctx.points_rules,
        )
        if placed.orders is not None:  # the answer needs no second look at them
            ctx.loaders.orders_by_payment.prime(placed.payment.id, placed.orders)
            for merchant in placed.merchants:
                ctx.loaders.merchant.prime(merchant.id, merchant)
        replayed = placed.orders is None
        return placed.payment

    # Two first attempts with one key racing on a database without row locks (SQLite): the
    # loser hits the unique key and, tried again, finds the winner's payment.
    result = await mutate(ctx, run, retry=CHECKOUT_RETRY)
    if isinstance(result.error, held_coupons.HeldInPayment):
        # a coupon follows the customer from an order being paid: its trades are asked about
        # and closed at the provider first (paid: the coupon stays there), then once more
        refused = await payment_resolvers.settle_trades(ctx, result.error.payment_ids)
        result = (
            MutationResult(None, refused)
            if refused
            else await mutate(ctx, run, retry=CHECKOUT_RETRY)
        )
    metrics.CHECKOUTS.labels(_outcome(result, "replayed" if replayed else "placed")).inc()
    return result


def _outcome(result: MutationResult[Any], success: str) -> str:
    return result.errors[0].code.value if result.errors else success


# --- payment -------------------------------------------------------------------------------------


async def payment_confirm(
    ctx: Context, payment_gid: str, provider: str, transaction_id: str, amount: Decimal
) -> MutationResult[Payment]:
    confirmation: list[orders.Confirmation] = []

    async def run(session: AsyncSession) -> Payment:
        payment_id = input_id(payment_gid, "Payment", "paymentId") or 0
        minor = paid_amount(amount)
        found = await orders.confirm_payment(
            session,
            payment_id,
            ctx.viewer.customer_id,
            provider,
            transaction_id.strip(),
            minor,
            ctx.now,
            ctx.points_rules,
        )
        confirmation.append(found)
        return found.payment

    result = await mutate(ctx, run)
    late = result.value is not None and bool(confirmation) and confirmation[-1].late
    metrics.PAYMENTS.labels(_outcome(result, "late" if late else "paid")).inc()
    if late:
        # Recorded (and committed) for refund, but the orders are not revived: say so.
        assert result.value is not None
        result.errors = [payment_resolvers.recorded_for_refund(result.value)]
    return result


async def payment_start(ctx: Context, order_gid: str) -> MutationResult[Payment]:
    return await mutate(
        ctx,
        lambda s: orders.start_order_payment(
            s, input_id(order_gid, "Order", "orderId") or 0, ctx.viewer.customer_id or 0, ctx.now
        ),
    )


# --- orders --------------------------------------------------------------------------------------


def _order_id(global_id: str) -> int:
    return input_id(global_id, "Order", "id") or 0


def _scope(ctx: Context) -> dict[str, Any]:
    """Who acts: a customer on their own orders, or staff (merchant staff on theirs)."""
    if ctx.viewer.is_staff:
        return {"staff": True, "merchant_id": ctx.viewer.merchant_id}
    return {"customer_id": ctx.viewer.customer_id}


async def cancel(ctx: Context, global_id: str, reason: str | None) -> MutationResult[Order]:
    try:  # money may be on its way: the provider is asked, and its trade closed, first
        refused = await payment_resolvers.settle_before_cancel(ctx, _order_id(global_id))
    except DomainError as error:
        refused = error.violations
    if refused:
        return MutationResult(None, refused)
    change = Change("order.cancel", Order, global_id) if ctx.viewer.is_staff else None
    return await mutate(
        ctx,
        lambda s: orders.cancel(s, _order_id(global_id), reason, ctx.now, **_scope(ctx)),
        change,
    )


async def confirm_receipt(ctx: Context, global_id: str) -> MutationResult[Order]:
    return await mutate(
        ctx,
        lambda s: orders.confirm_receipt(
            s, _order_id(global_id), ctx.viewer.customer_id or 0, ctx.now
        ),
    )


@dataclass
class Shipped:
    shipment: Shipment
    order: Order


async def ship(ctx: Context, data: Any) -> MutationResult[Shipped]:
    async def run(session: AsyncSession) -> tuple[Shipment, Order]:
        wanted = (
            None
            if data.lines is None
            else [
                (
                    input_id(line.order_line_id, "OrderLine", f"lines.{i}.orderLineId") or 0,
                    line.quantity,
                )
                for i, line in enumerate(data.lines)
            ]
        )
        return await orders.ship(
            session,
            _order_id(data.order_id),
            input_id(data.warehouse_id, "Warehouse", "warehouseId") or 0,
            wanted,
            _dispatch(ctx, data),
        )

    return await _record_shipment(ctx, data.order_id, run)


async def ship_parcel(ctx: Context, data: Any) -> MutationResult[Shipped]:
    async def run(session: AsyncSession) -> tuple[Shipment, Order]:
        return await parcels.ship_parcel(
            session, _order_id(data.order_id), data.parcel_number, _dispatch(ctx, data)
        )

    return await _record_shipment(ctx, data.order_id, run)


def _dispatch(ctx: Context, data: Any) -> orders.Dispatch:
    return orders.Dispatch(
        data.carrier, data.tracking_number, ctx.now, ctx.viewer.staff_id, ctx.viewer.merchant_id
    )


async def _record_shipment(
    ctx: Context,
    order_gid: str,
    ship: Callable[[AsyncSession], Awaitable[tuple[Shipment, Order]]],
) -> MutationResult[Shipped]:
    """A shipment, whole-order or by parcel, is one audited `order.ship` change."""

    async def run(session: AsyncSession) -> Shipped:
        shipment, order = await ship(session)
        return Shipped(shipment, order)

    return await mutate(
        ctx, run, Change("order.ship", Order, order_gid, subject=lambda done: done.order)
    )


async def refund_request(
    ctx: Context, order_gid: str, lines: list[Any], reason: str
) -> MutationResult[Refund]:
    async def run(session: AsyncSession) -> Refund:
        wanted = [
            (
                input_id(line.order_line_id, "OrderLine", f"lines.{i}.orderLineId") or 0,
                line.quantity,
            )
            for i, line in enumerate(lines)
        ]
        return await orders.request_refund(
            session, _order_id(order_gid), ctx.viewer.customer_id or 0, wanted, reason, ctx.now
        )

    return await mutate(ctx, run)


@dataclass
class Decided:
    refund: Refund
    order: Order | None = None


async def refund_approve(ctx: Context, global_id: str, restock: bool) -> MutationResult[Decided]:
    async def run(session: AsyncSession) -> Decided:
        refund, order = await orders.approve_refund(
            session,
            input_id(global_id, "Refund", "id") or 0,
            restock,
            ctx.now,
            actor_id=ctx.viewer.staff_id,
            merchant_id=ctx.viewer.merchant_id,
        )
        return Decided(refund, order)

    return await mutate(
        ctx, run, Change("refund.approve", Refund, global_id, subject=lambda done: done.refund)
    )


async def refund_reject(ctx: Context, global_id: str, reason: str) -> MutationResult[Decided]:
    async def run(session: AsyncSession) -> Decided:
        return Decided(
            await orders.reject_refund(
                session,
                input_id(global_id, "Refund", "id") or 0,
                reason,
                ctx.now,
                merchant_id=ctx.viewer.merchant_id,
            )
        )

    return await mutate(
        ctx, run, Change("refund.reject", Refund, global_id, subject=lambda done: done.refund)
    )


# --- queries -------------------------------------------------------------------------------------


async def customer_orders(
    ctx: Context, customer_id: int, status: OrderStatus | None, args: PageArgs
) -> Page[Order]:
    """A customer's own orders; staff with MANAGE_ORDERS see them too (their merchant's)."""
    f = orders.OrderFilter(status=status, customer_id=customer_id)
    if ctx.viewer.customer_id != customer_id:
        if not ctx.viewer.can(Permission.MANAGE_ORDERS):
            return Page([], 0, 0)
        f.merchant_id = ctx.viewer.merchant_id
    return await _page(ctx, f, args)


async def admin_orders(ctx: Context, f: Any, args: PageArgs) -> Page[Order]:
    found = orders.OrderFilter()
    if f is not None:
        found = orders.OrderFilter(
            status=f.status,
            customer_id=query_id(f.customer_id, "Customer")[1] if f.customer_id else None,
            merchant_id=query_id(f.merchant_id, "Merchant")[1] if f.merchant_id else None,
            number=f.number,
            created_from=f.created_from,
            created_to=f.created_to,
        )
    if ctx.viewer.merchant_id is not None:  # merchant staff see their own orders only
        if found.merchant_id not in (None, ctx.viewer.merchant_id):
            return Page([], 0, 0)
        found.merchant_id = ctx.viewer.merchant_id
    return await _page(ctx, found, args)


async def _page(ctx: Context, f: orders.OrderFilter, args: PageArgs) -> Page[Order]:
    window = page_window(ctx, args)
    if window.needs_total:  # `last` alone: the page ends at the total, counted first
        window = window.within(await ctx.read(lambda s: orders.count_orders(s, f)))
    rows, total = await ctx.read(lambda s: orders.find_orders(s, f, window.offset, window.limit))
    return Page(rows, window.offset, total)


async def order(ctx: Context, global_id: str) -> Order | None:
    """The owner sees their order; staff see their merchant's; anyone else sees nothing."""
    found = await ctx.loaders.order.load(query_id(global_id, "Order")[1])
    if found is None:
        return None
    if (
        ctx.viewer.is_staff
        and ctx.viewer.can(Permission.MANAGE_ORDERS)
        and ctx.viewer.owns_merchant(found.merchant_id)
    ):
        return found
    return found if found.customer_id == ctx.viewer.customer_id else None


async def payment_orders(ctx: Context, payment: Payment) -> list[Order]:
    """The orders a payment pays, as the viewer may see them: a checkout's combined payment
    spans several merchants, and one merchant's staff never see another merchant's order."""
    loaders = ctx.loaders
    if payment.order_id is not None:
        found = [await loaders.order.load(payment.order_id)]
    elif payment.kind == PaymentKind.BALANCE:
        found = await loaders.orders_by_balance.load(payment.id)
    else:
        found = await loaders.orders_by_payment.load(payment.id)
    return [o for o in found if o is not None and await nodes.order_visible(ctx, o)]
