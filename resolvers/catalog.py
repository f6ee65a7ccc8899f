"""Catalog glue: storefront reads (display tree, listings, search, detail) and admin
mutations mapped onto services.catalog / services.products / services.search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strawberry import UNSET as GRAPHQL_UNSET  # "field omitted" in GraphQL inputs

from core import changes
from core.money import InvalidMoney
from core.money import to_minor
from models.catalog import AnyDisplayCategory
from models.catalog import Attribute
from models.catalog import AttributeKind
from models.catalog import AttributeValueType as AttributeValueType
from models.catalog import Brand
from models.catalog import Category
from models.catalog import DisplayCategory
from models.catalog import DisplayNode
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ShippingKind as ShippingKind
from models.catalog import ShippingTemplate
from models.catalog import SkuView
from models.catalog import TransportClass as TransportClass
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import input_id
from resolvers.common import input_ids
from resolvers.common import mutate
from resolvers.common import page_window
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from resolvers.loaders import ProductCard
from services import catalog
from services import products
from services import search
from services.catalog import UNSET
from services.catalog import DisplayTree
from services.errors import DomainError
from services.errors import ErrorCode
from services.pricing import Level
from services.pricing import Promotion as PricingRule
from services.pricing import tag_of
from services.products import EffectiveStatus
from services.products import ProductDraft
from services.products import ProductPatch
from services.products import SkuDraft
from services.products import effective_status as effective_status
from services.promotions import RunningPromotion
from services.promotions import for_product
from services.promotions import promotional_unit_price
from services.search import ProductQuery
from services.search import ProductSort

# --- display categories --------------------------------------------------------------------------


async def display_tree(ctx: Context) -> DisplayTree:
    """The tree as the request's viewer sees it, built once per request."""
    cache_key = "display_tree"
    if cache_key not in ctx.extra:
        snapshot = await ctx.loaders.display_tree.load("all")
        ctx.extra[cache_key] = snapshot.seen_by(ctx.channel.value, ctx.viewer.is_staff)
    return ctx.extra[cache_key]


async def display_category_roots(ctx: Context) -> list[DisplayNode]:
    return (await display_tree(ctx)).children.get(None, [])


async def display_category_children(ctx: Context, node: AnyDisplayCategory) -> list[DisplayNode]:
    return (await display_tree(ctx)).children.get(node.id, [])


async def display_category(ctx: Context, global_id: str) -> DisplayNode | None:
    _, pk = query_id(global_id, "DisplayCategory")
    return (await display_tree(ctx)).nodes.get(pk)


# --- product listings ----------------------------------------------------------------------------


def product_query(
    ctx: Context, filter_: Any, sort: ProductSort | None, text: str | None = None
) -> ProductQuery:
    q = ProductQuery(text=text, sort=sort or ProductSort.RELEVANCE, visible_at=ctx.now)
    if filter_ is None:
        return q
    if filter_.category_id is not None:
        kind, pk = query_id(filter_.category_id)
        if kind == "Category":
            q.category_ids = [pk]
        elif kind == "DisplayCategory":
            q.display_category_ids = [-1]  # resolved by the caller (needs the display tree)
            q.extra_display_root = pk  # type: ignore[attr-defined]
        else:
            raise api_error(
                ApiErrorCode.INVALID_ID, "categoryId must be a Category or a DisplayCategory ID."
            )
    q.brand_ids = [query_id(b, "Brand")[1] for b in filter_.brand_ids or []]
    q.price_min = _filter_money(filter_.price_min, "priceMin")
    q.price_max = _filter_money(filter_.price_max, "priceMax")
    q.attributes = [(a.name, list(a.values)) for a in filter_.attributes or []]
    q.in_stock = filter_.in_stock
    return q


def _filter_money(amount: Any, name: str) -> int | None:
    if amount is None:
        return None
    try:
        return to_minor(amount)
    except InvalidMoney as exc:
        raise api_error(ApiErrorCode.BAD_REQUEST, f"{name} {exc}.") from exc


async def _resolve_display_filter(ctx: Context, q: ProductQuery) -> ProductQuery:
    root = getattr(q, "extra_display_root", None)
    if root is not None:
        q.display_category_ids = (await display_tree(ctx)).listing_ids(root)
    return q


