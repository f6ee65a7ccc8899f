"""Catalog API: storefront browsing/search and admin catalog management (DOMAIN.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from core.ids import encode_id
from core.response_cache import shown_stock
from resolvers import catalog as rc
from resolvers import coupons as rc_coupons
from resolvers import nodes as rn
from resolvers import records as m
from resolvers.catalog import TransportClass
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.context import Channel as ChannelEnum
from resolvers.context import Permission as PermissionEnum
from resolvers.loaders import ProductCard
from schema.common import After
from schema.common import Before
from schema.common import First20
from schema.common import Image
from schema.common import Last
from schema.common import Money
from schema.common import Node
from schema.common import PagedFields
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import deleted_id_field
from schema.common import describe_values
from schema.common import money
from schema.common import page_args
from schema.common import user_errors
from schema.common import user_errors_field
from schema.coupons import CouponTemplate
from schema.inventory import StockLevel
from schema.payloads import payload
from schema.permissions import staff_of_merchant
from schema.promotions import Promotion

Channel = ChannelEnum
strawberry.enum(Channel, description="Sales channel, from the X-Channel header.")
Permission = PermissionEnum
strawberry.enum(Permission, description="A permission a role grants to staff.")
ProductSort = rc.ProductSort
strawberry.enum(ProductSort, description="Order of a product listing.")
ProductStatus = rc.EffectiveStatus
strawberry.enum(
    ProductStatus,
    name="ProductStatus",
    description="DRAFT → LISTED ⇄ DELISTED; SCHEDULED is LISTED with a listAt still in the future.",
)
AttributeKind = rc.AttributeKind
strawberry.enum(AttributeKind, description="What an attribute is for.")
AttributeValueType = rc.AttributeValueType
strawberry.enum(AttributeValueType, description="The kind of value an attribute takes.")
ShippingKind = rc.ShippingKind
strawberry.enum(ShippingKind, description="How a shipping template charges.")
strawberry.enum(
    TransportClass,
    description="How a SKU must travel: classes other than GENERAL never share a parcel.",
)
describe_values(
    TransportClass,
    {
        "GENERAL": "Ordinary goods.",
        "LIQUID": "Liquids.",
        "BATTERY": "Batteries or goods containing them.",
        "COLD_CHAIN": "Goods that travel refrigerated (冷链).",
    },
)
describe_values(
    Channel,
    {
        "APP": "The mobile app.",
        "H5": "The H5 mobile web store.",
        "MINI_PROGRAM": "The mini-program.",
        "WEB": "The desktop web store.",
    },
)
describe_values(
    Permission,
    {
        "MANAGE_CATALOG": "Manage products and SKUs; platform staff also brands, categories and "
        "attributes.",
        "MANAGE_INVENTORY": "Manage warehouses and stock.",
        "MANAGE_ORDERS": "Manage orders: shipping, cancelling, refund decisions.",
        "MANAGE_PROMOTIONS": "Manage promotions.",
        "MANAGE_COUPONS": "Manage coupon templates, issuing and codes.",
        "MANAGE_CMS": "Manage CMS pages and their modules (platform staff).",
        "MANAGE_STAFF": "Manage staff and roles.",
        "VIEW_REPORTS": "Read sales reports, promotion statistics and settlement statements.",
        "MANAGE_CUSTOMERS": "Manage member levels, a customer's level override and points "
        "adjustments (platform staff).",
    },
)
describe_values(
    ProductSort,
    {
        "RELEVANCE": "Best match of the search text first; best sellers first without text.",
        "PRICE_ASC": "Lowest price first.",
        "PRICE_DESC": "Highest price first.",
        "SALES_DESC": "Best sellers first.",
        "NEWEST": "Most recently listed first.",
    },
)
describe_values(
    ProductStatus,
    {
        "DRAFT": "Never listed; only staff see it.",
        "SCHEDULED": "Listed, with a listAt still in the future.",
        "LISTED": "On sale now.",
        "DELISTED": "Taken off sale, or past its delistAt.",
    },
)
describe_values(
    AttributeKind,
    {
        "KEY": "Identifies the product, e.g. brand and model; required.",
        "SALES": "A spec that forms SKUs, e.g. colour or storage.",
        "GENERAL": "Descriptive, e.g. port type.",
    },
)
describe_values(
    AttributeValueType,
    {
        "OPTIONS": "One of the attribute's options.",
        "TEXT": "Free text.",
        "NUMBER": "A number.",
    },
)
describe_values(
    ShippingKind,
    {
        "FREE": "No shipping fee.",
        "FLAT": "One flat fee.",
        "BY_PIECE": "A fee for the first unit plus one for each additional unit.",
        "BY_WEIGHT": "A fee for the first kg plus one for each additional kg.",
    },
)
MANAGE_CATALOG = PermissionEnum.MANAGE_CATALOG


@strawberry.enum(description="Which rich-text description of a product.")
class Platform(Enum):
    MOBILE = strawberry.enum_value("MOBILE", description="For mobile clients.")
    PC = strawberry.enum_value("PC", description="For desktop web.")


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


def _card(product: Any, info: Info) -> ProductCard | None:
    """The product's card, when a listing loaded it: its fields answer synchronously."""
    return rc.card_of(info.context, product)


def _with_skus(product: Any, info: Info, compute: Callable[[Sequence[Any]], Any]) -> Any:
    """Answer from the SKUs of the product's card synchronously; otherwise via the loader."""
    card = _card(product, info)
    if card is not None and card.skus is not None:
        return compute(card.skus)

    async def later() -> Any:
        return compute(await info.context.loaders.skus_by_product.load(product.id))

    return later()


