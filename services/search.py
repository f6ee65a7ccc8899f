"""Product listing and search (DOMAIN.md §1): text relevance over title, subtitle and brand,
filters (category subtree, display category, brands, price, attribute values, stock), sorts,
and facets. One SQL statement per page (total count via a window), built to run on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from typing import NamedTuple

from sqlalchemy import BigInteger
from sqlalchemy import BindParameter
from sqlalchemy import ColumnElement
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import literal_column
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm import defer

from core import changes
from core.sql import any_of
from models.catalog import Attribute
from models.catalog import Brand
from models.catalog import Category
from models.catalog import DisplayCategoryBrand
from models.catalog import DisplayCategoryCategory
from models.catalog import Product
from models.catalog import ProductAttributeValue
from models.catalog import ProductStatus
from models.catalog import Sku
from models.catalog import path_ids
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
    tag: str | None = None
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


def _matches(column: Any, pattern: Any) -> ColumnElement[bool]:
    return func.lower(column).like(pattern, escape="\\")


def _brand_matches(pattern: Any) -> ColumnElement[bool]:
    return Product.brand_id.in_(select(Brand.id).where(_matches(Brand.name, pattern)))


def listed_at(at: Any) -> ColumnElement[bool]:
    return and_(
        Product.status == ProductStatus.LISTED,
        or_(Product.list_at.is_(None), Product.list_at <= at),
        or_(Product.delist_at.is_(None), Product.delist_at > at),
    )


def _status_condition(status: EffectiveStatus, at: Any) -> ColumnElement[bool]:
    listed = Product.status == ProductStatus.LISTED
    if status == EffectiveStatus.LISTED:
        return listed_at(at)
    if status == EffectiveStatus.SCHEDULED:
        return and_(listed, Product.list_at > at)
    if status == EffectiveStatus.DELISTED:
        return or_(Product.status == ProductStatus.DELISTED, and_(listed, Product.delist_at <= at))
    return Product.status == ProductStatus.DRAFT


def _sellable_units() -> ColumnElement[int]:
    return StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock


@contextlib.contextmanager
def _stock_read(q: ProductQuery) -> Iterator[None]:
    """A search filtered on stock shows only whether products are in stock: the answer is
    dropped when any SKU crosses zero, not whenever a number moves."""
    if q.in_stock:
        changes.depends_on(changes.STOCK_FLAG, [changes.ANY])
        with changes.covered(changes.STOCK):
            yield
    else:
        yield


def _in_stock() -> ColumnElement[bool]:
    return exists(
        select(literal(1))
        .select_from(Sku)
        .join(StockLevel, StockLevel.sku_id == Sku.id)
        .where(Sku.product_id == Product.id, Sku.enabled.is_(True), _sellable_units() > 0)
    )


def _in_categories(category_ids: str) -> ColumnElement[bool]:
    """Products in the subtrees of the categories of the list parameter `category_ids`."""
    root = aliased(Category)
    return Product.category_id.in_(
        select(Category.id)
        .join(root, Category.path.startswith(root.path))
        .where(any_of(root.id, category_ids))
    )


def _in_display_categories(display_ids: str) -> ColumnElement[bool]:
    """A display category shows the union of its mapped backend subtrees and brands (the
    display categories: the list parameter `display_ids`)."""
    root = aliased(Category)
    by_category = Product.category_id.in_(
        select(Category.id)
        .join(root, Category.path.startswith(root.path))
        .join(DisplayCategoryCategory, DisplayCategoryCategory.category_id == root.id)
        .where(any_of(DisplayCategoryCategory.display_category_id, display_ids))
    )
    by_brand = Product.brand_id.in_(
        select(DisplayCategoryBrand.brand_id).where(
            any_of(DisplayCategoryBrand.display_category_id, display_ids)
        )
    )
    return or_(by_category, by_brand)


def _has_attribute_value(name: Any, values: str) -> ColumnElement[bool]:
    return exists(
        select(literal(1))
        .select_from(ProductAttributeValue)
        .join(Attribute, Attribute.id == ProductAttributeValue.attribute_id)
        .where(
            ProductAttributeValue.product_id == Product.id,
            Attribute.name == name,
            any_of(ProductAttributeValue.value, values),
        )
    )


class Shape(NamedTuple):
    """Which filters a query uses: statements are built once per shape, with bind parameters
    for the values (building SQLAlchemy expressions costs more than running a cached one)."""

    visible: bool
    status: EffectiveStatus | None
    merchant: bool
    tokens: int
    categories: bool
    display: bool
    brands: bool
    price_min: bool
    price_max: bool
    attributes: int
    in_stock: bool
    tag: bool = False


def _active_attributes(q: ProductQuery) -> list[tuple[str, list[str]]]:
    return [(name, values) for name, values in q.attributes if values]


def shape_of(q: ProductQuery, skip: Iterable[str] = ()) -> Shape:
    skipped = set(skip)
    return Shape(
        visible=q.visible_at is not None,
        status=q.status if q.status_at is not None else None,
        merchant=q.merchant_id is not None,
        tokens=len(q.tokens),
        categories=bool(q.category_ids),
        display=bool(q.display_category_ids),
        brands=bool(q.brand_ids) and "brand" not in skipped,
        price_min=q.price_min is not None and "price" not in skipped,
        price_max=q.price_max is not None and "price" not in skipped,
        attributes=0 if "attributes" in skipped else len(_active_attributes(q)),
        in_stock=bool(q.in_stock),
        tag=bool(q.tag),
    )


def parameters(q: ProductQuery) -> dict[str, Any]:
    params: dict[str, Any] = {
        "visible_at": q.visible_at,
        "status_at": q.status_at,
        "merchant_id": q.merchant_id,
        "category_ids": q.category_ids,
        "display_ids": q.display_category_ids,
        "brand_ids": q.brand_ids,
        "price_min": q.price_min,
        "price_max": q.price_max,
        "tag_pattern": _tag_pattern(q.tag) if q.tag else None,
    }
    for i, token in enumerate(q.tokens):
        params[f"token{i}"] = _like(token)
    for i, (name, values) in enumerate(_active_attributes(q)):
        params[f"attr_name{i}"], params[f"attr_values{i}"] = name, values
    return params


@lru_cache(maxsize=512)
def conditions_for(shape: Shape) -> tuple[ColumnElement[bool], ...]:
    """WHERE terms of a shape. Facet counts leave their own filter out (the shape says so), so
    a shopper sees how many results each other brand or value would give."""
    conds: list[ColumnElement[bool]] = []
    if shape.visible:
        conds.append(listed_at(bindparam("visible_at")))
    if shape.status is not None:
        conds.append(_status_condition(shape.status, bindparam("status_at")))
    if shape.merchant:
        conds.append(Product.merchant_id == bindparam("merchant_id"))
    for i in range(shape.tokens):
        pattern: BindParameter[str] = bindparam(f"token{i}")
        conds.append(
            or_(
                _matches(Product.title, pattern),
                _matches(Product.subtitle, pattern),
                _brand_matches(pattern),
            )
        )
    if shape.categories:
        conds.append(_in_categories("category_ids"))
    if shape.display:
        conds.append(_in_display_categories("display_ids"))
    if shape.brands:
        conds.append(any_of(Product.brand_id, "brand_ids"))
    if shape.price_min:
        conds.append(Product.price_min >= bindparam("price_min"))
    if shape.price_max:
        conds.append(Product.price_min <= bindparam("price_max"))
    for i in range(shape.attributes):
        conds.append(_has_attribute_value(bindparam(f"attr_name{i}"), f"attr_values{i}"))
    if shape.in_stock:
        conds.append(_in_stock())
    if shape.tag:
        conds.append(cast(Product.tags, String).like(bindparam("tag_pattern"), escape="!"))
    return tuple(conds)


def _tag_pattern(tag: str) -> str:
    """Tags are a JSON list: match the tag's own JSON string (quotes included) in its text."""
    encoded = json.dumps(tag.strip())
    return "%" + encoded.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _relevance(tokens: int) -> ColumnElement[int]:
    score: ColumnElement[int] = literal(0)
    for i in range(tokens):
        pattern: BindParameter[str] = bindparam(f"token{i}")
        score = (
            score
            + case((_matches(Product.title, pattern), 3), else_=0)
            + case((_brand_matches(pattern), 2), else_=0)
            + case((_matches(Product.subtitle, pattern), 1), else_=0)
        )
    return score


