"""Parcels (第二次拆单): a paid order's units split by warehouse, transport class and the
shipping template's per-parcel weight/volume limit. `plan_parcels` is pure; `plan_order`
stores the plan when the order is paid (so it never moves under the customer), and
`ship_parcel` ships one planned parcel as a shipment with its own tracking number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Product, ShippingTemplate, Sku, TransportClass
from models.orders import Order, OrderLine, Parcel, ParcelLine, Shipment
from services import inventory
from services.errors import DomainError, ErrorCode

_CLASS_RANK = {c.value: i for i, c in enumerate(TransportClass)}


@dataclass(frozen=True)
class ParcelItem:
    """Units of one order line held in one warehouse, with what one unit weighs and takes."""

    line_id: int
    warehouse_id: int
    transport_class: str
    quantity: int
    unit_weight_grams: int = 0
    unit_volume_cm3: int = 0


@dataclass
class PlannedParcel:
    warehouse_id: int
    transport_class: str
    lines: list[tuple[int, int]] = field(default_factory=list)  # (line id, units)
    weight_grams: int = 0
    volume_cm3: int = 0

    def add(self, item: ParcelItem, units: int) -> None:
        for i, (line_id, quantity) in enumerate(self.lines):
            if line_id == item.line_id:
                self.lines[i] = (line_id, quantity + units)
                break
        else:
            self.lines.append((item.line_id, units))
        self.weight_grams += units * item.unit_weight_grams
        self.volume_cm3 += units * item.unit_volume_cm3


def _room(parcel: PlannedParcel, item: ParcelItem, max_w: int | None, max_v: int | None) -> int:
    """How many units of the item still fit in the parcel (any number without a limit)."""
    fits = item.quantity
    if max_w is not None and item.unit_weight_grams > 0:
        fits = min(fits, max(0, (max_w - parcel.weight_grams) // item.unit_weight_grams))
    if max_v is not None and item.unit_volume_cm3 > 0:
        fits = min(fits, max(0, (max_v - parcel.volume_cm3) // item.unit_volume_cm3))
    return fits


def plan_parcels(
    items: Sequence[ParcelItem],
    max_weight_grams: int | None = None,
    max_volume_cm3: int | None = None,
) -> list[PlannedParcel]:
    """Group by warehouse and transport class; within a group, first-fit-decreasing by unit
    weight (then volume): each line's units go into the first parcels with room, splitting
    the line when needed. A unit over the limit on its own travels alone."""
    groups: dict[tuple[int, str], list[ParcelItem]] = defaultdict(list)
    for item in items:
        if item.quantity > 0:
            groups[(item.warehouse_id, item.transport_class)].append(item)
    planned: list[PlannedParcel] = []
    for warehouse_id, transport_class in sorted(
        groups,
        key=lambda k: (k[0], _CLASS_RANK.get(k[1], len(_CLASS_RANK)), k[1]),
    ):
        parcels: list[PlannedParcel] = []
        ordered = sorted(
            groups[(warehouse_id, transport_class)],
            key=lambda i: (-i.unit_weight_grams, -i.unit_volume_cm3, i.line_id),
        )
        for item in ordered:
            left = item.quantity
            for parcel in parcels:
                units = min(left, _room(parcel, item, max_weight_grams, max_volume_cm3))
                if units > 0:
                    parcel.add(item, units)
                    left -= units
                if not left:
                    break
            while left:
                parcel = PlannedParcel(warehouse_id, transport_class)
                # an empty parcel takes at least one unit, however heavy
                units = max(1, min(left, _room(parcel, item, max_weight_grams, max_volume_cm3)))
                parcel.add(item, units)
                parcels.append(parcel)
                left -= units
        planned.extend(parcels)
    return planned


def unit_volume_cm3(sku: Sku) -> int:
    if not (sku.length_mm and sku.width_mm and sku.height_mm):
        return 0
    return -(-(sku.length_mm * sku.width_mm * sku.height_mm) // 1000)  # rounded up


async def plan_order(session: AsyncSession, order: Order, lines: Sequence[OrderLine]) -> None:
    """Store the parcels of a just-paid order from the units its reservation holds per
    warehouse. The order's strictest template limit applies to all its parcels."""
    if await session.scalar(select(Parcel.id).where(Parcel.order_id == order.id).limit(1)):
        return  # planned already
    held: dict[int, list[list[int]]] = defaultdict(list)  # sku -> [[warehouse, units left]]
    for r in await inventory.held_lines(session, order.stock_owner):
        held[r.sku_id].append([r.warehouse_id, r.quantity - r.consumed])
    sku_ids = sorted({line.sku_id for line in lines})
    skus = {s.id: s for s in (await session.scalars(select(Sku).where(Sku.id.in_(sku_ids)))).all()}
    templates = (
        await session.scalars(
            select(ShippingTemplate)
            .join(Product, Product.shipping_template_id == ShippingTemplate.id)
            .where(Product.id.in_(sorted({line.product_id for line in lines})))
        )
    ).all()
    weights = [t.max_parcel_weight_grams for t in templates if t.max_parcel_weight_grams]
    volumes = [t.max_parcel_volume_cm3 for t in templates if t.max_parcel_volume_cm3]
    items: list[ParcelItem] = []
    for line in sorted(lines, key=lambda x: x.id):
        sku = skus[line.sku_id]
        wanted = line.quantity - line.shipped_quantity - line.released_quantity
        for slot in held.get(line.sku_id, []):
            units = min(wanted, slot[1])
            if units <= 0:
                continue
            slot[1] -= units
            wanted -= units
            items.append(
                ParcelItem(
                    line.id,
                    slot[0],
                    sku.transport_class,
                    units,
                    sku.weight_grams or 0,
                    unit_volume_cm3(sku),
                )
            )
    for number, planned in enumerate(
        plan_parcels(items, min(weights, default=None), min(volumes, default=None)), 1
    ):
        parcel = Parcel(
            order_id=order.id,
            number=number,
            warehouse_id=planned.warehouse_id,
            transport_class=planned.transport_class,
            weight_grams=planned.weight_grams,
            volume_cm3=planned.volume_cm3,
        )
        session.add(parcel)
        await session.flush()
        for line_id, quantity in planned.lines:
            session.add(ParcelLine(parcel_id=parcel.id, order_line_id=line_id, quantity=quantity))
    await session.flush()