def _sku_shown_stock(root: strawberry.Parent[m.SkuView]) -> int:
    """Every SKU an answer shows is read as a view, with its number (resolvers/loaders.py)."""
    return shown_stock(root.sellable, (root.id,))


def _shown_stock(skus: Sequence[Any]) -> int:
    return shown_stock(sum(s.sellable for s in skus), tuple(s.id for s in skus))


def _price_range(skus: Sequence[Any]) -> PriceRange | None:
    if not skus:
        return None
    prices = [s.price for s in skus]
    return PriceRange(min=money(min(prices)), max=money(max(prices)))


def _promotional_range(card: ProductCard) -> PriceRange | None:
    prices = rc.promotional_prices(card)
    if not prices:
        return None
    return PriceRange(min=money(min(prices)), max=money(max(prices)))


def _market_price(skus: Sequence[Any]) -> Money | None:
    if not skus:
        return None
    return money(min(skus, key=lambda s: (s.price, s.position)).market_price)


# --- taxonomy types ------------------------------------------------------------------------------


@strawberry.type(description="A seller: the self-operated platform merchant or a third-party shop.")
class Merchant(Node):
    name: str = strawberry.field(description="Display name.")
    self_operated: bool = strawberry.field(
        description="Whether it is the platform's own (自营) merchant."
    )

    @strawberry.field(
        extensions=staff_of_merchant(),
        description="Basis points; staff of this merchant and the platform only.",
    )
    def commission_rate(self) -> int:
        return self.commission_rate

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Merchant)


