"""Who owns a resource: the platform (None) or one merchant. The authorization policy
(schema/policy.py, through resolvers/ownership.py) asks this before merchant staff may act on
a resource named in the arguments, and the audit log uses it to show merchant staff only
entries about their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Role
from models.accounts import Staff
from models.audit import AuditEntry
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ShippingTemplate
from models.catalog import Sku
from models.coupons import CouponTemplate
from models.inventory import Warehouse
from models.orders import Order
from models.orders import Refund
from models.orders import Shipment
from models.promotions import Promotion
from models.purchasing import PurchaseOrder
from models.purchasing import Stocktake
from models.purchasing import Supplier

# Node type → (its id column, the column holding the owning merchant; None = the platform).
OWNER_COLUMNS: dict[str, tuple[Any, Any]] = {
    "Merchant": (Merchant.id, Merchant.id),
    "Product": (Product.id, Product.merchant_id),
    "Sku": (Sku.id, Sku.merchant_id),
    "ShippingTemplate": (ShippingTemplate.id, ShippingTemplate.merchant_id),
    "Warehouse": (Warehouse.id, Warehouse.merchant_id),
    "Promotion": (Promotion.id, Promotion.merchant_id),
    "CouponTemplate": (CouponTemplate.id, CouponTemplate.merchant_id),
    "Order": (Order.id, Order.merchant_id),
    "Staff": (Staff.id, Staff.merchant_id),
    "Role": (Role.id, Role.merchant_id),
    "Supplier": (Supplier.id, Supplier.merchant_id),
    "PurchaseOrder": (PurchaseOrder.id, PurchaseOrder.merchant_id),
    "Stocktake": (Stocktake.id, Stocktake.merchant_id),
}


def _owner_select(type_name: str) -> Any:
    """(id, merchant id) rows of one owned type; refunds and shipments belong to the order's
    merchant."""
    if type_name in ("Refund", "Shipment"):
        model = Refund if type_name == "Refund" else Shipment
        return select(model.id, Order.merchant_id).join(Order, Order.id == model.order_id), model.id
    id_column, owner_column = OWNER_COLUMNS[type_name]
    return select(id_column, owner_column), id_column


OWNED_TYPES = frozenset({*OWNER_COLUMNS, "Refund", "Shipment"})


async def owners_of(session: AsyncSession, type_name: str, pks: set[int]) -> dict[int, int | None]:
    """The owning merchant of each existing row; rows that do not exist are absent."""
    stmt, id_column = _owner_select(type_name)
    rows = await session.execute(stmt.where(id_column.in_(sorted(pks))))
    return {pk: owner for pk, owner in rows.tuples()}


def audit_entries_about(merchant_id: int) -> ColumnElement[bool]:
    """Audit entries whose target belongs to `merchant_id` (the platform's and other
    merchants' never show: their before/after may hold cost prices and stock)."""
    clauses = []
    for type_name in sorted(OWNED_TYPES):
        stmt, id_column = _owner_select(type_name)
        owner_column = stmt.selected_columns[1]
        owned = stmt.with_only_columns(id_column).where(owner_column == merchant_id)
        clauses.append((AuditEntry.target_type == type_name) & AuditEntry.target_id.in_(owned))
    return or_(false(), *clauses)
