"""One aiodataloader DataLoader per lookup, created fresh per request (so nothing is cached across
requests and no request sees another's data). A list of N parents costs one query per relation.
What a listing loads for its product cards is kept as typed `ProductCard`s, not on the rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from functools import cached_property
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

import orjson
from aiodataloader import DataLoader
from sqlalchemy import Text
from sqlalchemy import cast
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import changes
from core.changes import ANY
from core.changes import covered
from core.changes import depends_on
from core.sql import any_of
from models.audit import AuditEntry
from models.catalog import Attribute
from models.catalog import Brand
from models.catalog import Category
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ProductAttributeValue
from models.catalog import ShippingTemplate
from models.catalog import Sku
from models.catalog import SkuView
from models.catalog import path_ids
from models.inventory import StockLevel
from models.inventory import Warehouse
from models.promotions import Promotion
from services import catalog
from services import inventory
from services.ownership import audit_entries_about
from services.pricing import Promotion as PricingRule

if TYPE_CHECKING:
    from resolvers.context import Context

K = TypeVar("K")
V = TypeVar("V")


def _loader(
    ctx: Context, fetch: Callable[[AsyncSession, list[Any]], Awaitable[list[Any]]]
) -> DataLoader:
    async def batch(keys: list[Any]) -> list[Any]:
        return await ctx.read(lambda session: fetch(session, list(keys)))

    return DataLoader(batch, max_batch_size=1000)


@cache  # one fetcher (and statement) per model, for every request
def _by_id(model: Any) -> Callable[[AsyncSession, list[int]], Awaitable[list[Any]]]:
    statement = select(model).where(any_of(model.id, "ids"))  # built once per model

    async def fetch(session: AsyncSession, ids: list[int]) -> list[Any]:
        rows = (await session.scalars(statement, {"ids": ids})).all()
        found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    return fetch


@cache  # one fetcher (and statement) per model, for every request
def _by_id_noted(model: Any) -> Callable[[AsyncSession, list[int]], Awaitable[list[Any]]]:
    """By id, the answer showing those rows only (their table's change notes are by id)."""
    table, plain = model.__tablename__, _by_id(model)

    async def fetch(session: AsyncSession, ids: list[int]) -> list[Any]:
        depends_on(table, ids)  # a row missing now appears under its id too
        with covered(table):
            return await plain(session, ids)

    return fetch


_new_view = tuple.__new__  # a SkuView of its fields, without NamedTuple's __new__


def _grouped(rows: Sequence[Any], key: Callable[[Any], Any], keys: list[Any]) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [groups.get(k, []) for k in keys]


@cache
def _sku_view_columns() -> tuple[Any, ...]:
    """The columns of a `SkuView`, in its order: `specs` as its text, decoded here (the
    driver's JSON codec costs several times more)."""
    return tuple(
        cast(Sku.specs, Text) if name == "specs" else getattr(Sku, name)
        for name in SkuView._fields
        if name != "sellable"
    )


@cache
def _skus_statement(by_product: bool) -> Any:
    """SKUs with their sellable number, by product (enabled ones) or by id (`:ids`): built
    once, so neither the statement nor its cache key is made again for each read."""
    where = (any_of(Sku.product_id, "ids") & Sku.enabled) if by_product else any_of(Sku.id, "ids")
    return (
        select(*_sku_view_columns(), inventory.sellable_of_sku().label("sellable"))
        .where(where)
        .order_by(Sku.product_id, Sku.position, Sku.id)
    )


async def _skus_with_stock(
    session: AsyncSession, ids: list[int], by_product: bool
) -> list[SkuView]:
    """SKUs with their sellable number, as views (no ORM rows). SKUs are noted by product,
    so the caller says which products' SKUs the answer shows; the numbers it shows are live
    in a kept answer (`schema.catalog` `sellableQuantity`, core/response_cache.py)."""
    with covered("skus", changes.STOCK):
        rows = (await session.execute(_skus_statement(by_product), {"ids": ids})).all()
    views = []
    for row in rows:
        specs = row[_SPECS]
        views.append(
            _new_view(
                SkuView,
                (
                    *row[:_SPECS],
                    orjson.loads(specs) if specs is not None else [],
                    *row[_SPECS + 1 : _SELLABLE],
                    int(row[_SELLABLE]),
                ),
            )
        )
    return views


# Where `specs` (decoded here) and the sellable number sit in a row of `_skus_statement`: the
# view's own field order, which the statement's columns follow.
_SPECS = SkuView._fields.index("specs")
_SELLABLE = SkuView._fields.index("sellable")
# the statement appends the sellable number after the columns: it must be the view's last
if SkuView._fields[-1] != "sellable":
    raise RuntimeError("SkuView.sellable must stay its last field")


@dataclass(frozen=True, slots=True)
class ProductCard:
    """A product with what its card shows, loaded for a whole listing in one batch per relation
    so each card field answers without a query or a future. None: not loaded (not asked for)."""

    product: Product
    category_path: tuple[int, ...]  # promotion scopes by category match on it
    skus: tuple[SkuView, ...] | None = None  # enabled ones, with their sellable numbers
    brand: Brand | None = None
    promotions: tuple[PricingRule, ...] | None = None  # running ones covering a SKU of it

    @property
    def priced(self) -> bool:
        """Holds what promotional prices need: the SKUs and the promotions covering them."""
        return self.skus is not None and self.promotions is not None

    def merged(self, earlier: ProductCard | None) -> ProductCard:
        """This card, plus what an earlier card of the product loaded and this one did not."""
        if earlier is None:
            return self
        return ProductCard(
            self.product,
            self.category_path,
            self.skus if self.skus is not None else earlier.skus,
            self.brand if self.brand is not None else earlier.brand,
            self.promotions if self.promotions is not None else earlier.promotions,
        )


# Built once: `:ids` is the batch (core/sql.py: one array parameter on PostgreSQL).
_PRODUCTS_WITH_PATHS = (
    select(Product, Category, Brand)
    .join(Category, Category.id == Product.category_id)
    .outerjoin(Brand, Brand.id == Product.brand_id)
    .where(any_of(Product.id, "ids"))
)
_CHILDREN = (
    select(Category)
    .where(any_of(Category.parent_id, "ids"))
    .order_by(Category.position, Category.id)
)
_PARENTS = select(Category.parent_id).where(any_of(Category.parent_id, "ids")).distinct()
_ATTRIBUTES = (
    select(Attribute)
    .where(any_of(Attribute.category_id, "ids"))
    .order_by(Attribute.position, Attribute.id)
)
_ATTRIBUTE_VALUES = (
    select(ProductAttributeValue, Attribute)
    .join(Attribute, Attribute.id == ProductAttributeValue.attribute_id)
    .where(any_of(ProductAttributeValue.product_id, "ids"))
    .order_by(ProductAttributeValue.product_id, ProductAttributeValue.position)
)
_STOCK_LEVELS = (
    select(StockLevel)
    .where(any_of(StockLevel.sku_id, "ids"))
    .order_by(StockLevel.sku_id, StockLevel.warehouse_id)
)


async def _fetch_products(
    session: AsyncSession, ids: list[int]
) -> list[tuple[Product, Category, Brand | None]]:
    """Products with their category (promotion scopes need its path; product pages show it)
    and brand, in one statement."""
    depends_on("products", ids)
    with covered("products", "categories", "brands"):
        rows = (await session.execute(_PRODUCTS_WITH_PATHS, {"ids": ids})).all()
    # the path is the category's row (a move rewrites the path of every row below)
    depends_on("categories", {category.id for _, category, _ in rows})
    depends_on("brands", {brand.id for _, _, brand in rows if brand is not None})
    return [(product, category, brand) for product, category, brand in rows]


async def _fetch_skus_by_product(
    session: AsyncSession, product_ids: list[int]
) -> list[list[SkuView]]:
    depends_on("skus", product_ids)
    skus = await _skus_with_stock(session, product_ids, by_product=True)
    return _grouped(skus, lambda s: s.product_id, product_ids)


async def _fetch_skus_by_id(session: AsyncSession, ids: list[int]) -> list[SkuView | None]:
    found = {s.id: s for s in await _skus_with_stock(session, ids, by_product=False)}
    depends_on("skus", {s.product_id for s in found.values()})
    if len(found) < len(set(ids)):  # one missing now may be created under any product
        depends_on("skus", [ANY])
    return [found.get(i) for i in ids]


async def _fetch_children(session: AsyncSession, parent_ids: list[int]) -> list[list[Category]]:
    depends_on("categories", parent_ids)  # categories are noted by id and by parent
    with covered("categories"):
        rows = (await session.scalars(_CHILDREN, {"ids": parent_ids})).all()
    return _grouped(rows, lambda c: c.parent_id, parent_ids)


async def _fetch_leafness(session: AsyncSession, ids: list[int]) -> list[bool]:
    depends_on("categories", ids)
    with covered("categories"):
        parents = set((await session.scalars(_PARENTS, {"ids": ids})).all())
    return [i not in parents for i in ids]


async def _fetch_attributes_by_category(
    session: AsyncSession, ids: list[int]
) -> list[list[Attribute]]:
    rows = (await session.scalars(_ATTRIBUTES, {"ids": ids})).all()
    return _grouped(rows, lambda a: a.category_id, ids)


async def _fetch_attribute_values(session: AsyncSession, product_ids: list[int]) -> list[list[Any]]:
    depends_on("product_attribute_values", product_ids)  # noted by product
    with covered("product_attribute_values"):  # attributes stay whole: noted by id only
        rows = (await session.execute(_ATTRIBUTE_VALUES, {"ids": product_ids})).all()
    return _grouped([tuple(r) for r in rows], lambda r: r[0].product_id, product_ids)


async def _fetch_stock_levels(session: AsyncSession, sku_ids: list[int]) -> list[list[StockLevel]]:
    rows = (await session.scalars(_STOCK_LEVELS, {"ids": sku_ids})).all()
    return _grouped(rows, lambda s: s.sku_id, sku_ids)


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # product id → its category's path, read along with the product (here or by a listing)
        self.category_paths: dict[int, tuple[int, ...]] = {}
        # product id → its card, once a listing (or one of its fields) loaded it
        self.cards: dict[int, ProductCard] = {}

    def remember(self, card: ProductCard) -> ProductCard:
        """Keep a product's card for its other fields, with what an earlier card held."""
        merged = card.merged(self.cards.get(card.product.id))
        self.cards[card.product.id] = merged
        return merged

    def known_products(self, products: Iterable[Product], paths: Mapping[int, str | None]) -> None:
        """Products a service read on this request's session with the paths of their
        categories (by category id): `product` answers them as it would have read them (the
        same rows of the same session), without a statement."""
        for product in products:
            self.product.prime(product.id, product)
            self.category_paths.setdefault(product.id, path_ids(paths.get(product.category_id)))

    def _make(self, fetch: Callable[[AsyncSession, list[Any]], Awaitable[list[Any]]]) -> DataLoader:
        return _loader(self.ctx, fetch)

    @cached_property
    def audit_entry_about_viewers_merchant(self) -> DataLoader:
        """Is the entry about the viewer's merchant: the auditLog list's own predicate, one
        query per batch of entries."""
        merchant_id = self.ctx.viewer.merchant_id or 0

        async def fetch(session: AsyncSession, ids: list[int]) -> list[bool]:
            found = set(
                (
                    await session.scalars(
                        select(AuditEntry.id).where(
                            AuditEntry.id.in_(ids), audit_entries_about(merchant_id)
                        )
                    )
                ).all()
            )
            return [i in found for i in ids]

        return self._make(fetch)

    @cached_property
    def brand(self) -> DataLoader:
        return self._make(_by_id_noted(Brand))

    @cached_property
    def merchant(self) -> DataLoader:
        return self._make(_by_id(Merchant))

    @cached_property
    def category(self) -> DataLoader:
        return self._make(_by_id_noted(Category))

    @cached_property
    def category_children(self) -> DataLoader:
        return self._make(_fetch_children)

    @cached_property
    def category_is_leaf(self) -> DataLoader:
        return self._make(_fetch_leafness)

    @cached_property
    def attributes_by_category(self) -> DataLoader:
        return self._make(_fetch_attributes_by_category)

    @cached_property
    def attribute(self) -> DataLoader:
        return self._make(_by_id(Attribute))

    @cached_property
    def product(self) -> DataLoader:
        async def fetch(session: AsyncSession, ids: list[int]) -> list[Product | None]:
            found = {}
            for product, category, brand in await _fetch_products(session, ids):
                found[product.id] = product
                self.category_paths[product.id] = path_ids(category.path)
                # read along: a product page's category and brand cost no statement more
                self.category.prime(category.id, category)
                if brand is not None:
                    self.brand.prime(brand.id, brand)
            return [found.get(pk) for pk in ids]

        return self._make(fetch)

    @cached_property
    def skus_by_product(self) -> DataLoader:
        return self._make(_fetch_skus_by_product)

    @cached_property
    def sku(self) -> DataLoader:
        return self._make(_fetch_skus_by_id)

    @cached_property
    def attribute_values_by_product(self) -> DataLoader:
        return self._make(_fetch_attribute_values)

    @cached_property
    def shipping_template(self) -> DataLoader:
        return self._make(_by_id(ShippingTemplate))

    @cached_property
    def warehouse(self) -> DataLoader:
        return self._make(_by_id(Warehouse))

    @cached_property
    def stock_levels_by_sku(self) -> DataLoader:
        return self._make(_fetch_stock_levels)

    @cached_property
    def display_tree(self) -> DataLoader:
        """The display categories (a `DisplaySnapshot`, immutable and shared): one statement
        at most, none while it is kept."""
        now = self.ctx.now

        async def fetch(session: AsyncSession, keys: list[str]) -> list[Any]:
            snapshot = await catalog.display_snapshot(session, now)
            return [snapshot for _ in keys]

        return self._make(fetch)

    @cached_property
    def coupon_template(self) -> DataLoader:
        from models.coupons import CouponTemplate

        return self._make(_by_id(CouponTemplate))

    @cached_property
    def coupon(self) -> DataLoader:
        from models.coupons import Coupon

        return self._make(_by_id(Coupon))

    @cached_property
    def promotion(self) -> DataLoader:
        return self._make(_by_id(Promotion))

    @cached_property
    def live_promotions(self) -> DataLoader:
        """Every promotion running at the request's "now" (`RunningPromotion`s, immutable and
        shared): one statement at most, none while they are kept."""
        now = self.ctx.now

        async def fetch(session: AsyncSession, keys: list[str]) -> list[list[Any]]:
            from services.promotions import live_promotions

            running = await live_promotions(session, now)
            return [running for _ in keys]

        return self._make(fetch)

    # --- accounts --------------------------------------------------------------------------------

    @cached_property
    def address(self) -> DataLoader:
        from models.accounts import Address

        return self._make(_by_id(Address))

    @cached_property
    def staff(self) -> DataLoader:
        from models.accounts import Staff

        return self._make(_by_id(Staff))

    @cached_property
    def role(self) -> DataLoader:
        from models.accounts import Role

        return self._make(_by_id(Role))

    @cached_property
    def audit_entry(self) -> DataLoader:
        return self._make(_by_id(AuditEntry))

    # --- orders ----------------------------------------------------------------------------------

    @cached_property
    def customer(self) -> DataLoader:
        from models.accounts import Customer

        return self._make(_by_id(Customer))

    @cached_property
    def payment(self) -> DataLoader:
        from models.orders import Payment

        return self._make(_by_id(Payment))

    @cached_property
    def order(self) -> DataLoader:
        from models.orders import Order

        return self._make(_by_id(Order))

    @cached_property
    def order_line(self) -> DataLoader:
        from models.orders import OrderLine

        return self._make(_by_id(OrderLine))

    @cached_property
    def shipment(self) -> DataLoader:
        from models.orders import Shipment

        return self._make(_by_id(Shipment))

    @cached_property
    def refund(self) -> DataLoader:
        from models.orders import Refund

        return self._make(_by_id(Refund))

    @cached_property
    def orders_by_payment(self) -> DataLoader:
        from models.orders import Order

        return self._make(_children_of(Order, Order.payment_id, Order.id))

    @cached_property
    def orders_by_balance(self) -> DataLoader:
        from models.orders import Order

        return self._make(_children_of(Order, Order.balance_payment_id, Order.id))

    @cached_property
    def lines_by_order(self) -> DataLoader:
        from models.orders import OrderLine

        return self._make(_children_of(OrderLine, OrderLine.order_id, OrderLine.id))

    @cached_property
    def shipments_by_order(self) -> DataLoader:
        from models.orders import Shipment

        return self._make(_children_of(Shipment, Shipment.order_id, Shipment.id))

    @cached_property
    def parcels_by_order(self) -> DataLoader:
        from models.orders import Parcel

        return self._make(_children_of(Parcel, Parcel.order_id, Parcel.number))

    @cached_property
    def lines_by_parcel(self) -> DataLoader:
        from models.orders import ParcelLine

        return self._make(_children_of(ParcelLine, ParcelLine.parcel_id, ParcelLine.id))

    @cached_property
    def refunds_by_order(self) -> DataLoader:
        from models.orders import Refund

        return self._make(_children_of(Refund, Refund.order_id, Refund.id))


@cache  # one fetcher (and statement) per model, for every request
def _children_of(
    model: Any, parent: Any, order_by: Any
) -> Callable[[AsyncSession, list[int]], Awaitable[list[list[Any]]]]:
    statement = select(model).where(any_of(parent, "ids")).order_by(order_by)

    async def fetch(session: AsyncSession, parent_ids: list[int]) -> list[list[Any]]:
        rows = (await session.scalars(statement, {"ids": parent_ids})).all()
        return _grouped(rows, lambda row: getattr(row, parent.key), parent_ids)

    return fetch
