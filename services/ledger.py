"""The refund ledger: every refund paid back on a provider transaction, one row each.

Partial refunds (several lines, several after-sales requests, a cancelled sub-order) add up on
the payment's `amount_refunded`, raised by a conditional UPDATE that refuses to pass what was
captured — atomic on PostgreSQL and SQLite alike, whoever else is refunding the same
transaction. The provider is called inside the same database transaction, with our refund
reference as its idempotency key: if the provider is down the whole refund rolls back and can
be tried again; if our commit fails after the provider paid, the retry with the same reference
is answered with the refund already made, not a second one."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import get_settings
from models.orders import Payment
from models.payments import ProviderRefund
from models.payments import ProviderRefundStatus
from services import payments
from services.errors import DomainError
from services.errors import ErrorCode

log = logging.getLogger("zhongtai.payments")


async def pay_back(
    session: AsyncSession,
    payment: Payment,
    amount: int,
    reference: str,
    now: datetime,
    reason: str = "",
) -> ProviderRefund | None:
    if amount <= 0:
        return None
    provider = payments.provider(payment.provider or "TEST")
    claimed = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.amount_refunded + amount <= Payment.amount_paid)
        .values(amount_refunded=Payment.amount_refunded + amount)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        raise DomainError(
            ErrorCode.REFUND_EXCEEDS_CAPTURED,
            "That is more than is left of what the payment took.",
            "amount",
        )
    await session.refresh(payment, ["amount_refunded"])
    return await refund_at_provider(
        session,
        payment.id,
        provider.name,
        payment.transaction_id or "",
        None,
        reference,
        amount,
        payment.amount_paid,
        now,
        reason,
    )


async def refund_at_provider(
    session: AsyncSession,
    payment_id: int,
    provider_name: str,
    transaction_id: str,
    out_trade_no: str | None,
    reference: str,
    amount: int,
    captured: int,
    now: datetime,
    reason: str = "",
) -> ProviderRefund:
    """One ledger row, written before the provider is asked (our reference is its
    idempotency key), then given the provider's answer."""
    row = ProviderRefund(
        payment_id=payment_id,
        provider=provider_name,
        transaction_id=transaction_id,
        reference=reference,
        amount=amount,
        status=ProviderRefundStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    result = await payments.provider(provider_name).refund(
        payments.RefundRequest(
            transaction_id=transaction_id,
            out_trade_no=out_trade_no,
            reference=reference,
            amount=amount,
            captured=captured,
            currency=get_settings().currency,
            reason=reason,
        )
    )
    row.status = ProviderRefundStatus(result.status)
    row.provider_refund_id = result.provider_refund_id
    await session.flush()
    return row


async def settle(
    session: AsyncSession, provider_name: str, notice: payments.RefundNotice, now: datetime
) -> ProviderRefund | None:
    """A provider's refund notification (WeChat Pay): the row's final state. Idempotent; a
    refund that failed at the provider (closed, abnormal) is logged for staff to handle."""
    row = await session.scalar(
        select(ProviderRefund)
        .where(
            ProviderRefund.provider == provider_name, ProviderRefund.reference == notice.reference
        )
        .with_for_update()
    )
    if row is None:
        return None
    status = ProviderRefundStatus(notice.status)
    if row.status != status:
        row.status, row.updated_at = status, now
        row.provider_refund_id = notice.provider_refund_id or row.provider_refund_id
    if status == ProviderRefundStatus.FAILED:
        log.error(
            "refund %s on %s %s failed at the provider: pay it back by hand",
            row.reference,
            provider_name,
            row.transaction_id,
        )
    await session.flush()
    return row
