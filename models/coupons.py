"""Coupons (优惠券): templates (batches), customers' coupons, single-use codes, and per-customer
claim counters that keep limits exact under concurrency."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import enum_column
from models.base import id_column


class CouponType(StrEnum):
    CASH = "CASH"
    THRESHOLD = "THRESHOLD"
    PERCENT = "PERCENT"


class Distribution(StrEnum):
    PUBLIC = "PUBLIC"
    SYSTEM = "SYSTEM"
    CODE = "CODE"


class CouponStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    LOCKED = "LOCKED"
    USED = "USED"
    EXPIRED = "EXPIRED"
    VOID = "VOID"


class CouponTemplate(NodeMixin, Base):
    __tablename__ = "coupon_templates"
    node_type = "CouponTemplate"
    __table_args__ = (
        CheckConstraint(
            "issued_count >= 0 AND issued_count <= total_quantity", name="issued_within_total"
        ),
    )

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[CouponType] = mapped_column(enum_column(CouponType, "coupon_type"))
    amount: Mapped[int | None] = mapped_column(BigInteger)  # CASH / THRESHOLD
    percent_off: Mapped[str | None] = mapped_column(String(10))  # PERCENT
    min_spend: Mapped[int | None] = mapped_column(BigInteger)
    max_discount: Mapped[int | None] = mapped_column(BigInteger)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merchant_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    valid_from: Mapped[datetime | None] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
    days_after_claim: Mapped[int | None] = mapped_column(Integer)
    claim_starts_at: Mapped[datetime | None] = mapped_column()
    claim_ends_at: Mapped[datetime | None] = mapped_column()
    total_quantity: Mapped[int] = mapped_column(Integer)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    per_customer_limit: Mapped[int] = mapped_column(Integer, default=1)
    distribution: Mapped[Distribution] = mapped_column(enum_column(Distribution, "distribution"))
    audience: Mapped[str] = mapped_column(String(20), default="ALL")
    min_member_level: Mapped[int] = mapped_column(Integer, default=0)
    combines_with_promotions: Mapped[bool] = mapped_column(Boolean, default=True)
    on_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coupon(NodeMixin, Base):
    __tablename__ = "coupons"
    node_type = "Coupon"
    __table_args__ = (
        Index("ix_coupons_customer", "customer_id", "status"),
        Index("ix_coupons_locked_by", "locked_by"),
    )

    id: Mapped[int] = id_column()
    template_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("coupon_templates.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    status: Mapped[CouponStatus] = mapped_column(
        enum_column(CouponStatus, "coupon_status"), default=CouponStatus.AVAILABLE
    )
    source: Mapped[str] = mapped_column(String(20))  # CLAIM | ISSUE | CODE | REGISTRATION
    valid_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(80))  # the owning payment/order
    used_at: Mapped[datetime | None] = mapped_column()
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CouponCode(Base):
    """Single-use redeemable codes (卡密); only a hash is kept: codes are shown once."""

    __tablename__ = "coupon_codes"

    id: Mapped[int] = id_column()
    template_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("coupon_templates.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redeemed_by: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    redeemed_at: Mapped[datetime | None] = mapped_column()


class CouponClaimCount(Base):
    """How many coupons of a template a customer holds: bumped with a conditional UPDATE so a
    per-customer limit holds under any concurrency."""

    __tablename__ = "coupon_claim_counts"

    template_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("coupon_templates.id"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