def _order_by(sort: ProductSort, tokens: int) -> list[ColumnElement[Any]]:
    if sort == ProductSort.PRICE_ASC:
        return [Product.price_min.asc(), Product.id.asc()]
    if sort == ProductSort.PRICE_DESC:
        return [Product.price_min.desc(), Product.id.desc()]
    if sort == ProductSort.NEWEST:
        return [
            func.coalesce(Product.first_listed_at, Product.created_at).desc(),
            Product.id.desc(),
        ]
    if sort == ProductSort.RELEVANCE and tokens:
        return [_relevance(tokens).desc(), Product.sales_count.desc(), Product.id.desc()]
    return [Product.sales_count.desc(), Product.id.desc()]


@dataclass
class ProductPage:
    products: list[Product]
    total: int
    brands: list[Brand] | None = None  # each product's brand, when asked for
    category_paths: list[tuple[int, ...]] = field(default_factory=list)  # each one's category


# Long text a listing's cards never show: left in the database unless a page asks for it.
PAGE_TEXT = (Product.description_mobile_html, Product.description_pc_html, Product.after_sales)


@lru_cache(maxsize=512)
@lru_cache(maxsize=512)
def _page_statement(shape: Shape, sort: ProductSort, with_brands: bool, lean: bool) -> Any:
    """Built once per shape (the page's offset and limit are parameters): making a statement
    and its cache key again for each listing cost about as much as running it."""
    # The category path rides along (promotion scopes by category need it).
    stmt = select(Product, func.count().over().label("total"), Category.path).join(
        Category, Category.id == Product.category_id
    )
    if lean:  # such a row is never handed to code that reads those (raise if it were)
        stmt = stmt.options(*(defer(column, raiseload=True) for column in PAGE_TEXT))
    if with_brands:
        stmt = stmt.add_columns(Brand).join(Brand, Brand.id == Product.brand_id)
    return (
        stmt.where(*conditions_for(shape))
        .order_by(*_order_by(sort, shape.tokens))
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
    )


