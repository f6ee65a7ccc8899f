"""Red packet glue: share, open, a customer's packets, grants and balance, and the red
packet part of a checkout preview (services/red_packets.py has the rules)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from models.red_packets import RedPacket
from models.red_packets import RedPacketGrant
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import page_window
from resolvers.context import Context
from services import red_packets
from services.errors import DomainError
from services.errors import ErrorCode

__all__ = ["RedPacket", "RedPacketGrant"]


def rules(ctx: Context) -> red_packets.RedPacketRules:
    return red_packets.RedPacketRules.of(ctx.settings)


def _customer(ctx: Context) -> int:
    customer_id = ctx.viewer.customer_id
    if customer_id is None:  # the policy admits customers only
        raise DomainError(ErrorCode.NOT_FOUND, "Log in as a customer first.", "token")
    return customer_id


async def share(ctx: Context, order_gid: str) -> MutationResult[RedPacket]:
    async def run(s: AsyncSession) -> RedPacket:
        order_id = input_id(order_gid, "Order", "orderId") or 0
        return await red_packets.share(s, order_id, _customer(ctx), ctx.now, rules(ctx))

    return await mutate(ctx, run)


async def open_packet(ctx: Context, token: str) -> MutationResult[RedPacketGrant]:
    zone = ZoneInfo(ctx.settings.report_timezone)

    async def run(s: AsyncSession) -> RedPacketGrant:
        return await red_packets.open_packet(
            s, token.strip(), _customer(ctx), ctx.now, rules(ctx), zone
        )

    return await mutate(ctx, run)


def is_owner(ctx: Context, customer_id: int) -> bool:
    """Red packets are the customer's own: nobody else reads them, staff neither."""
    return ctx.viewer.customer_id == customer_id


async def balance(ctx: Context, customer_id: int) -> int:
    return await ctx.read(lambda s: red_packets.balance(s, customer_id, ctx.now))


async def packets(ctx: Context, customer_id: int, args: PageArgs) -> Page[RedPacket]:
    return await _page(ctx, red_packets.packets_page, customer_id, args)


async def grants(ctx: Context, customer_id: int, args: PageArgs) -> Page[RedPacketGrant]:
    return await _page(ctx, red_packets.grants_page, customer_id, args)


async def _page(ctx: Context, read: Any, customer_id: int, args: PageArgs) -> Page[Any]:
    window = page_window(ctx, args)
    if window.needs_total:
        window = window.within((await ctx.read(lambda s: read(s, customer_id, 0, 0)))[1])
    rows, count = await ctx.read(lambda s: read(s, customer_id, window.offset, window.limit))
    return Page(rows, window.offset, count)


async def checkout_red_packets(ctx: Context, quote: Any) -> tuple[int, int, int]:
    """(balance, the most this checkout could take, what it uses)."""
    if quote.packets is not None:
        use = quote.packets
        return use.balance, use.max_usable, use.used
    held = await balance(ctx, quote.customer.id)
    products = {str(item.line.id): item.product for item in quote.view.lines}
    return held, red_packets.max_discount(quote.result, products, held), 0


def discount_of(result: Any) -> int:
    return red_packets.discount_of(result)
