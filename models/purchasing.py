"""The supply side of inventory: suppliers, purchase orders and their receipts (采购), and
stocktakes (盘点). Each belongs to one merchant (its warehouse's); stock itself changes only
through the ledger (services/inventory.py): receipts as INBOUND, stocktakes as ADJUSTMENT."""

from datetime import datetime
from enum import StrEnum

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


class Supplier(NodeMixin, Base):
    __tablename__ = "suppliers"
    node_type = "Supplier"

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    contact: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurchaseOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CLOSED = "CLOSED"


class PurchaseOrder(NodeMixin, Base):
    """DRAFT (editable) → SUBMITTED → PARTIALLY_RECEIVED → RECEIVED, derived from the receipts;
    SUBMITTED or PARTIALLY_RECEIVED → CLOSED cancels what is still outstanding."""

    __tablename__ = "purchase_orders"
    node_type = "PurchaseOrder"

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("suppliers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"), index=True)
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        enum_column(PurchaseOrderStatus, "purchase_order_status"),
        default=PurchaseOrderStatus.DRAFT,
    )
    note: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ID_TYPE)  # staff id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()


class PurchaseOrderLine(Base):
    """One SKU of a purchase order (at most one line per SKU): ordered, received so far, and
    the unit cost in minor units. The CHECKs back the over-receipt rule up."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity_ordered > 0", name="ordered_positive"),
        CheckConstraint("quantity_received BETWEEN 0 AND quantity_ordered", name="received_range"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        UniqueConstraint("purchase_order_id", "sku_id"),
    )

    id: Mapped[int] = id_column()
    purchase_order_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("purchase_orders.id", ondelete="CASCADE")
    )
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[int] = mapped_column(BigInteger)


class PurchaseReceipt(Base):
    """One delivery booked against a purchase order; its units went into the ledger as INBOUND
    movements referenced `purchase-receipt:<id>`. A client key makes a retried receipt a no-op."""

    __tablename__ = "purchase_receipts"
    __table_args__ = (UniqueConstraint("purchase_order_id", "client_key"),)

    id: Mapped[int] = id_column()
    purchase_order_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True
    )
    client_key: Mapped[str | None] = mapped_column(String(80))
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurchaseReceiptLine(Base):
    __tablename__ = "purchase_receipt_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = id_column()
    receipt_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("purchase_receipts.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("purchase_order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class StocktakeStatus(StrEnum):
    COUNTING = "COUNTING"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    CANCELLED = "CANCELLED"


class Stocktake(NodeMixin, Base):
    """A count of one warehouse: COUNTING (snapshot frozen at the start, counts entered) →
    SUBMITTED → APPROVED (differences posted as ADJUSTMENT movements) by a staff member who
    neither started it nor counted; or CANCELLED before approval."""

    __tablename__ = "stocktakes"
    __table_args__ = (Index("ix_stocktakes_warehouse", "warehouse_id", "status"),)
    node_type = "Stocktake"

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"))
    status: Mapped[StocktakeStatus] = mapped_column(
        enum_column(StocktakeStatus, "stocktake_status"), default=StocktakeStatus.COUNTING
    )
    reason: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ID_TYPE)
    submitted_by: Mapped[int | None] = mapped_column(ID_TYPE)
    approved_by: Mapped[int | None] = mapped_column(ID_TYPE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()  # approved or cancelled


class StocktakeLine(Base):
    """One SKU of the warehouse: on hand when the stocktake started, the count (null until
    counted; uncounted lines are left alone), who counted it, and the ADJUSTMENT posted."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (
        UniqueConstraint("stocktake_id", "sku_id"),
        CheckConstraint("counted >= 0", name="counted_not_negative"),
    )

    id: Mapped[int] = id_column()
    stocktake_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("stocktakes.id", ondelete="CASCADE")
    )
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"))
    snapshot_on_hand: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int | None] = mapped_column(Integer)
    counted_by: Mapped[int | None] = mapped_column(ID_TYPE)
    adjustment: Mapped[int | None] = mapped_column(Integer)  # posted at approval