SKU_FIELDS = frozenset(
    {
        "skus",
        "priceRange",
        "marketPrice",
        "sellableQuantity",
        "salesAttributes",
        "promotions",
        "promotionTags",
    }
)
PROMOTION_FIELDS = frozenset({"promotions", "promotionTags", "priceRange"})
LONG_TEXT_FIELDS = frozenset({"descriptionHtml", "afterSales"})


async def _page(
    ctx: Context, q: ProductQuery, args: PageArgs, wanted: frozenset[str] = frozenset()
) -> Page[Product]:
    window = page_window(ctx, args)
    q = await _resolve_display_filter(ctx, q)
    if window.needs_total:  # `last` alone: the page ends at the total, counted first
        window = window.within(await ctx.read(lambda s: search.count_products(s, q)))
    with_brands = "brand" in wanted
    # Cards that show no long text get rows without it (only `wanted` is known here)
    lean = bool(wanted) and not wanted & LONG_TEXT_FIELDS
    page = await ctx.read(
        lambda s: search.find_products(s, q, window.offset, window.limit, with_brands, lean)
    )
    loaders = ctx.loaders
    for item in page.products:
        if not lean:  # a lean row must not answer another field's full lookup
            loaders.product.prime(item.id, item)  # `node`-style lookups reuse the rows
    remember_paths(ctx, page)
    if page.brands is not None:
        for item, path, brand in zip(page.products, page.category_paths, page.brands, strict=True):
            loaders.remember(ProductCard(item, path, brand=brand))
    await prepare_cards(ctx, page.products, wanted)
    return Page(page.products, window.offset, page.total, q)


def remember_paths(ctx: Context, page: search.ProductPage) -> None:
    """The category paths a listing read with its products (promotion scopes need them)."""
    ctx.loaders.category_paths.update(
        (p.id, path) for p, path in zip(page.products, page.category_paths, strict=True)
    )


async def _category_paths(ctx: Context, items: list[Product]) -> list[tuple[int, ...]]:
    """Each product's category path: as read with the product, else from its category."""
    known = ctx.loaders.category_paths
    missing = [p for p in items if p.id not in known]
    categories = await ctx.loaders.category.load_many([p.category_id for p in missing])
    for product, category in zip(missing, categories, strict=True):
        known[product.id] = category.path_ids if category else ()
    return [known[p.id] for p in items]


async def prepare_cards(
    ctx: Context, items: list[Product], wanted: frozenset[str]
) -> list[ProductCard]:
    """Load what product cards ask for (SKUs with stock, brands, running promotions) in one
    batch per relation and keep each product's card, so its fields resolve synchronously."""
    if not items:
        return []
    loaders = ctx.loaders
    ids = [p.id for p in items]
    skus: list[tuple[SkuView, ...] | None] = [None] * len(items)
    if wanted & SKU_FIELDS:
        skus = [tuple(group) for group in await loaders.skus_by_product.load_many(ids)]
    brands: list[Brand | None] = [None] * len(items)
    if "brand" in wanted and any(_card_brand(ctx, p) is None for p in items):
        brands = await loaders.brand.load_many([p.brand_id for p in items])
    paths = await _category_paths(ctx, items)
    rules: list[tuple[PricingRule, ...] | None] = [None] * len(items)
    if wanted & PROMOTION_FIELDS:
        running = await live_rules(ctx)
        rules = [
            _matching(ctx, running, p, path, product_skus or ())
            for p, path, product_skus in zip(items, paths, skus, strict=True)
        ]
    return [
        loaders.remember(ProductCard(*fields))
        for fields in zip(items, paths, skus, brands, rules, strict=True)
    ]


def _card_brand(ctx: Context, product: Product) -> Brand | None:
    card = ctx.loaders.cards.get(product.id)
    return card.brand if card is not None else None


def card_of(ctx: Context, product: Product) -> ProductCard | None:
    """The product's card, if a listing (or an earlier field) loaded it."""
    return ctx.loaders.cards.get(product.id)


async def priced_card(ctx: Context, product: Product) -> ProductCard:
    """The product's card with its SKUs and the running promotions covering them (a product
    shown alone: detail pages, `node`)."""
    card = card_of(ctx, product)
    if card is not None and card.priced:
        return card
    running = await live_rules(ctx)
    skus = tuple(await ctx.loaders.skus_by_product.load(product.id))
    (path,) = await _category_paths(ctx, [product])
    rules = _matching(ctx, running, product, path, skus) if running else ()
    return ctx.loaders.remember(ProductCard(product, path, skus, promotions=rules))


