"""Promotions glue: admin create/update/activate/cancel with conflict answers, the admin list,
and what storefronts see of live promotions (tags, price ranges)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from strawberry import UNSET

from models.promotions import Promotion
from models.promotions import PromotionState
from models.promotions import PromotionType
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import input_ids
from resolvers.common import mutate
from resolvers.context import Context
from services import promotions
from services.errors import DomainError
from services.errors import ErrorCode
from services.pricing import Promotion as Rule
from services.pricing import tag_of as _rule_tag
from services.promotions import PromotionStatus as PromotionStatus
from services.promotions import RunningPromotion
from services.promotions import status_of as status_of

RULE_FIELDS = {
    PromotionType.SINGLE_PRODUCT: "single_product",
    PromotionType.MULTI_BUY: "multi_buy",
    PromotionType.BUNDLE: "bundle",
    PromotionType.DEPOSIT: "deposit",
    PromotionType.FULL_REDUCTION: "full_reduction",
    PromotionType.SPEND_GIFT: "spend_gift",
    PromotionType.GIFT: "gift",
    PromotionType.ADD_ON: "add_on",
}


def rule_of(promotion: Promotion | RunningPromotion) -> Rule:
    """The pricing engine's view of a promotion row or running copy."""
    if isinstance(promotion, RunningPromotion):
        return promotion.rule
    return promotions.as_rule(promotion)


def tag_of(promotion: Promotion | RunningPromotion) -> str:
    """Its short storefront label, e.g. 满300减30 or 第2件5折."""
    return _rule_tag(rule_of(promotion))


def _items(items: list[Any] | None, path: str) -> list[dict[str, Any]]:
    return [
        {"sku_id": input_id(i.sku_id, "Sku", f"{path}.{n}.skuId"), "quantity": i.quantity}
        for n, i in enumerate(items or [])
    ]


def _policy(r: Any) -> dict[str, Any]:
    policy = getattr(r, "gift_return_policy", None)
    return {"gift_return_policy": policy.value if policy else None}


def gift_return_policy_of(p: Any) -> str | None:
    """The gift return policy of a gift promotion (a row or a running copy), else None."""
    if isinstance(p, promotions.RunningPromotion):
        return p.gift_return_policy
    if p.type not in (PromotionType.GIFT, PromotionType.SPEND_GIFT):
        return None
    return promotions.gift_return_policy(p.rules)


def _rules(kind: PromotionType, rules: Any) -> dict[str, Any]:
    """The rule shape of the input; exactly the one matching the type must be given."""
    name = RULE_FIELDS[kind]
    given = [f for f in RULE_FIELDS.values() if getattr(rules, f, None) not in (None, UNSET)]
    if given != [name]:
        camel = name.split("_")[0] + "".join(w.title() for w in name.split("_")[1:])
        raise DomainError(
            ErrorCode.INVALID_RULE,
            f"A {kind.value} promotion takes rules.{camel} (and only it).",
            "rules",
        )
    r = getattr(rules, name)
    if kind == PromotionType.BUNDLE:
        return {"skus": _items(r.skus, "rules.bundle.skus"), "price": r.price}
    if kind == PromotionType.GIFT:
        return {"gifts": _items(r.gifts, "rules.gift.gifts"), **_policy(r)}
    if kind == PromotionType.ADD_ON:
        return {
            "threshold": r.threshold,
            "choices": [
                {
                    "sku_id": input_id(c.sku_id, "Sku", f"rules.addOn.choices.{i}.skuId"),
                    "price": c.price,
                }
                for i, c in enumerate(r.choices or [])
            ],
            "limit_per_order": r.limit_per_order if r.limit_per_order is not None else 1,
        }
    if kind == PromotionType.SPEND_GIFT:
        return {
            "tiers": [
                {
                    "threshold": t.threshold,
                    "gifts": _items(t.gifts, f"rules.spendGift.tiers.{i}.gifts"),
                }
                for i, t in enumerate(r.tiers or [])
            ],
            **_policy(r),
        }
    if kind == PromotionType.FULL_REDUCTION:
        every = r.every
        return {
            "tiers": [{"threshold": t.threshold, "amount": t.amount} for t in r.tiers or []],
            "every": None
            if every is None
            else {"step": every.step, "amount": every.amount, "cap": every.cap},
        }
    return {key: value for key, value in vars(r).items()}


