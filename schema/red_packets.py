"""Red packets API (红包): share a packet after paying, open a friend's, a customer's own
packets, grants and balance on `Customer` (theirs alone), and the red packet part of a
checkout preview."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import red_packets as rr
from resolvers.common import PageArgs
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from schema.common import Connection
from schema.common import Money
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import money
from schema.common import user_errors_field
from schema.payloads import payload

if TYPE_CHECKING:
    from schema.orders import Order

OrderRef = Annotated["Order", strawberry.lazy("schema.orders")]


@strawberry.type(
    description="A red packet its customer shares after paying (one per checkout): friends "
    "open it with its token. Seen by its sharer only."
)
class RedPacket:
    token: str = strawberry.field(
        description="The unguessable token friends open it with (redPacketOpen)."
    )
    max_opens: int = strawberry.field(description="How many friends may open it.")
    opens: int = strawberry.field(description="How many have.")
    created_at: datetime = strawberry.field(description="When it was first shared (UTC).")
    expires_at: datetime = strawberry.field(description="Opens stop then (UTC).")

    @strawberry.field(description="The most it gives over every open (Money in yuan).")
    def budget(self) -> Money:
        return money(self.budget)

    @strawberry.field(description="What it has given so far (Money in yuan).")
    def given(self) -> Money:
        return money(self.given)

    @strawberry.field(description="The paid order it was shared from.")
    async def order(self, info: Info) -> OrderRef | None:
        return await info.context.loaders.order.load(self.order_id)  # type: ignore[attr-defined]


@strawberry.type(
    description="What the customer got by opening a friend's red packet: spendable at "
    "checkout (redPacketsToUse) until it expires."
)
class RedPacketGrant:
    opened_at: datetime = strawberry.field(description="When it was opened (UTC).")
    expires_at: datetime = strawberry.field(description="It cannot be spent after (UTC).")

    @strawberry.field(description="What the packet gave (Money in yuan).")
    def amount(self) -> Money:
        return money(self.amount)

    @strawberry.field(description="What is left to spend (Money in yuan).")
    def remaining(self) -> Money:
        return money(self.remaining)


@strawberry.type(description="Red packets at checkout: what can be used and what is.")
class CheckoutRedPackets:
    balance: Money = strawberry.field(description="The customer's unexpired balance.")
    max_usable: Money = strawberry.field(
        description="The most this checkout can take: lines of products that take red packets, "
        "each up to its cap, and the balance."
    )
    used: Money = strawberry.field(description="What this checkout uses (redPacketsToUse, capped).")


async def checkout_red_packets(info: Info, quote: Any) -> CheckoutRedPackets:
    held, usable, used = await rr.checkout_red_packets(info.context, quote)
    return CheckoutRedPackets(balance=money(held), max_usable=money(usable), used=money(used))


# --- on Customer: the customer's own ---------------------------------------------------------


def _own(self: Any, info: Info) -> int:
    if not rr.is_owner(info.context, self.id):
        raise api_error(ApiErrorCode.FORBIDDEN, "Only the customer sees their red packets.")
    return int(self.id)


async def _balance(self: Any, info: Info) -> Money:
    return money(await rr.balance(info.context, _own(self, info)))


async def _packets(
    self: Any,
    info: Info,
    page: PageArgs,
) -> Connection[RedPacket]:
    args = page
    return await rr.packets(info.context, _own(self, info), args)  # type: ignore[return-value]


async def _grants(
    self: Any,
    info: Info,
    page: PageArgs,
) -> Connection[RedPacketGrant]:
    args = page
    return await rr.grants(info.context, _own(self, info), args)  # type: ignore[return-value]


balance_field: Money = strawberry.field(
    resolver=_balance,
    description="Red packet (红包) balance: what opened packets have left, unexpired. The "
    "customer only.",
)
packets_field: Connection[RedPacket] = strawberry.field(
    resolver=_packets,
    extensions=[RelayWindow(20)],
    description="The red packets the customer shares, newest first. The customer only.",
)
grants_field: Connection[RedPacketGrant] = strawberry.field(
    resolver=_grants,
    extensions=[RelayWindow(20)],
    description="What the customer got from friends' red packets, newest first. The customer only.",
)


# --- root fields -------------------------------------------------------------------------------


@strawberry.type(description="Result of sharing a red packet.")
class RedPacketSharePayload:
    red_packet: RedPacket | None = strawberry.field(
        description="The packet to share (the same one every time); null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of opening a red packet.")
class RedPacketOpenPayload:
    grant: RedPacketGrant | None = strawberry.field(
        description="What the packet gave; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type
class RedPacketsMutation:
    @strawberry.mutation(
        description="The red packet of one of the customer's paid orders' checkout, to share "
        "with friends: made on first call, the same one after (customers, their own orders)."
    )
    async def red_packet_share(
        self,
        info: Info,
        order_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay id of a paid order of yours.")
        ],
    ) -> RedPacketSharePayload:
        return payload(RedPacketSharePayload, red_packet=await rr.share(info.context, order_id))

    @strawberry.mutation(
        description="Open a friend's red packet: a platform-funded amount spendable at checkout "
        "until it expires; once per packet, a few a day, never your own (customers)."
    )
    async def red_packet_open(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The packet's token.")],
    ) -> RedPacketOpenPayload:
        return payload(RedPacketOpenPayload, grant=await rr.open_packet(info.context, token))