@strawberry.type(description="A brand.")
class Brand(Node):
    name: str = strawberry.field(description="Unique name.")
    logo_url: str | None = strawberry.field(description="Logo image, if any.")
    country: str | None = strawberry.field(description="Country of origin, if known.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Brand)


@strawberry.type(
    description="An attribute definition on a backend category, inherited by its descendants."
)
class Attribute(Node):
    name: str = strawberry.field(description='Display name, e.g. "Colour".')
    kind: AttributeKind = strawberry.field(
        description="KEY identifies the product, SALES forms SKUs, GENERAL describes."
    )
    value_type: AttributeValueType = strawberry.field(
        description="Options to choose from, free text or a number."
    )
    options: list[str] = strawberry.field(
        description="The allowed values when valueType is OPTIONS."
    )
    required: bool = strawberry.field(description="Whether products must give a value.")
    filterable: bool = strawberry.field(
        description="Whether storefront search offers it as a facet and filter."
    )
    allow_custom_values: bool = strawberry.field(
        description="Whether values outside `options` are accepted."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Attribute)


@strawberry.type(description="Backend category (基础类目): at most 4 levels; products on leaves.")
class Category(Node):
    name: str = strawberry.field(description="Display name.")
    level: int = strawberry.field(description="Depth in the tree: 1 for a root, at most 4.")
    position: int = strawberry.field(description="Sort order among siblings.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Category)

    @strawberry.field(description="The parent category; null for a root.")
    async def parent(self, info: Info, category: strawberry.Parent[m.Category]) -> Category | None:
        pid = category.parent_id
        return await info.context.loaders.category.load(pid) if pid else None

    @strawberry.field(description="Root first, down to the parent.")
    async def ancestors(
        self, info: Info, category: strawberry.Parent[m.Category]
    ) -> list[Category]:
        return await rc.category_ancestors(info.context, category)  # type: ignore[return-value]  # models, resolved as this type

    @strawberry.field(description="Direct subcategories.")
    async def children(self, info: Info, category: strawberry.Parent[m.Category]) -> list[Category]:
        return await info.context.loaders.category_children.load(category.id)

    @strawberry.field(description="Whether it has no children (products bind to leaves only).")
    async def is_leaf(self, info: Info, category: strawberry.Parent[m.Category]) -> bool:
        return await info.context.loaders.category_is_leaf.load(category.id)

    @strawberry.field(description="Own and inherited attribute definitions, root first.")
    async def attributes(
        self, info: Info, category: strawberry.Parent[m.Category]
    ) -> list[Attribute]:
        return await rc.category_attributes(info.context, category)  # type: ignore[return-value]  # models, resolved as this type


@strawberry.type(description="How a merchant charges for shipping.")
class ShippingTemplate(Node):
    name: str = strawberry.field(description="Display name.")
    kind: ShippingKind = strawberry.field(description="FREE, FLAT, BY_PIECE or BY_WEIGHT.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.ShippingTemplate)

    @strawberry.field(description="Fee for the first unit or kg (Money in yuan).")
    def first_fee(self) -> Money:
        return money(self.first_fee)

    @strawberry.field(description="Fee for each additional unit or kg (Money in yuan).")
    def additional_fee(self) -> Money:
        return money(self.additional_fee)

    @strawberry.field(description="Fee for FLAT (Money in yuan).")
    def flat_fee(self) -> Money:
        return money(self.flat_fee)

    @strawberry.field(
        description="Free shipping from this merchant subtotal (Money in yuan); null = never."
    )
    def free_over(self) -> Money | None:
        return money(self.free_over)

    @strawberry.field(
        description="Heaviest parcel its orders are split into (grams); null = no limit."
    )
    def max_parcel_weight_grams(self) -> int | None:
        return self.max_parcel_weight_grams

    @strawberry.field(
        description="Largest parcel its orders are split into (cm³); null = no limit."
    )
    def max_parcel_volume_cm3(self) -> int | None:
        return self.max_parcel_volume_cm3


# --- products ------------------------------------------------------------------------------------


@strawberry.type(description="A SKU's value for one SALES attribute.")
class SkuSpec:
    name: str = strawberry.field(description="The attribute's name.")
    value: str = strawberry.field(description="The value.")


@strawberry.type(description="Lowest and highest price over SKUs (Money in yuan).")
class PriceRange:
    min: Money = strawberry.field(description="Lowest price.")
    max: Money = strawberry.field(description="Highest price.")


@strawberry.type(description="A key or general attribute value of a product.")
class ProductAttribute:
    name: str = strawberry.field(description="The attribute's name.")
    kind: AttributeKind = strawberry.field(description="KEY or GENERAL.")
    values: list[str] = strawberry.field(description="The product's values.")


@strawberry.type(description="A value of a SALES attribute.")
class SalesAttributeValue:
    value: str = strawberry.field(description='The value, e.g. "Black".')
    image_url: str | None = strawberry.field(
        description="An image for the value (e.g. per colour)."
    )


@strawberry.type(description="A SALES attribute of a product with the values its SKUs use.")
class SalesAttribute:
    name: str = strawberry.field(description='The attribute\'s name, e.g. "Colour".')
    values: list[SalesAttributeValue] = strawberry.field(description="The values its SKUs use.")


@strawberry.type(description="A SKU: one sellable variant of a product.")
class Sku(Node):
    code: str = strawberry.field(description="Merchant SKU code (unique per merchant).")
    barcode: str | None = strawberry.field(description="Barcode, if any.")
    spec_text: str = strawberry.field(
        description='Its SALES attribute values as text, e.g. "Black / 256GB".'
    )
    weight_grams: int | None = strawberry.field(description="Weight in grams.")
    enabled: bool = strawberry.field(description="Whether it is still sold.")

    @strawberry.field(description="How it must travel (parcels never mix classes).")
    def transport_class(self) -> TransportClass:
        return TransportClass(self.transport_class)

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.SkuView | m.Sku)

    @strawberry.field(description="Its SALES attribute values.")
    def specs(self) -> list[SkuSpec]:
        return [SkuSpec(name=s["name"], value=s["value"]) for s in self.specs]

    price_money: Money = strawberry.field(name="price", description="Unit price (Money in yuan).")
    market_price_money: Money | None = strawberry.field(
        name="marketPrice", description="Strike-through market price (Money in yuan)."
    )

    @strawberry.field(
        extensions=staff_of_merchant(),
        description="Staff of the merchant only; never shown to customers.",
    )
    def cost_price(self) -> Money | None:
        return money(self.cost_price)

    sellable_quantity: int = strawberry.field(
        resolver=_sku_shown_stock,
        description="Σ over warehouses of max(0, onHand − reserved − safetyStock).",
    )

    @strawberry.field(description="Its image (e.g. per colour).")
    def image(self, sku: strawberry.Parent[m.AnySku]) -> Image | None:
        return Image(url=sku.image_url) if sku.image_url else None

    @strawberry.field(description="Its product.")
    async def product(self, info: Info, sku: strawberry.Parent[m.AnySku]) -> Product:
        return await info.context.loaders.product.load(sku.product_id)

    @strawberry.field(extensions=staff_of_merchant(), description="Stock per warehouse.")
    async def stock_levels(self, info: Info, sku: strawberry.Parent[m.AnySku]) -> list[StockLevel]:
        return await info.context.loaders.stock_levels_by_sku.load(sku.id)


@strawberry.type(description="A product (SPU). Storefronts only ever see products LISTED now.")
class Product(Node):
    title: str = strawberry.field(description="Title.")
    subtitle: str | None = strawberry.field(description="Selling point.")
    tags: list[str] = strawberry.field(description="Tags, e.g. for CMS product-list rules.")
    after_sales: str | None = strawberry.field(description="After-sales terms.")
    list_at: datetime | None = strawberry.field(
        description="Scheduled listing time (ISO-8601, UTC)."
    )
    delist_at: datetime | None = strawberry.field(
        description="Scheduled delisting time (ISO-8601, UTC)."
    )
    created_at: datetime = strawberry.field(description="When it was created (ISO-8601, UTC).")
    red_packets_usable: bool = strawberry.field(
        description="Red packets (红包) may pay for it at checkout (set by staff)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Product)

    @strawberry.field(
        description="The most red packets pay per unit (Money in yuan); null: up to what the "
        "line costs."
    )
    def red_packet_cap(self) -> Money | None:
        cap = self.red_packet_cap
        return None if cap is None else money(cap)

    @strawberry.field(description="Status now.")
    def status(self, info: Info) -> ProductStatus:
        return rc.effective_status(self, info.context.now)  # type: ignore[arg-type]

    thumbnail: Image | None = strawberry.field(description="The first gallery image.")

    @strawberry.field(description="Gallery images.")
    def images(self) -> list[Image]:
        return [Image(url=i["url"], alt=i.get("alt")) for i in self.images]

    @strawberry.field(description="Brand.")
    def brand(self, info: Info) -> Brand:
        card = _card(self, info)
        if card is not None and card.brand is not None:
            return card.brand  # type: ignore[return-value]
        return info.context.loaders.brand.load(self.brand_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The merchant selling it.")
    async def merchant(self, info: Info) -> Merchant:
        return await info.context.loaders.merchant.load(self.merchant_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Its leaf backend category.")
    async def category(self, info: Info) -> Category:
        return await info.context.loaders.category.load(self.category_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Its SKUs.")
    def skus(self, info: Info) -> list[Sku]:
        return _with_skus(self, info, lambda skus: skus)

    @strawberry.field(
        description="Lowest and highest SKU price, after a running single-product promotion."
    )
    def price_range(self, info: Info) -> PriceRange | None:
        card = _card(self, info)
        if card is not None and card.priced:
            return _promotional_range(card)

        async def later() -> PriceRange | None:
            return _promotional_range(await rc.priced_card(info.context, self))  # type: ignore[arg-type]

        return later()  # type: ignore[return-value]

    @strawberry.field(description="Strike-through price of the cheapest SKU, if it has one.")
    def market_price(self, info: Info) -> Money | None:
        return _with_skus(self, info, _market_price)

    @strawberry.field(description="Units sellable now over all SKUs and warehouses.")
    def sellable_quantity(self, info: Info) -> int:
        return _with_skus(self, info, _shown_stock)

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
        card = _card(self, info)
        if card is not None and card.promotions is not None:
            return rc.tags_in_order(card.promotions)

        async def later() -> list[str]:
            return rc.tags_in_order(await rc.card_promotions(info.context, self))  # type: ignore[arg-type]

        return later()  # type: ignore[return-value]

    @strawberry.field(description="Promotions running now that apply to this product.")
    async def promotions(self, info: Info) -> list[Promotion]:
        return await rc.running_promotions_on(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="Coupon batches a shopper can claim for this product now.")
    async def claimable_coupons(self, info: Info) -> list[CouponTemplate]:
        return await rc_coupons.claimable_for_product(info.context, self)  # type: ignore[return-value]


# --- connections and facets ----------------------------------------------------------------------


@strawberry.type(description="A product of a connection with its cursor.")
class ProductEdge:
    cursor: str = strawberry.field(
        description="Opaque cursor of this edge, for `after` / `before`."
    )
    node: Product = strawberry.field(description="The object at this edge.")


@strawberry.type(description="How many listed products of a search have a brand.")
class BrandFacet:
    brand: Brand = strawberry.field(description="The brand.")
    count: int = strawberry.field(description="Number of products.")


@strawberry.type(description="A value with the number of products having it.")
class FacetValue:
    value: str = strawberry.field(description="The value.")
    count: int = strawberry.field(description="Number of products.")


@strawberry.type(description="Counts of listed products per value of one filterable attribute.")
class AttributeFacet:
    name: str = strawberry.field(description="The attribute's name.")
    values: list[FacetValue] = strawberry.field(description="Each value with its product count.")


@strawberry.type(description="A price band of a search with its product count.")
class PriceBucket:
    count: int = strawberry.field(description="Number of products.")

    @strawberry.field(description="Lower bound (Money in yuan).")
    def min(self) -> Money:
        return money(self.min)

    @strawberry.field(description="Upper bound (Money in yuan).")
    def max(self) -> Money:
        return money(self.max)


@strawberry.type(description="Counts to refine a product search.")
class ProductFacets:
    brands: list[BrandFacet] = strawberry.field(description="Product counts per brand.")
    attributes: list[AttributeFacet] = strawberry.field(
        description="Product counts per value of each filterable attribute."
    )
    price_buckets: list[PriceBucket] = strawberry.field(
        description="Product counts per price band."
    )


@strawberry.type(description="A page of products with Relay cursors and the total count.")
class ProductConnection(PagedFields):
    @strawberry.field(description="The nodes of this page, each with its cursor.")
    def edges(self) -> list[ProductEdge]:
        page: Page[m.Product] = self  # type: ignore[assignment]
        return [
            ProductEdge(cursor=page.cursor(i), node=p)  # type: ignore[arg-type]
            for i, p in enumerate(page.items)
        ]

    @strawberry.field(description="The nodes of this page, without cursors.")
    def nodes(self) -> list[Product]:
        return self.items  # type: ignore[attr-defined]

    @strawberry.field(
        description="Counts over the whole result; each facet ignores its own "
        "filter. Storefront listings only."
    )
    async def facets(self, info: Info) -> ProductFacets | None:
        q = self.query  # type: ignore[attr-defined]
        if q is None or q.visible_at is None:
            return None
        brands, attributes, prices = await rc.facets(info.context, q)
        return ProductFacets(brands=brands, attributes=attributes, price_buckets=prices)


@strawberry.type(description="Front-end navigation category (前台类目), per channel.")
class DisplayCategory(Node):
    name: str = strawberry.field(description="Display name.")
    icon_url: str | None = strawberry.field(description="Icon image, if any.")
    position: int = strawberry.field(description="Sort order among siblings.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.DisplayNode | m.DisplayCategory)

    @strawberry.field(description="Channels it shows on; empty = all.")
    def channels(self, node: strawberry.Parent[m.AnyDisplayCategory]) -> list[Channel]:
        return [ChannelEnum(c) for c in node.channels]

    @strawberry.field(description="Direct subcategories.")
    async def children(
        self, info: Info, node: strawberry.Parent[m.AnyDisplayCategory]
    ) -> list[DisplayCategory]:
        return await rc.display_category_children(info.context, node)  # type: ignore[return-value]  # models, resolved as this type

    @strawberry.field(
        description="Listed products of the mapped categories and brands, "
        "including those of child display categories."
    )
    async def products(
        self,
        info: Info,
        node: strawberry.Parent[m.AnyDisplayCategory],
        first: int | None = None,
        after: str | None = None,
        sort: ProductSort | None = rc.ProductSort.RELEVANCE,
        filter: ProductFilter | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ProductConnection:
        return await rc.display_category_products(  # type: ignore[return-value]
            info.context,
            node,
            page_args(info, first, after, last, before),
            sort,  # type: ignore[arg-type]
            filter,
            node_fields(info),
        )


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="Products having one of the values of an attribute.")
class AttributeFilterInput:
    name: str = strawberry.field(description="The attribute's name.")
    values: list[str] = strawberry.field(description="Any of these values matches.")


@strawberry.input(description="Narrows a product search; every given condition must hold.")
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="A Category (descendants included) or a DisplayCategory."
    )
    brand_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of brands; any matches."
    )
    price_min: Decimal | None = strawberry.field(
        default=None, description="Lowest price in yuan (Decimal string)."
    )
    price_max: Decimal | None = strawberry.field(
        default=None, description="Highest price in yuan (Decimal string)."
    )
    attributes: list[AttributeFilterInput] | None = strawberry.field(
        default=None, description="Attribute values to match."
    )
    in_stock: bool | None = strawberry.field(
        default=None, description="Only products with sellable stock."
    )


@strawberry.input(description="Narrows adminProducts; every given condition must hold.")
class AdminProductFilter:
    query: str | None = strawberry.field(
        default=None, description="Words to find in title, subtitle and brand."
    )
    status: ProductStatus | None = strawberry.field(
        default=None, description="Only products in this status."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Relay global id of the merchant (merchant staff: their own only).",
    )
    brand_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the brand."
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of a backend category."
    )


@strawberry.input(description="A brand's values.")
class BrandInput:
    name: str = strawberry.field(description="Unique name.")
    logo_url: str | None = strawberry.field(default=None, description="Logo image URL.")
    country: str | None = strawberry.field(default=None, description="Country of origin.")


@strawberry.input(description="A new backend category.")
class CategoryInput:
    name: str = strawberry.field(description="Display name.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the parent; omitted = a root."
    )
    position: int | None = strawberry.field(default=None, description="Sort order among siblings.")


@strawberry.input(description="A backend category's new values; omitted fields keep their value.")
class CategoryUpdateInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global id of the new parent."
    )
    position: int | None = strawberry.field(default=None, description="Sort order among siblings.")


@strawberry.input(description="A new attribute definition.")
class AttributeInput:
    category_id: strawberry.ID = strawberry.field(
        description="Relay global id of the backend category it hangs on."
    )
    name: str = strawberry.field(description="Display name.")
    kind: AttributeKind = strawberry.field(description="KEY, SALES or GENERAL.")
    value_type: AttributeValueType = strawberry.field(description="OPTIONS, TEXT or NUMBER.")
    options: list[str] | None = strawberry.field(
        default=None, description="The allowed values for OPTIONS."
    )
    required: bool | None = strawberry.field(
        default=False, description="Whether products must give a value."
    )
    filterable: bool | None = strawberry.field(
        default=False, description="Whether storefront search offers it as a facet and filter."
    )
    allow_custom_values: bool | None = strawberry.field(
        default=False, description="Whether values outside `options` are accepted."
    )


@strawberry.input(description="A new display category.")
class DisplayCategoryInput:
    name: str = strawberry.field(description="Display name.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the parent; omitted = a root."
    )
    icon_url: str | None = strawberry.field(default=None, description="Icon image URL.")
    position: int | None = strawberry.field(default=None, description="Sort order among siblings.")
    channels: list[Channel] | None = strawberry.field(
        default=None, description="Channels it shows on; omitted = all."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of backend categories whose products it shows."
    )
    brand_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of brands whose products it shows."
    )


@strawberry.input(description="A display category's new values; omitted fields keep their value.")
class DisplayCategoryUpdateInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global id of the new parent."
    )
    icon_url: str | None = strawberry.field(default=strawberry.UNSET, description="Icon image URL.")
    position: int | None = strawberry.field(
        default=strawberry.UNSET, description="Sort order among siblings."
    )
    channels: list[Channel] | None = strawberry.field(
        default=strawberry.UNSET, description="Channels it shows on."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Relay global ids of backend categories whose products it shows.",
    )
    brand_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global ids of brands whose products it shows."
    )