async def find_products(
    session: AsyncSession,
    q: ProductQuery,
    offset: int,
    limit: int,
    with_brands: bool = False,
    lean: bool = False,
) -> ProductPage:
    """One page of products with the total count (a window function) and, if asked, their
    brands (a join): one statement whenever the page is not empty. `lean`: without the long
    text columns (descriptions, after-sales terms), for pages that do not show them."""
    shape = shape_of(q)
    stmt = _page_statement(shape, q.sort, with_brands, lean)
    params = {**parameters(q), "page_offset": offset, "page_limit": limit}
    with _stock_read(q):
        rows = (await session.execute(stmt, params)).all()
    if rows:
        return ProductPage(
            [r[0] for r in rows],
            int(rows[0][1]),
            [r[3] for r in rows] if with_brands else None,
            [path_ids(r[2]) for r in rows],
        )
    if offset == 0 and limit > 0:
        return ProductPage([], 0)
    return ProductPage([], await count_products(session, q))


@lru_cache(maxsize=512)
def _count_statement(shape: Shape) -> Any:
    return select(func.count()).select_from(Product).where(*conditions_for(shape))


async def count_products(session: AsyncSession, q: ProductQuery) -> int:
    with _stock_read(q):
        total = await session.scalar(_count_statement(shape_of(q)), parameters(q))
    return int(total or 0)


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


# Facet statements are built once per shape too: a statement made per request cost its
# cache key again (a walk over every condition and subquery), ~9% of a search's time.
@lru_cache(maxsize=512)
def _brand_facets_statement(shape: Shape) -> Any:
    count = func.count(Product.id)
    return (
        select(Brand, count)
        .join(Product, Product.brand_id == Brand.id)
        .where(*conditions_for(shape))
        .group_by(Brand.id)
        .order_by(count.desc(), Brand.name)
    )


def _attribute_facets_select(shape: Shape) -> Any:
    """One row per filterable attribute value: (0, name, value, count, NULL, NULL, NULL)."""
    count = func.count(func.distinct(Product.id))
    return (
        select(
            literal_column("0", Integer).label("part"),
            Attribute.name.label("name"),
            ProductAttributeValue.value.label("value"),
            count.label("n"),
            *(cast(null(), BigInteger).label(label) for label in ("bucket", "base", "step")),
        )
        .join(ProductAttributeValue, ProductAttributeValue.attribute_id == Attribute.id)
        .join(Product, Product.id == ProductAttributeValue.product_id)
        .where(Attribute.filterable.is_(True), *conditions_for(shape))
        .group_by(Attribute.name, ProductAttributeValue.value)
    )


# Round bucket widths in minor units, ascending: 1, 2 and 5 × 10^k from 1 yuan up to the
# largest a BIGINT holds (a span of BIGINT prices never needs a wider one).
STEPS = tuple(f * 10**k for k in range(2, 19) for f in (1, 2, 5) if f * 10**k < 2**63)


