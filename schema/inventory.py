"""Inventory API: warehouses, stock levels, the ledger, manual moves and transfers
(staff with MANAGE_INVENTORY; merchant staff see their merchant only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import inventory as ri
from resolvers import records as m
from resolvers.common import PageArgs
from resolvers.context import Permission
from resolvers.inventory import MovementType as MovementTypeEnum
from schema.common import Connection
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import describe_values
from schema.common import user_errors
from schema.common import user_errors_field
from schema.payloads import payload

if TYPE_CHECKING:
    from schema.accounts import Staff
    from schema.catalog import Sku

MANAGE_INVENTORY = Permission.MANAGE_INVENTORY
MovementType = MovementTypeEnum
strawberry.enum(MovementType, name="StockMovementType", description="What moved stock.")
describe_values(
    MovementType,
    {
        "INBOUND": "A purchase receipt.",
        "TRANSFER_OUT": "Units leaving this warehouse in a transfer.",
        "TRANSFER_IN": "Units arriving in this warehouse from a transfer.",
        "SHIPMENT": "Units shipped to a customer.",
        "RETURN": "Units returned to stock.",
        "ADJUSTMENT": "A stock-take correction.",
    },
)
SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
StaffRef = Annotated["Staff", strawberry.lazy("schema.accounts")]


@strawberry.enum(description="Manual ledger entries; transfers and shipments have their own.")
class StockMoveType(Enum):
    INBOUND = strawberry.enum_value("INBOUND", description="A purchase receipt.")
    ADJUSTMENT = strawberry.enum_value("ADJUSTMENT", description="A stock-take correction.")
    RETURN = strawberry.enum_value("RETURN", description="Units returned to stock.")


@strawberry.type(description="A warehouse of a merchant.")
class Warehouse(Node):
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")
    region: str | None = strawberry.field(description="Region it serves.")
    priority: int = strawberry.field(
        description="Allocation priority among the merchant's warehouses."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Warehouse)


def _available(root: StockLevel) -> int:
    return root.on_hand - root.reserved


async def _warehouse(root: Any, info: Info) -> Warehouse:
    """The warehouse of a stock level or movement."""
    return await info.context.loaders.warehouse.load(root.warehouse_id)


async def _sku(root: Any, info: Info) -> SkuRef:
    """The SKU of a stock level or movement."""
    return await info.context.loaders.sku.load(root.sku_id)


@strawberry.type(description="available = onHand − reserved; low when available ≤ safetyStock.")
class StockLevel:
    on_hand: int = strawberry.field(description="Units in the warehouse (the ledger's sum).")
    reserved: int = strawberry.field(description="Units held by active and committed reservations.")
    safety_stock: int = strawberry.field(description="Units kept back from storefronts.")

    # Fields with a resolver are declared like the others, so that they keep their order.
    available: int = strawberry.field(resolver=_available, description="onHand − reserved.")
    warehouse: Warehouse = strawberry.field(resolver=_warehouse, description="The warehouse.")
    sku: SkuRef = strawberry.field(resolver=_sku, description="The SKU.")


@strawberry.type(description="A stock ledger entry.")
class StockMovement:
    type: MovementType = strawberry.field(description="What moved the stock.")
    quantity: int = strawberry.field(description="Signed change of onHand.")
    reason: str | None = strawberry.field(description="Why.")
    reference: str | None = strawberry.field(description="What it refers to, if anything.")
    created_at: datetime = strawberry.field(description="When (ISO-8601, UTC).")

    warehouse: Warehouse = strawberry.field(resolver=_warehouse, description="The warehouse.")
    sku: SkuRef = strawberry.field(resolver=_sku, description="The SKU.")

    @strawberry.field(description="The staff member; null for system movements (shipments).")
    async def actor(self, info: Info) -> StaffRef | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        if actor_id is None:
            return None
        return await info.context.read(lambda s: s.get(m.Staff, actor_id))


@strawberry.input(description="A new warehouse.")
class WarehouseInput:
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")
    region: str | None = strawberry.field(default=None, description="Region it serves.")
    priority: int | None = strawberry.field(
        default=0, description="Allocation priority among the merchant's warehouses."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omitted by merchant staff: their own merchant."
    )


@strawberry.input(description="A warehouse's new values; omitted fields keep their value.")
class WarehouseUpdateInput:
    code: str | None = strawberry.field(default=None, description="Unique code.")
    name: str | None = strawberry.field(default=None, description="Display name.")
    region: str | None = strawberry.field(default=None, description="Region it serves.")
    priority: int | None = strawberry.field(
        default=None, description="Allocation priority among the merchant's warehouses."
    )


@strawberry.input(description="A manual stock ledger entry.")
class StockMoveInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    warehouse_id: strawberry.ID = strawberry.field(description="Relay global id of the warehouse.")
    quantity: int = strawberry.field(description="Signed change of onHand.")
    type: StockMoveType = strawberry.field(description="INBOUND, ADJUSTMENT or RETURN.")
    reason: str | None = strawberry.field(default=None, description="Why, for the ledger.")
    safety_stock: int | None = strawberry.field(
        default=None, description="A new safety stock, if given."
    )


@strawberry.input(description="A transfer between warehouses.")
class StockTransferInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    from_warehouse_id: strawberry.ID = strawberry.field(
        description="Relay global id of the warehouse sending."
    )
    to_warehouse_id: strawberry.ID = strawberry.field(
        description="Relay global id of the warehouse receiving."
    )
    quantity: int = strawberry.field(description="Units to move.")
    reason: str | None = strawberry.field(default=None, description="Why, for the ledger.")


@strawberry.input(description="Narrows stockLevels.")
class StockLevelFilter:
    low_stock: bool | None = strawberry.field(
        default=None, description="Only levels with available ≤ safetyStock."
    )
    sku_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a SKU."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a warehouse."
    )


@strawberry.input(description="Narrows stockMovements.")
class StockMovementFilter:
    sku_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a SKU."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a warehouse."
    )
    type: MovementType | None = strawberry.field(
        default=None, description="Only entries of this type."
    )


@strawberry.type(description="Result of a warehouse mutation.")
class WarehousePayload:
    warehouse: Warehouse | None = strawberry.field(
        description="The warehouse as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of stockMove.")
class StockMovePayload:
    stock_level: StockLevel | None = strawberry.field(
        description="The stock level after the move; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of stockTransfer.")
class StockTransferPayload:
    from_: StockLevel | None = strawberry.field(
        name="from", description="The sending stock level after the transfer."
    )
    to: StockLevel | None = strawberry.field(
        description="The receiving stock level after the transfer."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type
class InventoryQuery:
    @strawberry.field(description="Warehouses; merchant staff see their merchant's only.")
    async def warehouses(self, info: Info) -> list[Warehouse]:
        return await ri.warehouses(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="Stock levels per SKU and warehouse; merchant staff see their merchant's only.",
        extensions=[RelayWindow(50)],
    )
    async def stock_levels(
        self,
        info: Info,
        filter: Annotated[
            StockLevelFilter | None,
            strawberry.argument(description="Narrow the result, e.g. `lowStock: true`."),
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[StockLevel]:
        return await ri.stock_levels(info.context, filter, page)  # type: ignore[return-value]

    @strawberry.field(description="The ledger, newest first.", extensions=[RelayWindow(50)])
    async def stock_movements(
        self,
        info: Info,
        filter: Annotated[
            StockMovementFilter | None,
            strawberry.argument(description="Narrow the result, e.g. to one SKU."),
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[StockMovement]:
        return await ri.stock_movements(info.context, filter, page)  # type: ignore[return-value]


@strawberry.type
class InventoryMutation:
    @strawberry.mutation(
        description="Create a warehouse (staff with MANAGE_INVENTORY; merchant "
        "staff for their merchant only)."
    )
    async def warehouse_create(
        self,
        info: Info,
        input: Annotated[WarehouseInput, strawberry.argument(description="The new warehouse.")],
    ) -> WarehousePayload:
        return payload(WarehousePayload, warehouse=await ri.warehouse_create(info.context, input))

    @strawberry.mutation(
        description="Change a warehouse (staff with MANAGE_INVENTORY; merchant "
        "staff their merchant's only)."
    )
    async def warehouse_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the warehouse.")
        ],
        input: Annotated[
            WarehouseUpdateInput, strawberry.argument(description="The warehouse's new values.")
        ],
    ) -> WarehousePayload:
        r = await ri.warehouse_update(info.context, id, input)
        return payload(WarehousePayload, warehouse=r)

    @strawberry.mutation(description="A ledger entry: onHand changes only through these.")
    async def stock_move(
        self,
        info: Info,
        input: Annotated[
            StockMoveInput,
            strawberry.argument(description="SKU, warehouse, signed quantity, type and reason."),
        ],
    ) -> StockMovePayload:
        return payload(StockMovePayload, stock_level=await ri.stock_move(info.context, input))

    @strawberry.mutation(
        description="Move stock between two warehouses as a "
        "TRANSFER_OUT/TRANSFER_IN pair of ledger entries."
    )
    async def stock_transfer(
        self,
        info: Info,
        input: Annotated[
            StockTransferInput,
            strawberry.argument(description="SKU, both warehouses, quantity and reason."),
        ],
    ) -> StockTransferPayload:
        r = await ri.stock_transfer(info.context, input)
        source, target = r.value if r.value else (None, None)
        return StockTransferPayload(from_=source, to=target, user_errors=user_errors(r.errors))
