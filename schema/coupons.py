"""Coupons API (DOMAIN.md §5): templates (batches), claiming, issuing, codes, the customer's
wallet and per-template statistics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import coupons as rco
from resolvers import records as m
from resolvers.common import PageArgs
from resolvers.context import Permission
from resolvers.coupons import CouponStatus as CouponStatusEnum
from resolvers.coupons import CouponType as CouponTypeEnum
from resolvers.coupons import Distribution as DistributionEnum
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
from schema.permissions import requires

if TYPE_CHECKING:
    from schema.promotions import PromotionAudienceInput
    from schema.promotions import PromotionScopeInput

MANAGE_COUPONS = Permission.MANAGE_COUPONS
CouponType = CouponTypeEnum
strawberry.enum(CouponType, description="What a coupon gives.")
CouponStatus = CouponStatusEnum
strawberry.enum(CouponStatus, description="Lifecycle of a customer's coupon.")
CouponDistribution = DistributionEnum
strawberry.enum(
    CouponDistribution,
    name="CouponDistribution",
    description="How customers get coupons of a template.",
)
describe_values(
    CouponType,
    {
        "CASH": "A fixed amount off, without a minimum spend.",
        "THRESHOLD": "A fixed amount off once a minimum spend is reached (满减).",
        "PERCENT": "A percentage off, with an optional minimum spend and maximum discount (折扣).",
    },
)
describe_values(
    CouponStatus,
    {
        "AVAILABLE": "Held by the customer and usable within its validity.",
        "LOCKED": "Applied to an unpaid order.",
        "USED": "Spent on a paid order.",
        "EXPIRED": "Its validity ended before it was used.",
        "VOID": "Its template was voided before it was used.",
    },
)
describe_values(
    CouponDistribution,
    {
        "PUBLIC": "Customers claim it themselves.",
        "SYSTEM": "Issued by the system or an admin: on registration, in bulk, as compensation.",
        "CODE": "Redeemed with single-use codes generated in bulk (卡密).",
    },
)
ScopeInputRef = Annotated["PromotionScopeInput", strawberry.lazy("schema.promotions")]
AudienceInputRef = Annotated["PromotionAudienceInput", strawberry.lazy("schema.promotions")]


@strawberry.type(description="Statistics of a coupon template.")
class CouponStats:
    issued: int = strawberry.field(description="Coupons issued in all.")
    claimed: int = strawberry.field(description="Coupons claimed by customers.")
    used: int = strawberry.field(description="Coupons used in paid orders.")

    @strawberry.field(description="Used ÷ issued, from 0 to 1.")
    def redemption_rate(self) -> float:
        return self.redemption_rate

    @strawberry.field(description="Σ coupon discounts on paid orders (0 until orders exist).")
    def discount_cost(self) -> Money:
        return money(self.discount_cost)

    @strawberry.field(description="Σ payable of paid orders that used the batch.")
    def order_gmv(self) -> Money:
        return money(self.order_gmv)


@strawberry.type(
    description="A coupon batch (优惠券模板): what each coupon gives and how customers get it."
)
class CouponTemplate(Node):
    name: str = strawberry.field(description="Display name.")
    type: CouponType = strawberry.field(description="CASH, THRESHOLD or PERCENT.")
    distribution: CouponDistribution = strawberry.field(
        description="How customers get its coupons."
    )
    total_quantity: int = strawberry.field(description="How many coupons the batch holds.")
    per_customer_limit: int = strawberry.field(description="Most coupons one customer may hold.")
    combines_with_promotions: bool = strawberry.field(
        description="If false, lines with an ORDER-level promotion are not eligible."
    )
    days_after_claim: int | None = strawberry.field(
        description="Validity in days after claim; null for a fixed window."
    )
    claim_starts_at: datetime | None = strawberry.field(
        description="Start of the claim window (ISO-8601, UTC)."
    )
    claim_ends_at: datetime | None = strawberry.field(
        description="End of the claim window (ISO-8601, UTC)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.CouponTemplate)

    @strawberry.field(description="e.g. 满200减20, 8.5折 最高减50, 无门槛减10.")
    def discount_text(self) -> str:
        return rco.discount_text(self)  # type: ignore[arg-type]

    @strawberry.field(description="Minimum eligible spend (Money in yuan); null for none.")
    def min_spend(self) -> Money | None:
        return money(self.min_spend)

    @strawberry.field(description="How many have been issued.")
    def issued_count(self) -> int:
        return rco.issued_count(self)  # type: ignore[arg-type]

    @strawberry.field(description="Coupons still to issue.")
    def remaining_quantity(self) -> int:
        return max(0, self.total_quantity - rco.issued_count(self))  # type: ignore[arg-type]

    @strawberry.field(description="End of a fixed validity window (null: N days after claim).")
    def valid_until(self) -> datetime | None:
        return self.valid_until

    @strawberry.field(extensions=requires(MANAGE_COUPONS), description="Usage statistics.")
    async def stats(self, info: Info) -> CouponStats:
        return await rco.template_stats(info.context, self)  # type: ignore[arg-type,return-value]


@strawberry.type(description="A coupon owned by a customer; customers see only their own.")
class Coupon(Node):
    valid_from: datetime = strawberry.field(description="Start of validity (ISO-8601, UTC).")
    valid_until: datetime = strawberry.field(description="End of validity (ISO-8601, UTC).")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Coupon)

    @strawberry.field(description="EXPIRED as soon as the validity ends.")
    def status(self, info: Info) -> CouponStatus:
        return rco.status_at(self, info.context.now)  # type: ignore[arg-type]

    @strawberry.field(description="The batch it belongs to.")
    async def template(self, info: Info) -> CouponTemplate:
        return await info.context.loaders.coupon_template.load(self.template_id)  # type: ignore[attr-defined]


@strawberry.input(description="{ startsAt, endsAt } or { daysAfterClaim }.")
class CouponValidityInput:
    starts_at: datetime | None = strawberry.field(
        default=None, description="Start of a fixed window (ISO-8601, UTC)."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="End of a fixed window (ISO-8601, UTC)."
    )
    days_after_claim: int | None = strawberry.field(
        default=None, description="Days a coupon stays valid after it is claimed."
    )


@strawberry.input(description="A coupon template's values.")
class CouponTemplateInput:
    name: str = strawberry.field(description="Display name.")
    type: CouponType = strawberry.field(description="CASH, THRESHOLD or PERCENT.")
    total_quantity: int = strawberry.field(description="How many coupons the batch holds.")
    distribution: CouponDistribution = strawberry.field(description="PUBLIC, SYSTEM or CODE.")
    validity: CouponValidityInput = strawberry.field(
        description="A fixed window or days after claim."
    )
    amount: Decimal | None = strawberry.field(
        default=None, description="Discount in yuan (Decimal string) for CASH and THRESHOLD."
    )
    percent_off: Decimal | None = strawberry.field(
        default=None, description='Percent off (Decimal string, e.g. "10" = 10% off) for PERCENT.'
    )
    min_spend: Decimal | None = strawberry.field(
        default=None, description="Minimum eligible spend in yuan (Decimal string)."
    )
    max_discount: Decimal | None = strawberry.field(
        default=None, description="Cap of a PERCENT discount in yuan (Decimal string)."
    )
    scope: ScopeInputRef | None = strawberry.field(
        default=None, description="What it applies to; omitted = everything."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The issuer who bears the cost; omitted = the platform."
    )
    claim_starts_at: datetime | None = strawberry.field(
        default=None, description="Start of the claim window (ISO-8601, UTC)."
    )
    claim_ends_at: datetime | None = strawberry.field(
        default=None, description="End of the claim window (ISO-8601, UTC)."
    )
    per_customer_limit: int | None = strawberry.field(
        default=1, description="Most coupons one customer may hold."
    )
    audience: AudienceInputRef | None = strawberry.field(
        default=None, description="Who may get it; omitted = everyone."
    )
    combines_with_promotions: bool | None = strawberry.field(
        default=True, description="If false, lines with an ORDER-level promotion are not eligible."
    )
    on_registration: bool | None = strawberry.field(
        default=False, description="SYSTEM batches: give one to every new customer."
    )


@strawberry.input(description="Narrows couponTemplates.")
class CouponTemplateFilter:
    claimable: bool | None = strawberry.field(
        default=None, description="Only templates customers can claim now."
    )


@strawberry.type(description="Result of a coupon template mutation.")
class CouponTemplatePayload:
    coupon_template: CouponTemplate | None = strawberry.field(
        description="The template as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of claiming or redeeming a coupon.")
class CouponPayload:
    coupon: Coupon | None = strawberry.field(
        description="The customer's new coupon; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of couponIssue.")
class CouponIssuePayload:
    issued_count: int = strawberry.field(description="How many coupons were issued.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of couponCodesGenerate.")
class CouponCodesPayload:
    codes: list[str] = strawberry.field(description="Shown once; only hashes are kept.")
    user_errors: list[UserError] = user_errors_field()


def _template(result: Any) -> CouponTemplatePayload:
    return CouponTemplatePayload(
        coupon_template=result.value, user_errors=user_errors(result.errors)
    )


@strawberry.type
class CouponsQuery:
    @strawberry.field(
        description="Claimable batches for storefronts (coupon center); every "
        "batch for staff with MANAGE_COUPONS.",
        extensions=[RelayWindow(20)],
    )
    async def coupon_templates(
        self,
        info: Info,
        filter: Annotated[
            CouponTemplateFilter | None, strawberry.argument(description="Narrow the result.")
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[CouponTemplate]:
        claimable = filter.claimable if filter else None
        return await rco.templates(info.context, claimable, page)  # type: ignore[return-value]

    @strawberry.field(
        description="A coupon template (batch) by its global id (staff with MANAGE_COUPONS)."
    )
    async def coupon_template(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
    ) -> CouponTemplate | None:
        from resolvers.common import query_id

        return await info.context.loaders.coupon_template.load(query_id(id, "CouponTemplate")[1])


@strawberry.type
class CouponsMutation:
    @strawberry.mutation(
        description="Create a coupon template (a batch) (staff with "
        "MANAGE_COUPONS; merchant staff for their merchant only)."
    )
    async def coupon_template_create(
        self,
        info: Info,
        input: Annotated[
            CouponTemplateInput, strawberry.argument(description="The new coupon template.")
        ],
    ) -> CouponTemplatePayload:
        return _template(await rco.template_create(info.context, input))

    @strawberry.mutation(description="Until customers can get it.")
    async def coupon_template_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
        input: Annotated[
            CouponTemplateInput, strawberry.argument(description="The template's new values.")
        ],
    ) -> CouponTemplatePayload:
        return _template(await rco.template_update(info.context, id, input))

    @strawberry.mutation(description="Stop the batch; unused coupons become VOID.")
    async def coupon_template_void(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
    ) -> CouponTemplatePayload:
        return _template(await rco.template_void(info.context, id))

    @strawberry.mutation(
        description="Push coupons of a SYSTEM template to customers (staff with MANAGE_COUPONS)."
    )
    async def coupon_issue(
        self,
        info: Info,
        template_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
        customer_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="Relay global ids of the customers to issue to."),
        ],
    ) -> CouponIssuePayload:
        r = await rco.issue(info.context, template_id, list(customer_ids))
        return CouponIssuePayload(issued_count=r.value or 0, user_errors=user_errors(r.errors))

    @strawberry.mutation(
        description="Generate single-use redeemable codes (卡密) for a CODE "
        "template (staff with MANAGE_COUPONS)."
    )
    async def coupon_codes_generate(
        self,
        info: Info,
        template_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
        count: Annotated[int, strawberry.argument(description="How many codes to generate.")],
    ) -> CouponCodesPayload:
        r = await rco.generate_codes(info.context, template_id, count)
        return CouponCodesPayload(codes=r.value or [], user_errors=user_errors(r.errors))

    @strawberry.mutation(
        description="Claim a coupon of a PUBLIC template for the logged-in customer."
    )
    async def coupon_claim(
        self,
        info: Info,
        template_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the coupon template."),
        ],
    ) -> CouponPayload:
        return payload(CouponPayload, coupon=await rco.claim(info.context, template_id))

    @strawberry.mutation(description="Redeem a code (卡密) for a coupon of the logged-in customer.")
    async def coupon_redeem_code(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The redeemable code as printed.")],
    ) -> CouponPayload:
        return payload(CouponPayload, coupon=await rco.redeem(info.context, code))