async def card_promotions(ctx: Context, product: Product) -> tuple[PricingRule, ...]:
    """The running promotions' rules covering a SKU of the product."""
    card = card_of(ctx, product)
    if card is not None and card.promotions is not None:
        return card.promotions
    if not await live_rules(ctx):
        return ()
    return (await priced_card(ctx, product)).promotions or ()


async def running_promotions_on(ctx: Context, product: Product) -> list[RunningPromotion]:
    """The running promotions covering a SKU of the product, as storefronts show them."""
    shown = {rule.id for rule in await card_promotions(ctx, product)}
    running: list[RunningPromotion] = await ctx.loaders.live_promotions.load("all")
    return [p for p in running if p.id in shown]


async def live_rules(ctx: Context) -> tuple[PricingRule, ...]:
    """The running promotions' pricing rules (immutable, shared by every request)."""
    running = await ctx.loaders.live_promotions.load("all")
    return tuple(p.rule for p in running)


def _matching(
    ctx: Context,
    rules: Sequence[PricingRule],
    product: Product,
    path: tuple[int, ...],
    skus: Sequence[SkuView],
) -> tuple[PricingRule, ...]:
    return for_product(rules, product, skus, path, ctx.channel.value, ctx.now)


def promotional_prices(card: ProductCard) -> list[int]:
    """Each SKU's unit price under the single-product promotion covering it."""
    return [
        promotional_unit_price(card.promotions or (), card.product, sku, card.category_path)
        for sku in card.skus or ()
    ]


def tags_in_order(rules: Sequence[PricingRule]) -> list[str]:
    """Item-level labels first (直降 before 满300减30), then order-level, then gifts."""
    rank = {Level.ITEM: 0, Level.ORDER: 1, Level.GIFT: 2}
    ordered = sorted(rules, key=lambda r: (rank[r.level], r.id))
    return list(dict.fromkeys(tag_of(r) for r in ordered))


async def display_category_products(
    ctx: Context,
    node: AnyDisplayCategory,
    args: PageArgs,
    sort: ProductSort,
    filter_: Any,
    wanted: frozenset[str] = frozenset(),
) -> Page[Product]:
    q = product_query(ctx, filter_, sort)
    tree = await display_tree(ctx)
    subtree = tree.subtree_ids(node.id)
    if q.display_category_ids:  # a display filter inside a display category: intersect
        await _resolve_display_filter(ctx, q)
        subtree = [i for i in subtree if i in set(q.display_category_ids)] or [-1]
        q.extra_display_root = None  # type: ignore[attr-defined]
    q.display_category_ids = subtree
    return await _page(ctx, q, args, wanted)


async def search_products(
    ctx: Context,
    text: str | None,
    filter_: Any,
    args: PageArgs,
    sort: ProductSort,
    wanted: frozenset[str] = frozenset(),
) -> Page[Product]:
    return await _page(ctx, product_query(ctx, filter_, sort, text), args, wanted)


async def admin_products(
    ctx: Context, filter_: Any, args: PageArgs, wanted: frozenset[str] = frozenset()
) -> Page[Product]:
    q = ProductQuery(sort=ProductSort.NEWEST, status_at=ctx.now)
    if filter_ is not None:
        q.text = filter_.query
        q.status = EffectiveStatus(filter_.status.value) if filter_.status else None
        q.merchant_id = (
            query_id(filter_.merchant_id, "Merchant")[1] if filter_.merchant_id else None
        )
        q.brand_ids = [query_id(filter_.brand_id, "Brand")[1]] if filter_.brand_id else []
        q.category_ids = (
            [query_id(filter_.category_id, "Category")[1]] if filter_.category_id else []
        )
    if ctx.viewer.merchant_id is not None:
        q.merchant_id = ctx.viewer.merchant_id
    return await _page(ctx, q, args, wanted)


async def facets(ctx: Context, q: ProductQuery) -> tuple[list[Any], list[Any], list[Any]]:
    brands = await ctx.read(lambda s: search.brand_facets(s, q))
    attributes, prices = await ctx.read(lambda s: search.attribute_and_price_facets(s, q))
    return brands, attributes, prices


# --- single objects ------------------------------------------------------------------------------


def is_visible(ctx: Context, product: Product | None) -> bool:
    return products.is_visible(product, ctx.viewer, ctx.now)


