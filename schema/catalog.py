"""Catalog API: storefront browsing/search and admin catalog management (DOMAIN.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

import models as m
from core.ids import encode_id
from resolvers import catalog as rc
from resolvers import coupons as rc_coupons
from resolvers import nodes as rn
from resolvers.common import Page
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission as PermissionEnum
from resolvers.errors import ApiErrorCode, api_error
from schema.common import (
    Image,
    Money,
    Node,
    PageInfo,
    UserError,
    money,
    page_args,
    page_info,
    user_errors,
)
from schema.coupons import CouponTemplate
from schema.inventory import StockLevel
from schema.permissions import staff_of_merchant
from schema.promotions import Promotion
from services import products as product_rules
from services import search

Channel = strawberry.enum(ChannelEnum, description="Sales channel, from the X-Channel header.")
Permission = strawberry.enum(PermissionEnum)
ProductSort = strawberry.enum(search.ProductSort)
ProductStatus = strawberry.enum(product_rules.EffectiveStatus, name="ProductStatus",
                                description="DRAFT → LISTED ⇄ DELISTED; SCHEDULED is LISTED "
                                "with a listAt still in the future.")
AttributeKind = strawberry.enum(m.catalog.AttributeKind)
AttributeValueType = strawberry.enum(m.catalog.AttributeValueType)
ShippingKind = strawberry.enum(m.catalog.ShippingKind)
MANAGE_CATALOG = PermissionEnum.MANAGE_CATALOG


@strawberry.enum
class Platform(Enum):
    MOBILE = "MOBILE"
    PC = "PC"


def _gid(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(encode_id(type_name, pk))


def _selected_names(selections: list[Any]) -> set[str]:
    """Field names in a selection set, looking through fragments."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            names |= _selected_names(selection.selections)
    return names


def _children(selections: list[Any], name: str) -> list[Any]:
    found: list[Any] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                found.extend(selection.selections)
        else:
            found.extend(_children(selection.selections, name))
    return found


def node_fields(info: Info) -> frozenset[str]:
    """What a connection's clients ask of each node (under edges.node and nodes)."""
    top = info.selected_fields[0].selections
    nodes = _children(_children(top, "edges"), "node") + _children(top, "nodes")
    return frozenset(_selected_names(nodes))


def _with_skus(product: Any, info: Info, compute: Callable[[list[Any]], Any]) -> Any:
    """Answer from SKUs prefetched for the page synchronously; otherwise via the loader."""
    skus = getattr(product, "prefetched_skus", None)
    if skus is not None:
        return compute(skus)

    async def later() -> Any:
        return compute(await info.context.loaders.skus_by_product.load(product.id))

    return later()


def _price_range(skus: list[Any]) -> PriceRange | None:
    if not skus:
        return None
    prices = [s.price for s in skus]
    return PriceRange(min=money(min(prices)), max=money(max(prices)))  # type: ignore[arg-type]


def _promotional_range(product: Any, rules: list[Any], skus: list[Any]) -> PriceRange | None:
    if not skus:
        return None
    prices = [rc.promotional_price(product, rules, s) for s in skus]
    return PriceRange(min=money(min(prices)), max=money(max(prices)))  # type: ignore[arg-type]


def _tags(rules: list[Any]) -> list[str]:
    """Item-level labels first (直降 before 满300减30), then order-level, then gifts."""
    from services.pricing import Level, tag_of

    rank = {Level.ITEM: 0, Level.ORDER: 1, Level.GIFT: 2}
    ordered = sorted(rules, key=lambda r: (rank[r.level], r.id))
    return list(dict.fromkeys(tag_of(r) for r in ordered))


def _market_price(skus: list[Any]) -> Money | None:
    if not skus:
        return None
    return money(min(skus, key=lambda s: (s.price, s.position)).market_price)


# --- taxonomy types ------------------------------------------------------------------------------


@strawberry.type
class Merchant(Node):
    name: str
    self_operated: bool

    @strawberry.field(description="Basis points; staff of this merchant and the platform only.")
    def commission_rate(self, info: Info) -> int:
        if not info.context.viewer.owns_merchant(self.id):
            raise api_error(ApiErrorCode.FORBIDDEN, "Only staff of this merchant can see this.")
        return self.commission_rate

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Merchant)


@strawberry.type
class Brand(Node):
    name: str
    logo_url: str | None
    country: str | None

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Brand)


@strawberry.type
class Attribute(Node):
    name: str
    kind: AttributeKind  # type: ignore[valid-type]
    value_type: AttributeValueType  # type: ignore[valid-type]
    options: list[str]
    required: bool
    filterable: bool
    allow_custom_values: bool

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Attribute)


@strawberry.type(description="Backend category (基础类目): at most 4 levels; products on leaves.")
class Category(Node):
    name: str
    level: int
    position: int

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Category)

    @strawberry.field
    async def parent(self, info: Info) -> Category | None:
        pid = self.parent_id  # type: ignore[attr-defined]
        return await info.context.loaders.category.load(pid) if pid else None

    @strawberry.field(description="Root first, down to the parent.")
    async def ancestors(self, info: Info) -> list[Category]:
        return await rc.category_ancestors(info.context, self)  # type: ignore[arg-type]

    @strawberry.field
    async def children(self, info: Info) -> list[Category]:
        return await info.context.loaders.category_children.load(self.id)

    @strawberry.field
    async def is_leaf(self, info: Info) -> bool:
        return await info.context.loaders.category_is_leaf.load(self.id)

    @strawberry.field(description="Own and inherited attribute definitions, root first.")
    async def attributes(self, info: Info) -> list[Attribute]:
        return await rc.category_attributes(info.context, self)  # type: ignore[arg-type]


@strawberry.type
class ShippingTemplate(Node):
    name: str
    kind: ShippingKind  # type: ignore[valid-type]

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.ShippingTemplate)

    @strawberry.field
    def first_fee(self) -> Money:
        return money(self.first_fee)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def additional_fee(self) -> Money:
        return money(self.additional_fee)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def flat_fee(self) -> Money:
        return money(self.flat_fee)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def free_over(self) -> Money | None:
        return money(self.free_over)  # type: ignore[arg-type]


# --- products ------------------------------------------------------------------------------------


@strawberry.type
class SkuSpec:
    name: str
    value: str


@strawberry.type
class PriceRange:
    min: Money
    max: Money


@strawberry.type
class ProductAttribute:
    name: str
    kind: AttributeKind  # type: ignore[valid-type]
    values: list[str]


@strawberry.type
class SalesAttributeValue:
    value: str
    image_url: str | None


@strawberry.type
class SalesAttribute:
    name: str
    values: list[SalesAttributeValue]


@strawberry.type
class Sku(Node):
    code: str
    barcode: str | None
    spec_text: str
    weight_grams: int | None
    enabled: bool

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Sku)

    @strawberry.field
    def specs(self) -> list[SkuSpec]:
        return [SkuSpec(name=s["name"], value=s["value"]) for s in self.specs]  # type: ignore[attr-defined]

    price_money: Money = strawberry.field(name="price")
    market_price_money: Money | None = strawberry.field(name="marketPrice")

    @strawberry.field(extensions=staff_of_merchant(),
                      description="Staff of the merchant only; never shown to customers.")
    def cost_price(self) -> Money | None:
        return money(self.cost_price)

    sellable_quantity: int = strawberry.field(
        description="Σ over warehouses of max(0, onHand − reserved − safetyStock).")

    @strawberry.field
    def image(self) -> Image | None:
        url = self.image_url  # type: ignore[attr-defined]
        return Image(url=url) if url else None

    @strawberry.field
    async def product(self, info: Info) -> Product:
        return await info.context.loaders.product.load(self.product_id)  # type: ignore[attr-defined]

    @strawberry.field(extensions=staff_of_merchant())
    async def stock_levels(self, info: Info) -> list[StockLevel]:
        return await info.context.loaders.stock_levels_by_sku.load(self.id)


