"""Member center API (会员中心): levels, a member's growth, points and ledger on `Customer`,
the points part of a checkout preview, and the staff mutations (MANAGE_CUSTOMERS): level CRUD,
a customer's level override, points adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import members as rm
from resolvers.common import PageArgs
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from schema.common import Connection
from schema.common import Money
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import describe_values
from schema.common import money
from schema.common import user_errors
from schema.common import user_errors_field
from schema.payloads import payload

if TYPE_CHECKING:
    from schema.accounts import Customer
    from schema.orders import Order

CustomerRef = Annotated["Customer", strawberry.lazy("schema.accounts")]
OrderRef = Annotated["Order", strawberry.lazy("schema.orders")]

PointsKind = strawberry.enum(rm.PointsKind, description="Why a member's points changed.")
describe_values(
    PointsKind,
    {
        "EARN": "Earned by a paid order (with its growth).",
        "SPEND": "Spent at checkout on an order.",
        "REFUND": "Spent points given back: the order was cancelled or refunded.",
        "CLAWBACK": "Earned points and growth taken back because the order was refunded.",
        "ADJUST": "Added or taken by staff, with a reason.",
    },
)


@strawberry.type(
    description="A member level (会员等级): customers whose growth reaches its threshold hold "
    "it (the highest reached), unless staff override it."
)
class MemberLevel(Node):
    rank: int = strawberry.field(
        description="Its place in the order, from 1; promotion and coupon audiences "
        "(minMemberLevel) compare this number."
    )
    name: str = strawberry.field(description='Display name, e.g. "黄金会员".')
    growth_threshold: int = strawberry.field(
        description="Growth needed to hold it; thresholds rise with rank."
    )
    benefits: list[str] = strawberry.field(description="The level's benefits (权益), as shown.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, rm.MemberLevel)


@strawberry.type(description="One row of a member's points ledger; the balance is their sum.")
class PointsEntry:
    kind: PointsKind = strawberry.field(description="Why.")  # type: ignore[valid-type]
    points: int = strawberry.field(description="What the balance changed by (signed).")
    growth: int = strawberry.field(description="What growth changed by (signed).")
    note: str | None = strawberry.field(description="The order number, or staff's reason.")
    created_at: datetime = strawberry.field(description="When (ISO-8601, UTC).")

    @strawberry.field(description="The order it is about, if any.")
    async def order(self, info: Info) -> OrderRef | None:
        order_id = self.order_id  # type: ignore[attr-defined]
        return await info.context.loaders.order.load(order_id) if order_id else None


@strawberry.type(description="Points at checkout: what can be used and what is.")
class CheckoutPoints:
    balance: int = strawberry.field(description="The member's points balance.")
    max_usable: int = strawberry.field(
        description="The most points this checkout can take (the per-order cap and the balance)."
    )
    used: int = strawberry.field(description="Points spent by this checkout (pointsToUse, capped).")
    discount: Money = strawberry.field(description="What they pay for (Money in yuan).")


async def checkout_points(info: Info, quote: Any) -> CheckoutPoints:
    balance, usable = await rm.checkout_points(info.context, quote)
    used = quote.points.used if quote.points else 0
    return CheckoutPoints(
        balance=balance,
        max_usable=usable,
        used=used,
        discount=money(quote.points.discount if quote.points else 0),
    )


# --- on Customer: the member center ----------------------------------------------------------


async def _standing(self: Any, info: Info) -> rm.Standing:
    if not rm.may_see(info.context, self.id):
        raise api_error(
            ApiErrorCode.FORBIDDEN,
            "Only the member and platform staff with MANAGE_CUSTOMERS see this.",
        )
    return await rm.standing(info.context, self.id)


async def _growth(self: Any, info: Info) -> int:
    return (await _standing(self, info)).growth


async def _points(self: Any, info: Info) -> int:
    return (await _standing(self, info)).points


async def _level(self: Any, info: Info) -> MemberLevel | None:
    return (await _standing(self, info)).level  # type: ignore[return-value]


async def _next_level(self: Any, info: Info) -> MemberLevel | None:
    return (await _standing(self, info)).next_level  # type: ignore[return-value]


async def _growth_to_next_level(self: Any, info: Info) -> int | None:
    found = await _standing(self, info)
    return found.next_level.growth_threshold - found.growth if found.next_level else None


async def _level_override(self: Any, info: Info) -> MemberLevel | None:
    return (await _standing(self, info)).override  # type: ignore[return-value]


async def _points_ledger(
    self: Any,
    info: Info,
    page: PageArgs,
) -> Connection[PointsEntry]:
    await _standing(self, info)
    return await rm.ledger(info.context, self.id, page)  # type: ignore[return-value]


growth_field: int = strawberry.field(
    resolver=_growth,
    description="Growth value (成长值): whole yuan of paid orders, less refunds; decides the "
    "level. The member and platform staff with MANAGE_CUSTOMERS only.",
)
points_field: int = strawberry.field(
    resolver=_points,
    description="Points (积分) balance: the sum of pointsLedger. The member and platform staff "
    "with MANAGE_CUSTOMERS only.",
)
level_field: MemberLevel | None = strawberry.field(
    resolver=_level,
    description="The level held (memberLevel is its rank): the override if set, else the "
    "highest reached by growth; null below every level.",
)
next_level_field: MemberLevel | None = strawberry.field(
    resolver=_next_level, description="The next level growth can reach; null at the top."
)
growth_to_next_level_field: int | None = strawberry.field(
    resolver=_growth_to_next_level,
    description="Growth still needed for nextLevel; null at the top.",
)
level_override_field: MemberLevel | None = strawberry.field(
    resolver=_level_override,
    description="The level staff hold the member at, whatever their growth; null when growth "
    "decides.",
)
points_ledger_field: Connection[PointsEntry] = strawberry.field(
    resolver=_points_ledger,
    description="The points ledger, newest first.",
    extensions=[RelayWindow(20)],
)


# --- root fields -------------------------------------------------------------------------------


@strawberry.input(description="A member level.")
class MemberLevelInput:
    name: str = strawberry.field(description="Display name, 1–40 characters, unique.")
    rank: int = strawberry.field(description="Its place in the order (1–1000), unique.")
    growth_threshold: int = strawberry.field(
        description="Growth needed (≥ 0), unique; thresholds must rise with rank."
    )
    benefits: list[str] | None = strawberry.field(
        default=None, description="Up to 10 benefits (权益) of up to 100 characters."
    )


@strawberry.type(description="Result of a member level mutation.")
class MemberLevelPayload:
    member_level: MemberLevel | None = strawberry.field(
        description="The level as saved (as it was, when deleted); null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a change to a customer's membership.")
class CustomerMemberPayload:
    customer: CustomerRef | None = strawberry.field(
        description="The customer with their level, growth and points; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


def _member_payload(result: Any) -> CustomerMemberPayload:
    value = result.value
    return CustomerMemberPayload(
        customer=value[0] if value else None, user_errors=user_errors(result.errors)
    )


LevelId = Annotated[strawberry.ID, strawberry.argument(description="Relay id of the level.")]
CustomerId = Annotated[strawberry.ID, strawberry.argument(description="Relay id of the customer.")]


@strawberry.type
class MembersQuery:
    @strawberry.field(description="Every member level, by rank (public: what each level gives).")
    async def member_levels(self, info: Info) -> list[MemberLevel]:
        return await rm.levels(info.context)  # type: ignore[return-value]


@strawberry.type
class MembersMutation:
    @strawberry.mutation(description="Define a member level (platform staff, MANAGE_CUSTOMERS).")
    async def member_level_create(
        self,
        info: Info,
        input: Annotated[MemberLevelInput, strawberry.argument(description="The level.")],
    ) -> MemberLevelPayload:
        return payload(MemberLevelPayload, member_level=await rm.level_create(info.context, input))

    @strawberry.mutation(
        description="Change a member level; every customer's level follows (platform staff, "
        "MANAGE_CUSTOMERS)."
    )
    async def member_level_update(
        self,
        info: Info,
        id: LevelId,
        input: Annotated[MemberLevelInput, strawberry.argument(description="The level.")],
    ) -> MemberLevelPayload:
        return payload(
            MemberLevelPayload, member_level=await rm.level_update(info.context, id, input)
        )

    @strawberry.mutation(
        description="Delete a member level no override holds anyone at (LEVEL_IN_USE); its "
        "members fall to the level below (platform staff, MANAGE_CUSTOMERS)."
    )
    async def member_level_delete(self, info: Info, id: LevelId) -> MemberLevelPayload:
        return payload(MemberLevelPayload, member_level=await rm.level_delete(info.context, id))

    @strawberry.mutation(
        description="Hold a customer at a level whatever their growth, or give it back to growth "
        "(levelId null); audited (platform staff, MANAGE_CUSTOMERS)."
    )
    async def customer_level_override(
        self,
        info: Info,
        customer_id: CustomerId,
        reason: Annotated[str, strawberry.argument(description="Why, 1–300 characters.")],
        level_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Relay id of the level; null clears the override."),
        ] = None,
    ) -> CustomerMemberPayload:
        return _member_payload(await rm.level_override(info.context, customer_id, level_id, reason))

    @strawberry.mutation(
        description="Add (positive) or take (negative) points, never below a zero balance "
        "(INSUFFICIENT_POINTS); an ADJUST ledger row, audited (platform staff, MANAGE_CUSTOMERS)."
    )
    async def customer_points_adjust(
        self,
        info: Info,
        customer_id: CustomerId,
        points: Annotated[int, strawberry.argument(description="Signed, not 0.")],
        reason: Annotated[str, strawberry.argument(description="Why, 1–300 characters.")],
    ) -> CustomerMemberPayload:
        return _member_payload(await rm.points_adjust(info.context, customer_id, points, reason))
