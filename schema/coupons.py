"""Coupons API (DOMAIN.md §5): templates (batches), claiming, issuing, codes, the customer's
wallet and per-template statistics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models as m
from models.coupons import CouponStatus as CouponStatusEnum
from models.coupons import CouponType as CouponTypeEnum
from models.coupons import Distribution as DistributionEnum
from resolvers import coupons as rco
from resolvers.context import Permission
from schema.common import (
    Connection,
    Money,
    Node,
    UserError,
    money,
    page_args,
    user_errors,
)
from schema.permissions import requires
from services import coupons as rules

if TYPE_CHECKING:
    from schema.promotions import PromotionAudienceInput, PromotionScopeInput

MANAGE_COUPONS = Permission.MANAGE_COUPONS
CouponType = strawberry.enum(CouponTypeEnum)
CouponStatus = strawberry.enum(CouponStatusEnum)
CouponDistribution = strawberry.enum(DistributionEnum, name="CouponDistribution")
ScopeInputRef = Annotated["PromotionScopeInput", strawberry.lazy("schema.promotions")]
AudienceInputRef = Annotated["PromotionAudienceInput", strawberry.lazy("schema.promotions")]


@strawberry.type
class CouponStats:
    issued: int
    claimed: int
    used: int

    @strawberry.field
    def redemption_rate(self) -> float:
        return self.redemption_rate

    @strawberry.field(description="Σ coupon discounts on paid orders (0 until orders exist).")
    def discount_cost(self) -> Money:
        return money(self.discount_cost)  # type: ignore[return-value]

    @strawberry.field(description="Σ payable of paid orders that used the batch.")
    def order_gmv(self) -> Money:
        return money(self.order_gmv)  # type: ignore[return-value]


@strawberry.type
class CouponTemplate(Node):
    name: str
    type: CouponType  # type: ignore[valid-type]
    distribution: CouponDistribution  # type: ignore[valid-type]
    total_quantity: int
    issued_count: int
    per_customer_limit: int
    combines_with_promotions: bool
    days_after_claim: int | None
    claim_starts_at: datetime | None
    claim_ends_at: datetime | None

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.CouponTemplate)

    @strawberry.field(description="e.g. 满200减20, 8.5折 最高减50, 无门槛减10.")
    def discount_text(self) -> str:
        return rules.discount_text(self)  # type: ignore[arg-type]

    @strawberry.field
    def min_spend(self) -> Money | None:
        return money(self.min_spend)

    @strawberry.field
    def remaining_quantity(self) -> int:
        return max(0, self.total_quantity - self.issued_count)

    @strawberry.field(description="End of a fixed validity window (null: N days after claim).")
    def valid_until(self) -> datetime | None:
        return self.valid_until

    @strawberry.field(extensions=requires(MANAGE_COUPONS))
    async def stats(self, info: Info) -> CouponStats:
        return await rco.template_stats(info.context, self)  # type: ignore[arg-type,return-value]


@strawberry.type
class Coupon(Node):
    valid_from: datetime
    valid_until: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Coupon)

    @strawberry.field(description="EXPIRED as soon as the validity ends.")
    def status(self, info: Info) -> CouponStatus:  # type: ignore[valid-type]
        return rules.status_at(self, info.context.now)  # type: ignore[arg-type]

    @strawberry.field
    async def template(self, info: Info) -> CouponTemplate:
        return await info.context.loaders.coupon_template.load(self.template_id)  # type: ignore[attr-defined]


@strawberry.input(description="{ startsAt, endsAt } or { daysAfterClaim }.")
class CouponValidityInput:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days_after_claim: int | None = None


@strawberry.input
class CouponTemplateInput:
    name: str
    type: CouponType  # type: ignore[valid-type]
    total_quantity: int
    distribution: CouponDistribution  # type: ignore[valid-type]
    validity: CouponValidityInput
    amount: Decimal | None = None
    percent_off: Decimal | None = None
    min_spend: Decimal | None = None
    max_discount: Decimal | None = None
    scope: ScopeInputRef | None = None
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The issuer who bears the cost; omitted = the platform.")
    claim_starts_at: datetime | None = None
    claim_ends_at: datetime | None = None
    per_customer_limit: int | None = 1
    audience: AudienceInputRef | None = None
    combines_with_promotions: bool | None = True
    on_registration: bool | None = strawberry.field(
        default=False, description="SYSTEM batches: give one to every new customer.")


@strawberry.input
class CouponTemplateFilter:
    claimable: bool | None = None


@strawberry.type
class CouponTemplatePayload:
    coupon_template: CouponTemplate | None
    user_errors: list[UserError]


@strawberry.type
class CouponPayload:
    coupon: Coupon | None
    user_errors: list[UserError]


@strawberry.type
class CouponIssuePayload:
    issued_count: int
    user_errors: list[UserError]


@strawberry.type
class CouponCodesPayload:
    codes: list[str] = strawberry.field(description="Shown once; only hashes are kept.")
    user_errors: list[UserError]


def _template(result: Any) -> CouponTemplatePayload:
    return CouponTemplatePayload(coupon_template=result.value,
                                 user_errors=user_errors(result.errors))


@strawberry.type
class CouponsQuery:
    @strawberry.field(description="Claimable batches for storefronts (coupon center); every "
                      "batch for staff with MANAGE_COUPONS.")
    async def coupon_templates(self, info: Info, filter: CouponTemplateFilter | None = None,
                               first: int | None = None, after: str | None = None,
                               last: int | None = None, before: str | None = None
                               ) -> Connection[CouponTemplate]:
        claimable = filter.claimable if filter else None
        return await rco.templates(info.context, claimable,
                                   page_args(info, first, after, last, before))  # type: ignore[return-value]

    @strawberry.field
    async def coupon_template(self, info: Info, id: strawberry.ID) -> CouponTemplate | None:
        from resolvers.common import query_id

        return await info.context.loaders.coupon_template.load(
            query_id(id, "CouponTemplate")[1])


@strawberry.type
class CouponsMutation:
    @strawberry.mutation
    async def coupon_template_create(self, info: Info,
                                     input: CouponTemplateInput) -> CouponTemplatePayload:
        return _template(await rco.template_create(info.context, input))

    @strawberry.mutation(description="Until customers can get it.")
    async def coupon_template_update(self, info: Info, id: strawberry.ID,
                                     input: CouponTemplateInput) -> CouponTemplatePayload:
        return _template(await rco.template_update(info.context, id, input))

    @strawberry.mutation(description="Stop the batch; unused coupons become VOID.")
    async def coupon_template_void(self, info: Info, id: strawberry.ID) -> CouponTemplatePayload:
        return _template(await rco.template_void(info.context, id))

    @strawberry.mutation
    async def coupon_issue(self, info: Info, template_id: strawberry.ID,
                           customer_ids: list[strawberry.ID]) -> CouponIssuePayload:
        r = await rco.issue(info.context, template_id, list(customer_ids))
        return CouponIssuePayload(issued_count=r.value or 0, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def coupon_codes_generate(self, info: Info, template_id: strawberry.ID,
                                    count: int) -> CouponCodesPayload:
        r = await rco.generate_codes(info.context, template_id, count)
        return CouponCodesPayload(codes=r.value or [], user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def coupon_claim(self, info: Info, template_id: strawberry.ID) -> CouponPayload:
        r = await rco.claim(info.context, template_id)
        return CouponPayload(coupon=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def coupon_redeem_code(self, info: Info, code: str) -> CouponPayload:
        r = await rco.redeem(info.context, code)
        return CouponPayload(coupon=r.value, user_errors=user_errors(r.errors))