async def product_by_id(ctx: Context, global_id: str) -> Product | None:
    _, pk = query_id(global_id, "Product")
    product = await ctx.loaders.product.load(pk)
    return product if is_visible(ctx, product) else None


async def category_ancestors(ctx: Context, category: Category) -> list[Category]:
    """From the kept snapshot of the categories (no statement once read), as new objects of
    this request's own; by the category loader while nothing may be kept. The answer shows
    these ids only."""
    ids = category.ancestor_ids
    if not ids:
        return []
    rows = await ctx.read(lambda s: catalog.category_rows(s, ctx.now))
    if rows is None:
        return [c for c in await ctx.loaders.category.load_many(ids) if c]
    changes.depends_on("categories", ids)
    return [Category(**rows[i]) for i in ids if i in rows]


async def category_attributes(ctx: Context, category: Category) -> list[Attribute]:
    """Own and inherited attribute definitions, root first."""
    ids = list(category.path_ids)
    groups = await ctx.loaders.attributes_by_category.load_many(ids)
    return [a for group in groups for a in group]


@dataclass
class ProductAttributeView:
    name: str
    kind: AttributeKind
    values: list[str]


async def product_attributes(ctx: Context, product: Product) -> list[ProductAttributeView]:
    """KEY and GENERAL attribute values (SALES values show on SKUs and salesAttributes)."""
    rows = await ctx.loaders.attribute_values_by_product.load(product.id)
    views: dict[int, ProductAttributeView] = {}
    for value, attribute in rows:
        if attribute.kind == AttributeKind.SALES:
            continue
        view = views.setdefault(
            attribute.id, ProductAttributeView(attribute.name, attribute.kind, [])
        )
        view.values.append(value.value)
    return list(views.values())


@dataclass
class SalesValueView:
    value: str
    image_url: str | None


@dataclass
class SalesAttributeView:
    name: str
    values: list[SalesValueView]


async def sales_attributes(ctx: Context, product: Product) -> list[SalesAttributeView]:
    """Each SALES attribute with its values in SKU order. Values of the first SALES attribute
    (the one shoppers pick first, usually colour) carry the image of the first SKU with it."""
    skus = await ctx.loaders.skus_by_product.load(product.id)
    views: dict[int, SalesAttributeView] = {}
    seen: set[tuple[int, str]] = set()
    for sku in skus:
        for position, spec in enumerate(sku.specs):
            view = views.setdefault(spec["attributeId"], SalesAttributeView(spec["name"], []))
            key = (spec["attributeId"], spec["value"])
            if key not in seen:
                seen.add(key)
                image = sku.image_url if position == 0 else None
                view.values.append(SalesValueView(spec["value"], image))
    return list(views.values())


# --- admin mutations -----------------------------------------------------------------------------


def _brand_data(data: Any) -> catalog.BrandData:
    return catalog.BrandData(name=data.name, logo_url=data.logo_url, country=data.country)


async def brand_create(ctx: Context, data: Any) -> MutationResult[Any]:
    return await mutate(
        ctx, lambda s: catalog.create_brand(s, _brand_data(data)), Change("brand.create", Brand)
    )


async def brand_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.update_brand(
            s, input_id(global_id, "Brand", "id") or 0, _brand_data(data)
        )

    return await mutate(ctx, run, Change("brand.update", Brand, global_id))


async def brand_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.delete_brand(s, input_id(global_id, "Brand", "id") or 0)

    return await mutate(ctx, run, Change("brand.delete", Brand, global_id))


def _merchant_data(data: Any) -> catalog.MerchantData:
    return catalog.MerchantData(
        name=data.name,
        self_operated=bool(data.self_operated),
        commission_rate=data.commission_rate or 0,
    )


async def merchant_create(ctx: Context, data: Any) -> MutationResult[Any]:
    return await mutate(
        ctx,
        lambda s: catalog.create_merchant(s, _merchant_data(data)),
        Change("merchant.create", Merchant),
    )


async def merchant_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.update_merchant(
            s, input_id(global_id, "Merchant", "id") or 0, _merchant_data(data)
        )

    return await mutate(ctx, run, Change("merchant.update", Merchant, global_id))


async def category_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        parent = input_id(data.parent_id, "Category", "parentId")
        return await catalog.create_category(s, data.name, parent, data.position or 0)

    return await mutate(ctx, run, Change("category.create", Category))