@strawberry.type(description="A product (SPU). Storefronts only ever see products LISTED now.")
class Product(Node):
    title: str
    subtitle: str | None
    tags: list[str]
    after_sales: str | None
    list_at: datetime | None
    delist_at: datetime | None
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Product)

    @strawberry.field
    def status(self, info: Info) -> ProductStatus:  # type: ignore[valid-type]
        return product_rules.effective_status(self, info.context.now)  # type: ignore[arg-type]

    thumbnail: Image | None = strawberry.field(description="The first gallery image.")

    @strawberry.field
    def images(self) -> list[Image]:
        return [Image(url=i["url"], alt=i.get("alt")) for i in self.images]  # type: ignore[attr-defined]

    @strawberry.field
    def brand(self, info: Info) -> Brand:
        brand = getattr(self, "prefetched_brand", None)
        return brand or info.context.loaders.brand.load(self.brand_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def merchant(self, info: Info) -> Merchant:
        return await info.context.loaders.merchant.load(self.merchant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def category(self, info: Info) -> Category:
        return await info.context.loaders.category.load(self.category_id)  # type: ignore[attr-defined]

    @strawberry.field
    def skus(self, info: Info) -> list[Sku]:
        return _with_skus(self, info, lambda skus: skus)

    @strawberry.field(description="Lowest and highest SKU price, after a running "
                      "single-product promotion.")
    def price_range(self, info: Info) -> PriceRange | None:
        rules = getattr(self, "prefetched_promotions", None)
        skus = getattr(self, "prefetched_skus", None)
        if rules is not None and skus is not None:
            return _promotional_range(self, rules, skus)

        async def later() -> PriceRange | None:
            found = await rc.product_promotions(info.context, self)  # type: ignore[arg-type]
            return _promotional_range(
                self, found, await info.context.loaders.skus_by_product.load(self.id))

        return later()

    @strawberry.field(description="Strike-through price of the cheapest SKU, if it has one.")
    def market_price(self, info: Info) -> Money | None:
        return _with_skus(self, info, _market_price)

    @strawberry.field
    def sellable_quantity(self, info: Info) -> int:
        return _with_skus(self, info, lambda skus: sum(s.sellable_quantity for s in skus))

    @strawberry.field(description="KEY and GENERAL attribute values.")
    async def attributes(self, info: Info) -> list[ProductAttribute]:
        return await rc.product_attributes(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="SALES attributes with the values the SKUs use.")
    async def sales_attributes(self, info: Info) -> list[SalesAttribute]:
        return await rc.sales_attributes(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Rich text for the platform; falls back to the other one.")
    def description_html(self, platform: Platform = Platform.MOBILE) -> str | None:
        mobile = self.description_mobile_html  # type: ignore[attr-defined]
        pc = self.description_pc_html  # type: ignore[attr-defined]
        return (mobile or pc) if platform == Platform.MOBILE else (pc or mobile)

    @strawberry.field(description="Short labels of the promotions that apply, e.g. 满300减30.")
    def promotion_tags(self, info: Info) -> list[str]:
        rules = getattr(self, "prefetched_promotions", None)
        if rules is not None:
            return _tags(rules)

        async def later() -> list[str]:
            return _tags(await rc.product_promotions(info.context, self))  # type: ignore[arg-type]

        return later()  # type: ignore[return-value]

    @strawberry.field(description="Promotions running now that apply to this product.")
    async def promotions(self, info: Info) -> list[Promotion]:
        rules = await rc.product_promotions(info.context, self)  # type: ignore[arg-type]
        rows = await info.context.loaders.live_promotions.load("all")
        wanted = {r.id for r in rules}
        return [p for p in rows if p.id in wanted]

    @strawberry.field(description="Coupon batches a shopper can claim for this product now.")
    async def claimable_coupons(self, info: Info) -> list[CouponTemplate]:
        return await rc_coupons.claimable_for_product(info.context, self)  # type: ignore[return-value]


# --- connections and facets ----------------------------------------------------------------------


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class BrandFacet:
    brand: Brand
    count: int


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type
class AttributeFacet:
    name: str
    values: list[FacetValue]


@strawberry.type
class PriceBucket:
    count: int

    @strawberry.field
    def min(self) -> Money:
        return money(self.min)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def max(self) -> Money:
        return money(self.max)  # type: ignore[arg-type,return-value]


@strawberry.type
class ProductFacets:
    brands: list[BrandFacet]
    attributes: list[AttributeFacet]
    price_buckets: list[PriceBucket]


@strawberry.type
class ProductConnection:
    @strawberry.field
    def total_count(self) -> int:
        return self.total  # type: ignore[attr-defined]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return page_info(self)  # type: ignore[arg-type]

    @strawberry.field
    def edges(self) -> list[ProductEdge]:
        page: Page[m.Product] = self  # type: ignore[assignment]
        return [ProductEdge(cursor=page.cursor(i), node=p)  # type: ignore[arg-type]
                for i, p in enumerate(page.items)]

    @strawberry.field
    def nodes(self) -> list[Product]:
        return self.items  # type: ignore[attr-defined]

    @strawberry.field(description="Counts over the whole result; each facet ignores its own "
                      "filter. Storefront listings only.")
    async def facets(self, info: Info) -> ProductFacets | None:
        q = self.query  # type: ignore[attr-defined]
        if q is None or q.visible_at is None:
            return None
        brands, attributes, prices = await rc.facets(info.context, q)
        return ProductFacets(brands=brands, attributes=attributes,
                             price_buckets=prices)


@strawberry.type(description="Front-end navigation category (前台类目), per channel.")
class DisplayCategory(Node):
    name: str
    icon_url: str | None
    position: int

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.DisplayCategory)

    @strawberry.field
    def channels(self) -> list[Channel]:  # type: ignore[valid-type]
        return [ChannelEnum(c) for c in self.channels]  # type: ignore[attr-defined]

    @strawberry.field
    async def children(self, info: Info) -> list[DisplayCategory]:
        return await rc.display_category_children(info.context, self)  # type: ignore[arg-type]

    @strawberry.field(description="Listed products of the mapped categories and brands, "
                      "including those of child display categories.")
    async def products(self, info: Info, first: int | None = None, after: str | None = None,
                       sort: ProductSort | None = search.ProductSort.RELEVANCE,  # type: ignore[valid-type]
                       filter: ProductFilter | None = None, last: int | None = None,
                       before: str | None = None) -> ProductConnection:
        return await rc.display_category_products(  # type: ignore[return-value]
            info.context, self, page_args(info, first, after, last, before),
            sort, filter,  # type: ignore[arg-type]
            node_fields(info))


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input
class AttributeFilterInput:
    name: str
    values: list[str]


@strawberry.input
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Category (descendants included) or a DisplayCategory.")
    brand_ids: list[strawberry.ID] | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    attributes: list[AttributeFilterInput] | None = None
    in_stock: bool | None = None


@strawberry.input
class AdminProductFilter:
    query: str | None = None
    status: ProductStatus | None = None  # type: ignore[valid-type]
    merchant_id: strawberry.ID | None = None
    brand_id: strawberry.ID | None = None
    category_id: strawberry.ID | None = None


@strawberry.input
class BrandInput:
    name: str
    logo_url: str | None = None
    country: str | None = None


@strawberry.input
class CategoryInput:
    name: str
    parent_id: strawberry.ID | None = None
    position: int | None = None


@strawberry.input
class CategoryUpdateInput:
    name: str | None = None
    parent_id: strawberry.ID | None = strawberry.UNSET
    position: int | None = None


@strawberry.input
class AttributeInput:
    category_id: strawberry.ID
    name: str
    kind: AttributeKind  # type: ignore[valid-type]
    value_type: AttributeValueType  # type: ignore[valid-type]
    options: list[str] | None = None
    required: bool | None = False
    filterable: bool | None = False
    allow_custom_values: bool | None = False


@strawberry.input
class DisplayCategoryInput:
    name: str
    parent_id: strawberry.ID | None = None
    icon_url: str | None = None
    position: int | None = None
    channels: list[Channel] | None = None  # type: ignore[valid-type]
    category_ids: list[strawberry.ID] | None = None
    brand_ids: list[strawberry.ID] | None = None


@strawberry.input
class DisplayCategoryUpdateInput:
    name: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    icon_url: str | None = strawberry.UNSET
    position: int | None = strawberry.UNSET
    channels: list[Channel] | None = strawberry.UNSET  # type: ignore[valid-type]
    category_ids: list[strawberry.ID] | None = strawberry.UNSET
    brand_ids: list[strawberry.ID] | None = strawberry.UNSET


@strawberry.input
class MerchantInput:
    name: str
    self_operated: bool | None = False
    commission_rate: int | None = strawberry.field(
        default=0, description="The platform's commission on the merchant's goods sold, in "
        "basis points (500 = 5%; 0–10000); see settlementStatement.")


@strawberry.input
class ShippingTemplateInput:
    merchant_id: strawberry.ID
    name: str
    kind: ShippingKind  # type: ignore[valid-type]
    first_fee: Decimal | None = None
    additional_fee: Decimal | None = None
    flat_fee: Decimal | None = None
    free_over: Decimal | None = None


@strawberry.input
class ProductAttributeInput:
    attribute_id: strawberry.ID
    values: list[str]


@strawberry.input
class ImageInput:
    url: str
    alt: str | None = None


@strawberry.input
class SkuSpecInput:
    attribute_id: strawberry.ID
    value: str


@strawberry.input
class SkuInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="On update: the SKU to change (omit to add a new SKU).")
    specs: list[SkuSpecInput] | None = None
    code: str = ""
    barcode: str | None = None
    price: Decimal | None = None
    market_price: Decimal | None = None
    cost_price: Decimal | None = None
    weight_grams: int | None = None
    image_url: str | None = None


@strawberry.input
class ProductInput:
    title: str
    brand_id: strawberry.ID
    category_id: strawberry.ID
    merchant_id: strawberry.ID
    skus: list[SkuInput]
    subtitle: str | None = None
    shipping_template_id: strawberry.ID | None = None
    tags: list[str] | None = None
    attributes: list[ProductAttributeInput] | None = None
    images: list[ImageInput] | None = None
    description_mobile_html: str | None = None
    description_pc_html: str | None = None
    after_sales: str | None = None


@strawberry.input(description="Omitted fields keep their value. `skus`, when given, is the full "
                  "list: SKUs with an id are updated, others added, missing ones disabled.")
class ProductUpdateInput:
    title: str | None = strawberry.UNSET
    subtitle: str | None = strawberry.UNSET
    brand_id: strawberry.ID | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    shipping_template_id: strawberry.ID | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    attributes: list[ProductAttributeInput] | None = strawberry.UNSET
    images: list[ImageInput] | None = strawberry.UNSET
    description_mobile_html: str | None = strawberry.UNSET
    description_pc_html: str | None = strawberry.UNSET
    after_sales: str | None = strawberry.UNSET
    skus: list[SkuInput] | None = strawberry.UNSET


# --- payloads ------------------------------------------------------------------------------------


@strawberry.type
class BrandPayload:
    brand: Brand | None
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: Category | None
    user_errors: list[UserError]


@strawberry.type
class AttributePayload:
    attribute: Attribute | None
    user_errors: list[UserError]


@strawberry.type
class DisplayCategoryPayload:
    display_category: DisplayCategory | None
    user_errors: list[UserError]


@strawberry.type
class MerchantPayload:
    merchant: Merchant | None
    user_errors: list[UserError]


@strawberry.type
class ShippingTemplatePayload:
    shipping_template: ShippingTemplate | None
    user_errors: list[UserError]


@strawberry.type
class ProductPayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


def _deleted(result: Any, type_name: str) -> DeletePayload:
    value = result.value
    return DeletePayload(deleted_id=_gid(type_name, value.id) if value else None,
                         user_errors=user_errors(result.errors))


# --- root fields ---------------------------------------------------------------------------------




@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The display-category tree for the request's channel.")
    async def display_categories(self, info: Info) -> list[DisplayCategory]:
        return await rc.display_category_roots(info.context)  # type: ignore[return-value]

    @strawberry.field
    async def display_category(self, info: Info, id: strawberry.ID) -> DisplayCategory | None:
        return await rc.display_category(info.context, id)  # type: ignore[return-value]

    @strawberry.field(description="Search and browse listed products.")
    async def products(self, info: Info, query: str | None = None,
                       filter: ProductFilter | None = None, first: int | None = None,
                       after: str | None = None,
                       sort: ProductSort | None = search.ProductSort.RELEVANCE,  # type: ignore[valid-type]
                       last: int | None = None, before: str | None = None,
                       ) -> ProductConnection:
        return await rc.search_products(  # type: ignore[return-value]
            info.context, query, filter, page_args(info, first, after, last, before), sort,  # type: ignore[arg-type]
            node_fields(info))

    @strawberry.field
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await rc.product_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await rn.node(info.context, id)

    @strawberry.field
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await rn.nodes(info.context, list(ids))

    @strawberry.field
    async def admin_products(self, info: Info, filter: AdminProductFilter | None = None,
                             first: int | None = None, after: str | None = None,
                             last: int | None = None, before: str | None = None
                            ) -> ProductConnection:
        return await rc.admin_products(  # type: ignore[return-value]
            info.context, filter, page_args(info, first, after, last, before), node_fields(info))

    @strawberry.field(description="Backend category roots (walk `children` for the tree).")
    async def categories(self, info: Info) -> list[Category]:
        return await info.context.read(rc.category_roots)

    @strawberry.field
    async def brands(self, info: Info) -> list[Brand]:
        return await info.context.read(rc.all_brands)

    @strawberry.field
    async def merchants(self, info: Info) -> list[Merchant]:
        return await rc.merchants_for(info.context)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation
    async def brand_create(self, info: Info, input: BrandInput) -> BrandPayload:
        r = await rc.brand_create(info.context, input)
        return BrandPayload(brand=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def brand_update(self, info: Info, id: strawberry.ID, input: BrandInput) -> BrandPayload:
        r = await rc.brand_update(info.context, id, input)
        return BrandPayload(brand=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def brand_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await rc.brand_delete(info.context, id), "Brand")

    @strawberry.mutation
    async def category_create(self, info: Info, input: CategoryInput) -> CategoryPayload:
        r = await rc.category_create(info.context, input)
        return CategoryPayload(category=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def category_update(self, info: Info, id: strawberry.ID,
                              input: CategoryUpdateInput) -> CategoryPayload:
        r = await rc.category_update(info.context, id, input)
        return CategoryPayload(category=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def category_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await rc.category_delete(info.context, id), "Category")

    @strawberry.mutation
    async def attribute_create(self, info: Info, input: AttributeInput) -> AttributePayload:
        r = await rc.attribute_create(info.context, input)
        return AttributePayload(attribute=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def display_category_create(self, info: Info,
                                      input: DisplayCategoryInput) -> DisplayCategoryPayload:
        r = await rc.display_category_create(info.context, input)
        return DisplayCategoryPayload(display_category=r.value,
                                      user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def display_category_update(self, info: Info, id: strawberry.ID,
                                      input: DisplayCategoryUpdateInput
                                      ) -> DisplayCategoryPayload:
        r = await rc.display_category_update(info.context, id, input)
        return DisplayCategoryPayload(display_category=r.value,
                                      user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def display_category_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await rc.display_category_delete(info.context, id), "DisplayCategory")

    @strawberry.mutation
    async def merchant_create(self, info: Info, input: MerchantInput) -> MerchantPayload:
        r = await rc.merchant_create(info.context, input)
        return MerchantPayload(merchant=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Rename, or set the commission rate (platform staff).")
    async def merchant_update(self, info: Info, id: strawberry.ID,
                              input: MerchantInput) -> MerchantPayload:
        r = await rc.merchant_update(info.context, id, input)
        return MerchantPayload(merchant=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def shipping_template_create(self, info: Info, input: ShippingTemplateInput
                                       ) -> ShippingTemplatePayload:
        r = await rc.shipping_template_create(info.context, input)
        return ShippingTemplatePayload(shipping_template=r.value,
                                       user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def product_create(self, info: Info, input: ProductInput) -> ProductPayload:
        r = await rc.product_create(info.context, input)
        return ProductPayload(product=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def product_update(self, info: Info, id: strawberry.ID,
                             input: ProductUpdateInput) -> ProductPayload:
        r = await rc.product_update(info.context, id, input)
        return ProductPayload(product=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="List now, or schedule with listAt / delistAt.")
    async def product_list(self, info: Info, id: strawberry.ID, list_at: datetime | None = None,
                           delist_at: datetime | None = None) -> ProductPayload:
        r = await rc.product_list(info.context, id, list_at, delist_at)
        return ProductPayload(product=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def product_delist(self, info: Info, id: strawberry.ID) -> ProductPayload:
        r = await rc.product_delist(info.context, id)
        return ProductPayload(product=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Only never-listed, never-stocked products; else delist.")
    async def product_delete(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return _deleted(await rc.product_delete(info.context, id), "Product")
