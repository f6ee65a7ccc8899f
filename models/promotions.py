"""Promotions (促销): eight types over a scope of SKUs/products/categories/brands. The scope is
stored twice on purpose: as rows (indexed, for the conflict check in SQL) and as JSON on the
promotion (so a page loads every active promotion with its scope in one statement)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
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


class PromotionType(StrEnum):
    SINGLE_PRODUCT = "SINGLE_PRODUCT"
    MULTI_BUY = "MULTI_BUY"
    BUNDLE = "BUNDLE"
    DEPOSIT = "DEPOSIT"
    FULL_REDUCTION = "FULL_REDUCTION"
    SPEND_GIFT = "SPEND_GIFT"
    GIFT = "GIFT"
    ADD_ON = "ADD_ON"  # 加价购 / 换购: spend X on the scope, buy a listed SKU at a special price


class PromotionState(StrEnum):
    """Stored state; SCHEDULED/ACTIVE/ENDED are read from ACTIVATED and the clock."""

    DRAFT = "DRAFT"
    ACTIVATED = "ACTIVATED"
    CANCELLED = "CANCELLED"


class ScopeKind(StrEnum):
    SKU = "SKU"
    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    BRAND = "BRAND"
    EXCLUDED_PRODUCT = "EXCLUDED_PRODUCT"


class Promotion(NodeMixin, Base):
    __tablename__ = "promotions"
    node_type = "Promotion"
    __table_args__ = (
        Index("ix_promotions_window", "level", "state", "starts_at", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint(
            "stock_sold >= 0 AND (stock IS NULL OR stock_sold <= stock)", name="stock_sold_range"
        ),
    )

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[PromotionType] = mapped_column(enum_column(PromotionType, "promotion_type"))
    level: Mapped[str] = mapped_column(String(10))  # ITEM | ORDER | GIFT
    state: Mapped[PromotionState] = mapped_column(
        enum_column(PromotionState, "promotion_state"), default=PromotionState.DRAFT
    )
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    audience: Mapped[str] = mapped_column(String(20), default="ALL")
    min_member_level: Mapped[int] = mapped_column(Integer, default=0)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    combinable: Mapped[bool] = mapped_column(Boolean, default=True)
    merchant_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stock: Mapped[int | None] = mapped_column(Integer)  # flash-sale units at this price
    stock_sold: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromotionScope(Base):
    __tablename__ = "promotion_scopes"
    __table_args__ = (Index("ix_promotion_scopes_target", "kind", "target_id"),)

    promotion_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[ScopeKind] = mapped_column(enum_column(ScopeKind, "scope_kind"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
