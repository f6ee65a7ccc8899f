"""Purchasing and stocktake API (采购、盘点): suppliers, purchase orders and their receipts
(INBOUND ledger movements), stocktakes whose differences post as ADJUSTMENT movements once a
second staff member approves. Staff with MANAGE_INVENTORY; merchant staff their merchant's only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import purchasing as rp
from resolvers import records as m
from resolvers.common import PageArgs
from schema.common import Connection
from schema.common import Money
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import describe_values
from schema.common import money
from schema.inventory import Warehouse
from schema.payloads import payload

if TYPE_CHECKING:
    from schema.accounts import Staff
    from schema.catalog import Sku

SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
StaffRef = Annotated["Staff", strawberry.lazy("schema.accounts")]

PurchaseOrderStatus = strawberry.enum(
    rp.PurchaseOrderStatus, description="Where a purchase order stands."
)
describe_values(
    PurchaseOrderStatus,
    {
        "DRAFT": "Being prepared; the only editable status.",
        "SUBMITTED": "Sent to the supplier; nothing received yet.",
        "PARTIALLY_RECEIVED": "Some units received, some outstanding.",
        "RECEIVED": "Every ordered unit received.",
        "CLOSED": "Closed before it was fully received; the outstanding units are cancelled.",
    },
)
StocktakeStatus = strawberry.enum(rp.StocktakeStatus, description="Where a stocktake stands.")
describe_values(
    StocktakeStatus,
    {
        "COUNTING": "The snapshot is frozen; counts are being entered.",
        "SUBMITTED": "Counting finished; waiting for a second staff member's approval.",
        "APPROVED": "The differences were posted as ADJUSTMENT movements.",
        "CANCELLED": "Dropped before approval; nothing was posted.",
    },
)


async def _staff(info: Info, staff_id: int | None) -> Any:
    if staff_id is None:
        return None
    return await info.context.read(lambda s: s.get(m.Staff, staff_id))


@strawberry.type(description="A supplier a merchant buys from.")
class Supplier(Node):
    name: str = strawberry.field(description="Name, unique within the merchant.")
    contact: str | None = strawberry.field(description="Contact person, phone or address.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rp.Supplier)


@strawberry.type(description="One SKU of a purchase order.")
class PurchaseOrderLine:
    quantity_ordered: int = strawberry.field(description="Units ordered.")
    quantity_received: int = strawberry.field(
        description="Units received so far (never more than ordered)."
    )

    @strawberry.field(
        description="Ordered − received: still expected, or cancelled once the order is CLOSED."
    )
    def quantity_outstanding(self) -> int:
        return self.quantity_ordered - self.quantity_received

    @strawberry.field(description="Cost per unit.")
    def unit_cost(self) -> Money:
        return money(self.unit_cost)

    @strawberry.field(description="The SKU.")
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]


@strawberry.type(description="An order to a supplier for stock delivered into one warehouse.")
class PurchaseOrder(Node):
    status: PurchaseOrderStatus = strawberry.field(  # type: ignore[valid-type]
        description="Derived from the receipts once submitted."
    )
    note: str | None = strawberry.field(description="Free text for the team.")
    created_at: datetime = strawberry.field(description="When it was created (ISO-8601, UTC).")
    submitted_at: datetime | None = strawberry.field(description="When it was submitted.")
    closed_at: datetime | None = strawberry.field(description="When it was closed.")

    @strawberry.field(description="The supplier.")
    async def supplier(self, info: Info) -> Supplier:
        supplier_id = self.supplier_id  # type: ignore[attr-defined]
        return await info.context.read(lambda s: s.get(rp.Supplier, supplier_id))

    @strawberry.field(description="The warehouse receipts go into.")
    async def warehouse(self, info: Info) -> Warehouse:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The lines, in the order given.")
    async def lines(self, info: Info) -> list[PurchaseOrderLine]:
        return await rp.purchase_order_lines(info.context, self.id)  # type: ignore[attr-defined, return-value]

    @strawberry.field(description="Σ ordered × unit cost.")
    async def total_cost(self, info: Info) -> Money:
        lines = await rp.purchase_order_lines(info.context, self.id)  # type: ignore[attr-defined]
        return money(sum(ln.quantity_ordered * ln.unit_cost for ln in lines))

    @strawberry.field(description="The staff member who created it.")
    async def created_by(self, info: Info) -> StaffRef | None:
        return await _staff(info, self.created_by)

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rp.PurchaseOrder)


@strawberry.type(description="One SKU of a stocktake: the frozen on hand and the count.")
class StocktakeLine:
    snapshot_on_hand: int = strawberry.field(description="On hand when the stocktake started.")
    counted: int | None = strawberry.field(
        description="Units counted; null while uncounted (uncounted lines are not adjusted)."
    )
    adjustment: int | None = strawberry.field(
        description="The ADJUSTMENT posted at approval (counted − snapshotOnHand); null before."
    )

    @strawberry.field(description="counted − snapshotOnHand; null while uncounted.")
    def difference(self) -> int | None:
        if self.counted is None:
            return None
        return self.counted - self.snapshot_on_hand

    @strawberry.field(description="The SKU.")
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Who entered the count.")
    async def counted_by(self, info: Info) -> StaffRef | None:
        return await _staff(info, self.counted_by)


@strawberry.type(description="A count of one warehouse against a frozen snapshot of its stock.")
class Stocktake(Node):
    status: StocktakeStatus = strawberry.field(  # type: ignore[valid-type]
        description="COUNTING → SUBMITTED → APPROVED, or CANCELLED."
    )
    reason: str = strawberry.field(description="Why it is taken; the adjustments carry it.")
    created_at: datetime = strawberry.field(description="When the snapshot was frozen.")
    submitted_at: datetime | None = strawberry.field(description="When counting finished.")
    decided_at: datetime | None = strawberry.field(description="When approved or cancelled.")

    @strawberry.field(description="The warehouse counted.")
    async def warehouse(self, info: Info) -> Warehouse:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field(description="One line per SKU stocked in the warehouse at the start.")
    async def lines(self, info: Info) -> list[StocktakeLine]:
        return await rp.stocktake_lines(info.context, self.id)  # type: ignore[attr-defined, return-value]

    @strawberry.field(description="Who started it.")
    async def created_by(self, info: Info) -> StaffRef | None:
        return await _staff(info, self.created_by)

    @strawberry.field(description="Who submitted it.")
    async def submitted_by(self, info: Info) -> StaffRef | None:
        return await _staff(info, self.submitted_by)

    @strawberry.field(description="Who approved it (never who started or counted).")
    async def approved_by(self, info: Info) -> StaffRef | None:
        return await _staff(info, self.approved_by)

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rp.Stocktake)


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="A new supplier.")
class SupplierInput:
    name: str = strawberry.field(description="Name, unique within the merchant.")
    contact: str | None = strawberry.field(default=None, description="Contact details.")
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omitted by merchant staff: their own merchant."
    )


@strawberry.input(description="A supplier's new values; omitted fields keep their value.")
class SupplierUpdateInput:
    name: str | None = strawberry.field(default=None, description="Name.")
    contact: str | None = strawberry.field(default=None, description="Contact details.")


@strawberry.input(description="One SKU to order.")
class PurchaseOrderLineInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    quantity: int = strawberry.field(description="Units ordered (> 0).")
    unit_cost: Decimal = strawberry.field(description='Cost per unit in yuan, e.g. "12.50".')


@strawberry.input(description="A new purchase order (a DRAFT).")
class PurchaseOrderInput:
    supplier_id: strawberry.ID = strawberry.field(description="Relay global id of the supplier.")
    warehouse_id: strawberry.ID = strawberry.field(
        description="Relay global id of the receiving warehouse (its merchant owns the order)."
    )
    note: str | None = strawberry.field(default=None, description="Free text for the team.")
    lines: list[PurchaseOrderLineInput] = strawberry.field(
        description="One line per SKU; may be empty in a draft."
    )


@strawberry.input(description="A draft's new values; omitted fields keep their value.")
class PurchaseOrderUpdateInput:
    supplier_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the supplier."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a warehouse of the same merchant."
    )
    note: str | None = strawberry.field(default=None, description="Free text for the team.")
    lines: list[PurchaseOrderLineInput] | None = strawberry.field(
        default=None, description="Replace every line with these."
    )


@strawberry.input(description="Units of one SKU delivered.")
class PurchaseReceiptLineInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of an ordered SKU.")
    quantity: int = strawberry.field(description="Units received now (> 0).")


@strawberry.input(description="A delivery booked against a purchase order.")
class PurchaseReceiptInput:
    lines: list[PurchaseReceiptLineInput] = strawberry.field(description="What arrived.")
    client_key: str | None = strawberry.field(
        default=None,
        description="Makes a retry safe: the same key with the same lines is booked once.",
    )


@strawberry.input(description="Narrows purchaseOrders.")
class PurchaseOrderFilter:
    status: PurchaseOrderStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only orders in this status."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a warehouse."
    )
    supplier_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a supplier."
    )


@strawberry.input(description="A new stocktake of one warehouse.")
class StocktakeInput:
    warehouse_id: strawberry.ID = strawberry.field(description="Relay global id of the warehouse.")
    reason: str = strawberry.field(
        description='Why (e.g. "月末盘点"); every ADJUSTMENT it posts carries it.'
    )


@strawberry.input(description="Units of one SKU found on the shelf.")
class StocktakeCountInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    quantity: int = strawberry.field(description="Units counted (≥ 0).")


@strawberry.input(description="Narrows stocktakes.")
class StocktakeFilter:
    status: StocktakeStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only stocktakes in this status."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a warehouse."
    )


# --- payloads ------------------------------------------------------------------------------------

ERRORS = "Business-rule failures; empty when the mutation succeeded."


@strawberry.type(description="Result of a supplier mutation.")
class SupplierPayload:
    supplier: Supplier | None = strawberry.field(description="The supplier; null when refused.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="Result of a purchase order mutation.")
class PurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = strawberry.field(
        description="The purchase order after the change; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="Result of a stocktake mutation.")
class StocktakePayload:
    stocktake: Stocktake | None = strawberry.field(
        description="The stocktake after the change; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


Id = Annotated[strawberry.ID, strawberry.argument(description="Relay global id.")]


@strawberry.type
class PurchasingQuery:
    @strawberry.field(description="Suppliers; merchant staff see their merchant's only.")
    async def suppliers(self, info: Info) -> list[Supplier]:
        return await rp.suppliers(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="Purchase orders, newest first; merchant staff see theirs only.",
        extensions=[RelayWindow(50)],
    )
    async def purchase_orders(
        self,
        info: Info,
        filter: Annotated[
            PurchaseOrderFilter | None,
            strawberry.argument(description="Narrow the result, e.g. by status."),
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[PurchaseOrder]:
        return await rp.purchase_orders(info.context, filter, page)  # type: ignore[return-value]

    @strawberry.field(
        description="Stocktakes, newest first; merchant staff see theirs only.",
        extensions=[RelayWindow(50)],
    )
    async def stocktakes(
        self,
        info: Info,
        filter: Annotated[
            StocktakeFilter | None,
            strawberry.argument(description="Narrow the result, e.g. to one warehouse."),
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[Stocktake]:
        return await rp.stocktakes(info.context, filter, page)  # type: ignore[return-value]


@strawberry.type
class PurchasingMutation:
    @strawberry.mutation(description="Add a supplier of a merchant.")
    async def supplier_create(
        self,
        info: Info,
        input: Annotated[SupplierInput, strawberry.argument(description="The new supplier.")],
    ) -> SupplierPayload:
        return payload(SupplierPayload, supplier=await rp.supplier_create(info.context, input))

    @strawberry.mutation(description="Change a supplier.")
    async def supplier_update(
        self,
        info: Info,
        id: Id,
        input: Annotated[
            SupplierUpdateInput, strawberry.argument(description="The supplier's new values.")
        ],
    ) -> SupplierPayload:
        return payload(SupplierPayload, supplier=await rp.supplier_update(info.context, id, input))

    @strawberry.mutation(description="Create a DRAFT purchase order.")
    async def purchase_order_create(
        self,
        info: Info,
        input: Annotated[PurchaseOrderInput, strawberry.argument(description="The new order.")],
    ) -> PurchaseOrderPayload:
        r = await rp.purchase_order_create(info.context, input)
        return payload(PurchaseOrderPayload, purchase_order=r)

    @strawberry.mutation(description="Change a DRAFT purchase order (others are not editable).")
    async def purchase_order_update(
        self,
        info: Info,
        id: Id,
        input: Annotated[
            PurchaseOrderUpdateInput, strawberry.argument(description="The draft's new values.")
        ],
    ) -> PurchaseOrderPayload:
        r = await rp.purchase_order_update(info.context, id, input)
        return payload(PurchaseOrderPayload, purchase_order=r)

    @strawberry.mutation(description="Submit a DRAFT (with lines) to the supplier.")
    async def purchase_order_submit(self, info: Info, id: Id) -> PurchaseOrderPayload:
        r = await rp.purchase_order_submit(info.context, id)
        return payload(PurchaseOrderPayload, purchase_order=r)

    @strawberry.mutation(
        description="Book a delivery: INBOUND ledger movements into the order's warehouse; "
        "a line's receipts never exceed what was ordered (OVER_RECEIPT)."
    )
    async def purchase_order_receive(
        self,
        info: Info,
        id: Id,
        input: Annotated[PurchaseReceiptInput, strawberry.argument(description="What arrived.")],
    ) -> PurchaseOrderPayload:
        r = await rp.purchase_order_receive(info.context, id, input)
        return payload(PurchaseOrderPayload, purchase_order=r)

    @strawberry.mutation(
        description="Close a SUBMITTED or PARTIALLY_RECEIVED order; what is outstanding is "
        "cancelled."
    )
    async def purchase_order_close(self, info: Info, id: Id) -> PurchaseOrderPayload:
        r = await rp.purchase_order_close(info.context, id)
        return payload(PurchaseOrderPayload, purchase_order=r)

    @strawberry.mutation(description="Start a stocktake: freeze the warehouse's on hand per SKU.")
    async def stocktake_start(
        self,
        info: Info,
        input: Annotated[StocktakeInput, strawberry.argument(description="Warehouse and reason.")],
    ) -> StocktakePayload:
        return payload(StocktakePayload, stocktake=await rp.stocktake_start(info.context, input))

    @strawberry.mutation(description="Enter or correct counts of a COUNTING stocktake.")
    async def stocktake_count(
        self,
        info: Info,
        id: Id,
        counts: Annotated[
            list[StocktakeCountInput], strawberry.argument(description="Units found per SKU.")
        ],
    ) -> StocktakePayload:
        r = await rp.stocktake_count(info.context, id, counts)
        return payload(StocktakePayload, stocktake=r)

    @strawberry.mutation(description="Finish counting; the stocktake waits for approval.")
    async def stocktake_submit(self, info: Info, id: Id) -> StocktakePayload:
        return payload(StocktakePayload, stocktake=await rp.stocktake_submit(info.context, id))

    @strawberry.mutation(
        description="Approve a SUBMITTED stocktake (someone who neither started nor counted "
        "it): each difference to the snapshot posts as an ADJUSTMENT on current stock."
    )
    async def stocktake_approve(self, info: Info, id: Id) -> StocktakePayload:
        return payload(StocktakePayload, stocktake=await rp.stocktake_approve(info.context, id))

    @strawberry.mutation(description="Drop a stocktake before approval; nothing is posted.")
    async def stocktake_cancel(self, info: Info, id: Id) -> StocktakePayload:
        return payload(StocktakePayload, stocktake=await rp.stocktake_cancel(info.context, id))
