"""Payment glue: starting a payment at Alipay or WeChat Pay, staff recording an offline
payment, and settling a payment's open trades before its order is cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics
from core.db import create_session_factory
from models.orders import Order
from models.orders import OrderStatus
from models.orders import Payment
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import paid_amount
from resolvers.context import Context
from services import payments
from services import trades
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violation


@dataclass
class StartedPayment:
    payment: Payment
    provider: str
    channel: str
    out_trade_no: str
    started: payments.Started


async def payment_start(
    ctx: Context, payment_gid: str, provider: str, channel: str | None, openid: str | None
) -> MutationResult[StartedPayment]:
    """The trade is written (and committed) first; the provider is called with no lock held.
    A provider that is down answers PROVIDER_UNAVAILABLE: the same call later reuses the
    trade."""
    chosen = channel or ctx.channel.value

    async def run(session: AsyncSession) -> trades.Opened:
        payment_id = input_id(payment_gid, "Payment", "paymentId") or 0
        return await trades.open_trade(
            session,
            payment_id,
            ctx.viewer.customer_id or 0,
            provider,
            chosen,
            ctx.settings.currency,
            ctx.now,
            openid=(openid or "").strip() or None,
            payer_ip=ctx.client,
        )

    opened = await mutate(ctx, run)
    if opened.value is None:
        return MutationResult(None, opened.errors, opened.error)
    try:
        started = await payments.provider(provider).start(opened.value.request)
    except DomainError as error:
        metrics.PAYMENTS.labels(f"start:{error.code.value}").inc()
        return MutationResult(None, error.violations, error)
    payment = await ctx.session.get(Payment, opened.value.trade.payment_id)
    assert payment is not None
    return MutationResult(
        StartedPayment(payment, provider, chosen, opened.value.request.out_trade_no, started), []
    )


async def payment_record_offline(
    ctx: Context, payment_gid: str, reference: str, amount: Decimal
) -> MutationResult[Payment]:
    """Platform staff record a bank transfer; audited like every admin change."""
    confirmation: list[bool] = []

    async def run(session: AsyncSession) -> Payment:
        payment_id = input_id(payment_gid, "Payment", "paymentId") or 0
        minor = paid_amount(amount)
        found = await trades.record_offline(
            session, payment_id, reference, minor, ctx.now, ctx.points_rules
        )
        confirmation.append(found.late)
        return found.payment

    result = await mutate(ctx, run, Change("payment.record_offline", Payment, payment_gid))
    if result.value is not None and confirmation and confirmation[-1]:
        result.errors = [recorded_for_refund(result.value)]
    return result


def recorded_for_refund(payment: Payment) -> Violation:
    """A payment that came in after its orders closed: the money is kept on record to be
    refunded, and the orders stay closed; the caller is told so."""
    return Violation(
        ErrorCode.PAYMENT_CLOSED,
        f"This payment is {payment.status.value}; the money is recorded and will be refunded.",
        "paymentId",
    )


async def settle_before_cancel(ctx: Context, order_id: int) -> list[Violation]:
    """Before an unpaid order is cancelled: its open trades are asked about and closed at the
    provider (services/trades.py). Only for the order's owner or its merchant's staff; anyone
    else gets NOT_FOUND from the cancel itself."""
    order = await ctx.session.get(Order, order_id)
    if order is None or order.status not in (
        OrderStatus.PENDING_PAYMENT,
        OrderStatus.AWAITING_BALANCE,
    ):
        return []
    visible = order.customer_id == ctx.viewer.customer_id or (
        ctx.viewer.is_staff and ctx.viewer.owns_merchant(order.merchant_id)
    )
    if not visible:
        return []
    return await settle_trades(
        ctx, [i for i in (order.payment_id, order.balance_payment_id) if i is not None]
    )


async def settle_trades(ctx: Context, ids: list[int]) -> list[Violation]:
    """The open trades of these payments asked about and closed at the provider, outside the
    request's transaction (a refusal is answered as violations)."""
    bind = ctx.session.bind
    assert bind is not None, "a request's session is bound to the engine"
    try:
        await trades.settle_before_cancel(
            create_session_factory(bind), ids, ctx.settings.currency, ctx.now, ctx.points_rules
        )
    except DomainError as error:
        return error.violations
    finally:
        await ctx.session.rollback()  # end the read; the cancel sees what settling wrote
    return []
