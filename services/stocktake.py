"""Stocktakes (盘点) of one warehouse.

Starting one freezes a snapshot: a line per SKU stocked in the warehouse (a stock level row)
with its on hand at that moment. Counts are entered for those SKUs only (SKU_NOT_IN_STOCKTAKE),
never negative, and may be entered again while COUNTING. Submitting ends the counting; a
different staff member — neither the one who started it nor anyone who entered a count —
approves (SECOND_APPROVER_REQUIRED), and only then is stock changed.

What is posted: for each counted line, ADJUSTMENT = counted − snapshot, applied to the stock as
it is at approval. The count describes the shelf as of the freeze; receipts, shipments and
transfers booked while people were counting are real and stay. Posting counted − current on
hand instead would undo every one of them (a shipment during the count would come back as
found stock). Uncounted lines are left alone (a partial count is not a count of zero). The
movements carry the stocktake's reason and reference `stocktake:<id>`; a difference that would
take on hand below what is reserved refuses the whole approval (INSUFFICIENT_STOCK). One open
(COUNTING or SUBMITTED) stocktake per warehouse at a time (STOCKTAKE_IN_PROGRESS)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.inventory import MovementType
from models.inventory import StockLevel
from models.inventory import Warehouse
from models.purchasing import Stocktake
from models.purchasing import StocktakeLine
from models.purchasing import StocktakeStatus
from services import inventory
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

S = StocktakeStatus
OPEN = (S.COUNTING, S.SUBMITTED)
MAX_COUNTS = 500


async def start(
    session: AsyncSession, warehouse_id: int, reason: str | None, actor_id: int | None
) -> Stocktake:
    v = Violations()
    clean = check.text(v, reason, "reason", max_len=300)
    v.raise_if_any()
    # The warehouse row is locked so two starts of one warehouse cannot both pass the check.
    warehouse = await session.get(Warehouse, warehouse_id, with_for_update=True)
    if warehouse is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Warehouse not found.", "warehouseId")
    running = await session.scalar(
        select(Stocktake.id).where(
            Stocktake.warehouse_id == warehouse_id, Stocktake.status.in_(OPEN)
        )
    )
    if running is not None:
        raise DomainError(
            ErrorCode.STOCKTAKE_IN_PROGRESS,
            "Finish or cancel the warehouse's open stocktake first.",
            "warehouseId",
        )
    stocktake = Stocktake(
        merchant_id=warehouse.merchant_id,
        warehouse_id=warehouse_id,
        status=S.COUNTING,
        reason=clean,
        created_by=actor_id,
    )
    session.add(stocktake)
    await session.flush()
    levels = (
        await session.execute(
            select(StockLevel.sku_id, StockLevel.on_hand)
            .where(StockLevel.warehouse_id == warehouse_id)
            .order_by(StockLevel.sku_id)
        )
    ).all()
    session.add_all(
        StocktakeLine(stocktake_id=stocktake.id, sku_id=sku_id, snapshot_on_hand=on_hand)
        for sku_id, on_hand in levels
    )
    await session.flush()
    return stocktake


async def _stocktake(session: AsyncSession, stocktake_id: int) -> Stocktake:
    stocktake = await session.get(
        Stocktake, stocktake_id, with_for_update=True, populate_existing=True
    )
    if stocktake is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Stocktake not found.", "id")
    return stocktake


def _require(stocktake: Stocktake, *statuses: StocktakeStatus) -> None:
    if stocktake.status not in statuses:
        wanted = " or ".join(s.value for s in statuses)
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"The stocktake is {stocktake.status.value}; this needs {wanted}.",
            "id",
        )


async def lines_of(session: AsyncSession, stocktake_id: int) -> Sequence[StocktakeLine]:
    return (
        await session.scalars(
            select(StocktakeLine)
            .where(StocktakeLine.stocktake_id == stocktake_id)
            .order_by(StocktakeLine.sku_id)
        )
    ).all()


async def count(
    session: AsyncSession,
    stocktake_id: int,
    counts: Sequence[tuple[int, int]],
    actor_id: int | None,
) -> Stocktake:
    """Enter (or correct) counted quantities: (sku id, units found)."""
    v = Violations()
    if not counts:
        v.add(ErrorCode.INVALID_INPUT, "Enter at least one count.", "counts")
    if len(counts) > MAX_COUNTS:
        v.add(ErrorCode.INVALID_INPUT, f"At most {MAX_COUNTS} counts at a time.", "counts")
    seen: set[int] = set()
    for i, (sku_id, quantity) in enumerate(counts):
        if quantity < 0:
            v.add(ErrorCode.INVALID_QUANTITY, "A count is not negative.", f"counts.{i}.quantity")
        if sku_id in seen:
            v.add(ErrorCode.INVALID_INPUT, "One count per SKU.", f"counts.{i}.skuId")
        seen.add(sku_id)
    v.raise_if_any()
    stocktake = await _stocktake(session, stocktake_id)
    _require(stocktake, S.COUNTING)
    lines = {line.sku_id: line for line in await lines_of(session, stocktake.id)}
    for i, (sku_id, _) in enumerate(counts):
        if sku_id not in lines:
            v.add(
                ErrorCode.SKU_NOT_IN_STOCKTAKE,
                "The SKU was not stocked in this warehouse when the stocktake started.",
                f"counts.{i}.skuId",
            )
    v.raise_if_any()
    for sku_id, quantity in counts:
        lines[sku_id].counted = quantity
        lines[sku_id].counted_by = actor_id
    await session.flush()
    return stocktake


async def submit(
    session: AsyncSession, stocktake_id: int, actor_id: int | None, now: datetime
) -> Stocktake:
    stocktake = await _stocktake(session, stocktake_id)
    _require(stocktake, S.COUNTING)
    if not any(line.counted is not None for line in await lines_of(session, stocktake.id)):
        raise DomainError(ErrorCode.INVALID_INPUT, "Nothing was counted.", "id")
    stocktake.status, stocktake.submitted_by, stocktake.submitted_at = S.SUBMITTED, actor_id, now
    await session.flush()
    return stocktake


async def approve(
    session: AsyncSession, stocktake_id: int, actor_id: int | None, now: datetime
) -> Stocktake:
    stocktake = await _stocktake(session, stocktake_id)
    _require(stocktake, S.SUBMITTED)
    lines = await lines_of(session, stocktake.id)
    involved = {stocktake.created_by} | {ln.counted_by for ln in lines if ln.counted is not None}
    if actor_id is None or actor_id in involved:
        raise DomainError(
            ErrorCode.SECOND_APPROVER_REQUIRED,
            "Someone who neither started this stocktake nor counted approves it.",
            "id",
        )
    reason = f"Stocktake {stocktake.global_id}: {stocktake.reason}"[:300]
    for line in lines:  # by SKU: the ledger's lock order
        if line.counted is None:
            continue
        delta = line.counted - line.snapshot_on_hand
        line.adjustment = delta
        if delta == 0:
            continue
        await inventory.move_stock(
            session,
            sku_id=line.sku_id,
            warehouse_id=stocktake.warehouse_id,
            quantity=delta,
            kind=MovementType.ADJUSTMENT,
            reason=reason,
            actor_id=actor_id,
            reference=f"stocktake:{stocktake.id}",
        )
    stocktake.status, stocktake.approved_by, stocktake.decided_at = S.APPROVED, actor_id, now
    await session.flush()
    return stocktake


async def cancel(session: AsyncSession, stocktake_id: int, now: datetime) -> Stocktake:
    stocktake = await _stocktake(session, stocktake_id)
    _require(stocktake, *OPEN)
    stocktake.status, stocktake.decided_at = S.CANCELLED, now
    await session.flush()
    return stocktake
