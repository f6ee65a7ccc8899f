"""Inventory glue: warehouses, manual stock moves and transfers, stock and ledger queries.
Merchant staff act only on their merchant's warehouses and SKUs."""

from __future__ import annotations

from typing import Any

from models.catalog import Sku
from models.inventory import MovementType
from models.inventory import StockLevel
from models.inventory import StockMovement
from models.inventory import Warehouse
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import query_id
from resolvers.context import Context
from services import inventory
from services.errors import DomainError
from services.errors import ErrorCode


def _check_merchant(ctx: Context, merchant_id: int | None, field: str) -> None:
    if ctx.viewer.merchant_id is not None and merchant_id != ctx.viewer.merchant_id:
        raise DomainError(ErrorCode.NOT_FOUND, "Not found among your merchant's data.", field)


def new_row_merchant(ctx: Context, merchant_gid: str | None) -> int:
    """The merchant a new warehouse or supplier belongs to: the one named, else the staff
    member's own; merchant staff may name only their own."""
    merchant_id = input_id(merchant_gid, "Merchant", "merchantId") or ctx.viewer.merchant_id
    _check_merchant(ctx, merchant_id, "merchantId")
    if merchant_id is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "A merchant is required.", "merchantId")
    return merchant_id


async def owned_id(ctx: Context, session: Any, model: type[Any], global_id: str, field: str) -> int:
    """The id of the `model` row `global_id` names, once merchant staff are known to own it:
    another merchant's row is NOT_FOUND, like a missing one."""
    pk = input_id(global_id, model.node_type, field) or 0
    row = await session.get(model, pk)
    _check_merchant(ctx, row.merchant_id if row else None, field)
    return pk


async def warehouse_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await inventory.create_warehouse(
            session,
            new_row_merchant(ctx, data.merchant_id),
            data.code,
            data.name,
            data.region,
            data.priority or 0,
        )

    return await mutate(ctx, run, Change("warehouse.create", Warehouse))


async def warehouse_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await owned_id(ctx, session, Warehouse, global_id, "id")
        return await inventory.update_warehouse(
            session,
            pk,
            inventory.WarehouseData(
                code=data.code, name=data.name, region=data.region, priority=data.priority
            ),
        )

    return await mutate(ctx, run, Change("warehouse.update", Warehouse, global_id))


async def _own_sku(ctx: Context, session: Any, global_id: str) -> int:
    return await owned_id(ctx, session, Sku, global_id, "skuId")


async def stock_move(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await inventory.move_stock(
            session,
            sku_id=await _own_sku(ctx, session, data.sku_id),
            warehouse_id=input_id(data.warehouse_id, "Warehouse", "warehouseId") or 0,
            quantity=data.quantity,
            kind=MovementType(data.type.value),
            reason=data.reason,
            actor_id=ctx.viewer.staff_id,
            safety_stock=data.safety_stock,
        )

    async def levels(session: Any) -> Any:
        return await session.get(
            StockLevel,
            (
                input_id(data.sku_id, "Sku", "skuId"),
                input_id(data.warehouse_id, "Warehouse", "warehouseId"),
            ),
        )

    return await mutate(ctx, run, Change("stock.move", Sku, data.sku_id, levels))


async def stock_transfer(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await inventory.transfer_stock(
            session,
            sku_id=await _own_sku(ctx, session, data.sku_id),
            from_warehouse_id=input_id(data.from_warehouse_id, "Warehouse", "fromWarehouseId") or 0,
            to_warehouse_id=input_id(data.to_warehouse_id, "Warehouse", "toWarehouseId") or 0,
            quantity=data.quantity,
            reason=data.reason,
            actor_id=ctx.viewer.staff_id,
        )

    async def levels(session: Any) -> Any:
        sku_id = input_id(data.sku_id, "Sku", "skuId")
        return tuple(
            [
                await session.get(StockLevel, (sku_id, input_id(w, "Warehouse", f)))
                for w, f in (
                    (data.from_warehouse_id, "fromWarehouseId"),
                    (data.to_warehouse_id, "toWarehouseId"),
                )
            ]
        )

    return await mutate(ctx, run, Change("stock.transfer", Sku, data.sku_id, levels))


async def warehouses(ctx: Context) -> list[Warehouse]:
    stmt = inventory.warehouses_of(ctx.viewer.merchant_id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


def _stock_filter(filter_: Any) -> inventory.StockFilter:
    if filter_ is None:
        return inventory.StockFilter()
    movement_type = getattr(filter_, "type", None)
    return inventory.StockFilter(
        sku_id=query_id(filter_.sku_id, "Sku")[1] if filter_.sku_id else None,
        warehouse_id=(
            query_id(filter_.warehouse_id, "Warehouse")[1] if filter_.warehouse_id else None
        ),
        low_stock=bool(getattr(filter_, "low_stock", False)),
        movement_type=MovementType(movement_type.value) if movement_type else None,
    )


async def stock_levels(ctx: Context, filter_: Any, args: PageArgs) -> Page[StockLevel]:
    stmt = inventory.stock_levels_seen_by(ctx.viewer.merchant_id, _stock_filter(filter_))
    return await counted_page(ctx, stmt, inventory.LOW_STOCK_FIRST, args)


async def stock_movements(ctx: Context, filter_: Any, args: PageArgs) -> Page[StockMovement]:
    stmt = inventory.stock_movements_seen_by(ctx.viewer.merchant_id, _stock_filter(filter_))
    return await counted_page(ctx, stmt, [StockMovement.id.desc()], args)