async def category_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        parent: Any = (
            UNSET
            if data.parent_id is GRAPHQL_UNSET
            else input_id(data.parent_id, "Category", "parentId")
        )
        return await catalog.update_category(
            s,
            input_id(global_id, "Category", "id") or 0,
            name=data.name,
            parent_id=parent,
            position=data.position,
        )

    return await mutate(ctx, run, Change("category.update", Category, global_id))


async def category_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.delete_category(s, input_id(global_id, "Category", "id") or 0)

    return await mutate(ctx, run, Change("category.delete", Category, global_id))


async def attribute_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.create_attribute(
            s,
            catalog.AttributeData(
                category_id=input_id(data.category_id, "Category", "categoryId") or 0,
                name=data.name,
                kind=AttributeKind(data.kind.value),
                value_type=catalog.AttributeValueType(data.value_type.value),
                options=list(data.options or []),
                required=bool(data.required),
                filterable=bool(data.filterable),
                allow_custom_values=bool(data.allow_custom_values),
            ),
        )

    return await mutate(ctx, run, Change("attribute.create", Attribute))


def _display_data(data: Any) -> catalog.DisplayCategoryData:
    def given(value: Any) -> Any:
        return UNSET if value is GRAPHQL_UNSET else value

    parent = given(data.parent_id)
    return catalog.DisplayCategoryData(
        name=None if data.name is GRAPHQL_UNSET else data.name,
        parent_id=parent
        if parent in (UNSET, None)
        else input_id(parent, "DisplayCategory", "parentId"),
        icon_url=given(data.icon_url),
        position=None if data.position is GRAPHQL_UNSET else data.position,
        channels=None
        if data.channels in (GRAPHQL_UNSET, None)
        else [c.value for c in data.channels],
        category_ids=None
        if data.category_ids in (GRAPHQL_UNSET, None)
        else input_ids(data.category_ids, "Category", "categoryIds"),
        brand_ids=None
        if data.brand_ids in (GRAPHQL_UNSET, None)
        else input_ids(data.brand_ids, "Brand", "brandIds"),
    )


async def display_category_create(ctx: Context, data: Any) -> MutationResult[Any]:
    return await mutate(
        ctx, lambda s: _create_display(s, data), Change("display_category.create", DisplayCategory)
    )


async def _create_display(session: Any, data: Any) -> DisplayCategory:
    return await catalog.create_display_category(session, _display_data(data))


async def display_category_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        node_id = input_id(global_id, "DisplayCategory", "id") or 0
        return await catalog.update_display_category(s, node_id, _display_data(data))

    return await mutate(ctx, run, Change("display_category.update", DisplayCategory, global_id))


async def display_category_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        node_id = input_id(global_id, "DisplayCategory", "id") or 0
        return await catalog.delete_display_category(s, node_id)

    return await mutate(ctx, run, Change("display_category.delete", DisplayCategory, global_id))


async def shipping_template_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        return await catalog.create_shipping_template(
            s,
            catalog.ShippingTemplateData(
                merchant_id=input_id(data.merchant_id, "Merchant", "merchantId") or 0,
                name=data.name,
                kind=catalog.ShippingKind(data.kind.value),
                first_fee=data.first_fee,
                additional_fee=data.additional_fee,
                flat_fee=data.flat_fee,
                free_over=data.free_over,
                max_parcel_weight_grams=data.max_parcel_weight_grams,
                max_parcel_volume_cm3=data.max_parcel_volume_cm3,
            ),
        )

    return await mutate(ctx, run, Change("shipping_template.create", ShippingTemplate))


def _sku_drafts(skus: list[Any]) -> list[SkuDraft]:
    return [
        SkuDraft(
            id=input_id(getattr(s, "id", None), "Sku", f"skus.{i}.id"),
            specs=[
                (input_id(sp.attribute_id, "Attribute", f"skus.{i}.specs") or 0, sp.value)
                for sp in s.specs or []
            ],
            code=s.code,
            price=s.price,
            market_price=s.market_price,
            cost_price=s.cost_price,
            barcode=s.barcode,
            weight_grams=s.weight_grams,
            image_url=s.image_url,
            transport_class=getattr(s, "transport_class", None) or "GENERAL",
        )
        for i, s in enumerate(skus)
    ]


