"""Provider-side records of a payment (DOMAIN.md §7): the trades opened at Alipay or WeChat Pay
for a payment, and the refund ledger per provider transaction."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import enum_column
from models.base import id_column


class TradeStatus(StrEnum):
    OPEN = "OPEN"  # created at the provider, not paid yet
    PAID = "PAID"
    CLOSED = "CLOSED"  # closed at the provider: it can no longer be paid


class ProviderRefundStatus(StrEnum):
    PENDING = "PENDING"  # asked for; the provider has not said it is done (WeChat is async)
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # refused or abnormal: the money did not go back, staff must look


class PaymentTrade(Base):
    """One trade per payment, provider and channel: the customer may start with Alipay on the
    web and finish with WeChat in the mini program; every open trade is queried before the
    payment expires and closed when it is cancelled."""

    __tablename__ = "payment_trades"
    __table_args__ = (UniqueConstraint("payment_id", "provider", "channel"),)

    id: Mapped[int] = id_column()
    payment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("payments.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[TradeStatus] = mapped_column(
        enum_column(TradeStatus, "trade_status"), default=TradeStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderRefund(Base):
    """The refund ledger: money paid back on one provider transaction. Rows of a transaction
    never add up to more than was captured (payments.amount_refunded is raised by a
    conditional update in the same transaction as the row is written)."""

    __tablename__ = "provider_refunds"
    __table_args__ = (
        UniqueConstraint("provider", "reference"),
        Index("ix_provider_refunds_transaction", "provider", "transaction_id"),
    )

    id: Mapped[int] = id_column()
    payment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("payments.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(64))  # out_request_no / out_refund_no
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ProviderRefundStatus] = mapped_column(
        enum_column(ProviderRefundStatus, "provider_refund_status"),
        default=ProviderRefundStatus.PENDING,
    )
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
