"""Inventory API: warehouses, stock levels, the ledger, manual moves and transfers
(staff with MANAGE_INVENTORY; merchant staff see their merchant only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models as m
from models.inventory import MovementType as MovementTypeEnum
from resolvers import inventory as ri
from resolvers.context import Permission
from schema.common import Connection, Node, UserError, page_args, user_errors

if TYPE_CHECKING:
    from schema.accounts import Staff
    from schema.catalog import Sku

MANAGE_INVENTORY = Permission.MANAGE_INVENTORY
MovementType = strawberry.enum(MovementTypeEnum, name="StockMovementType")
SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
StaffRef = Annotated["Staff", strawberry.lazy("schema.accounts")]


@strawberry.enum(description="Manual ledger entries; transfers and shipments have their own.")
class StockMoveType(Enum):
    INBOUND = "INBOUND"
    ADJUSTMENT = "ADJUSTMENT"
    RETURN = "RETURN"


@strawberry.type
class Warehouse(Node):
    code: str
    name: str
    region: str | None
    priority: int

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Warehouse)


@strawberry.type(description="available = onHand − reserved; low when available ≤ safetyStock.")
class StockLevel:
    on_hand: int
    reserved: int
    safety_stock: int

    @strawberry.field
    def available(self) -> int:
        return self.on_hand - self.reserved

    @strawberry.field
    async def warehouse(self, info: Info) -> Warehouse:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]


@strawberry.type
class StockMovement:
    type: MovementType  # type: ignore[valid-type]
    quantity: int
    reason: str | None
    reference: str | None
    created_at: datetime

    @strawberry.field
    async def warehouse(self, info: Info) -> Warehouse:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The staff member; null for system movements (shipments).")
    async def actor(self, info: Info) -> StaffRef | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        if actor_id is None:
            return None
        return await info.context.read(lambda s: s.get(m.Staff, actor_id))


@strawberry.input
class WarehouseInput:
    code: str
    name: str
    region: str | None = None
    priority: int | None = 0
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omitted by merchant staff: their own merchant.")


@strawberry.input
class WarehouseUpdateInput:
    code: str | None = None
    name: str | None = None
    region: str | None = None
    priority: int | None = None


@strawberry.input
class StockMoveInput:
    sku_id: strawberry.ID
    warehouse_id: strawberry.ID
    quantity: int = strawberry.field(description="Signed change of onHand.")
    type: StockMoveType
    reason: str | None = None
    safety_stock: int | None = None


@strawberry.input
class StockTransferInput:
    sku_id: strawberry.ID
    from_warehouse_id: strawberry.ID
    to_warehouse_id: strawberry.ID
    quantity: int
    reason: str | None = None


@strawberry.input
class StockLevelFilter:
    low_stock: bool | None = None
    sku_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None


@strawberry.input
class StockMovementFilter:
    sku_id: strawberry.ID | None = None
    warehouse_id: strawberry.ID | None = None
    type: MovementType | None = None  # type: ignore[valid-type]


@strawberry.type
class WarehousePayload:
    warehouse: Warehouse | None
    user_errors: list[UserError]


@strawberry.type
class StockMovePayload:
    stock_level: StockLevel | None
    user_errors: list[UserError]


@strawberry.type
class StockTransferPayload:
    from_: StockLevel | None = strawberry.field(name="from")
    to: StockLevel | None
    user_errors: list[UserError]


@strawberry.type
class InventoryQuery:
    @strawberry.field
    async def warehouses(self, info: Info) -> list[Warehouse]:
        return await ri.warehouses(info.context)  # type: ignore[return-value]

    @strawberry.field
    async def stock_levels(self, info: Info, filter: StockLevelFilter | None = None,
                           first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None
                          ) -> Connection[StockLevel]:
        return await ri.stock_levels(info.context, filter,
                                     page_args(info, first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="The ledger, newest first.")
    async def stock_movements(self, info: Info, filter: StockMovementFilter | None = None,
                              first: int | None = None, after: str | None = None,
                              last: int | None = None, before: str | None = None
                             ) -> Connection[StockMovement]:
        return await ri.stock_movements(info.context, filter,
                                        page_args(info, first, after, last, before))  # type: ignore[return-value]


@strawberry.type
class InventoryMutation:
    @strawberry.mutation
    async def warehouse_create(self, info: Info, input: WarehouseInput) -> WarehousePayload:
        r = await ri.warehouse_create(info.context, input)
        return WarehousePayload(warehouse=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def warehouse_update(self, info: Info, id: strawberry.ID,
                               input: WarehouseUpdateInput) -> WarehousePayload:
        r = await ri.warehouse_update(info.context, id, input)
        return WarehousePayload(warehouse=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="A ledger entry: onHand changes only through these.")
    async def stock_move(self, info: Info, input: StockMoveInput) -> StockMovePayload:
        r = await ri.stock_move(info.context, input)
        return StockMovePayload(stock_level=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def stock_transfer(self, info: Info, input: StockTransferInput) -> StockTransferPayload:
        r = await ri.stock_transfer(info.context, input)
        source, target = r.value if r.value else (None, None)
        return StockTransferPayload(from_=source, to=target,
                                    user_errors=user_errors(r.errors))