def _attribute_values(attributes: list[Any]) -> list[tuple[int, list[str]]]:
    return [
        (input_id(a.attribute_id, "Attribute", f"attributes.{i}.attributeId") or 0, list(a.values))
        for i, a in enumerate(attributes)
    ]


def _images(images: list[Any]) -> list[tuple[str, str | None]]:
    return [(i.url, i.alt) for i in images]


async def product_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        merchant_id = input_id(data.merchant_id, "Merchant", "merchantId") or 0
        if ctx.viewer.merchant_id is not None and ctx.viewer.merchant_id != merchant_id:
            raise DomainError(
                ErrorCode.MERCHANT_MISMATCH,
                "You can only create products of your own merchant.",
                "merchantId",
            )
        draft = ProductDraft(
            title=data.title,
            subtitle=data.subtitle,
            brand_id=input_id(data.brand_id, "Brand", "brandId") or 0,
            category_id=input_id(data.category_id, "Category", "categoryId") or 0,
            merchant_id=merchant_id,
            shipping_template_id=input_id(
                data.shipping_template_id, "ShippingTemplate", "shippingTemplateId"
            ),
            tags=list(data.tags or []),
            attributes=_attribute_values(data.attributes or []),
            images=_images(data.images or []),
            description_mobile_html=data.description_mobile_html,
            description_pc_html=data.description_pc_html,
            after_sales=data.after_sales,
            red_packets_usable=bool(data.red_packets_usable),
            red_packet_cap=data.red_packet_cap,
            skus=_sku_drafts(data.skus or []),
        )
        return await products.create_product(s, draft)

    return await mutate(ctx, run, Change("product.create", Product))


def _patch(data: Any) -> ProductPatch:
    patch = ProductPatch()
    simple = (
        "title",
        "subtitle",
        "description_mobile_html",
        "description_pc_html",
        "after_sales",
        "red_packet_cap",
    )
    for name in simple:
        value = getattr(data, name)
        if value is not GRAPHQL_UNSET:
            setattr(patch, name, value)
    converters: dict[str, Any] = {
        "brand_id": lambda v: input_id(v, "Brand", "brandId"),
        "category_id": lambda v: input_id(v, "Category", "categoryId"),
        "shipping_template_id": lambda v: input_id(v, "ShippingTemplate", "shippingTemplateId"),
        "tags": lambda v: list(v or []),
        "attributes": lambda v: _attribute_values(v or []),
        "images": lambda v: _images(v or []),
        "skus": lambda v: _sku_drafts(v or []),
        "red_packets_usable": bool,
    }
    for name, convert in converters.items():
        value = getattr(data, name)
        if value is not GRAPHQL_UNSET:
            setattr(patch, name, convert(value))
    return patch


async def _own_product(ctx: Context, session: Any, global_id: str) -> int:
    """Merchant staff may only touch their merchant's products (checked before any write)."""
    pk = input_id(global_id, "Product", "id") or 0
    if ctx.viewer.merchant_id is not None:
        product = await session.get(Product, pk)
        if product is None or product.merchant_id != ctx.viewer.merchant_id:
            raise DomainError(ErrorCode.NOT_FOUND, "Product not found.", "id")
    return pk


async def product_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        pk = await _own_product(ctx, s, global_id)
        return await products.update_product(s, pk, _patch(data))

    return await mutate(ctx, run, Change("product.update", Product, global_id))


async def product_list(
    ctx: Context, global_id: str, list_at: Any, delist_at: Any
) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        pk = await _own_product(ctx, s, global_id)
        return await products.list_product(s, pk, ctx.now, list_at, delist_at)

    return await mutate(ctx, run, Change("product.list", Product, global_id))


async def product_delist(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        pk = await _own_product(ctx, s, global_id)
        return await products.delist_product(s, pk, ctx.now)

    return await mutate(ctx, run, Change("product.delist", Product, global_id))


# --- simple admin lists --------------------------------------------------------------------------


async def category_roots(session: Any) -> list[Category]:
    return list((await session.scalars(catalog.category_roots())).all())


async def all_brands(session: Any) -> list[Any]:
    return list((await session.scalars(catalog.brands())).all())


async def merchants_for(ctx: Context) -> list[Any]:
    stmt = catalog.merchants_seen_by(ctx.viewer.merchant_id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


async def product_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(s: Any) -> Any:
        pk = await _own_product(ctx, s, global_id)
        return await products.delete_product(s, pk)

    return await mutate(ctx, run, Change("product.delete", Product, global_id))
