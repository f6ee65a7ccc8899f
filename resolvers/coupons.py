"""Coupons glue: template admin, claiming, issuing, codes, the customer's wallet, statistics,
and the coupons a product page may offer."""

from __future__ import annotations

from typing import Any

from core import changes
from models.coupons import CouponStatus
from models.coupons import CouponTemplate
from models.coupons import CouponType
from models.coupons import Distribution
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import input_ids
from resolvers.common import mutate
from resolvers.context import Context
from resolvers.context import Permission
from services import coupons
from services.coupons import discount_text as discount_text
from services.coupons import status_at as status_at
from services.errors import DomainError
from services.errors import ErrorCode
from services.pricing import scope_from_json
from services.promotions import sku_line


def _customer(ctx: Context) -> int:
    if ctx.viewer.customer_id is None:
        raise DomainError(ErrorCode.FORBIDDEN, "Log in to get coupons.", None)
    return ctx.viewer.customer_id


def template_data(data: Any) -> coupons.TemplateData:
    scope = data.scope
    validity = data.validity
    audience = data.audience
    return coupons.TemplateData(
        name=data.name,
        type=CouponType(data.type.value),
        total_quantity=data.total_quantity,
        distribution=Distribution(data.distribution.value),
        amount=data.amount,
        percent_off=data.percent_off,
        min_spend=data.min_spend,
        max_discount=data.max_discount,
        scope={}
        if scope is None
        else {
            "SKU": input_ids(scope.sku_ids, "Sku", "scope.skuIds"),
            "PRODUCT": input_ids(scope.product_ids, "Product", "scope.productIds"),
            "CATEGORY": input_ids(scope.category_ids, "Category", "scope.categoryIds"),
            "BRAND": input_ids(scope.brand_ids, "Brand", "scope.brandIds"),
            "EXCLUDED_PRODUCT": input_ids(
                scope.excluded_product_ids, "Product", "scope.excludedProductIds"
            ),
        },
        merchant_id=input_id(data.merchant_id, "Merchant", "merchantId"),
        valid_from=validity.starts_at if validity else None,
        valid_until=validity.ends_at if validity else None,
        days_after_claim=validity.days_after_claim if validity else None,
        claim_starts_at=data.claim_starts_at,
        claim_ends_at=data.claim_ends_at,
        per_customer_limit=data.per_customer_limit or 1,
        audience=audience.kind.value if audience else "ALL",
        min_member_level=(audience.min_member_level or 0) if audience else 0,
        combines_with_promotions=data.combines_with_promotions
        if data.combines_with_promotions is not None
        else True,
        on_registration=bool(data.on_registration),
    )


async def template_create(ctx: Context, data: Any) -> MutationResult[Any]:
    return await mutate(
        ctx,
        lambda s: coupons.create_template(s, template_data(data)),
        Change("coupon_template.create", CouponTemplate),
    )


async def template_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await coupons.update_template(
            session, input_id(global_id, "CouponTemplate", "id") or 0, template_data(data), ctx.now
        )

    return await mutate(ctx, run, Change("coupon_template.update", CouponTemplate, global_id))


async def template_void(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await coupons.void_template(
            session, input_id(global_id, "CouponTemplate", "id") or 0
        )

    return await mutate(ctx, run, Change("coupon_template.void", CouponTemplate, global_id))


async def claim(ctx: Context, template_global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        template_id = input_id(template_global_id, "CouponTemplate", "templateId") or 0
        return await coupons.claim(session, template_id, _customer(ctx), ctx.now)

    return await mutate(ctx, run)


async def issue(
    ctx: Context, template_global_id: str, customer_ids: list[str]
) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await coupons.issue(
            session,
            input_id(template_global_id, "CouponTemplate", "templateId") or 0,
            input_ids(customer_ids, "Customer", "customerIds"),
            ctx.now,
        )

    return await mutate(ctx, run, Change("coupon.issue", CouponTemplate, template_global_id))


async def generate_codes(ctx: Context, template_global_id: str, count: int) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await coupons.generate_codes(
            session, input_id(template_global_id, "CouponTemplate", "templateId") or 0, count
        )

    return await mutate(
        ctx, run, Change("coupon.codes_generate", CouponTemplate, template_global_id)
    )


async def redeem(ctx: Context, code: str) -> MutationResult[Any]:
    return await mutate(ctx, lambda s: coupons.redeem_code(s, code, _customer(ctx), ctx.now))


async def templates(
    ctx: Context, claimable_only: bool | None, args: PageArgs
) -> Page[CouponTemplate]:
    """Storefronts see claimable batches only (the coupon center is public); staff with
    MANAGE_COUPONS see every batch they issue: all for the platform, their own for a
    merchant's staff."""
    stmt = coupons.templates_seen_by(
        ctx.now,
        manager=ctx.viewer.can(Permission.MANAGE_COUPONS),
        merchant_id=ctx.viewer.merchant_id,
        claimable_only=bool(claimable_only),
    )
    return await counted_page(ctx, stmt, [CouponTemplate.id.desc()], args)


async def wallet(ctx: Context, status: str | None) -> list[Any]:
    if ctx.viewer.customer_id is None:
        return []
    wanted = CouponStatus(status) if status else None
    return await ctx.read(lambda s: coupons.wallet(s, ctx.viewer.customer_id or 0, wanted, ctx.now))


async def template_stats(ctx: Context, template: CouponTemplate) -> coupons.Stats:
    return await ctx.read(lambda s: coupons.stats(s, template.id))


def issued_count(template: CouponTemplate) -> int:
    """A batch's issued count. Product pages list batches by claimability alone (a claim
    leaving units notes the batch by id only, migration 0023): an answer showing the count
    depends on the batch's row, so each claim drops it."""
    changes.depends_on("coupon_templates", [template.id])
    return template.issued_count


async def claimable_for_product(ctx: Context, product: Any) -> list[CouponTemplate]:
    """Claimable PUBLIC batches whose scope covers the product (one read per request)."""
    if "claimable_templates" not in ctx.extra:
        found = await ctx.read(lambda s: coupons.claimable_batches(s, ctx.now))
        ctx.extra["claimable_templates"] = found
    skus = await ctx.loaders.skus_by_product.load(product.id)
    category = await ctx.loaders.category.load(product.category_id)
    lines = [sku_line(product, s, category.path_ids if category else ()) for s in skus]
    return [
        t
        for t in ctx.extra["claimable_templates"]
        if any(scope_from_json(t.scope, t.merchant_id).covers(line) for line in lines)
    ]
