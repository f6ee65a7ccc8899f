"""Promotions API: what storefronts see (name, type, tag, window) and admin management with the
conflict rule (DOMAIN.md §4)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models as m
from models.promotions import PromotionType as PromotionTypeEnum
from resolvers import promotions as rp
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission
from schema.common import Connection, Node, UserError, page_args, user_errors
from schema.permissions import requires
from services import pricing
from services import promotions as rules
from services.promotions import PromotionStatus as PromotionStatusEnum

if TYPE_CHECKING:
    from schema.catalog import Channel, Product
    from schema.reports import PromotionStats

MANAGE_PROMOTIONS = Permission.MANAGE_PROMOTIONS
PromotionType = strawberry.enum(PromotionTypeEnum)
PromotionStatus = strawberry.enum(PromotionStatusEnum)
ProductRef = Annotated["Product", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
PromotionStatsRef = Annotated["PromotionStats", strawberry.lazy("schema.reports")]


@strawberry.enum
class AudienceKind(Enum):
    ALL = "ALL"
    NEW_CUSTOMERS = "NEW_CUSTOMERS"
    MIN_MEMBER_LEVEL = "MIN_MEMBER_LEVEL"


@strawberry.enum
class PromotionLevel(Enum):
    ITEM = "ITEM"
    ORDER = "ORDER"
    GIFT = "GIFT"


@strawberry.type
class Promotion(Node):
    name: str
    type: PromotionType  # type: ignore[valid-type]
    starts_at: datetime
    ends_at: datetime
    combinable: bool
    per_customer_limit: int | None

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Promotion)

    @strawberry.field
    def level(self) -> PromotionLevel:
        return PromotionLevel(self.level)

    @strawberry.field
    def status(self, info: Info) -> PromotionStatus:  # type: ignore[valid-type]
        return rules.status_of(self, info.context.now)  # type: ignore[arg-type]

    @strawberry.field(extensions=requires(Permission.VIEW_REPORTS),
                      description="Over paid orders: how many used it, what it cost, their GMV.")
    async def stats(self, info: Info) -> PromotionStatsRef:
        from resolvers.reports import promotion_stats

        return await promotion_stats(info.context, self.id)  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="Short storefront label, e.g. 满300减30 or 第2件5折.")
    def tag(self) -> str:
        return pricing.tag_of(rules.as_rule(self))  # type: ignore[arg-type]

    @strawberry.field
    def channels(self) -> list[ChannelRef]:
        return [ChannelEnum(c) for c in self.channels]  # type: ignore[attr-defined]

    @strawberry.field
    def audience(self) -> AudienceKind:
        return AudienceKind(self.audience)

    @strawberry.field
    def min_member_level(self) -> int:
        return self.min_member_level

    @strawberry.field(description="Flash-sale units at this price, and how many are sold.")
    def promotion_stock(self) -> int | None:
        return self.stock  # type: ignore[attr-defined]

    @strawberry.field
    def promotion_stock_sold(self) -> int:
        return self.stock_sold  # type: ignore[attr-defined]


@strawberry.type
class PromotionConflict:
    @strawberry.field
    async def promotion(self, info: Info) -> Promotion:
        return await info.context.loaders.promotion.load(self.promotion_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Products both promotions would apply to.")
    async def products(self, info: Info) -> list[ProductRef]:
        loaded = await info.context.loaders.product.load_many(list(self.product_ids))  # type: ignore[attr-defined]
        return [p for p in loaded if p is not None]


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input
class PromotionAudienceInput:
    kind: AudienceKind = AudienceKind.ALL
    min_member_level: int | None = 0


@strawberry.input(description="Empty includes mean every product; exclusions always win.")
class PromotionScopeInput:
    sku_ids: list[strawberry.ID] | None = None
    product_ids: list[strawberry.ID] | None = None
    category_ids: list[strawberry.ID] | None = None
    brand_ids: list[strawberry.ID] | None = None
    excluded_product_ids: list[strawberry.ID] | None = None


@strawberry.input
class SingleProductRuleInput:
    special_price: Decimal | None = None
    percent_off: Decimal | None = None
    promotion_stock: int | None = strawberry.field(
        default=None, description="Flash sale: at most this many units sold at this price.")


@strawberry.input(description="{ fromNthUnit, percentOff } or { units, price }.")
class MultiBuyRuleInput:
    from_nth_unit: int | None = None
    percent_off: Decimal | None = None
    units: int | None = None
    price: Decimal | None = None


@strawberry.input
class SkuQuantityInput:
    sku_id: strawberry.ID
    quantity: int = 1


@strawberry.input
class BundleRuleInput:
    skus: list[SkuQuantityInput]
    price: Decimal


@strawberry.input
class DepositRuleInput:
    deposit: Decimal
    deposit_worth: Decimal | None = None
    balance_starts_at: datetime | None = None
    balance_ends_at: datetime | None = None


@strawberry.input
class TierInput:
    threshold: Decimal
    amount: Decimal


@strawberry.input
class EveryInput:
    step: Decimal
    amount: Decimal
    cap: Decimal | None = None


@strawberry.input(description="{ tiers } or { every: { step, amount, cap } }.")
class FullReductionRuleInput:
    tiers: list[TierInput] | None = None
    every: EveryInput | None = None


@strawberry.input
class GiftTierInput:
    threshold: Decimal
    gifts: list[SkuQuantityInput]


@strawberry.input
class SpendGiftRuleInput:
    tiers: list[GiftTierInput]


@strawberry.input
class GiftRuleInput:
    gifts: list[SkuQuantityInput]


@strawberry.input(one_of=True, description="Exactly one: the shape of the promotion's type.")
class PromotionRulesInput:
    single_product: SingleProductRuleInput | None = strawberry.UNSET
    multi_buy: MultiBuyRuleInput | None = strawberry.UNSET
    bundle: BundleRuleInput | None = strawberry.UNSET
    deposit: DepositRuleInput | None = strawberry.UNSET
    full_reduction: FullReductionRuleInput | None = strawberry.UNSET
    spend_gift: SpendGiftRuleInput | None = strawberry.UNSET
    gift: GiftRuleInput | None = strawberry.UNSET


@strawberry.input
class PromotionInput:
    name: str
    type: PromotionType  # type: ignore[valid-type]
    starts_at: datetime
    ends_at: datetime
    rules: PromotionRulesInput
    channels: list[ChannelRef] | None = None
    per_customer_limit: int | None = None
    combinable: bool | None = True
    audience: PromotionAudienceInput | None = None
    scope: PromotionScopeInput | None = None
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Who funds it; omitted = the platform.")


@strawberry.input
class PromotionFilter:
    status: PromotionStatus | None = None  # type: ignore[valid-type]
    type: PromotionType | None = None  # type: ignore[valid-type]


@strawberry.type
class PromotionPayload:
    promotion: Promotion | None
    conflicts: list[PromotionConflict]
    user_errors: list[UserError]


def _payload(result: Any) -> PromotionPayload:
    return PromotionPayload(promotion=result.value,
                            conflicts=rp.conflicts_of(result),  # type: ignore[arg-type]
                            user_errors=user_errors(result.errors))


@strawberry.type
class PromotionsQuery:
    @strawberry.field(description="Conflicts a draft would have, without saving it.")
    async def promotion_conflicts(self, info: Info,
                                  input: PromotionInput) -> list[PromotionConflict]:
        return await rp.promotion_conflicts(info.context, input)  # type: ignore[return-value]

    @strawberry.field
    async def promotion(self, info: Info, id: strawberry.ID) -> Promotion | None:
        from resolvers.common import query_id

        return await info.context.loaders.promotion.load(query_id(id, "Promotion")[1])

    @strawberry.field
    async def promotions(self, info: Info, filter: PromotionFilter | None = None,
                         first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None
                        ) -> Connection[Promotion]:
        return await rp.admin_promotions(info.context, filter,
                                         page_args(info, first, after, last, before))  # type: ignore[return-value]


@strawberry.type
class PromotionsMutation:
    @strawberry.mutation(description="Saved as a DRAFT; refused when it conflicts.")
    async def promotion_create(self, info: Info, input: PromotionInput) -> PromotionPayload:
        return _payload(await rp.promotion_create(info.context, input))

    @strawberry.mutation(description="While DRAFT or SCHEDULED.")
    async def promotion_update(self, info: Info, id: strawberry.ID,
                               input: PromotionInput) -> PromotionPayload:
        return _payload(await rp.promotion_update(info.context, id, input))

    @strawberry.mutation
    async def promotion_activate(self, info: Info, id: strawberry.ID) -> PromotionPayload:
        return _payload(await rp.promotion_activate(info.context, id))

    @strawberry.mutation
    async def promotion_cancel(self, info: Info, id: strawberry.ID) -> PromotionPayload:
        return _payload(await rp.promotion_cancel(info.context, id))