@strawberry.input(description="A merchant's values.")
class MerchantInput:
    name: str = strawberry.field(description="Display name.")
    self_operated: bool | None = strawberry.field(
        default=False, description="Whether it is the platform's own (自营) merchant."
    )
    commission_rate: int | None = strawberry.field(
        default=0,
        description="The platform's commission on the merchant's goods sold, in "
        "basis points (500 = 5%; 0–10000); see settlementStatement.",
    )


@strawberry.input(description="A new shipping template.")
class ShippingTemplateInput:
    merchant_id: strawberry.ID = strawberry.field(
        description="Relay global id of the merchant (merchant staff: their own)."
    )
    name: str = strawberry.field(description="Display name.")
    kind: ShippingKind = strawberry.field(description="FREE, FLAT, BY_PIECE or BY_WEIGHT.")
    first_fee: Decimal | None = strawberry.field(
        default=None, description="Fee for the first unit or kg, in yuan (Decimal string)."
    )
    additional_fee: Decimal | None = strawberry.field(
        default=None, description="Fee for each additional unit or kg, in yuan (Decimal string)."
    )
    flat_fee: Decimal | None = strawberry.field(
        default=None, description="Fee for FLAT, in yuan (Decimal string)."
    )
    free_over: Decimal | None = strawberry.field(
        default=None,
        description="Free shipping from this merchant subtotal, in yuan (Decimal string).",
    )
    max_parcel_weight_grams: int | None = strawberry.field(
        default=None, description="Heaviest parcel orders are split into (grams); null = no limit."
    )
    max_parcel_volume_cm3: int | None = strawberry.field(
        default=None, description="Largest parcel orders are split into (cm³); null = no limit."
    )


