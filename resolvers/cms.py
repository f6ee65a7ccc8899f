"""CMS glue: page admin, the storefront page for a channel, previews at any time, and module
data resolved through the same loaders and search code as any product query."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from models.catalog import Product
from models.cms import Page
from models.cms import PageModule
from resolvers import catalog as rc
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page as Window
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.common import query_id
from resolvers.context import Context
from services import cms
from services import coupons
from services import reports
from services import search
from services.search import ProductQuery
from services.search import ProductSort

CARD_FIELDS = frozenset(
    {"brand", "skus", "priceRange", "marketPrice", "sellableQuantity", "promotionTags"}
)


@dataclass
class PageView:
    """A page as seen by `ctx` (its channel and its moment: now, or a preview time)."""

    page: Page
    ctx: Context
    only_live: bool = True


@dataclass
class ModuleView:
    module: PageModule
    ctx: Context


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def as_dict(value: Any) -> Any:
    """A GraphQL input object as plain data with the API's camelCase keys (omitted = absent)."""
    from strawberry import UNSET

    if isinstance(value, list):
        return [as_dict(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            _camel(k): as_dict(v)
            for k, v in vars(value).items()
            if v is not None and v is not UNSET
        }
    return value.value if hasattr(value, "value") and not isinstance(value, str) else value


def page_data(data: Any) -> cms.PageData:
    modules = []
    for module in data.modules:
        kind, config = next((k, v) for k, v in as_dict(module).items())
        modules.append(
            cms.ModuleData(
                kind=kind,
                config=config,
                starts_at=config.pop("startsAt", None),
                ends_at=config.pop("endsAt", None),
            )
        )
    return cms.PageData(
        slug=data.slug,
        title=data.title,
        channels=[c.value for c in data.channels or []],
        modules=modules,
    )


async def page_create(ctx: Context, data: Any) -> MutationResult[Any]:
    result = await mutate(
        ctx, lambda s: cms.create_page(s, page_data(data), ctx.now), Change("page.create", Page)
    )
    return _viewed(ctx, result)


async def page_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await cms.update_page(
            session, input_id(global_id, "Page", "id") or 0, page_data(data), ctx.now
        )

    return _viewed(ctx, await mutate(ctx, run, Change("page.update", Page, global_id)))


async def page_publish(
    ctx: Context, global_id: str, starts: datetime | None, ends: datetime | None
) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await cms.publish(
            session, input_id(global_id, "Page", "id") or 0, starts, ends, ctx.now
        )

    return _viewed(ctx, await mutate(ctx, run, Change("page.publish", Page, global_id)))


async def page_unpublish(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await cms.unpublish(session, input_id(global_id, "Page", "id") or 0, ctx.now)

    return _viewed(ctx, await mutate(ctx, run, Change("page.unpublish", Page, global_id)))


async def page_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await cms.delete_page(session, input_id(global_id, "Page", "id") or 0)

    return await mutate(ctx, run, Change("page.delete", Page, global_id))


def _viewed(ctx: Context, result: MutationResult[Any]) -> MutationResult[Any]:
    if result.value is not None:
        result.value = PageView(result.value, ctx, only_live=False)
    return result


async def storefront_page(ctx: Context, slug: str) -> PageView | None:
    page = await ctx.read(lambda s: cms.storefront_page(s, slug, ctx.channel.value, ctx.now))
    return PageView(page, ctx) if page else None


async def preview(ctx: Context, global_id: str, at: datetime) -> PageView | None:
    """A page (drafts too) as it would show at `at`: module and slide schedules, listed
    products and running promotions are all read at that moment."""
    _, pk = query_id(global_id, "Page")
    page = await ctx.read(lambda s: s.get(Page, pk))
    if page is None:
        return None
    at_ctx = dataclasses.replace(ctx, now=at, extra={})
    return PageView(page, at_ctx)


async def admin_pages(ctx: Context, args: PageArgs) -> Window[Any]:
    rows = await counted_page(ctx, select(Page), [Page.id.desc()], args)
    return Window([PageView(p, ctx, only_live=False) for p in rows.items], rows.offset, rows.total)


async def modules(view: PageView) -> list[ModuleView]:
    rows = await view.ctx.read(lambda s: cms.modules_of(s, view.page.id))
    shown = [
        ModuleView(m, view.ctx)
        for m in rows
        if not view.only_live or cms.module_live(m, view.ctx.now)
    ]
    await _prefetch_products(view.ctx, [m for m in shown if m.module.type == "PRODUCT_LIST"])
    return shown


async def _prefetch_products(ctx: Context, views: list[ModuleView]) -> None:
    """Every product-list module of the page at once: one lookup for all hand-picked ids,
    one search per rule module, then one batch per relation over all the products — so the
    page's statements do not depend on how many products its modules show."""
    if not views:
        return
    wanted = sorted({pk for v in views for pk in v.module.config.get("productIds") or []})
    found = {p.id: p for p in await ctx.loaders.product.load_many(wanted) if p is not None}
    everything: dict[int, Product] = dict(found)
    for v in views:
        config = v.module.config
        if config.get("productIds") is not None:
            v.products = [  # type: ignore[attr-defined]
                found[pk]
                for pk in config["productIds"]
                if pk in found and found[pk].is_listed_at(ctx.now)
            ]
        else:
            v.products = await _rule_products(ctx, config["rule"])  # type: ignore[attr-defined]
        everything.update((p.id, p) for p in v.products)  # type: ignore[attr-defined]
    await rc.prepare_cards(ctx, list(everything.values()), CARD_FIELDS)


def live_slides(view: ModuleView) -> list[dict[str, Any]]:
    slides = view.module.config.get("slides", [])
    for slide in slides:  # a slide's window lives in JSON: tell the response cache
        for moment in (slide.get("startsAt"), slide.get("endsAt")):
            if moment is not None:
                view.ctx.changes_at(datetime.fromisoformat(moment))
    return [s for s in slides if cms.slide_live(s, view.ctx.now)]


async def module_products(view: ModuleView) -> list[Product]:
    """Listed products only, in the module's order, priced like any product card."""
    if not hasattr(view, "products"):
        await _prefetch_products(view.ctx, [view])
    return view.products  # type: ignore[attr-defined]


async def _rule_products(ctx: Context, rule: dict[str, Any]) -> list[Product]:
    q = ProductQuery(
        visible_at=ctx.now,
        sort=ProductSort(rule.get("sort") or "SALES_DESC"),
        brand_ids=[rule["brandId"]] if rule.get("brandId") else [],
        tag=rule.get("tag"),
    )
    if rule.get("displayCategoryId"):
        tree = await rc.display_tree(ctx)
        q.display_category_ids = tree.listing_ids(rule["displayCategoryId"])
    found = await ctx.read(lambda s: search.find_products(s, q, 0, rule.get("limit") or 10))
    rc.remember_paths(ctx, found)
    return found.products


async def nav_categories(view: ModuleView) -> list[Any]:
    tree = await rc.display_tree(view.ctx)
    return tree.children_of(view.module.config.get("displayCategoryId"))


async def coupon_templates(view: ModuleView) -> list[Any]:
    ids = view.module.config.get("templateIds", [])
    found = await view.ctx.loaders.coupon_template.load_many(ids)
    return [t for t in found if t is not None and coupons.claimable(t, view.ctx.now)]


async def ranking_items(view: ModuleView) -> list[Any]:
    """Top sellers by paid units over the last N days (listed products only), optionally
    within a display category."""
    ctx, config = view.ctx, view.module.config
    ctx.not_cacheable()  # paid orders over a rolling window: nothing the cache can watch
    limit = config.get("limit") or 10
    within = None
    if config.get("displayCategoryId"):
        within = [
            p.id
            for p in await _rule_products(
                ctx, {"displayCategoryId": config["displayCategoryId"], "limit": 1000}
            )
        ]
    since = ctx.now - timedelta(days=config.get("days") or 30)
    top = await ctx.read(lambda s: reports.best_sellers(s, since, limit * 2, within))
    products = await ctx.loaders.product.load_many([pid for pid, _ in top])
    shown = [
        (p, units)
        for p, (_, units) in zip(products, top, strict=True)
        if p is not None and p.is_listed_at(ctx.now)
    ][:limit]
    await rc.prepare_cards(ctx, [p for p, _ in shown], CARD_FIELDS)
    return [
        RankingEntry(rank, units, product) for rank, (product, units) in enumerate(shown, start=1)
    ]


@dataclass
class RankingEntry:
    rank: int
    units_sold: int
    product: Product


async def versions(ctx: Context, global_id: str) -> list[Any]:
    _, pk = query_id(global_id, "Page")
    stmt = cms.versions_of(pk)
    return list(await ctx.read(lambda s: s.scalars(stmt)))
