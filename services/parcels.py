"""Parcels (第二次拆单): a paid order's units split by warehouse, transport class and the
shipping template's per-parcel weight/volume limit. `plan_parcels` is pure; `plan_order`
stores the plan when the order is paid, `replan_order` plans what is left again when units
leave the plan another way (a free shipment, a refund), and `ship_parcel` ships one planned
parcel as a shipment with its own tracking number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Product
from models.catalog import ShippingTemplate
from models.catalog import Sku
from models.catalog import TransportClass
from models.orders import Order
from models.orders import OrderLine
from models.orders import Parcel
from models.orders import ParcelLine
from models.orders import Shipment
from services import inventory
from services.errors import DomainError
from services.errors import ErrorCode

if TYPE_CHECKING:
    from services.orders import Dispatch

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
    items, limits = await _items(session, order, lines)
    await _store(session, order, plan_parcels(items, *limits), first_number=1)


async def replan_order(session: AsyncSession, order: Order, lines: Sequence[OrderLine]) -> None:
    """After units left the plan another way (a free `orderShip`, a refund before shipping),
    plan again the groups (warehouse, transport class) whose units to ship changed. Shipped
    parcels and untouched groups stay as the customer saw them; new parcels take numbers
    after every number used so far, so a number never names two parcels."""
    parcels = (await session.scalars(select(Parcel).where(Parcel.order_id == order.id))).all()
    if not parcels:
        return  # never planned (not paid yet)
    unshipped = {p.id: p for p in parcels if p.shipment_id is None}
    planned: dict[Group, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for pl in (
        await session.scalars(select(ParcelLine).where(ParcelLine.parcel_id.in_(unshipped)))
    ).all():
        parcel = unshipped[pl.parcel_id]
        planned[(parcel.warehouse_id, parcel.transport_class)][pl.order_line_id] += pl.quantity
    items, limits = await _items(session, order, lines)
    wanted: dict[Group, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        wanted[(item.warehouse_id, item.transport_class)][item.line_id] += item.quantity
    moved = {g for g in planned.keys() | wanted.keys() if planned.get(g) != wanted.get(g)}
    if not moved:
        return
    stale = [p.id for p in unshipped.values() if (p.warehouse_id, p.transport_class) in moved]
    await session.execute(delete(ParcelLine).where(ParcelLine.parcel_id.in_(stale)))
    await session.execute(delete(Parcel).where(Parcel.id.in_(stale)))
    regrouped = [i for i in items if (i.warehouse_id, i.transport_class) in moved]
    first = max(p.number for p in parcels) + 1
    await _store(session, order, plan_parcels(regrouped, *limits), first_number=first)


Group = tuple[int, str]  # (warehouse, transport class): parcels never mix either


def _to_ship(line: OrderLine) -> int:
    return line.quantity - line.shipped_quantity - line.released_quantity


async def _items(
    session: AsyncSession, order: Order, lines: Sequence[OrderLine]
) -> tuple[list[ParcelItem], tuple[int | None, int | None]]:
    """The units still to ship, per line and warehouse holding them for the order, and the
    strictest weight and volume limits of the order's shipping templates."""
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
        wanted = _to_ship(line)
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
    return items, (min(weights, default=None), min(volumes, default=None))


async def _store(
    session: AsyncSession, order: Order, planned: Sequence[PlannedParcel], *, first_number: int
) -> None:
    rows = [
        Parcel(
            order_id=order.id,
            number=number,
            warehouse_id=p.warehouse_id,
            transport_class=p.transport_class,
            weight_grams=p.weight_grams,
            volume_cm3=p.volume_cm3,
        )
        for number, p in enumerate(planned, first_number)
    ]
    session.add_all(rows)
    await session.flush()  # one flush gives every parcel its id
    session.add_all(
        ParcelLine(parcel_id=row.id, order_line_id=line_id, quantity=quantity)
        for row, p in zip(rows, planned, strict=True)
        for line_id, quantity in p.lines
    )
    await session.flush()


async def ship_parcel(
    session: AsyncSession, order_id: int, number: int, dispatch: Dispatch
) -> tuple[Shipment, Order]:
    """Ship one planned parcel: a shipment of exactly its units from its warehouse."""
    from services import orders  # orders imports this module

    await orders.lock_order(session, order_id, merchant_id=dispatch.merchant_id)
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
        dispatch,
        as_planned=True,
    )
    parcel.shipment_id = shipment.id
    await session.flush()
    return shipment, order
