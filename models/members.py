"""Member center (会员中心): admin-defined levels, each customer's growth value, points balance
and staff override, and the points ledger that the balance is the sum of."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import enum_column
from models.base import id_column


class MemberLevel(NodeMixin, Base):
    """A level: customers whose growth reaches `growth_threshold` hold it (the highest one
    reached). `rank` is the number promotion and coupon audiences compare (MIN_MEMBER_LEVEL);
    thresholds rise with rank."""

    __tablename__ = "member_levels"
    node_type = "MemberLevel"
    __table_args__ = (
        CheckConstraint("rank >= 1", name="rank_positive"),
        CheckConstraint("growth_threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = id_column()
    rank: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    growth_threshold: Mapped[int] = mapped_column(BigInteger, unique=True)
    benefits: Mapped[list[Any]] = mapped_column(JSON, default=list)  # 权益, as shown to customers
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberAccount(Base):
    """One per customer, created on first use. `points` and `growth` are the sums of the
    customer's ledger rows (kept here so spending is one conditional UPDATE and the CHECK makes
    the database itself refuse a negative balance). `customers.member_level` holds the level's
    rank that pricing reads: the override's, else the highest level reached by growth."""

    __tablename__ = "member_accounts"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("growth >= 0", name="growth_not_negative"),
    )

    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    growth: Mapped[int] = mapped_column(BigInteger, default=0)
    override_level_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("member_levels.id"))
    override_reason: Mapped[str | None] = mapped_column(String(300))
    override_by: Mapped[int | None] = mapped_column(ID_TYPE)  # staff id
    override_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PointsKind(StrEnum):
    EARN = "EARN"  # a paid order: points (and growth) earned
    SPEND = "SPEND"  # points spent at checkout, per order
    REFUND = "REFUND"  # spent points given back: a cancelled order or a refund
    CLAWBACK = "CLAWBACK"  # earned points (and growth) taken back on a refund
    ADJUST = "ADJUST"  # staff, with a reason


class PointsEntry(Base):
    """The ledger: a member's points balance (and growth) is the sum of their rows. Each order
    event writes at most one row of a kind (`reference` unique per customer), so replays are
    no-ops."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("customer_id", "reference"),
        Index("ix_points_entries_customer", "customer_id", "id"),
        Index("ix_points_entries_order", "order_id"),
    )

    id: Mapped[int] = id_column()
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    kind: Mapped[PointsKind] = mapped_column(enum_column(PointsKind, "points_kind"))
    points: Mapped[int] = mapped_column(BigInteger)  # signed: what the balance changed by
    growth: Mapped[int] = mapped_column(BigInteger, default=0)  # signed, likewise
    order_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("orders.id"))
    # e.g. "earn:order:12", "spend:order:12", "refund:refund:7"; null for staff adjustments
    reference: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)  # staff id; None for the system
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
