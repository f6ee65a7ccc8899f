"""Promotions API: what storefronts see (name, type, tag, window) and admin management with the
conflict rule (DOMAIN.md §4)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import promotions as rp
from resolvers import records as m
from resolvers.common import PageArgs
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission
from resolvers.promotions import PromotionStatus as PromotionStatusEnum
from resolvers.promotions import PromotionType as PromotionTypeEnum
from schema.common import Connection
from schema.common import Money
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import describe_values
from schema.common import money
from schema.common import user_errors
from schema.common import user_errors_field
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.catalog import Channel
    from schema.catalog import Product
    from schema.catalog import Sku
    from schema.reports import PromotionStats

MANAGE_PROMOTIONS = Permission.MANAGE_PROMOTIONS
PromotionType = PromotionTypeEnum
strawberry.enum(PromotionType, description="The eight promotion types.")
PromotionStatus = PromotionStatusEnum
strawberry.enum(PromotionStatus, description="Where a promotion is in its lifecycle.")
describe_values(
    PromotionType,
    {
        "SINGLE_PRODUCT": "Item level (单品直降): a special unit price or percent off, optionally "
        "with limited flash-sale stock.",
        "MULTI_BUY": (
            "Item level (多买优惠): from the Nth unit X% off, N units for a fixed price, N units "
            "of the scope all X% off, or every second unit X% off."
        ),
        "BUNDLE": "Item level (套装): the listed SKUs together for a bundle price.",
        "DEPOSIT": "Item level (定金预售): a deposit now, the balance in a later window; never "
        "combines.",
        "FULL_REDUCTION": "Order level (满减): money off by tiers of the eligible subtotal.",
        "SPEND_GIFT": "Order level (满赠): gift SKUs by tiers of the eligible subtotal.",
        "GIFT": "Gift level (赠品): buying the product adds gift SKUs.",
        "ADD_ON": "Order level (加价购/换购): spending the threshold on the scope (after item "
        "promotions) lets the order add listed SKUs at a special price, up to a limit.",
    },
)
describe_values(
    PromotionStatus,
    {
        "DRAFT": "Not activated yet; can still be edited.",
        "SCHEDULED": "Activated; startsAt is still in the future.",
        "ACTIVE": "Activated and between startsAt and endsAt: applies now.",
        "ENDED": "Activated and past endsAt.",
        "CANCELLED": "Cancelled by staff; no longer applies.",
    },
)
ProductRef = Annotated["Product", strawberry.lazy("schema.catalog")]
SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
PromotionStatsRef = Annotated["PromotionStats", strawberry.lazy("schema.reports")]


@strawberry.enum(description="Who a promotion or coupon template is for.")
class AudienceKind(Enum):
    ALL = strawberry.enum_value("ALL", description="Every customer.")
    NEW_CUSTOMERS = strawberry.enum_value(
        "NEW_CUSTOMERS", description="Customers without a paid order yet."
    )
    MIN_MEMBER_LEVEL = strawberry.enum_value(
        "MIN_MEMBER_LEVEL", description="Customers at or above minMemberLevel."
    )


@strawberry.enum(description="Level of a promotion: a line gets at most one of each.")
class PromotionLevel(Enum):
    ITEM = strawberry.enum_value("ITEM", description="Applies to a line's own units.")
    ORDER = strawberry.enum_value("ORDER", description="Applies over the eligible subtotal.")
    GIFT = strawberry.enum_value("GIFT", description="Adds gift SKUs.")


@strawberry.type(description="A promotion (促销).")
class Promotion(Node):
    name: str = strawberry.field(description="Display name.")
    type: PromotionType = strawberry.field(description="One of the eight promotion types.")
    starts_at: datetime = strawberry.field(description="Start (ISO-8601, UTC).")
    ends_at: datetime = strawberry.field(description="End (ISO-8601, UTC).")
    combinable: bool = strawberry.field(
        description="Whether it combines with promotions of the other levels."
    )
    per_customer_limit: int | None = strawberry.field(
        description="Units one customer may buy at the promotion price; null = no limit."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        # Storefronts show the running promotions as the immutable copies every request shares.
        return isinstance(obj, (m.Promotion, rp.RunningPromotion))

    @strawberry.field(description="ITEM, ORDER or GIFT, from its type.")
    def level(self) -> PromotionLevel:
        return PromotionLevel(self.level)

    @strawberry.field(description="Where it is in its lifecycle.")
    def status(self, info: Info) -> PromotionStatus:
        return rp.status_of(self, info.context.now)  # type: ignore[arg-type]

    @strawberry.field(
        extensions=requires(Permission.VIEW_REPORTS),
        description="Over paid orders: how many used it, what it cost, their GMV.",
    )
    async def stats(self, info: Info) -> PromotionStatsRef:
        from resolvers.reports import promotion_stats

        return await promotion_stats(info.context, self.id)  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="Short storefront label, e.g. 满300减30 or 第2件5折.")
    def tag(self) -> str:
        return rp.tag_of(self)  # type: ignore[arg-type]

    @strawberry.field(
        description="ADD_ON (加价购/换购): its threshold, limit and choices; null "
        "for the other types."
    )
    def add_on(self) -> AddOnRule | None:
        rule = rp.rule_of(self)  # type: ignore[arg-type]
        if rule.kind != PromotionTypeEnum.ADD_ON:
            return None
        return AddOnRule(
            threshold=money(rule.add_on_threshold),
            limit_per_order=rule.add_on_limit,
            choices=[AddOnChoice(add_on_price=money(p), sku_id=s) for s, p in rule.add_on_choices],
        )

    @strawberry.field(description="Channels it applies on; empty = all.")
    def channels(self) -> list[ChannelRef]:
        return [ChannelEnum(c) for c in self.channels]

    @strawberry.field(description="Who it is for.")
    def audience(self) -> AudienceKind:
        return AudienceKind(self.audience)

    @strawberry.field(description="Lowest member level for MIN_MEMBER_LEVEL.")
    def min_member_level(self) -> int:
        return self.min_member_level

    @strawberry.field(description="Flash-sale units at this price, and how many are sold.")
    def promotion_stock(self) -> int | None:
        return self.stock  # type: ignore[attr-defined]

    @strawberry.field(description="Units sold at the promotion price (flash-sale stock).")
    def promotion_stock_sold(self) -> int:
        return self.stock_sold  # type: ignore[attr-defined]

    @strawberry.field(
        description="SPEND_GIFT and GIFT: what a refund does to a shipped gift the order no "
        "longer earns; null for the other types."
    )
    def gift_return_policy(self) -> GiftReturnPolicy | None:
        policy = rp.gift_return_policy_of(self)
        return GiftReturnPolicy(policy) if policy else None


@strawberry.type(description="A SKU an ADD_ON promotion sells at a special price.")
class AddOnChoice:
    add_on_price: Money = strawberry.field(description="Its unit price through the offer.")
    sku_id: strawberry.Private[int]

    @strawberry.field(description="The SKU offered.")
    async def sku(self, info: Info) -> SkuRef | None:
        return await info.context.loaders.sku.load(self.sku_id)


@strawberry.type(description="ADD_ON (加价购/换购): what the offer asks and sells.")
class AddOnRule:
    threshold: Money = strawberry.field(
        description="The scope's subtotal after item promotions that opens the offer."
    )
    limit_per_order: int = strawberry.field(description="Add-on units one order may take.")
    choices: list[AddOnChoice] = strawberry.field(description="The SKUs and their prices.")


@strawberry.type(description="A promotion that conflicts with the one saved.")
class PromotionConflict:
    @strawberry.field(description="The conflicting promotion.")
    async def promotion(self, info: Info) -> Promotion:
        return await info.context.loaders.promotion.load(self.promotion_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Products both promotions would apply to.")
    async def products(self, info: Info) -> list[ProductRef]:
        loaded = await info.context.loaders.product.load_many(list(self.product_ids))  # type: ignore[attr-defined]
        return [p for p in loaded if p is not None]


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="Who a promotion or coupon template is for.")
class PromotionAudienceInput:
    kind: AudienceKind = strawberry.field(
        default=AudienceKind.ALL, description="ALL, NEW_CUSTOMERS or MIN_MEMBER_LEVEL."
    )
    min_member_level: int | None = strawberry.field(
        default=0, description="Lowest member level for MIN_MEMBER_LEVEL."
    )


@strawberry.input(description="Empty includes mean every product; exclusions always win.")
class PromotionScopeInput:
    sku_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of SKUs."
    )
    product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of products."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of backend categories (descendants included)."
    )
    brand_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of brands."
    )
    excluded_product_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of products left out."
    )


@strawberry.input(description="SINGLE_PRODUCT: a special price or a percent off.")
class SingleProductRuleInput:
    special_price: Decimal | None = strawberry.field(
        default=None, description="Special unit price in yuan (Decimal string)."
    )
    percent_off: Decimal | None = strawberry.field(
        default=None, description='Percent off (Decimal string, e.g. "20").'
    )
    promotion_stock: int | None = strawberry.field(
        default=None, description="Flash sale: at most this many units sold at this price."
    )


@strawberry.input(
    description="Exactly one shape: { fromNthUnit, percentOff } (第2件5折), { units, price } "
    "(3件150), { minUnits, percentOff } (满3件8折) or { everySecondUnit: true, percentOff } "
    "(第二件半价)."
)
class MultiBuyRuleInput:
    from_nth_unit: int | None = strawberry.field(
        default=None, description="From this unit of the same product on, percentOff applies."
    )
    min_units: int | None = strawberry.field(
        default=None,
        description="满N件M折: with at least this many units of the scope (all products "
        "together), every unit gets percentOff (8折 = 20).",
    )
    every_second_unit: bool | None = strawberry.field(
        default=None,
        description="第二件半价: per product, units in price order pair up and the cheaper "
        "unit of each pair gets percentOff (3 units: one).",
    )
    percent_off: Decimal | None = strawberry.field(
        default=None, description='Percent off (Decimal string, e.g. "50").'
    )
    units: int | None = strawberry.field(
        default=None, description="Units sold together for `price`."
    )
    price: Decimal | None = strawberry.field(
        default=None, description="Price of `units` units in yuan (Decimal string)."
    )


@strawberry.input(description="A SKU and a quantity.")
class SkuQuantityInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    quantity: int = strawberry.field(default=1, description="Units.")


@strawberry.input(description="BUNDLE: all these SKUs together for one price.")
class BundleRuleInput:
    skus: list[SkuQuantityInput] = strawberry.field(
        description="The SKUs and quantities that make the bundle."
    )
    price: Decimal = strawberry.field(
        description="Bundle price in yuan (Decimal string), allocated over the lines by base price."
    )


@strawberry.input(description="DEPOSIT (定金预售): a deposit now, the balance in a later window.")
class DepositRuleInput:
    deposit: Decimal = strawberry.field(description="Deposit in yuan (Decimal string).")
    deposit_worth: Decimal | None = strawberry.field(
        default=None,
        description="What the deposit counts for in yuan (定金膨胀); omitted = the deposit.",
    )
    balance_starts_at: datetime | None = strawberry.field(
        default=None, description="When the balance becomes payable (ISO-8601, UTC)."
    )
    balance_ends_at: datetime | None = strawberry.field(
        default=None, description="When the balance window closes (ISO-8601, UTC)."
    )


@strawberry.input(description="A spend tier: from threshold, amount off.")
class TierInput:
    threshold: Decimal = strawberry.field(
        description="Eligible subtotal to reach, in yuan (Decimal string)."
    )
    amount: Decimal = strawberry.field(description="Discount in yuan (Decimal string).")


@strawberry.input(description='"Each full step, amount off", up to a cap.')
class EveryInput:
    step: Decimal = strawberry.field(description='Step in yuan (Decimal string), e.g. "100".')
    amount: Decimal = strawberry.field(description="Discount per step in yuan (Decimal string).")
    cap: Decimal | None = strawberry.field(
        default=None, description="Largest total discount in yuan (Decimal string)."
    )


@strawberry.input(description="{ tiers } or { every: { step, amount, cap } }.")
class FullReductionRuleInput:
    tiers: list[TierInput] | None = strawberry.field(
        default=None, description="Tiers over the eligible subtotal; the highest reached applies."
    )
    every: EveryInput | None = strawberry.field(
        default=None, description='"Each full step" reduction instead of tiers.'
    )


@strawberry.input(description="A spend tier granting gifts.")
class GiftTierInput:
    threshold: Decimal = strawberry.field(
        description="Eligible subtotal to reach, in yuan (Decimal string)."
    )
    gifts: list[SkuQuantityInput] = strawberry.field(description="Gift SKUs and quantities.")


@strawberry.enum(
    description="What a refund does to a shipped gift whose condition the order no longer meets."
)
class GiftReturnPolicy(Enum):
    RETURN_GIFT = strawberry.enum_value(
        "RETURN_GIFT", description="The gift joins the return (refunded at 0, restocked)."
    )
    DEDUCT_VALUE = strawberry.enum_value(
        "DEDUCT_VALUE",
        description="The customer keeps it; its SKU's price is kept back from the refund.",
    )


_POLICY_HELP = "Refund handling of the gift when the order no longer qualifies; RETURN_GIFT."


@strawberry.input(description="SPEND_GIFT: gifts per tier (the highest reached).")
class SpendGiftRuleInput:
    tiers: list[GiftTierInput] = strawberry.field(description="The tiers.")
    gift_return_policy: GiftReturnPolicy | None = strawberry.field(
        default=None, description=_POLICY_HELP
    )


@strawberry.input(description="GIFT: buying the product adds these gift SKUs.")
class GiftRuleInput:
    gifts: list[SkuQuantityInput] = strawberry.field(description="Gift SKUs and quantities.")
    gift_return_policy: GiftReturnPolicy | None = strawberry.field(
        default=None, description=_POLICY_HELP
    )


@strawberry.input(description="An add-on SKU and its special price.")
class AddOnChoiceInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU offered.")
    price: Decimal = strawberry.field(
        description="Its add-on unit price in yuan (Decimal string), below the SKU's own."
    )


@strawberry.input(description="ADD_ON (加价购/换购): spend a threshold, add a SKU cheaply.")
class AddOnRuleInput:
    threshold: Decimal = strawberry.field(
        description="The scope's subtotal after item promotions to reach, in yuan."
    )
    choices: list[AddOnChoiceInput] = strawberry.field(
        description="The SKUs offered (1 to 20, each once) at their add-on prices."
    )
    limit_per_order: int | None = strawberry.field(
        default=1, description="Add-on units one order may take at these prices (1..99)."
    )


@strawberry.input(one_of=True, description="Exactly one: the shape of the promotion's type.")
class PromotionRulesInput:
    single_product: SingleProductRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="SINGLE_PRODUCT (单品直降)."
    )
    multi_buy: MultiBuyRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="MULTI_BUY (多买优惠)."
    )
    bundle: BundleRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="BUNDLE (套装)."
    )
    deposit: DepositRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="DEPOSIT (定金预售)."
    )
    full_reduction: FullReductionRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="FULL_REDUCTION (满减)."
    )
    spend_gift: SpendGiftRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="SPEND_GIFT (满赠)."
    )
    gift: GiftRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="GIFT (赠品)."
    )
    add_on: AddOnRuleInput | None = strawberry.field(
        default=strawberry.UNSET, description="ADD_ON (加价购/换购)."
    )


@strawberry.input(description="A promotion's values.")
class PromotionInput:
    name: str = strawberry.field(description="Display name.")
    type: PromotionType = strawberry.field(description="One of the eight promotion types.")
    starts_at: datetime = strawberry.field(description="Start (ISO-8601, UTC).")
    ends_at: datetime = strawberry.field(description="End (ISO-8601, UTC).")
    rules: PromotionRulesInput = strawberry.field(description="The type's rule.")
    channels: list[ChannelRef] | None = strawberry.field(
        default=None, description="Channels it applies on; omitted = all."
    )
    per_customer_limit: int | None = strawberry.field(
        default=None, description="Units one customer may buy at the promotion price."
    )
    combinable: bool | None = strawberry.field(
        default=True, description="Whether it combines with promotions of the other levels."
    )
    audience: PromotionAudienceInput | None = strawberry.field(
        default=None, description="Who it is for; omitted = everyone."
    )
    scope: PromotionScopeInput | None = strawberry.field(
        default=None, description="What it applies to; omitted = everything."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who funds it; omitted = the platform."
    )


@strawberry.input(description="Narrows promotions.")
class PromotionFilter:
    status: PromotionStatus | None = strawberry.field(
        default=None, description="Only promotions in this status."
    )
    type: PromotionType | None = strawberry.field(
        default=None, description="Only promotions of this type."
    )


@strawberry.type(description="Result of a promotion mutation.")
class PromotionPayload:
    promotion: Promotion | None = strawberry.field(
        description="The promotion as saved; null when refused."
    )
    conflicts: list[PromotionConflict] = strawberry.field(
        description="Promotions it conflicts with, when refused for that."
    )
    user_errors: list[UserError] = user_errors_field()


def _payload(result: Any) -> PromotionPayload:
    return PromotionPayload(
        promotion=result.value,
        conflicts=rp.conflicts_of(result),  # type: ignore[arg-type]
        user_errors=user_errors(result.errors),
    )


@strawberry.type
class PromotionsQuery:
    @strawberry.field(description="Conflicts a draft would have, without saving it.")
    async def promotion_conflicts(
        self,
        info: Info,
        input: Annotated[
            PromotionInput, strawberry.argument(description="The draft promotion to test.")
        ],
    ) -> list[PromotionConflict]:
        return await rp.promotion_conflicts(info.context, input)  # type: ignore[return-value]

    @strawberry.field(
        description="A promotion by its global id (staff with MANAGE_PROMOTIONS; "
        "merchant staff their merchant's only)."
    )
    async def promotion(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the promotion.")
        ],
    ) -> Promotion | None:
        from resolvers.common import query_id

        return await info.context.loaders.promotion.load(query_id(id, "Promotion")[1])

    @strawberry.field(
        description="Promotions; merchant staff see their merchant's only.",
        extensions=[RelayWindow(50)],
    )
    async def promotions(
        self,
        info: Info,
        filter: Annotated[
            PromotionFilter | None, strawberry.argument(description="Narrow the result.")
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[Promotion]:
        return await rp.admin_promotions(info.context, filter, page)  # type: ignore[return-value]


@strawberry.type
class PromotionsMutation:
    @strawberry.mutation(description="Saved as a DRAFT; refused when it conflicts.")
    async def promotion_create(
        self,
        info: Info,
        input: Annotated[PromotionInput, strawberry.argument(description="The new promotion.")],
    ) -> PromotionPayload:
        return _payload(await rp.promotion_create(info.context, input))

    @strawberry.mutation(description="While DRAFT or SCHEDULED.")
    async def promotion_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the promotion.")
        ],
        input: Annotated[
            PromotionInput, strawberry.argument(description="The promotion's new values.")
        ],
    ) -> PromotionPayload:
        return _payload(await rp.promotion_update(info.context, id, input))

    @strawberry.mutation(
        description="Schedule or start a DRAFT promotion; refused when it "
        "conflicts with another of the same level."
    )
    async def promotion_activate(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the promotion.")
        ],
    ) -> PromotionPayload:
        return _payload(await rp.promotion_activate(info.context, id))

    @strawberry.mutation(
        description="Cancel a promotion: it stops applying to carts and new orders."
    )
    async def promotion_cancel(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the promotion.")
        ],
    ) -> PromotionPayload:
        return _payload(await rp.promotion_cancel(info.context, id))
