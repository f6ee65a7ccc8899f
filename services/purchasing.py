"""Purchasing (采购): suppliers and purchase orders whose receipts bring stock in.

A purchase order belongs to its warehouse's merchant; its supplier and SKUs must be that
merchant's too (MERCHANT_MISMATCH). Only a DRAFT is edited; submitting freezes the lines.
Receipts book delivered units per line as INBOUND ledger movements (through
services/inventory.move_stock, reference `purchase-receipt:<id>`); the cumulative receipt of a
line never exceeds what was ordered (OVER_RECEIPT), and the status follows from the receipts:
nothing yet = SUBMITTED, some = PARTIALLY_RECEIVED, all = RECEIVED. Closing a SUBMITTED or
PARTIALLY_RECEIVED order cancels what is outstanding. A receipt with a client key is booked
once: the same key again with the same lines answers the order as it is, with other lines
IDEMPOTENCY_KEY_REUSED. The order row is locked for the receipt, so concurrent receipts of
one order queue instead of both passing the over-receipt check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import cast

from sqlalchemy import CursorResult
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Merchant
from models.catalog import Sku
from models.inventory import MovementType
from models.inventory import Warehouse
from models.purchasing import PurchaseOrder
from models.purchasing import PurchaseOrderLine
from models.purchasing import PurchaseOrderStatus
from models.purchasing import PurchaseReceipt
from models.purchasing import PurchaseReceiptLine
from models.purchasing import Supplier
from services import inventory
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

S = PurchaseOrderStatus
RECEIVABLE = (S.SUBMITTED, S.PARTIALLY_RECEIVED)
MAX_LINES = 200


# --- suppliers -----------------------------------------------------------------------------------


async def create_supplier(
    session: AsyncSession, merchant_id: int, name: str, contact: str | None
) -> Supplier:
    if await session.get(Merchant, merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    supplier = Supplier(merchant_id=merchant_id)
    await _apply_supplier(session, supplier, name, contact, creating=True)
    session.add(supplier)
    await session.flush()
    return supplier


async def update_supplier(
    session: AsyncSession, supplier_id: int, name: str | None, contact: str | None
) -> Supplier:
    supplier = await session.get(Supplier, supplier_id)
    if supplier is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Supplier not found.", "id")
    await _apply_supplier(session, supplier, name, contact, creating=False)
    await session.flush()
    return supplier


async def _apply_supplier(
    session: AsyncSession,
    supplier: Supplier,
    name: str | None,
    contact: str | None,
    *,
    creating: bool,
) -> None:
    v = Violations()
    clean = check.text(v, name, "name", max_len=120) if name is not None or creating else None
    v.raise_if_any()
    if clean is not None:
        taken = await session.scalar(
            select(Supplier.id).where(
                Supplier.merchant_id == supplier.merchant_id,
                func.lower(Supplier.name) == clean.lower(),
                Supplier.id != (supplier.id or 0),
            )
        )
        if taken:
            raise DomainError(
                ErrorCode.DUPLICATE_NAME, f"The merchant has a supplier '{clean}'.", "name"
            )
        supplier.name = clean
    if contact is not None:
        supplier.contact = contact.strip() or None


# --- purchase orders -----------------------------------------------------------------------------


@dataclass
class LineData:
    sku_id: int
    quantity: int
    unit_cost: Decimal | None


@dataclass
class OrderData:
    supplier_id: int | None = None
    warehouse_id: int | None = None
    note: str | None = None
    lines: list[LineData] | None = None  # None: keep the lines (update)


@dataclass
class ReceiptData:
    lines: list[tuple[int, int]] = field(default_factory=list)  # (sku id, quantity)
    client_key: str | None = None


async def create_order(
    session: AsyncSession, data: OrderData, actor_id: int | None
) -> PurchaseOrder:
    if data.lines is None:
        data.lines = []
    order = PurchaseOrder(status=S.DRAFT, created_by=actor_id)
    await _apply_order(session, order, data)
    return order


async def update_order(session: AsyncSession, order_id: int, data: OrderData) -> PurchaseOrder:
    order = await _order(session, order_id)
    if order.status != S.DRAFT:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"Only a draft purchase order can be edited; this one is {order.status.value}.",
            "id",
        )
    await _apply_order(session, order, data)
    return order


async def _apply_order(session: AsyncSession, order: PurchaseOrder, data: OrderData) -> None:
    v = Violations()
    note = check.text(v, data.note, "note", max_len=300, required=False)
    costs: list[int | None] = []
    seen: set[int] = set()
    for i, line in enumerate(data.lines or []):
        if line.quantity <= 0:
            v.add(ErrorCode.INVALID_QUANTITY, "Order at least one unit.", f"lines.{i}.quantity")
        cost = check.money(v, line.unit_cost, f"lines.{i}.unitCost")
        if cost is not None and cost < 0:
            v.add(ErrorCode.INVALID_PRICE, "A unit cost is not negative.", f"lines.{i}.unitCost")
        costs.append(cost)
        if line.sku_id in seen:
            v.add(ErrorCode.INVALID_INPUT, "One line per SKU.", f"lines.{i}.skuId")
        seen.add(line.sku_id)
    if data.lines is not None and len(data.lines) > MAX_LINES:
        v.add(ErrorCode.INVALID_INPUT, f"At most {MAX_LINES} lines.", "lines")
    v.raise_if_any()
    if data.warehouse_id is not None:
        warehouse = await session.get(Warehouse, data.warehouse_id)
        if warehouse is None:
            raise DomainError(ErrorCode.NOT_FOUND, "Warehouse not found.", "warehouseId")
        if order.id is not None and warehouse.merchant_id != order.merchant_id:
            raise DomainError(
                ErrorCode.MERCHANT_MISMATCH,
                "A purchase order stays with its merchant's warehouses.",
                "warehouseId",
            )
        order.warehouse_id = warehouse.id
        order.merchant_id = warehouse.merchant_id
    if data.supplier_id is not None:
        supplier = await session.get(Supplier, data.supplier_id)
        if supplier is None:
            raise DomainError(ErrorCode.NOT_FOUND, "Supplier not found.", "supplierId")
        if supplier.merchant_id != order.merchant_id:
            raise DomainError(
                ErrorCode.MERCHANT_MISMATCH,
                "The supplier belongs to another merchant than the warehouse.",
                "supplierId",
            )
        order.supplier_id = supplier.id
    if order.id is None and (order.warehouse_id is None or order.supplier_id is None):
        raise DomainError(ErrorCode.INVALID_INPUT, "A supplier and a warehouse are required.")
    if data.note is not None:
        order.note = note
    if data.lines is not None:
        skus = {
            s.id: s
            for s in (
                await session.scalars(
                    select(Sku).where(Sku.id.in_([ln.sku_id for ln in data.lines]))
                )
            ).all()
        }
        for i, line in enumerate(data.lines):
            sku = skus.get(line.sku_id)
            if sku is None:
                v.add(ErrorCode.NOT_FOUND, "SKU not found.", f"lines.{i}.skuId")
            elif sku.merchant_id != order.merchant_id:
                v.add(
                    ErrorCode.MERCHANT_MISMATCH,
                    "The SKU belongs to another merchant than the warehouse.",
                    f"lines.{i}.skuId",
                )
        v.raise_if_any()
    if order.id is None:
        session.add(order)
        await session.flush()
    if data.lines is not None:
        for old in await lines_of(session, order.id):
            await session.delete(old)
        await session.flush()
        for i, (line, cost) in enumerate(zip(data.lines, costs, strict=True)):
            session.add(
                PurchaseOrderLine(
                    purchase_order_id=order.id,
                    sku_id=line.sku_id,
                    position=i,
                    quantity_ordered=line.quantity,
                    quantity_received=0,
                    unit_cost=cost or 0,
                )
            )
    await session.flush()


async def _order(session: AsyncSession, order_id: int, *, lock: bool = False) -> PurchaseOrder:
    order = await session.get(
        PurchaseOrder, order_id, with_for_update=lock or None, populate_existing=lock
    )
    if order is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Purchase order not found.", "id")
    return order


async def _book_receipt(
    session: AsyncSession, line: PurchaseOrderLine, quantity: int, field: str
) -> None:
    """Count received units with the over-receipt rule in the UPDATE itself: the order's row
    lock queues receipts on PostgreSQL, but SQLite takes no row locks, and there a receipt
    checked against a stale read would otherwise pass."""
    received = PurchaseOrderLine.quantity_received
    booked = await session.execute(
        update(PurchaseOrderLine)
        .where(
            PurchaseOrderLine.id == line.id,
            received + quantity <= PurchaseOrderLine.quantity_ordered,
        )
        .values(quantity_received=received + quantity)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], booked).rowcount != 1:
        raise DomainError(
            ErrorCode.OVER_RECEIPT, "More than was ordered would have been received.", field
        )


async def lines_of(
    session: AsyncSession, order_id: int, *, fresh: bool = False
) -> Sequence[PurchaseOrderLine]:
    return (
        await session.scalars(
            select(PurchaseOrderLine)
            .where(PurchaseOrderLine.purchase_order_id == order_id)
            .order_by(PurchaseOrderLine.position, PurchaseOrderLine.id)
            .execution_options(populate_existing=fresh)
        )
    ).all()


async def submit_order(session: AsyncSession, order_id: int, now: datetime) -> PurchaseOrder:
    order = await _order(session, order_id, lock=True)
    if order.status != S.DRAFT:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"Only a draft is submitted; this one is {order.status.value}.",
            "id",
        )
    if not await lines_of(session, order.id):
        raise DomainError(ErrorCode.INVALID_INPUT, "A purchase order needs lines.", "id")
    order.status, order.submitted_at = S.SUBMITTED, now
    await session.flush()
    return order


async def close_order(session: AsyncSession, order_id: int, now: datetime) -> PurchaseOrder:
    """What is not received by now is cancelled: the order takes no more receipts."""
    order = await _order(session, order_id, lock=True)
    if order.status not in RECEIVABLE:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            "Only a submitted or partially received purchase order is closed; this one is "
            f"{order.status.value}.",
            "id",
        )
    order.status, order.closed_at = S.CLOSED, now
    await session.flush()
    return order


async def receive(
    session: AsyncSession, order_id: int, data: ReceiptData, actor_id: int | None
) -> PurchaseOrder:
    v = Violations()
    key = check.text(v, data.client_key, "clientKey", max_len=80, required=False)
    if not data.lines:
        v.add(ErrorCode.INVALID_INPUT, "Receive at least one line.", "lines")
    seen: set[int] = set()
    for i, (sku_id, quantity) in enumerate(data.lines):
        if quantity <= 0:
            v.add(ErrorCode.INVALID_QUANTITY, "Receive at least one unit.", f"lines.{i}.quantity")
        if sku_id in seen:
            v.add(ErrorCode.INVALID_INPUT, "One entry per SKU.", f"lines.{i}.skuId")
        seen.add(sku_id)
    v.raise_if_any()
    order = await _order(session, order_id, lock=True)  # receipts of one order queue here
    lines = {line.sku_id: line for line in await lines_of(session, order.id)}
    if key is not None:
        earlier = await session.scalar(
            select(PurchaseReceipt).where(
                PurchaseReceipt.purchase_order_id == order.id, PurchaseReceipt.client_key == key
            )
        )
        if earlier is not None:
            booked = (
                await session.execute(
                    select(PurchaseOrderLine.sku_id, PurchaseReceiptLine.quantity)
                    .join(PurchaseOrderLine, PurchaseOrderLine.id == PurchaseReceiptLine.line_id)
                    .where(PurchaseReceiptLine.receipt_id == earlier.id)
                )
            ).all()
            if sorted((s, q) for s, q in booked) != sorted(data.lines):
                raise DomainError(
                    ErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "This client key booked a different receipt.",
                    "clientKey",
                )
            return order  # already booked: nothing moves twice
    if order.status not in RECEIVABLE:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"A {order.status.value} purchase order takes no receipts.",
            "id",
        )
    for i, (sku_id, quantity) in enumerate(data.lines):
        line = lines.get(sku_id)
        if line is None:
            v.add(ErrorCode.NOT_FOUND, "The SKU is not on this purchase order.", f"lines.{i}.skuId")
        elif line.quantity_received + quantity > line.quantity_ordered:
            v.add(
                ErrorCode.OVER_RECEIPT,
                f"{line.quantity_received} of {line.quantity_ordered} received already; "
                f"at most {line.quantity_ordered - line.quantity_received} more.",
                f"lines.{i}.quantity",
            )
    v.raise_if_any()
    receipt = PurchaseReceipt(purchase_order_id=order.id, client_key=key, actor_id=actor_id)
    session.add(receipt)
    await session.flush()
    reason = f"Purchase order {order.global_id}"
    at = {sku_id: i for i, (sku_id, _) in enumerate(data.lines)}
    for sku_id, quantity in sorted(data.lines):  # the ledger's lock order: by SKU
        line = lines[sku_id]
        await _book_receipt(session, line, quantity, f"lines.{at[sku_id]}.quantity")
        await inventory.move_stock(
            session,
            sku_id=sku_id,
            warehouse_id=order.warehouse_id,
            quantity=quantity,
            kind=MovementType.INBOUND,
            reason=reason,
            actor_id=actor_id,
            reference=f"purchase-receipt:{receipt.id}",
        )
        session.add(PurchaseReceiptLine(receipt_id=receipt.id, line_id=line.id, quantity=quantity))
    every = await lines_of(session, order.id, fresh=True)
    done = all(ln.quantity_received == ln.quantity_ordered for ln in every)
    order.status = S.RECEIVED if done else S.PARTIALLY_RECEIVED
    await session.flush()
    return order
