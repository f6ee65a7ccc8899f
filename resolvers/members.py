"""Member center glue: levels, a member's standing and ledger, staff overrides and
adjustments (services/members.py has the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Customer
from models.members import MemberAccount
from models.members import MemberLevel
from models.members import PointsEntry
from models.members import PointsKind as PointsKind
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import page_window
from resolvers.context import Context
from resolvers.context import Permission
from services import members

__all__ = ["MemberLevel", "PointsEntry", "PointsKind"]


@dataclass
class Standing:
    """A member's level, growth and points as the member center shows them."""

    growth: int
    points: int
    level: MemberLevel | None
    next_level: MemberLevel | None
    override: MemberLevel | None


async def levels(ctx: Context) -> list[MemberLevel]:
    return await ctx.read(members.levels)


async def load_level(ctx: Context, pk: int) -> MemberLevel | None:
    return await ctx.read(lambda s: s.get(MemberLevel, pk))


def may_see(ctx: Context, customer_id: int) -> bool:
    """The member themself; platform staff with MANAGE_CUSTOMERS."""
    viewer = ctx.viewer
    return viewer.customer_id == customer_id or (
        viewer.is_staff and viewer.merchant_id is None and viewer.can(Permission.MANAGE_CUSTOMERS)
    )


async def standing(ctx: Context, customer_id: int) -> Standing:
    key = f"member-standing:{customer_id}"
    if key in ctx.extra:
        found: Standing = ctx.extra[key]
        return found

    async def read(s: AsyncSession) -> Standing:
        account = await members.read_account(s, customer_id)
        ordered = await members.levels(s)
        growth = account.growth if account else 0
        override = None
        if account is not None and account.override_level_id is not None:
            override = next((lv for lv in ordered if lv.id == account.override_level_id), None)
        return Standing(
            growth=growth,
            points=account.points if account else 0,
            level=override or members.level_for(ordered, growth),
            next_level=members.next_level(ordered, growth),
            override=override,
        )

    ctx.extra[key] = result = await ctx.read(read)
    return result


async def ledger(ctx: Context, customer_id: int, args: PageArgs) -> Page[PointsEntry]:
    window = page_window(ctx, args)
    total = await ctx.read(lambda s: members.ledger_page(s, customer_id, 0, 0))
    window = window.within(total[1])
    rows, count = await ctx.read(
        lambda s: members.ledger_page(s, customer_id, window.offset, window.limit)
    )
    return Page(rows, window.offset, count)


async def checkout_points(ctx: Context, quote: Any) -> tuple[int, int]:
    """(balance, the most points this checkout could take)."""
    customer_id = quote.customer.id
    balance = await ctx.read(lambda s: members.balance(s, customer_id))
    rules = members.PointsRules.of(ctx.settings)
    if quote.points is not None:
        return balance, quote.points.max_points
    return balance, rules.points_for(members.max_discount(quote.result, balance, rules))


def points_discount(result: Any) -> int:
    return members.points_discount_of(result)


# --- staff -------------------------------------------------------------------------------------


def _level_data(data: Any) -> members.LevelData:
    return members.LevelData(
        name=data.name,
        rank=data.rank,
        growth_threshold=data.growth_threshold,
        benefits=list(data.benefits or []),
    )


async def level_create(ctx: Context, data: Any) -> MutationResult[MemberLevel]:
    return await mutate(
        ctx,
        lambda s: members.create_level(s, _level_data(data), ctx.now),
        Change("member_level.create", MemberLevel),
    )


async def level_update(ctx: Context, global_id: str, data: Any) -> MutationResult[MemberLevel]:
    async def run(s: AsyncSession) -> MemberLevel:
        level_id = input_id(global_id, "MemberLevel", "id") or 0
        return await members.update_level(s, level_id, _level_data(data))

    return await mutate(ctx, run, Change("member_level.update", MemberLevel, global_id))


async def level_delete(ctx: Context, global_id: str) -> MutationResult[MemberLevel]:
    async def run(s: AsyncSession) -> MemberLevel:
        return await members.delete_level(s, input_id(global_id, "MemberLevel", "id") or 0)

    return await mutate(ctx, run, Change("member_level.delete", MemberLevel, global_id))


def _account_change(action: str, customer_gid: str) -> Change:
    """Audited against the customer, with the member account as before and after."""

    async def before(s: AsyncSession) -> Any:
        try:
            customer_id = input_id(customer_gid, "Customer", "customerId") or 0
        except Exception:  # a bad id is refused by the operation itself
            return None
        return await s.get(MemberAccount, customer_id)

    return Change(action, Customer, customer_gid, before=before, subject=lambda c: c[1])


async def level_override(
    ctx: Context, customer_gid: str, level_gid: str | None, reason: str
) -> MutationResult[tuple[Customer, MemberAccount]]:
    async def run(s: AsyncSession) -> tuple[Customer, MemberAccount]:
        customer_id = input_id(customer_gid, "Customer", "customerId") or 0
        level_id = input_id(level_gid, "MemberLevel", "levelId")
        account = await members.override_level(
            s, customer_id, level_id, reason, ctx.now, ctx.viewer.staff_id
        )
        return await _customer(s, customer_id), account

    return await mutate(ctx, run, _account_change("member.level_override", customer_gid))


async def points_adjust(
    ctx: Context, customer_gid: str, points: int, reason: str
) -> MutationResult[tuple[Customer, MemberAccount]]:
    async def run(s: AsyncSession) -> tuple[Customer, MemberAccount]:
        customer_id = input_id(customer_gid, "Customer", "customerId") or 0
        account = await members.adjust(s, customer_id, points, reason, ctx.now, ctx.viewer.staff_id)
        return await _customer(s, customer_id), account

    return await mutate(ctx, run, _account_change("member.points_adjust", customer_gid))


async def _customer(s: AsyncSession, customer_id: int) -> Customer:
    customer = await s.get(Customer, customer_id, populate_existing=True)
    assert customer is not None
    return customer