async def ship_parcel(
    session: AsyncSession,
    order_id: int,
    number: int,
    carrier: str,
    tracking_number: str,
    now: datetime,
    *,
    actor_id: int | None,
    merchant_id: int | None,
) -> tuple[Shipment, Order]:
    """Ship one planned parcel: a shipment of exactly its units from its warehouse."""
    from services import orders  # orders imports this module

    await orders.lock_order(session, order_id, merchant_id=merchant_id)
    parcel = await session.scalar(
        select(Parcel).where(Parcel.order_id == order_id, Parcel.number == number)
    )
    if parcel is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such parcel in this order.", "parcelNumber")
    if parcel.shipment_id is not None:
        raise DomainError(
            ErrorCode.INVALID_SHIPMENT, "This parcel is shipped already.", "parcelNumber"
        )
    wanted = [
        (pl.order_line_id, pl.quantity)
        for pl in (
            await session.scalars(
                select(ParcelLine).where(ParcelLine.parcel_id == parcel.id).order_by(ParcelLine.id)
            )
        ).all()
    ]
    shipment, order = await orders.ship(
        session,
        order_id,
        parcel.warehouse_id,
        wanted,
        carrier,
        tracking_number,
        now,
        actor_id=actor_id,
        merchant_id=merchant_id,
    )
    parcel.shipment_id = shipment.id
    await session.flush()
    return shipment, order
