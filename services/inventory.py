"""Inventory rules (DOMAIN.md §2). on_hand changes only through stock movements (the ledger)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.inventory import MovementType, StockLevel, StockMovement, Warehouse
from services.errors import DomainError, ErrorCode


async def create_warehouse(session: AsyncSession, merchant_id: int, code: str, name: str,
                           region: str | None = None, priority: int = 0) -> Warehouse:
    taken = await session.scalar(select(Warehouse.id).where(Warehouse.code == code))
    if taken:
        raise DomainError(ErrorCode.DUPLICATE_NAME, f"Warehouse code '{code}' exists.", "code")
    warehouse = Warehouse(merchant_id=merchant_id, code=code, name=name, region=region,
                          priority=priority)
    session.add(warehouse)
    await session.flush()
    return warehouse


async def receive_stock(session: AsyncSession, sku_id: int, warehouse_id: int, quantity: int,
                        reason: str, actor_id: str | None,
                        safety_stock: int | None = None) -> StockLevel:
    """INBOUND: a purchase receipt adds `quantity` to on_hand and writes the ledger entry."""
    if quantity <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "Inbound quantity must be positive.",
                          "quantity")
    level = await session.get(StockLevel, (sku_id, warehouse_id), with_for_update=True)
    if level is None:
        level = StockLevel(sku_id=sku_id, warehouse_id=warehouse_id, on_hand=0, reserved=0,
                           safety_stock=0)
        session.add(level)
    level.on_hand += quantity
    if safety_stock is not None:
        level.safety_stock = safety_stock
    session.add(StockMovement(sku_id=sku_id, warehouse_id=warehouse_id,
                              type=MovementType.INBOUND, quantity=quantity, reason=reason,
                              actor_id=actor_id))
    await session.flush()
    return level
