"""Purchasing and stocktake glue: suppliers, purchase orders and receipts, stocktakes.
Merchant staff act only on their merchant's (the policy checks every id named; the lists are
narrowed here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models.catalog import Sku
from models.inventory import Warehouse
from models.purchasing import PurchaseOrder
from models.purchasing import PurchaseOrderLine
from models.purchasing import PurchaseOrderStatus
from models.purchasing import PurchaseReceipt
from models.purchasing import Stocktake
from models.purchasing import StocktakeLine
from models.purchasing import StocktakeStatus
from models.purchasing import Supplier
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.inventory import _check_merchant
from resolvers.inventory import new_row_merchant
from resolvers.inventory import owned_id
from services import purchasing
from services import stocktake

__all__ = [
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "PurchaseReceipt",
    "Stocktake",
    "StocktakeLine",
    "StocktakeStatus",
    "Supplier",
]


# --- suppliers -----------------------------------------------------------------------------------


async def supplier_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        merchant_id = new_row_merchant(ctx, data.merchant_id)
        return await purchasing.create_supplier(session, merchant_id, data.name, data.contact)

    return await mutate(ctx, run, Change("supplier.create", Supplier))


async def supplier_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await owned_id(ctx, session, Supplier, global_id, "id")
        return await purchasing.update_supplier(session, pk, data.name, data.contact)

    return await mutate(ctx, run, Change("supplier.update", Supplier, global_id))


async def suppliers(ctx: Context) -> list[Supplier]:
    stmt = select(Supplier).order_by(Supplier.merchant_id, Supplier.name, Supplier.id)
    if ctx.viewer.merchant_id is not None:
        stmt = stmt.where(Supplier.merchant_id == ctx.viewer.merchant_id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


# --- purchase orders -----------------------------------------------------------------------------


def _order_data(data: Any) -> purchasing.OrderData:
    lines = None
    if data.lines is not None:
        lines = [
            purchasing.LineData(
                input_id(line.sku_id, "Sku", f"lines.{i}.skuId") or 0,
                line.quantity,
                line.unit_cost,
            )
            for i, line in enumerate(data.lines)
        ]
    return purchasing.OrderData(
        supplier_id=input_id(data.supplier_id, "Supplier", "supplierId"),
        warehouse_id=input_id(data.warehouse_id, "Warehouse", "warehouseId"),
        note=data.note,
        lines=lines,
    )


async def _own_order(ctx: Context, session: Any, global_id: str) -> int:
    return await owned_id(ctx, session, PurchaseOrder, global_id, "id")


async def _own_warehouse(ctx: Context, session: Any, global_id: str | None) -> None:
    pk = input_id(global_id, "Warehouse", "warehouseId")
    if pk is not None:
        warehouse = await session.get(Warehouse, pk)
        _check_merchant(ctx, warehouse.merchant_id if warehouse else None, "warehouseId")


async def purchase_order_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        await _own_warehouse(ctx, session, data.warehouse_id)
        return await purchasing.create_order(session, _order_data(data), ctx.viewer.staff_id)

    return await mutate(ctx, run, Change("purchaseOrder.create", PurchaseOrder))


async def purchase_order_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await _own_order(ctx, session, global_id)
        await _own_warehouse(ctx, session, data.warehouse_id)
        return await purchasing.update_order(session, pk, _order_data(data))

    return await mutate(ctx, run, Change("purchaseOrder.update", PurchaseOrder, global_id))


async def purchase_order_submit(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await _own_order(ctx, session, global_id)
        return await purchasing.submit_order(session, pk, ctx.now)

    return await mutate(ctx, run, Change("purchaseOrder.submit", PurchaseOrder, global_id))


async def purchase_order_receive(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await _own_order(ctx, session, global_id)
        receipt = purchasing.ReceiptData(
            lines=[
                (input_id(line.sku_id, "Sku", f"lines.{i}.skuId") or 0, line.quantity)
                for i, line in enumerate(data.lines)
            ],
            client_key=data.client_key,
        )
        return await purchasing.receive(session, pk, receipt, ctx.viewer.staff_id)

    return await mutate(ctx, run, Change("purchaseOrder.receive", PurchaseOrder, global_id))


async def purchase_order_close(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await _own_order(ctx, session, global_id)
        return await purchasing.close_order(session, pk, ctx.now)

    return await mutate(ctx, run, Change("purchaseOrder.close", PurchaseOrder, global_id))


async def purchase_orders(ctx: Context, filter_: Any, args: PageArgs) -> Page[PurchaseOrder]:
    stmt = select(PurchaseOrder)
    if ctx.viewer.merchant_id is not None:
        stmt = stmt.where(PurchaseOrder.merchant_id == ctx.viewer.merchant_id)
    if filter_ is not None:
        if filter_.status:
            stmt = stmt.where(PurchaseOrder.status == PurchaseOrderStatus(filter_.status.value))
        if filter_.warehouse_id:
            stmt = stmt.where(
                PurchaseOrder.warehouse_id == query_id(filter_.warehouse_id, "Warehouse")[1]
            )
        if filter_.supplier_id:
            stmt = stmt.where(
                PurchaseOrder.supplier_id == query_id(filter_.supplier_id, "Supplier")[1]
            )
    return await counted_page(ctx, stmt, [PurchaseOrder.id.desc()], args)


async def purchase_order_lines(ctx: Context, order_id: int) -> list[PurchaseOrderLine]:
    return list(await ctx.read(lambda s: purchasing.lines_of(s, order_id)))


# --- stocktakes ----------------------------------------------------------------------------------


async def _own_stocktake(ctx: Context, session: Any, global_id: str) -> int:
    return await owned_id(ctx, session, Stocktake, global_id, "id")


async def stocktake_start(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        await _own_warehouse(ctx, session, data.warehouse_id)
        warehouse_id = input_id(data.warehouse_id, "Warehouse", "warehouseId") or 0
        return await stocktake.start(session, warehouse_id, data.reason, ctx.viewer.staff_id)

    return await mutate(ctx, run, Change("stocktake.start", Stocktake))


async def stocktake_count(ctx: Context, global_id: str, counts: list[Any]) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        pk = await _own_stocktake(ctx, session, global_id)
        entered = []
        for i, c in enumerate(counts):
            sku_id = input_id(c.sku_id, "Sku", f"counts.{i}.skuId") or 0
            sku = await session.get(Sku, sku_id)
            if sku is not None:
                _check_merchant(ctx, sku.merchant_id, f"counts.{i}.skuId")
            entered.append((sku_id, c.quantity))
        return await stocktake.count(session, pk, entered, ctx.viewer.staff_id)

    return await mutate(ctx, run, Change("stocktake.count", Stocktake, global_id))


def _step(action: str, step: Any) -> Any:
    async def resolve(ctx: Context, global_id: str) -> MutationResult[Any]:
        async def run(session: Any) -> Any:
            pk = await _own_stocktake(ctx, session, global_id)
            return await step(ctx, session, pk)

        return await mutate(ctx, run, Change(action, Stocktake, global_id))

    return resolve


stocktake_submit = _step(
    "stocktake.submit",
    lambda ctx, s, pk: stocktake.submit(s, pk, ctx.viewer.staff_id, ctx.now),
)
stocktake_approve = _step(
    "stocktake.approve",
    lambda ctx, s, pk: stocktake.approve(s, pk, ctx.viewer.staff_id, ctx.now),
)
stocktake_cancel = _step("stocktake.cancel", lambda ctx, s, pk: stocktake.cancel(s, pk, ctx.now))


async def stocktakes(ctx: Context, filter_: Any, args: PageArgs) -> Page[Stocktake]:
    stmt = select(Stocktake)
    if ctx.viewer.merchant_id is not None:
        stmt = stmt.where(Stocktake.merchant_id == ctx.viewer.merchant_id)
    if filter_ is not None:
        if filter_.status:
            stmt = stmt.where(Stocktake.status == StocktakeStatus(filter_.status.value))
        if filter_.warehouse_id:
            stmt = stmt.where(
                Stocktake.warehouse_id == query_id(filter_.warehouse_id, "Warehouse")[1]
            )
    return await counted_page(ctx, stmt, [Stocktake.id.desc()], args)


async def stocktake_lines(ctx: Context, stocktake_id: int) -> list[StocktakeLine]:
    return list(await ctx.read(lambda s: stocktake.lines_of(s, stocktake_id)))


# --- Relay nodes: staff with MANAGE_INVENTORY of the merchant (resolvers/nodes.py) -------------


def load_by_id(model: Any) -> Any:
    async def load(ctx: Context, pk: int) -> Any:
        return await ctx.read(lambda s: s.get(model, pk))

    return load