def _integer(value: int) -> ColumnElement[int]:
    """An integer written into the SQL text (no bind parameter per constant)."""
    return literal_column(str(int(value)), BigInteger)


def raw_width_sql(spread: ColumnElement[int], buckets: int = PRICE_BUCKETS) -> ColumnElement[int]:
    """ceil((spread + 1) / buckets) in SQL, written `spread / buckets + 1` (integer division,
    spread >= 0) so that no spread of BIGINT prices overflows: the width `nice_step` rounds
    up for the span `spread + 1`."""
    return spread // _integer(buckets) + _integer(1)


def step_sql(raw: ColumnElement[int]) -> ColumnElement[int]:
    """The smallest of STEPS at least `raw` (at least 1 yuan): `nice_step` in SQL."""
    return case(*((raw <= _integer(step), _integer(step)) for step in STEPS))


def _price_buckets_select(shape: Shape) -> Any:
    """One row per non-empty price bucket: (1, NULL, NULL, count, bucket, base, step). The
    span of the matching prices, its round step and base are computed in the statement as
    `nice_step` (the Python reference) would; no product matching, no row."""
    conds = conditions_for(shape)
    low, high, hundred = func.min(Product.price_min), func.max(Product.price_min), _integer(100)
    # The step is worked out once, in the aggregate itself, kept apart (MATERIALIZED) so the
    # planner neither copies the long CASE into every column and the GROUP BY that use it
    # (12 ms of planning a search) nor runs the aggregate again for each product it joins.
    stepped = (
        select(
            low.label("low"),
            step_sql(raw_width_sql(high - low // hundred * hundred)).label("step"),
        )
        .where(*conds)
        .cte("price_step")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    base = stepped.c.low // stepped.c.step * stepped.c.step
    per_product = (
        select(
            ((Product.price_min - base) // stepped.c.step).label("bucket"),
            base.label("base"),
            stepped.c.step,
        )
        .select_from(Product)
        .join(stepped, true())
        .where(*conds)
        .subquery("priced")
    )
    return select(
        literal_column("1", Integer).label("part"),
        cast(null(), String).label("name"),
        cast(null(), String).label("value"),
        func.count().label("n"),
        per_product.c.bucket,
        per_product.c.base,
        per_product.c.step,
    ).group_by(per_product.c.bucket, per_product.c.base, per_product.c.step)


@lru_cache(maxsize=512)
def _attribute_and_price_statement(attribute_shape: Shape, price_shape: Shape) -> Any:
    """Attribute facets then price buckets in one statement, each part with its own
    conditions (the same parameters), in the order they are shown: attributes by name,
    values by count (most first) then value; buckets ascending. `bucket` (NULL on every
    attribute row) sorts before the count, which must not reorder the buckets."""
    both = union_all(_attribute_facets_select(attribute_shape), _price_buckets_select(price_shape))
    c = both.selected_columns
    return both.order_by(c.part, c.name, c.bucket, c.n.desc(), c.value)


async def brand_facets(session: AsyncSession, q: ProductQuery) -> list[BrandFacet]:
    stmt = _brand_facets_statement(shape_of(q, {"brand"}))
    rows = (await session.execute(stmt, parameters(q))).all()
    return [BrandFacet(brand, n) for brand, n in rows]


async def attribute_and_price_facets(
    session: AsyncSession, q: ProductQuery
) -> tuple[list[AttributeFacet], list[PriceBucket]]:
    """Attribute facets (without the attribute filter) and price buckets (without the price
    filter): one statement."""
    stmt = _attribute_and_price_statement(shape_of(q, {"attributes"}), shape_of(q, {"price"}))
    facets: dict[str, AttributeFacet] = {}
    buckets: list[PriceBucket] = []
    for part, name, value, n, bucket, base, step in (
        await session.execute(stmt, parameters(q))
    ).all():
        if part == 0:
            facet = facets.setdefault(name, AttributeFacet(name, []))
            if len(facet.values) < FACET_VALUES_PER_ATTRIBUTE:
                facet.values.append(ValueCount(value, n))
        else:
            low = int(base) + int(bucket) * int(step)
            buckets.append(PriceBucket(low, low + int(step) - 1, n))
    return list(facets.values()), buckets


def nice_step(span: int, buckets: int = PRICE_BUCKETS) -> int:
    """A round bucket width (1, 2 or 5 × 10^k minor units, at least 1 yuan) covering the span.
    The reference for `step_sql`, which the price buckets' statement uses."""
    raw = max(span // buckets + (1 if span % buckets else 0), 100)
    magnitude = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns
