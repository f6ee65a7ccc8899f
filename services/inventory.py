"""Inventory rules (DOMAIN.md §2): warehouses, the stock ledger, and reservations that never
oversell.

Correctness lives in the database. Every change of a stock level is one conditional UPDATE
(`… SET reserved = reserved + q WHERE on_hand - reserved - safety_stock >= q`): under any
concurrency, in any number of processes, a reservation either fits the stock as committed at
that instant or changes nothing, and the CHECK `reserved <= on_hand` backs it up. Rows are
always touched in (sku, warehouse) order, so two transactions never wait on each other in a
cycle; the sweeper claims expired reservations with SKIP LOCKED where the database has it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import lru_cache
from typing import Any
from typing import cast

from sqlalchemy import BigInteger
from sqlalchemy import Integer
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics
from core.sql import any_of
from models.catalog import Merchant
from models.catalog import Sku
from models.inventory import MovementType
from models.inventory import Reservation
from models.inventory import ReservationLine
from models.inventory import ReservationStatus
from models.inventory import StockLevel
from models.inventory import StockMovement
from models.inventory import Warehouse
from services import events
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations
from services.messages import message
from services.unit_of_work import BACKGROUND
from services.unit_of_work import UnitOfWork

DEFAULT_TTL = timedelta(minutes=30)
MANUAL_TYPES = (MovementType.INBOUND, MovementType.ADJUSTMENT, MovementType.RETURN)
MAX_ON_HAND = 2**31 - 1  # stock_levels.on_hand is an INTEGER column


# --- warehouses ----------------------------------------------------------------------------------


@dataclass
class WarehouseData:
    merchant_id: int | None = None
    code: str | None = None
    name: str | None = None
    region: str | None = None
    priority: int | None = None


async def create_warehouse(
    session: AsyncSession,
    merchant_id: int,
    code: str,
    name: str,
    region: str | None = None,
    priority: int = 0,
) -> Warehouse:
    warehouse = Warehouse(merchant_id=merchant_id, priority=priority)
    await _apply_warehouse(
        session, warehouse, WarehouseData(merchant_id, code, name, region, priority)
    )
    session.add(warehouse)
    await session.flush()
    return warehouse


async def update_warehouse(
    session: AsyncSession, warehouse_id: int, data: WarehouseData
) -> Warehouse:
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Warehouse not found.", "id")
    await _apply_warehouse(session, warehouse, data)
    await session.flush()
    return warehouse


async def _apply_warehouse(
    session: AsyncSession, warehouse: Warehouse, data: WarehouseData
) -> None:
    v = Violations()
    code = (
        check.text(v, data.code, "code", max_len=40)
        if data.code is not None or warehouse.id is None
        else None
    )
    name = (
        check.text(v, data.name, "name", max_len=120)
        if data.name is not None or warehouse.id is None
        else None
    )
    v.raise_if_any()
    if warehouse.id is None and await session.get(Merchant, data.merchant_id) is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    if code is not None:
        taken = await session.scalar(
            select(Warehouse.id).where(
                func.upper(Warehouse.code) == code.upper(), Warehouse.id != (warehouse.id or 0)
            )
        )
        if taken:
            raise DomainError(ErrorCode.DUPLICATE_NAME, f"Warehouse code '{code}' exists.", "code")
        warehouse.code = code.upper()
    if name is not None:
        warehouse.name = name
    if data.region is not None:
        warehouse.region = data.region.strip() or None
    if data.priority is not None:
        warehouse.priority = data.priority


# --- the ledger ----------------------------------------------------------------------------------


async def _level(session: AsyncSession, sku_id: int, warehouse_id: int) -> StockLevel:
    """The stock level, created at zero on first use, locked for this transaction."""
    level = await session.get(
        StockLevel, (sku_id, warehouse_id), with_for_update=True, populate_existing=True
    )
    if level is None:
        level = StockLevel(
            sku_id=sku_id, warehouse_id=warehouse_id, on_hand=0, reserved=0, safety_stock=0
        )
        session.add(level)
        await session.flush()
    return level


async def _check_pair(
    session: AsyncSession, sku_id: int, warehouse_id: int, field: str = "warehouseId"
) -> tuple[Sku, Warehouse]:
    sku = await session.get(Sku, sku_id)
    if sku is None:
        raise DomainError(ErrorCode.NOT_FOUND, "SKU not found.", "skuId")
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Warehouse not found.", field)
    if warehouse.merchant_id != sku.merchant_id:
        raise DomainError(
            ErrorCode.MERCHANT_MISMATCH,
            "The warehouse belongs to another merchant than the SKU.",
            field,
        )
    return sku, warehouse


def _write_movement(
    session: AsyncSession,
    level: StockLevel,
    kind: MovementType,
    quantity: int,
    reason: str | None,
    actor_id: int | None,
    reference: str | None,
) -> None:
    session.add(
        StockMovement(
            sku_id=level.sku_id,
            warehouse_id=level.warehouse_id,
            type=kind,
            quantity=quantity,
            reason=reason,
            actor_id=actor_id,
            reference=reference,
        )
    )
    events.emit(
        session,
        "stock.changed",
        sku_id=level.sku_id,
        warehouse_id=level.warehouse_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        safety_stock=level.safety_stock,
    )


def _change_on_hand(level: StockLevel, delta: int, field: str = "quantity") -> None:
    if level.on_hand + delta < level.reserved:
        raise DomainError(
            ErrorCode.INSUFFICIENT_STOCK,
            f"On hand would be {level.on_hand + delta}, below the {level.reserved} reserved.",
            field,
        )
    # Each quantity is an Int32, but their sum is not: the INTEGER column would overflow.
    if level.on_hand + delta > MAX_ON_HAND:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"On hand would be {level.on_hand + delta}, over the {MAX_ON_HAND} "
            "a stock level can hold.",
            field,
        )
    level.on_hand += delta


async def move_stock(
    session: AsyncSession,
    *,
    sku_id: int,
    warehouse_id: int,
    quantity: int,
    kind: MovementType,
    reason: str | None,
    actor_id: int | None,
    safety_stock: int | None = None,
    reference: str | None = None,
) -> StockLevel:
    """A manual ledger entry: INBOUND (> 0), RETURN (> 0) or ADJUSTMENT (±, a stock-take)."""
    v = Violations()
    if kind not in MANUAL_TYPES:
        v.add(
            ErrorCode.INVALID_INPUT,
            "Use INBOUND, ADJUSTMENT or RETURN here; transfers and "
            "shipments have their own operations.",
            "type",
        )
    if quantity == 0 or (kind != MovementType.ADJUSTMENT and quantity < 0):
        v.add(
            ErrorCode.INVALID_INPUT,
            "INBOUND and RETURN add stock (quantity > 0); an "
            "ADJUSTMENT is a non-zero signed delta.",
            "quantity",
        )
    if safety_stock is not None and safety_stock < 0:
        v.add(ErrorCode.INVALID_INPUT, "Must not be negative.", "safetyStock")
    clean_reason = check.text(
        v, reason, "reason", max_len=300, required=kind == MovementType.ADJUSTMENT
    )
    v.raise_if_any()
    await _check_pair(session, sku_id, warehouse_id)
    level = await _level(session, sku_id, warehouse_id)
    _change_on_hand(level, quantity)
    if safety_stock is not None:
        level.safety_stock = safety_stock
    _write_movement(session, level, kind, quantity, clean_reason, actor_id, reference)
    await session.flush()
    return level


async def receive_stock(
    session: AsyncSession,
    sku_id: int,
    warehouse_id: int,
    quantity: int,
    reason: str,
    actor_id: int | None,
    safety_stock: int | None = None,
) -> StockLevel:
    return await move_stock(
        session,
        sku_id=sku_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        kind=MovementType.INBOUND,
        reason=reason,
        actor_id=actor_id,
        safety_stock=safety_stock,
    )


async def transfer_stock(
    session: AsyncSession,
    *,
    sku_id: int,
    from_warehouse_id: int,
    to_warehouse_id: int,
    quantity: int,
    reason: str | None,
    actor_id: int | None,
) -> tuple[StockLevel, StockLevel]:
    """TRANSFER_OUT and TRANSFER_IN in one transaction; only unreserved units can leave."""
    if quantity <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "Transfer a positive quantity.", "quantity")
    if from_warehouse_id == to_warehouse_id:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Pick two different warehouses.", "toWarehouseId"
        )
    await _check_pair(session, sku_id, from_warehouse_id, "fromWarehouseId")
    await _check_pair(session, sku_id, to_warehouse_id, "toWarehouseId")
    # Lock both rows in warehouse order, whichever direction the transfer goes.
    first, second = sorted((from_warehouse_id, to_warehouse_id))
    levels = {w: await _level(session, sku_id, w) for w in (first, second)}
    source, target = levels[from_warehouse_id], levels[to_warehouse_id]
    _change_on_hand(source, -quantity)
    _change_on_hand(target, quantity)
    reference = f"transfer:{from_warehouse_id}->{to_warehouse_id}"
    _write_movement(
        session, source, MovementType.TRANSFER_OUT, -quantity, reason, actor_id, reference
    )
    _write_movement(
        session, target, MovementType.TRANSFER_IN, quantity, reason, actor_id, reference
    )
    await session.flush()
    return source, target


# --- reservations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    sku_id: int
    warehouse_id: int
    quantity: int


def plan_allocation(
    needed: dict[int, int], candidates: dict[int, list[tuple[int, int, int]]]
) -> list[Allocation] | None:
    """Where to take each SKU from. `candidates[sku]` = [(priority, warehouse, sellable)].
    The highest-priority warehouse that can serve the whole line wins; if none can, the line
    is split over warehouses by priority. None when the stock is not there."""
    plan: list[Allocation] = []
    for sku_id in sorted(needed):
        want = needed[sku_id]
        ordered = sorted(candidates.get(sku_id, []), key=lambda c: (-c[0], c[1]))
        whole = next((c for c in ordered if c[2] >= want), None)
        if whole is not None:
            plan.append(Allocation(sku_id, whole[1], want))
            continue
        for _, warehouse_id, sellable in ordered:
            take = min(want, sellable)
            if take > 0:
                plan.append(Allocation(sku_id, warehouse_id, take))
                want -= take
        if want > 0:
            return None
    return plan


def sellable_of_sku() -> Any:
    """Σ over warehouses of max(0, on_hand − reserved − safety_stock) of the SKU in the
    enclosing statement (`Sku.id`), as a scalar subquery: what a card or a cart shows as
    available (the same sum `candidates` gives per warehouse)."""
    units = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
    return (
        select(func.coalesce(func.sum(case((units > 0, units), else_=0)), 0))
        .where(StockLevel.sku_id == Sku.id)
        .scalar_subquery()
    )


@lru_cache(maxsize=1)
def _sellable_by_sku() -> Any:
    return select(Sku.id, sellable_of_sku()).where(any_of(Sku.id, "ids"))


async def sellable_by_sku(session: AsyncSession, skus: frozenset[int]) -> dict[int, int]:
    """The sellable number of each SKU named (one statement): a kept answer's live numbers
    (core/response_cache.py), the same sum a card shows when computed."""
    rows = await session.execute(_sellable_by_sku(), {"ids": sorted(skus)})
    return {sku: int(units) for sku, units in rows}


_CANDIDATES = (
    select(
        StockLevel.sku_id,
        Warehouse.priority,
        StockLevel.warehouse_id,
        StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock,
    )
    .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
    .where(any_of(StockLevel.sku_id, "skus"))
)


async def candidates(
    session: AsyncSession, sku_ids: list[int]
) -> dict[int, list[tuple[int, int, int]]]:
    """Per SKU: [(warehouse priority, warehouse, sellable units)] — what a reservation plans
    from, and (summed) what a cart shows as available. No SKUs: no statement."""
    found: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if not sku_ids:
        return found
    rows = (await session.execute(_CANDIDATES, {"skus": sku_ids})).all()
    for sku_id, priority, warehouse_id, units in rows:
        found[sku_id].append((priority, warehouse_id, int(units)))
    return found


async def _hold(session: AsyncSession, allocation: Allocation) -> bool:
    """The atomic step: take the units only if they are still there."""
    result = await session.execute(
        update(StockLevel)
        .where(
            StockLevel.sku_id == allocation.sku_id,
            StockLevel.warehouse_id == allocation.warehouse_id,
            StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
            >= allocation.quantity,
        )
        .values(reserved=StockLevel.reserved + allocation.quantity)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def reserve(
    session: AsyncSession,
    lines: Sequence[tuple[int, int]],
    owner: str,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
    attempts: int = 3,
    *,
    new_owner: bool = False,
    stock: dict[int, list[tuple[int, int, int]]] | None = None,
) -> Reservation:
    """Hold stock for every (sku, quantity) line, all or nothing. Idempotent per owner: asking
    again returns the existing reservation and never holds twice (`new_owner`: the caller just
    created the owner, so there is nothing to look up; the unique owner still guards;
    `stock`: the caller's fresh `candidates` read, used for the first plan)."""
    if not new_owner:
        existing = await session.scalar(select(Reservation).where(Reservation.owner == owner))
        if existing is not None:
            return existing
    needed: dict[int, int] = defaultdict(int)
    for sku_id, quantity in lines:
        if quantity <= 0:
            raise DomainError(ErrorCode.INVALID_INPUT, "Reserve a positive quantity.", "quantity")
        needed[sku_id] += quantity
    reservation = Reservation(
        owner=owner,
        status=ReservationStatus.ACTIVE,
        expires_at=now + ttl,
        created_at=now,
        updated_at=now,
    )
    session.add(reservation)
    await session.flush()
    for _ in range(attempts):
        found = stock if stock is not None else await candidates(session, sorted(needed))
        stock = None  # a retry looks again: someone took units since
        plan = plan_allocation(needed, found)
        if plan is None:
            break
        # Our own rows first, the (hot, shared) stock rows last: a row lock taken by the
        # UPDATE is then held only until commit, not while we insert.
        await session.execute(
            insert(ReservationLine),
            [
                {
                    "reservation_id": reservation.id,
                    "sku_id": a.sku_id,
                    "warehouse_id": a.warehouse_id,
                    "quantity": a.quantity,
                    "consumed": 0,
                }
                for a in plan
            ],
        )
        if await _hold_all(session, plan):
            metrics.RESERVATIONS.labels("reserved").inc()
            for allocation in plan:
                events.emit(
                    session,
                    "stock.reserved",
                    sku_id=allocation.sku_id,
                    warehouse_id=allocation.warehouse_id,
                    quantity=allocation.quantity,
                )
            return reservation
        # Someone took the units since we looked: forget this plan and make another.
        await session.execute(
            delete(ReservationLine).where(ReservationLine.reservation_id == reservation.id)
        )
    await session.delete(reservation)  # nothing held: leave nothing behind either
    await session.flush()
    metrics.RESERVATIONS.labels("insufficient").inc()
    raise DomainError(ErrorCode.INSUFFICIENT_STOCK, message("stock.not_enough"), "lines")


async def _hold_all(session: AsyncSession, plan: list[Allocation]) -> bool:
    """All of the plan or none of it, in one statement: every row is taken only if its
    units are still there; when some were not, the ones taken are given back (no savepoint
    round trips on the usual, successful path). Rows are listed in (sku, warehouse) order,
    the order every other holder locks them in."""
    if len(plan) == 1:
        return await _hold(session, plan[0])
    ordered = sorted(plan, key=lambda a: (a.sku_id, a.warehouse_id))
    taken = await session.execute(_hold_rows(len(ordered)), _row_values(ordered))
    held = {(row.sku_id, row.warehouse_id) for row in taken}
    if len(held) == len(ordered):
        return True
    back = [a for a in ordered if (a.sku_id, a.warehouse_id) in held]
    if back:
        await session.execute(_release_rows(len(back)), _row_values(back))
    return False


# Built once per number of rows, each row's values bound parameters: a statement over a
# VALUES list has no cache key (SQLAlchemy compiled it again at every checkout, ~4 ms).
@lru_cache(maxsize=64)
def _hold_rows(count: int) -> Any:
    wanted = _rows(count)
    return (
        update(StockLevel)
        .where(
            StockLevel.sku_id == wanted.c.sku_id,
            StockLevel.warehouse_id == wanted.c.warehouse_id,
            StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock >= wanted.c.quantity,
        )
        .values(reserved=StockLevel.reserved + wanted.c.quantity)
        .returning(StockLevel.sku_id, StockLevel.warehouse_id)
        .execution_options(synchronize_session=False)
    )


@lru_cache(maxsize=64)
def _release_rows(count: int) -> Any:
    back = _rows(count)
    return (
        update(StockLevel)
        .where(StockLevel.sku_id == back.c.sku_id, StockLevel.warehouse_id == back.c.warehouse_id)
        .values(reserved=StockLevel.reserved - back.c.quantity)
        .execution_options(synchronize_session=False)
    )


def _rows(count: int) -> Any:
    """`count` rows (sku_id, warehouse_id, quantity) of bound parameters, as a CTE of one
    SELECT each (SQLite takes a CTE, not an aliased VALUES in FROM)."""
    return union_all(
        *(
            select(
                bindparam(f"sku{i}", type_=BigInteger).label("sku_id"),
                bindparam(f"warehouse{i}", type_=BigInteger).label("warehouse_id"),
                bindparam(f"quantity{i}", type_=Integer).label("quantity"),
            )
            for i in range(count)
        )
    ).cte("wanted")


def _row_values(allocations: list[Allocation]) -> dict[str, int]:
    values: dict[str, int] = {}
    for i, a in enumerate(allocations):
        values |= {f"sku{i}": a.sku_id, f"warehouse{i}": a.warehouse_id, f"quantity{i}": a.quantity}
    return values


async def _owned(session: AsyncSession, owner: str) -> Reservation:
    reservation = await session.scalar(
        select(Reservation).where(Reservation.owner == owner).with_for_update()
    )
    if reservation is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No reservation for {owner}.", "owner")
    return reservation


async def lock_reservation(
    session: AsyncSession, owner: str, *, missing_ok: bool = False
) -> Reservation | None:
    """Take the reservation's row lock first: callers that go on to lock what it belongs to
    (a payment, its orders) then lock in the same order as the sweeper does."""
    if missing_ok:
        return await session.scalar(
            select(Reservation).where(Reservation.owner == owner).with_for_update()
        )
    return await _owned(session, owner)


async def extend(session: AsyncSession, owner: str, until: datetime, now: datetime) -> None:
    """Keep an ACTIVE hold until `until` (a presale's balance window): it still expires —
    releasing the stock — if nobody commits it by then."""
    reservation = await _owned(session, owner)
    if reservation.status != ReservationStatus.ACTIVE:
        raise DomainError(
            ErrorCode.RESERVATION_CLOSED, f"The reservation is {reservation.status.value}.", "owner"
        )
    reservation.expires_at, reservation.updated_at = until, now
    await session.flush()


async def held_in(session: AsyncSession, owner: str, warehouse_id: int) -> dict[int, int]:
    """Units per SKU the owner's reservation still holds (unshipped) in one warehouse."""
    reservation = await _owned(session, owner)
    return {
        line.sku_id: line.quantity - line.consumed
        for line in await lines_of(session, reservation.id)
        if line.warehouse_id == warehouse_id and line.quantity > line.consumed
    }


async def held_lines(session: AsyncSession, owner: str) -> list[ReservationLine]:
    """The owner's reservation lines (per SKU and warehouse), in SKU then warehouse order."""
    return await lines_of(session, (await _owned(session, owner)).id)


async def lines_of(session: AsyncSession, reservation_id: int) -> list[ReservationLine]:
    return list(
        (
            await session.scalars(
                select(ReservationLine)
                .where(ReservationLine.reservation_id == reservation_id)
                .order_by(ReservationLine.sku_id, ReservationLine.warehouse_id)
            )
        ).all()
    )


async def commit(session: AsyncSession, owner: str, now: datetime) -> Reservation:
    """Payment arrived: the hold no longer expires. Idempotent."""
    reservation = await _owned(session, owner)
    if reservation.status in (ReservationStatus.COMMITTED, ReservationStatus.CONSUMED):
        return reservation
    if reservation.status != ReservationStatus.ACTIVE:
        raise DomainError(
            ErrorCode.RESERVATION_CLOSED, f"The reservation is {reservation.status.value}.", "owner"
        )
    reservation.status, reservation.updated_at = ReservationStatus.COMMITTED, now
    await session.flush()
    return reservation


async def _unhold(session: AsyncSession, line: ReservationLine, units: int) -> None:
    await session.execute(
        update(StockLevel)
        .where(StockLevel.sku_id == line.sku_id, StockLevel.warehouse_id == line.warehouse_id)
        .values(reserved=StockLevel.reserved - units)
        .execution_options(synchronize_session=False)
    )


async def release(
    session: AsyncSession,
    owner: str,
    now: datetime,
    status: ReservationStatus = ReservationStatus.RELEASED,
) -> Reservation:
    """Give back what is still held (cancellation, or EXPIRED by the sweeper). Idempotent."""
    reservation = await _owned(session, owner)
    if reservation.status in (
        ReservationStatus.RELEASED,
        ReservationStatus.EXPIRED,
        ReservationStatus.CONSUMED,
    ):
        return reservation
    for line in await lines_of(session, reservation.id):
        if line.quantity > line.consumed:
            await _unhold(session, line, line.quantity - line.consumed)
            events.emit(
                session,
                "stock.released",
                sku_id=line.sku_id,
                warehouse_id=line.warehouse_id,
                quantity=line.quantity - line.consumed,
            )
    reservation.status, reservation.updated_at = status, now
    await session.flush()
    return reservation


async def release_units(
    session: AsyncSession, owner: str, sku_id: int, units: int, now: datetime
) -> None:
    """Give back `units` of one SKU still held (not shipped) by a reservation: part of an
    order cancelled or refunded before shipping. The rest of the reservation stands."""
    reservation = await _owned(session, owner)
    if reservation.status not in (ReservationStatus.ACTIVE, ReservationStatus.COMMITTED):
        raise DomainError(
            ErrorCode.RESERVATION_CLOSED, f"The reservation is {reservation.status.value}.", "owner"
        )
    lines = [ln for ln in await lines_of(session, reservation.id) if ln.sku_id == sku_id]
    if sum(ln.quantity - ln.consumed for ln in lines) < units:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Fewer units are held than released.", "quantity"
        )
    left = units
    for line in lines:
        take = min(left, line.quantity - line.consumed)
        if take > 0:
            await _unhold(session, line, take)
            line.quantity -= take
            left -= take
            if line.quantity == 0:  # nothing of it was shipped: the line goes
                await session.delete(line)
            events.emit(
                session,
                "stock.released",
                sku_id=line.sku_id,
                warehouse_id=line.warehouse_id,
                quantity=take,
            )
    await session.flush()
    remaining = await lines_of(session, reservation.id)
    if all(ln.consumed == ln.quantity for ln in remaining):
        reservation.status = (
            ReservationStatus.CONSUMED
            if any(ln.consumed for ln in remaining)
            else ReservationStatus.RELEASED
        )
    reservation.updated_at = now
    await session.flush()


async def split_off(
    session: AsyncSession,
    owner: str,
    new_owner: str,
    items: Sequence[tuple[int, int]],
    now: datetime,
) -> Reservation:
    """Move (sku, units) out of an ACTIVE reservation into a new, COMMITTED one: one order of
    a checkout paid on its own. The units stay reserved (stock levels do not change); what
    is left keeps its expiry, and a reservation left empty is RELEASED (nothing to expire)."""
    source = await _owned(session, owner)
    if source.status != ReservationStatus.ACTIVE:
        raise DomainError(
            ErrorCode.RESERVATION_CLOSED, f"The reservation is {source.status.value}.", "owner"
        )
    moved = Reservation(
        owner=new_owner,
        status=ReservationStatus.COMMITTED,
        expires_at=source.expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(moved)
    await session.flush()
    needed: dict[int, int] = defaultdict(int)
    for sku_id, units in items:
        needed[sku_id] += units
    lines = await lines_of(session, source.id)
    for sku_id, units in sorted(needed.items()):
        for line in (ln for ln in lines if ln.sku_id == sku_id and units > 0):
            take = min(units, line.quantity - line.consumed)
            if take <= 0:
                continue
            session.add(
                ReservationLine(
                    reservation_id=moved.id,
                    sku_id=sku_id,
                    warehouse_id=line.warehouse_id,
                    quantity=take,
                    consumed=0,
                )
            )
            line.quantity -= take
            units -= take
            if line.quantity == 0:
                await session.delete(line)
        if units:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "Fewer units are held than moved.", "quantity"
            )
    await session.flush()
    if not await lines_of(session, source.id):
        source.status = ReservationStatus.RELEASED
    source.updated_at = now
    await session.flush()
    return moved


async def consume(
    session: AsyncSession,
    owner: str,
    shipment: str,
    items: Sequence[tuple[int, int, int]],
    now: datetime,
    actor_id: int | None = None,
) -> Reservation:
    """Ship (sku, warehouse, quantity) items of a committed reservation: reserved and on_hand
    both drop and a SHIPMENT movement is written. Idempotent per shipment reference."""
    reservation = await _owned(session, owner)
    if reservation.status != ReservationStatus.COMMITTED:
        if reservation.status == ReservationStatus.CONSUMED:
            return reservation
        raise DomainError(
            ErrorCode.RESERVATION_CLOSED,
            f"Only a paid (COMMITTED) reservation ships; this one is {reservation.status.value}.",
            "owner",
        )
    reference = f"shipment:{shipment}"
    if await session.scalar(select(func.count()).where(StockMovement.reference == reference)):
        return reservation
    lines = {
        (line.sku_id, line.warehouse_id): line for line in await lines_of(session, reservation.id)
    }
    for sku_id, warehouse_id, quantity in sorted(items):
        line = lines.get((sku_id, warehouse_id))
        if line is None or quantity <= 0 or line.consumed + quantity > line.quantity:
            raise DomainError(
                ErrorCode.INVALID_INPUT, "Ship only units reserved in that warehouse.", "lines"
            )
        level = await _level(session, sku_id, warehouse_id)
        level.reserved -= quantity
        level.on_hand -= quantity
        line.consumed += quantity
        _write_movement(session, level, MovementType.SHIPMENT, -quantity, None, actor_id, reference)
    if all(line.consumed == line.quantity for line in lines.values()):
        reservation.status = ReservationStatus.CONSUMED
    reservation.updated_at = now
    await session.flush()
    return reservation


# --- expiry --------------------------------------------------------------------------------------

ExpiryHook = Callable[[AsyncSession, Reservation], Awaitable[None]]
expiry_hooks: list[ExpiryHook] = []  # e.g. the orders domain cancels the owning order


async def sweep_expired(session: AsyncSession, now: datetime, batch: int = 100) -> int:
    """Expire ACTIVE reservations past their time, each exactly once even with many sweepers
    at work: rows are claimed with SKIP LOCKED, and the status flip is conditional. Hooks run
    in the same transaction (cancel the order, return coupons). A batch is a job of its own
    (the sweeper's, not a request's), so it is its own unit of work: committed here."""
    return await UnitOfWork(session, BACKGROUND).run(lambda s: _expire_batch(s, now, batch))


async def _expire_batch(session: AsyncSession, now: datetime, batch: int) -> int:
    stmt = (
        select(Reservation)
        .where(Reservation.status == ReservationStatus.ACTIVE, Reservation.expires_at <= now)
        .order_by(Reservation.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    expired = 0
    for reservation in (await session.scalars(stmt)).all():
        claimed = await session.execute(
            update(Reservation)
            .where(Reservation.id == reservation.id, Reservation.status == ReservationStatus.ACTIVE)
            .values(status=ReservationStatus.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], claimed).rowcount != 1:
            continue
        for line in await lines_of(session, reservation.id):
            if line.quantity > line.consumed:
                await _unhold(session, line, line.quantity - line.consumed)
        await session.refresh(reservation)
        for hook in expiry_hooks:
            await hook(session, reservation)
        expired += 1
    return expired


# --- lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockFilter:
    sku_id: int | None = None
    warehouse_id: int | None = None
    low_stock: bool = False  # available ≤ safety stock (DOMAIN.md §2)
    movement_type: MovementType | None = None


# the most urgent first: least available over safety stock
LOW_STOCK_FIRST = [
    (StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock).asc(),
    StockLevel.sku_id,
    StockLevel.warehouse_id,
]


def warehouses_of(merchant_id: int | None) -> Any:
    """Every warehouse for platform staff (`merchant_id` None); merchant staff their own."""
    stmt = select(Warehouse).order_by(
        Warehouse.merchant_id, Warehouse.priority.desc(), Warehouse.id
    )
    return stmt if merchant_id is None else stmt.where(Warehouse.merchant_id == merchant_id)


def stock_levels_seen_by(merchant_id: int | None, wanted: StockFilter) -> Any:
    stmt = select(StockLevel)
    if merchant_id is not None:
        stmt = stmt.join(Warehouse, Warehouse.id == StockLevel.warehouse_id).where(
            Warehouse.merchant_id == merchant_id
        )
    if wanted.low_stock:
        stmt = stmt.where(StockLevel.on_hand - StockLevel.reserved <= StockLevel.safety_stock)
    if wanted.sku_id is not None:
        stmt = stmt.where(StockLevel.sku_id == wanted.sku_id)
    if wanted.warehouse_id is not None:
        stmt = stmt.where(StockLevel.warehouse_id == wanted.warehouse_id)
    return stmt


def stock_movements_seen_by(merchant_id: int | None, wanted: StockFilter) -> Any:
    stmt = select(StockMovement)
    if merchant_id is not None:
        stmt = stmt.join(Warehouse, Warehouse.id == StockMovement.warehouse_id).where(
            Warehouse.merchant_id == merchant_id
        )
    if wanted.sku_id is not None:
        stmt = stmt.where(StockMovement.sku_id == wanted.sku_id)
    if wanted.warehouse_id is not None:
        stmt = stmt.where(StockMovement.warehouse_id == wanted.warehouse_id)
    if wanted.movement_type is not None:
        stmt = stmt.where(StockMovement.type == wanted.movement_type)
    return stmt