@strawberry.input(description="A product's values for one attribute.")
class ProductAttributeInput:
    attribute_id: strawberry.ID = strawberry.field(description="Relay global id of the attribute.")
    values: list[str] = strawberry.field(description="The values.")


@strawberry.input(description="An image.")
class ImageInput:
    url: str = strawberry.field(description="The image's URL.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")


@strawberry.input(description="A SKU's value for one SALES attribute.")
class SkuSpecInput:
    attribute_id: strawberry.ID = strawberry.field(
        description="Relay global id of the SALES attribute."
    )
    value: str = strawberry.field(description="The value.")


@strawberry.input(description="A SKU of a product.")
class SkuInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="On update: the SKU to change (omit to add a new SKU)."
    )
    specs: list[SkuSpecInput] | None = strawberry.field(
        default=None, description="One value per SALES attribute of the product."
    )
    code: str = strawberry.field(default="", description="Merchant SKU code (unique per merchant).")
    barcode: str | None = strawberry.field(default=None, description="Barcode.")
    price: Decimal | None = strawberry.field(
        default=None, description="Unit price in yuan (Decimal string)."
    )
    market_price: Decimal | None = strawberry.field(
        default=None, description="Strike-through market price in yuan (Decimal string)."
    )
    cost_price: Decimal | None = strawberry.field(
        default=None, description="Cost price in yuan (Decimal string); never shown to customers."
    )
    weight_grams: int | None = strawberry.field(default=None, description="Weight in grams.")
    transport_class: TransportClass = strawberry.field(
        default=TransportClass.GENERAL,
        description="How it must travel (LIQUID, BATTERY, COLD_CHAIN parcels are separate).",
    )
    image_url: str | None = strawberry.field(default=None, description="Image URL.")


