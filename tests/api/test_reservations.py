"""The reservation service (DOMAIN.md §2): all-or-nothing holds, idempotent per owner,
commit → consume (ledgered SHIPMENT), release, and expiry by the sweeper with its hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from models import Reservation
from models import StockLevel
from models import StockMovement
from models.inventory import MovementType
from models.inventory import ReservationStatus
from services import events
from services import inventory
from services.errors import DomainError
from tests.api.test_batching import seed_listing

# Also on SQLite: SQLite's expiry sweep claims rows without SKIP LOCKED, and its times are naive.
pytestmark = pytest.mark.sqlite_too


async def stocked(engine: AsyncEngine) -> tuple[int, int, int, int]:
    """Two SKUs; each with 5 units in warehouse 1 (priority 0) and 5 in warehouse 2."""
    await seed_listing(engine, 1)  # product 1: SKUs 1-3, warehouses 1 and 2, 5 units each
    return 1, 2, 1, 2


async def levels(engine: AsyncEngine) -> dict[tuple[int, int], tuple[int, int]]:
    async with create_session_factory(engine)() as s:
        rows = (await s.scalars(select(StockLevel))).all()
        return {(r.sku_id, r.warehouse_id): (r.on_hand, r.reserved) for r in rows}


async def test_reserve_is_all_or_nothing(engine: AsyncEngine, clock: FixedClock) -> None:
    sku_a, sku_b, *_ = await stocked(engine)
    before = await levels(engine)
    async with create_session_factory(engine)() as s:
        with pytest.raises(DomainError) as refused:
            await inventory.reserve(s, [(sku_a, 2), (sku_b, 11)], "order:1", clock.now())
        assert refused.value.code == "INSUFFICIENT_STOCK"
        await s.commit()
    assert await levels(engine) == before
    async with create_session_factory(engine)() as s:
        assert await s.scalar(select(func.count()).select_from(Reservation)) == 0


async def test_a_hold_that_fails_midway_gives_back_what_it_took(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    """All rows are held in one statement; when one is short (someone took its units after
    the plan was made) the others are given back before the next plan, and with nothing to
    plan from nothing stays held."""
    sku_a, sku_b, *_ = await stocked(engine)
    before = await levels(engine)
    stale = {sku_a: [(0, 1, 5)], sku_b: [(0, 1, 5)]}  # what the caller read earlier
    async with create_session_factory(engine)() as s:
        await s.execute(
            update(StockLevel).where(StockLevel.sku_id == sku_b).values(reserved=StockLevel.on_hand)
        )  # sold out since
        with pytest.raises(DomainError) as refused:
            await inventory.reserve(
                s, [(sku_a, 2), (sku_b, 2)], "order:9", clock.now(), new_owner=True, stock=stale
            )
        assert refused.value.code == "INSUFFICIENT_STOCK"
        await s.commit()
    after = await levels(engine)
    assert after[(sku_a, 1)] == before[(sku_a, 1)]  # the units of A were given back
    assert all(after[(sku_b, w)][1] == after[(sku_b, w)][0] for w in (1, 2))


def test_the_multi_row_hold_is_compiled_once_per_row_count() -> None:
    """Its rows are bound parameters: the statement has a cache key (a VALUES list had
    none, and compiling it again cost ~4 ms of every checkout), and is built once."""
    from services.inventory import _hold_rows
    from services.inventory import _release_rows

    for build in (_hold_rows, _release_rows):
        assert build(3) is build(3)
        assert build(3)._generate_cache_key() is not None
        assert build(2)._generate_cache_key() != build(3)._generate_cache_key()


async def test_reserve_splits_and_is_idempotent_per_owner(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    sku_a, _, w1, w2 = await stocked(engine)
    factory = create_session_factory(engine)
    async with factory() as s:
        first = await inventory.reserve(s, [(sku_a, 7)], "order:1", clock.now())
        await s.commit()
    async with factory() as s:
        again = await inventory.reserve(s, [(sku_a, 7)], "order:1", clock.now())
        await s.commit()
    assert again.id == first.id
    state = await levels(engine)
    assert state[(sku_a, w1)][1] + state[(sku_a, w2)][1] == 7  # held once, split 5 + 2
    assert sorted((state[(sku_a, w1)][1], state[(sku_a, w2)][1])) == [2, 5]


async def test_commit_consume_release_lifecycle(engine: AsyncEngine, clock: FixedClock) -> None:
    sku_a, sku_b, w1, _ = await stocked(engine)
    factory = create_session_factory(engine)
    async with factory() as s:
        await inventory.reserve(s, [(sku_a, 3), (sku_b, 1)], "order:1", clock.now())
        await inventory.commit(s, "order:1", clock.now())
        await inventory.commit(s, "order:1", clock.now())  # idempotent
        reservation = await inventory.consume(s, "order:1", "s1", [(sku_a, w1, 2)], clock.now())
        assert reservation.status == ReservationStatus.COMMITTED  # partly shipped
        await inventory.consume(s, "order:1", "s1", [(sku_a, w1, 2)], clock.now())  # same
        await s.commit()
    state = await levels(engine)
    assert state[(sku_a, w1)] == (3, 1)  # 5 on hand − 2 shipped; 3 held − 2 shipped
    async with factory() as s:
        shipped = await s.scalar(
            select(func.sum(StockMovement.quantity)).where(
                StockMovement.type == MovementType.SHIPMENT
            )
        )
        assert shipped == -2
        with pytest.raises(DomainError):
            await inventory.consume(s, "order:1", "s2", [(sku_a, w1, 5)], clock.now())
        released = await inventory.release(s, "order:1", clock.now())
        assert released.status == ReservationStatus.RELEASED
        await inventory.release(s, "order:1", clock.now())  # idempotent
        await s.commit()
    state = await levels(engine)
    assert all(reserved == 0 for _, reserved in state.values())


async def test_released_reservation_cannot_be_committed(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    sku_a, *_ = await stocked(engine)
    async with create_session_factory(engine)() as s:
        await inventory.reserve(s, [(sku_a, 1)], "order:1", clock.now())
        await inventory.release(s, "order:1", clock.now())
        with pytest.raises(DomainError) as closed:
            await inventory.commit(s, "order:1", clock.now())
        assert closed.value.code == "RESERVATION_CLOSED"


async def test_sweeper_expires_once_and_runs_hooks(engine: AsyncEngine, clock: FixedClock) -> None:
    sku_a, *_ = await stocked(engine)
    factory = create_session_factory(engine)
    async with factory() as s:
        await inventory.reserve(s, [(sku_a, 2)], "order:1", clock.now(), ttl=timedelta(minutes=30))
        await inventory.reserve(s, [(sku_a, 1)], "order:2", clock.now(), ttl=timedelta(minutes=60))
        await s.commit()
    seen: list[str] = []

    async def hook(session, reservation) -> None:
        seen.append(reservation.owner)

    inventory.expiry_hooks.append(hook)
    try:
        async with factory() as s:
            assert await inventory.sweep_expired(s, clock.now() + timedelta(minutes=29)) == 0
        async with factory() as s:
            assert await inventory.sweep_expired(s, clock.now() + timedelta(minutes=31)) == 1
        async with factory() as s:
            assert await inventory.sweep_expired(s, clock.now() + timedelta(minutes=31)) == 0
    finally:
        inventory.expiry_hooks.remove(hook)
    assert seen == ["order:1"]
    state = await levels(engine)
    assert sum(reserved for _, reserved in state.values()) == 1  # only order:2 still held


async def test_stock_events_are_delivered_after_commit_only(
    engine: AsyncEngine, clock: FixedClock
) -> None:
    sku_a, *_ = await stocked(engine)
    received: list[events.DomainEvent] = []
    unsubscribe = events.subscribe("stock.reserved", received.append)
    try:
        async with create_session_factory(engine)() as s:
            await inventory.reserve(s, [(sku_a, 1)], "order:1", clock.now())
            assert received == []
            await s.rollback()
        assert received == []  # rolled back: nothing happened, nothing told
        async with create_session_factory(engine)() as s:
            await inventory.reserve(s, [(sku_a, 1)], "order:2", clock.now())
            await s.commit()
        assert [e.data["quantity"] for e in received] == [1]
    finally:
        unsubscribe()
