"""Inventory: warehouses, stock levels per (SKU, warehouse) and the stock movement ledger."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
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


class MovementType(StrEnum):
    INBOUND = "INBOUND"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    SHIPMENT = "SHIPMENT"
    RETURN = "RETURN"
    ADJUSTMENT = "ADJUSTMENT"


class Warehouse(NodeMixin, Base):
    __tablename__ = "warehouses"
    node_type = "Warehouse"

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(Base):
    """available = on_hand - reserved; sellable = max(0, available - safety_stock).
    The CHECKs make the database itself refuse an oversell."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("safety_stock >= 0", name="safety_not_negative"),
        Index("ix_stock_levels_warehouse", "warehouse_id"),
    )

    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("warehouses.id"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(Base):
    """The ledger: on_hand of a stock level always equals the sum of its movements."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_sku", "sku_id", "created_at"),)

    id: Mapped[int] = id_column()
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"))
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"))
    type: Mapped[MovementType] = mapped_column(enum_column(MovementType, "movement_type"))
    quantity: Mapped[int] = mapped_column(BigInteger)  # signed: what on_hand changed by
    reason: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)  # staff id; None for the system
    # What caused it, e.g. "shipment:42" or "transfer:7"; makes consumption idempotent.
    reference: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMMITTED = "COMMITTED"
    CONSUMED = "CONSUMED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


class Reservation(Base):
    """Stock held for an owner (e.g. "payment:12"): ACTIVE → COMMITTED (paid) → CONSUMED
    (shipped), or ACTIVE → RELEASED (cancelled) / EXPIRED (timeout). One per owner."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_expiry", "status", "expires_at"),)

    id: Mapped[int] = id_column()
    owner: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status"), default=ReservationStatus.ACTIVE
    )
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationLine(Base):
    """Units of one SKU held in one warehouse; `consumed` of them already shipped."""

    __tablename__ = "reservation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("consumed BETWEEN 0 AND quantity", name="consumed_range"),
        Index("ix_reservation_lines_reservation", "reservation_id"),
    )

    id: Mapped[int] = id_column()
    reservation_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("reservations.id", ondelete="CASCADE")
    )
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"))
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    consumed: Mapped[int] = mapped_column(Integer, default=0)
