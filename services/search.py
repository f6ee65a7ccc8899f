"""Product listing and search (DOMAIN.md §1): text relevance over title, subtitle and brand,
filters (category subtree, display category, brands, price, attribute values, stock), sorts,
and facets. One SQL statement per page (total count via a window), built to run on SQLite and
PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.catalog import (
    Attribute,
    Brand,
    Category,
    DisplayCategoryBrand,
    DisplayCategoryCategory,
    Product,
    ProductAttributeValue,
    ProductStatus,
    Sku,
)
from models.inventory import StockLevel
from services.products import EffectiveStatus

MAX_TOKENS = 8
FACET_VALUES_PER_ATTRIBUTE = 20
PRICE_BUCKETS = 5


class ProductSort(StrEnum):
    RELEVANCE = "RELEVANCE"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    SALES_DESC = "SALES_DESC"
    NEWEST = "NEWEST"


@dataclass
class ProductQuery:
    text: str | None = None
    category_ids: list[int] = field(default_factory=list)
    display_category_ids: list[int] = field(default_factory=list)  # a whole display subtree
    brand_ids: list[int] = field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    attributes: list[tuple[str, list[str]]] = field(default_factory=list)
    in_stock: bool | None = None
    merchant_id: int | None = None
    status: EffectiveStatus | None = None
    visible_at: datetime | None = None  # storefronts: only products LISTED at this moment
    status_at: datetime | None = None  # admins: the moment `status` is read at
    sort: ProductSort = ProductSort.RELEVANCE

    @property
    def tokens(self) -> list[str]:
        return [t.lower()[:50] for t in (self.text or "").split()][:MAX_TOKENS]


def _like(token: str) -> str:
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(column: ColumnElement[str] | object, token: str) -> ColumnElement[bool]:
    return func.lower(column).like(_like(token), escape="\\")


def _brand_matches(token: str) -> ColumnElement[bool]:
    return Product.brand_id.in_(select(Brand.id).where(_matches(Brand.name, token)))


def listed_at(at: datetime) -> ColumnElement[bool]:
    return and_(
        Product.status == ProductStatus.LISTED,
        or_(Product.list_at.is_(None), Product.list_at <= at),
        or_(Product.delist_at.is_(None), Product.delist_at > at),
    )


def _status_condition(status: EffectiveStatus, at: datetime) -> ColumnElement[bool]:
    listed = Product.status == ProductStatus.LISTED
    if status == EffectiveStatus.LISTED:
        return listed_at(at)
    if status == EffectiveStatus.SCHEDULED:
        return and_(listed, Product.list_at > at)
    if status == EffectiveStatus.DELISTED:
        return or_(Product.status == ProductStatus.DELISTED,
                   and_(listed, Product.delist_at <= at))
    return Product.status == ProductStatus.DRAFT


def _sellable_units() -> ColumnElement[int]:
    return StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock


def _in_stock() -> ColumnElement[bool]:
    return exists(
        select(literal(1)).select_from(Sku).join(StockLevel, StockLevel.sku_id == Sku.id)
        .where(Sku.product_id == Product.id, Sku.enabled.is_(True), _sellable_units() > 0)
    )


def _in_categories(category_ids: list[int]) -> ColumnElement[bool]:
    root = aliased(Category)
    return Product.category_id.in_(
        select(Category.id).join(root, Category.path.startswith(root.path))
        .where(root.id.in_(category_ids))
    )


def _in_display_categories(display_ids: list[int]) -> ColumnElement[bool]:
    """A display category shows the union of its mapped backend subtrees and brands."""
    root = aliased(Category)
    by_category = Product.category_id.in_(
        select(Category.id)
        .join(root, Category.path.startswith(root.path))
        .join(DisplayCategoryCategory, DisplayCategoryCategory.category_id == root.id)
        .where(DisplayCategoryCategory.display_category_id.in_(display_ids))
    )
    by_brand = Product.brand_id.in_(
        select(DisplayCategoryBrand.brand_id)
        .where(DisplayCategoryBrand.display_category_id.in_(display_ids))
    )
    return or_(by_category, by_brand)


def _has_attribute_value(name: str, values: list[str]) -> ColumnElement[bool]:
    return exists(
        select(literal(1)).select_from(ProductAttributeValue)
        .join(Attribute, Attribute.id == ProductAttributeValue.attribute_id)
        .where(ProductAttributeValue.product_id == Product.id, Attribute.name == name,
               ProductAttributeValue.value.in_(values))
    )


def conditions(q: ProductQuery, skip: Iterable[str] = ()) -> list[ColumnElement[bool]]:
    """WHERE terms for a query; `skip` leaves a filter out (facet counts ignore their own filter,
    so a shopper sees how many results each other brand or value would give)."""
    skipped = set(skip)
    conds: list[ColumnElement[bool]] = []
    if q.visible_at is not None:
        conds.append(listed_at(q.visible_at))
    if q.status is not None and q.status_at is not None:
        conds.append(_status_condition(q.status, q.status_at))
    if q.merchant_id is not None:
        conds.append(Product.merchant_id == q.merchant_id)
    for token in q.tokens:
        conds.append(or_(_matches(Product.title, token), _matches(Product.subtitle, token),
                         _brand_matches(token)))
    if q.category_ids:
        conds.append(_in_categories(q.category_ids))
    if q.display_category_ids:
        conds.append(_in_display_categories(q.display_category_ids))
    if q.brand_ids and "brand" not in skipped:
        conds.append(Product.brand_id.in_(q.brand_ids))
    if "price" not in skipped:
        if q.price_min is not None:
            conds.append(Product.price_min >= q.price_min)
        if q.price_max is not None:
            conds.append(Product.price_min <= q.price_max)
    if "attributes" not in skipped:
        conds.extend(_has_attribute_value(name, values) for name, values in q.attributes if values)
    if q.in_stock:
        conds.append(_in_stock())
    return conds


def _relevance(tokens: list[str]) -> ColumnElement[int]:
    score: ColumnElement[int] = literal(0)
    for token in tokens:
        score = (score + case((_matches(Product.title, token), 3), else_=0)
                 + case((_brand_matches(token), 2), else_=0)
                 + case((_matches(Product.subtitle, token), 1), else_=0))
    return score


def _order_by(q: ProductQuery) -> list[ColumnElement[object]]:
    if q.sort == ProductSort.PRICE_ASC:
        return [Product.price_min.asc(), Product.id.asc()]
    if q.sort == ProductSort.PRICE_DESC:
        return [Product.price_min.desc(), Product.id.desc()]
    if q.sort == ProductSort.NEWEST:
        return [func.coalesce(Product.first_listed_at, Product.created_at).desc(),
                Product.id.desc()]
    if q.sort == ProductSort.RELEVANCE and q.tokens:
        return [_relevance(q.tokens).desc(), Product.sales_count.desc(), Product.id.desc()]
    return [Product.sales_count.desc(), Product.id.desc()]


async def find_products(session: AsyncSession, q: ProductQuery, offset: int,
                        limit: int) -> tuple[list[Product], int]:
    """One page of products and the total count, in one statement when the page is not empty."""
    total_col = func.count().over().label("total")
    stmt = (select(Product, total_col).where(*conditions(q)).order_by(*_order_by(q))
            .offset(offset).limit(limit))
    rows = (await session.execute(stmt)).all()
    if rows:
        return [r[0] for r in rows], int(rows[0][1])
    if offset == 0:
        return [], 0
    total = await session.scalar(select(func.count()).select_from(Product)
                                 .where(*conditions(q)))
    return [], int(total or 0)


# --- facets --------------------------------------------------------------------------------------

@dataclass
class BrandFacet:
    brand: Brand
    count: int


@dataclass
class ValueCount:
    value: str
    count: int


@dataclass
class AttributeFacet:
    name: str
    values: list[ValueCount]


@dataclass
class PriceBucket:
    min: int
    max: int
    count: int


async def brand_facets(session: AsyncSession, q: ProductQuery) -> list[BrandFacet]:
    count = func.count(Product.id)
    stmt = (select(Brand, count).join(Product, Product.brand_id == Brand.id)
            .where(*conditions(q, skip={"brand"})).group_by(Brand.id)
            .order_by(count.desc(), Brand.name))
    return [BrandFacet(brand, n) for brand, n in (await session.execute(stmt)).all()]


async def attribute_facets(session: AsyncSession, q: ProductQuery) -> list[AttributeFacet]:
    count = func.count(func.distinct(Product.id))
    stmt = (select(Attribute.name, ProductAttributeValue.value, count)
            .join(ProductAttributeValue, ProductAttributeValue.attribute_id == Attribute.id)
            .join(Product, Product.id == ProductAttributeValue.product_id)
            .where(Attribute.filterable.is_(True), *conditions(q, skip={"attributes"}))
            .group_by(Attribute.name, ProductAttributeValue.value)
            .order_by(Attribute.name, count.desc(), ProductAttributeValue.value))
    facets: dict[str, AttributeFacet] = {}
    for name, value, n in (await session.execute(stmt)).all():
        facet = facets.setdefault(name, AttributeFacet(name, []))
        if len(facet.values) < FACET_VALUES_PER_ATTRIBUTE:
            facet.values.append(ValueCount(value, n))
    return list(facets.values())


def nice_step(span: int, buckets: int = PRICE_BUCKETS) -> int:
    """A round bucket width (1, 2 or 5 × 10^k minor units, at least 1 yuan) covering the span."""
    raw = max(span // buckets + (1 if span % buckets else 0), 100)
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


async def price_buckets(session: AsyncSession, q: ProductQuery) -> list[PriceBucket]:
    conds = conditions(q, skip={"price"})
    low, high = (await session.execute(
        select(func.min(Product.price_min), func.max(Product.price_min)).where(*conds))).one()
    if low is None:
        return []
    step = nice_step(high - (low // 100 * 100) + 1)
    base = low // step * step
    index = ((Product.price_min - base) // step).label("bucket")
    rows = (await session.execute(
        select(index, func.count()).where(*conds).group_by(index).order_by(index))).all()
    return [PriceBucket(base + int(i) * step, base + (int(i) + 1) * step - 1, n) for i, n in rows]