def promotion_data(data: Any) -> promotions.PromotionData:
    kind = PromotionType(data.type.value)
    scope = data.scope
    audience = data.audience
    return promotions.PromotionData(
        name=data.name,
        type=kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        rules=_rules(kind, data.rules),
        channels=[c.value for c in data.channels or []],
        per_customer_limit=data.per_customer_limit,
        combinable=data.combinable if data.combinable is not None else True,
        audience=audience.kind.value if audience else "ALL",
        min_member_level=(audience.min_member_level or 0) if audience else 0,
        scope=promotions.ScopeData(
            sku_ids=input_ids(scope.sku_ids, "Sku", "scope.skuIds") if scope else [],
            product_ids=input_ids(scope.product_ids, "Product", "scope.productIds")
            if scope
            else [],
            category_ids=input_ids(scope.category_ids, "Category", "scope.categoryIds")
            if scope
            else [],
            brand_ids=input_ids(scope.brand_ids, "Brand", "scope.brandIds") if scope else [],
            excluded_product_ids=input_ids(
                scope.excluded_product_ids, "Product", "scope.excludedProductIds"
            )
            if scope
            else [],
        ),
        merchant_id=input_id(data.merchant_id, "Merchant", "merchantId"),
    )


def conflicts_of(result: MutationResult[Any]) -> list[promotions.Conflict]:
    error = result.error
    return list(error.conflicts) if isinstance(error, promotions.PromotionConflict) else []


async def promotion_create(ctx: Context, data: Any) -> MutationResult[Any]:
    return await mutate(
        ctx,
        lambda s: promotions.create_promotion(s, promotion_data(data), ctx.now),
        Change("promotion.create", Promotion),
    )


async def promotion_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await promotions.update_promotion(
            session, input_id(global_id, "Promotion", "id") or 0, promotion_data(data), ctx.now
        )

    return await mutate(ctx, run, Change("promotion.update", Promotion, global_id))


async def promotion_activate(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await promotions.activate(
            session, input_id(global_id, "Promotion", "id") or 0, ctx.now
        )

    return await mutate(ctx, run, Change("promotion.activate", Promotion, global_id))


async def promotion_cancel(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await promotions.cancel(
            session, input_id(global_id, "Promotion", "id") or 0, ctx.now
        )

    return await mutate(ctx, run, Change("promotion.cancel", Promotion, global_id))


async def promotion_conflicts(ctx: Context, data: Any) -> list[promotions.Conflict]:
    """A draft's conflicts without saving it; an invalid draft has none to show. The draft is
    written and undone in a savepoint under the read lock: no rollback of the whole session,
    which sibling fields of the same query are reading through at the same time."""
    try:
        draft = promotion_data(data)
        return await ctx.read(lambda s: promotions.preview_conflicts(s, draft, ctx.now))
    except DomainError:
        return []


async def admin_promotions(ctx: Context, filter_: Any, args: PageArgs) -> Page[Promotion]:
    stmt = select(Promotion)
    if filter_ is not None and filter_.type is not None:
        stmt = stmt.where(Promotion.type == PromotionType(filter_.type.value))
    if filter_ is not None and filter_.status is not None:
        stmt = stmt.where(*_status_filter(filter_.status.value, ctx))
    if ctx.viewer.merchant_id is not None:
        stmt = stmt.where(Promotion.merchant_id == ctx.viewer.merchant_id)
    return await counted_page(ctx, stmt, [Promotion.id.desc()], args)


def _status_filter(status: str, ctx: Context) -> list[Any]:
    activated = Promotion.state == PromotionState.ACTIVATED
    return {
        "DRAFT": [Promotion.state == PromotionState.DRAFT],
        "CANCELLED": [Promotion.state == PromotionState.CANCELLED],
        "SCHEDULED": [activated, Promotion.starts_at > ctx.now],
        "ACTIVE": [activated, Promotion.starts_at <= ctx.now, Promotion.ends_at > ctx.now],
        "ENDED": [activated, Promotion.ends_at <= ctx.now],
    }[status]


async def promotion_by_id(ctx: Context, pk: int) -> Promotion | None:
    return await ctx.loaders.promotion.load(pk)