@strawberry.input(description="A new product with its SKUs.")
class ProductInput:
    title: str = strawberry.field(description="Title.")
    brand_id: strawberry.ID = strawberry.field(description="Relay global id of the brand.")
    category_id: strawberry.ID = strawberry.field(
        description="Relay global id of a leaf backend category."
    )
    merchant_id: strawberry.ID = strawberry.field(
        description="Relay global id of the merchant (merchant staff: their own)."
    )
    skus: list[SkuInput] = strawberry.field(
        description="The SKUs, one per combination of SALES attribute values."
    )
    subtitle: str | None = strawberry.field(default=None, description="Selling point.")
    shipping_template_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the merchant's shipping template."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    attributes: list[ProductAttributeInput] | None = strawberry.field(
        default=None, description="Key and general attribute values."
    )
    images: list[ImageInput] | None = strawberry.field(default=None, description="Gallery images.")
    description_mobile_html: str | None = strawberry.field(
        default=None, description="Rich-text description for mobile (HTML)."
    )
    description_pc_html: str | None = strawberry.field(
        default=None, description="Rich-text description for desktop (HTML)."
    )
    after_sales: str | None = strawberry.field(default=None, description="After-sales terms.")
    red_packets_usable: bool | None = strawberry.field(
        default=None,
        description="Red packets (红包, platform-funded) may pay for it at checkout; default "
        "false.",
    )
    red_packet_cap: Decimal | None = strawberry.field(
        default=None,
        description="The most red packets pay per unit, in yuan (Decimal string); null: up to "
        "what the line costs.",
    )


@strawberry.input(
    description="Omitted fields keep their value. `skus`, when given, is the full "
    "list: SKUs with an id are updated, others added, missing ones disabled."
)
class ProductUpdateInput:
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title.")
    subtitle: str | None = strawberry.field(default=strawberry.UNSET, description="Selling point.")
    brand_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global id of the brand."
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global id of a leaf backend category."
    )
    shipping_template_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Relay global id of the merchant's shipping template."
    )
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Tags.")
    attributes: list[ProductAttributeInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Key and general attribute values."
    )
    images: list[ImageInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Gallery images."
    )
    description_mobile_html: str | None = strawberry.field(
        default=strawberry.UNSET, description="Rich-text description for mobile (HTML)."
    )
    description_pc_html: str | None = strawberry.field(
        default=strawberry.UNSET, description="Rich-text description for desktop (HTML)."
    )
    after_sales: str | None = strawberry.field(
        default=strawberry.UNSET, description="After-sales terms."
    )
    red_packets_usable: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Red packets (红包) may pay for it at checkout."
    )
    red_packet_cap: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="The most red packets pay per unit, in yuan; null: up to what the line costs.",
    )
    skus: list[SkuInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The full list of SKUs."
    )


# --- payloads ------------------------------------------------------------------------------------


@strawberry.type(description="Result of a brand mutation.")
class BrandPayload:
    brand: Brand | None = strawberry.field(description="The brand as saved; null when refused.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a category mutation.")
