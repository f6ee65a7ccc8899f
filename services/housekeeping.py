"""The periodic work every process may run (and cron may call through `zhongtai sweep`):
ask the payment providers about overdue payments they hold open trades for, expire overdue
reservations with their unpaid orders, expire coupons past validity, remind of presale
balances whose window opened (BALANCE_DUE events) and complete orders shipped long enough
ago. Each step is safe to run in many processes at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from services import coupons
from services import inventory
from services import members
from services import order_events
from services import orders
from services import trades
from services.unit_of_work import in_new_session

BATCH = 100


@dataclass
class Swept:
    expired: int = 0  # reservations (each with its unpaid payment and orders)
    completed: int = 0  # orders completed as received
    reminded: int = 0  # BALANCE_DUE events published


async def sweep(
    factory: async_sessionmaker[AsyncSession],
    now: datetime,
    auto_complete_days: int,
    currency: str = "CNY",
    points: members.PointsRules = members.PointsRules(),  # what a payment paid in time earns
) -> Swept:
    done = Swept()
    # A payment taken in time whose notification has not come yet must not be cancelled.
    await trades.settle_before_expiry(factory, currency, now, points)
    while True:  # batches until nothing overdue is left
        async with factory() as session:
            expired = await inventory.sweep_expired(session, now, BATCH)
        done.expired += expired
        if expired < BATCH:
            break
    await in_new_session(factory, lambda s: coupons.expire(s, now))
    async with factory() as session:
        done.reminded = await order_events.publish_balance_due(session, now)
        await session.commit()
    async with factory() as session:
        done.completed = await orders.complete_delivered(session, now, auto_complete_days)
    return done