class CategoryPayload:
    category: Category | None = strawberry.field(
        description="The category as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of attributeCreate.")
class AttributePayload:
    attribute: Attribute | None = strawberry.field(
        description="The attribute as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a display category mutation.")
class DisplayCategoryPayload:
    display_category: DisplayCategory | None = strawberry.field(
        description="The display category as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a merchant mutation.")
class MerchantPayload:
    merchant: Merchant | None = strawberry.field(
        description="The merchant as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of shippingTemplateCreate.")
class ShippingTemplatePayload:
    shipping_template: ShippingTemplate | None = strawberry.field(
        description="The template as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(
        description="The product as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a deletion.")
class DeletePayload:
    deleted_id: strawberry.ID | None = deleted_id_field()
    user_errors: list[UserError] = user_errors_field()


def _deleted(result: Any, type_name: str) -> DeletePayload:
    value = result.value
    return DeletePayload(
        deleted_id=_gid(type_name, value.id) if value else None,
        user_errors=user_errors(result.errors),
    )


# --- root fields ---------------------------------------------------------------------------------


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The display-category tree for the request's channel.")
    async def display_categories(self, info: Info) -> list[DisplayCategory]:
        return await rc.display_category_roots(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="A display (storefront navigation) category by its global id; null if unknown."
    )
    async def display_category(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the display category."),
        ],
    ) -> DisplayCategory | None:
        return await rc.display_category(info.context, id)  # type: ignore[return-value]

    @strawberry.field(description="Search and browse listed products.")
    async def products(
        self,
        info: Info,
        query: Annotated[
            str | None,
            strawberry.argument(
                description="Words to find in title, subtitle and brand; omit to browse."
            ),
        ] = None,
        filter: Annotated[
            ProductFilter | None,
            strawberry.argument(
                description="Narrow the result (brands, price, attributes, stock)."
            ),
        ] = None,
        first: First20 = None,
        after: After = None,
        sort: Annotated[
            ProductSort | None,
            strawberry.argument(description="Result order (default RELEVANCE)."),
        ] = rc.ProductSort.RELEVANCE,
        last: Last = None,
        before: Before = None,
    ) -> ProductConnection:
        return await rc.search_products(  # type: ignore[return-value]
            info.context,
            query,
            filter,
            page_args(info, first, after, last, before),
            sort,  # type: ignore[arg-type]
            node_fields(info),
        )

    @strawberry.field(
        description="A product by its global id; null when unknown or not visible "
        "to the caller (storefronts see LISTED products only)."
    )
    async def product(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the product.")
        ],
    ) -> Product | None:
        return await rc.product_by_id(info.context, id)  # type: ignore[return-value]

    @strawberry.field(
        description="Any object by its Relay global id; null when unknown or not "
        "visible to the caller."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A Relay global id.")],
    ) -> Node | None:
        return await rn.node(info.context, id)

    @strawberry.field(
        description="Objects by their Relay global ids, in the order asked; null "
        "where unknown or not visible."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Relay global ids.")],
    ) -> list[Node | None]:
        return await rn.nodes(info.context, list(ids))

    @strawberry.field(
        description="Products in every status for the admin catalog; merchant staff "
        "see their merchant's only.",
        extensions=[RelayWindow(50)],
    )
    async def admin_products(
        self,
        info: Info,
        filter: Annotated[
            AdminProductFilter | None,
            strawberry.argument(
                description="Narrow the result; merchant staff may name only their merchant."
            ),
        ] = None,
        *,
        page: PageArgs,
    ) -> ProductConnection:
        return await rc.admin_products(  # type: ignore[return-value]
            info.context, filter, page, node_fields(info)
        )

    @strawberry.field(description="Backend category roots (walk `children` for the tree).")
    async def categories(self, info: Info) -> list[Category]:
        return await info.context.read(rc.category_roots)

    @strawberry.field(description="Every brand.")
    async def brands(self, info: Info) -> list[Brand]:
        return await info.context.read(rc.all_brands)

    @strawberry.field(description="Merchants; merchant staff see their own merchant only.")
    async def merchants(self, info: Info) -> list[Merchant]:
        return await rc.merchants_for(info.context)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Create a brand (platform staff with MANAGE_CATALOG).")
    async def brand_create(
        self,
        info: Info,
        input: Annotated[BrandInput, strawberry.argument(description="The new brand.")],
    ) -> BrandPayload:
        return payload(BrandPayload, brand=await rc.brand_create(info.context, input))

    @strawberry.mutation(
        description="Change a brand's name, logo or country (platform staff with MANAGE_CATALOG)."
    )
    async def brand_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the brand.")
        ],
        input: Annotated[BrandInput, strawberry.argument(description="The brand's new values.")],
    ) -> BrandPayload:
        return payload(BrandPayload, brand=await rc.brand_update(info.context, id, input))

    @strawberry.mutation(
        description="Delete a brand (platform staff with MANAGE_CATALOG; audited)."
    )
    async def brand_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the brand.")
        ],
    ) -> DeletePayload:
        return _deleted(await rc.brand_delete(info.context, id), "Brand")

    @strawberry.mutation(
        description="Create a backend category, at most 4 levels deep (platform "
        "staff with MANAGE_CATALOG)."
    )
    async def category_create(
        self,
        info: Info,
        input: Annotated[CategoryInput, strawberry.argument(description="The new category.")],
    ) -> CategoryPayload:
        return payload(CategoryPayload, category=await rc.category_create(info.context, input))

    @strawberry.mutation(
        description="Change a backend category (platform staff with MANAGE_CATALOG)."
    )
    async def category_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the category.")
        ],
        input: Annotated[
            CategoryUpdateInput, strawberry.argument(description="The category's new values.")
        ],
    ) -> CategoryPayload:
        return payload(CategoryPayload, category=await rc.category_update(info.context, id, input))

    @strawberry.mutation(
        description="Delete a backend category; refused while it has products or "
        "children (platform staff with MANAGE_CATALOG)."
    )
    async def category_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the category.")
        ],
    ) -> DeletePayload:
        return _deleted(await rc.category_delete(info.context, id), "Category")

    @strawberry.mutation(
        description="Define an attribute on a backend category, inherited by its "
        "descendants (platform staff with MANAGE_CATALOG)."
    )
    async def attribute_create(
        self,
        info: Info,
        input: Annotated[
            AttributeInput, strawberry.argument(description="The attribute definition.")
        ],
    ) -> AttributePayload:
        return payload(AttributePayload, attribute=await rc.attribute_create(info.context, input))

    @strawberry.mutation(
        description="Create a display (storefront navigation) category (platform "
        "staff with MANAGE_CATALOG)."
    )
    async def display_category_create(
        self,
        info: Info,
        input: Annotated[
            DisplayCategoryInput, strawberry.argument(description="The new display category.")
        ],
    ) -> DisplayCategoryPayload:
        r = await rc.display_category_create(info.context, input)
        return payload(DisplayCategoryPayload, display_category=r)

    @strawberry.mutation(
        description="Change or move a display category (platform staff with MANAGE_CATALOG)."
    )
    async def display_category_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the display category."),
        ],
        input: Annotated[
            DisplayCategoryUpdateInput,
            strawberry.argument(description="The display category's new values."),
        ],
    ) -> DisplayCategoryPayload:
        r = await rc.display_category_update(info.context, id, input)
        return payload(DisplayCategoryPayload, display_category=r)

    @strawberry.mutation(
        description="Delete a display category (platform staff with MANAGE_CATALOG; audited)."
    )
    async def display_category_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the display category."),
        ],
    ) -> DeletePayload:
        return _deleted(await rc.display_category_delete(info.context, id), "DisplayCategory")

    @strawberry.mutation(
        description="Create a merchant: the self-operated platform merchant or a "
        "third-party shop (platform staff with MANAGE_CATALOG)."
    )
    async def merchant_create(
        self,
        info: Info,
        input: Annotated[MerchantInput, strawberry.argument(description="The new merchant.")],
    ) -> MerchantPayload:
        return payload(MerchantPayload, merchant=await rc.merchant_create(info.context, input))

    @strawberry.mutation(description="Rename, or set the commission rate (platform staff).")
    async def merchant_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the merchant.")
        ],
        input: Annotated[
            MerchantInput, strawberry.argument(description="The merchant's new values.")
        ],
    ) -> MerchantPayload:
        return payload(MerchantPayload, merchant=await rc.merchant_update(info.context, id, input))

    @strawberry.mutation(
        description="Create a shipping template for a merchant (staff with "
        "MANAGE_CATALOG; merchant staff for their merchant only)."
    )
    async def shipping_template_create(
        self,
        info: Info,
        input: Annotated[
            ShippingTemplateInput, strawberry.argument(description="The new shipping template.")
        ],
    ) -> ShippingTemplatePayload:
        r = await rc.shipping_template_create(info.context, input)
        return payload(ShippingTemplatePayload, shipping_template=r)

    @strawberry.mutation(
        description="Create a product (SPU) with its SKUs, as a DRAFT (staff "
        "with MANAGE_CATALOG; merchant staff for their merchant only)."
    )
    async def product_create(
        self,
        info: Info,
        input: Annotated[
            ProductInput, strawberry.argument(description="The new product with its SKUs.")
        ],
    ) -> ProductPayload:
        return payload(ProductPayload, product=await rc.product_create(info.context, input))

    @strawberry.mutation(
        description="Change a product and its SKUs (staff with MANAGE_CATALOG; "
        "merchant staff their merchant's only)."
    )
    async def product_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the product.")
        ],
        input: Annotated[
            ProductUpdateInput, strawberry.argument(description="The product's new values.")
        ],
    ) -> ProductPayload:
        return payload(ProductPayload, product=await rc.product_update(info.context, id, input))

    @strawberry.mutation(description="List now, or schedule with listAt / delistAt.")
    async def product_list(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the product.")
        ],
        list_at: Annotated[
            datetime | None,
            strawberry.argument(description="When to list (ISO-8601, UTC); omitted = now."),
        ] = None,
        delist_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="When to delist again (ISO-8601, UTC); omitted = never."
            ),
        ] = None,
    ) -> ProductPayload:
        r = await rc.product_list(info.context, id, list_at, delist_at)
        return payload(ProductPayload, product=r)

    @strawberry.mutation(
        description="Take a product off sale now: storefronts stop seeing it and "
        "its cart lines become unavailable."
    )
    async def product_delist(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the product.")
        ],
    ) -> ProductPayload:
        return payload(ProductPayload, product=await rc.product_delist(info.context, id))

    @strawberry.mutation(description="Only never-listed, never-stocked products; else delist.")
    async def product_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the product.")
        ],
    ) -> DeletePayload:
        return _deleted(await rc.product_delete(info.context, id), "Product")
