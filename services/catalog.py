"""Catalog rules (DOMAIN.md §1): brands, merchants, backend categories (≤ 4 levels, products on
leaves), attribute definitions, display categories and shipping templates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import changes
from models.catalog import Attribute
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.catalog import Brand
from models.catalog import Category
from models.catalog import DisplayCategory
from models.catalog import DisplayCategoryBrand
from models.catalog import DisplayCategoryCategory
from models.catalog import DisplayNode
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ShippingKind
from models.catalog import ShippingTemplate
from models.catalog import Sku
from services import validation as check
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

MAX_CATEGORY_LEVEL = 4
MAX_DISPLAY_LEVEL = 4

UNSET: object = object()  # "not given" in patches, distinct from an explicit None
T = TypeVar("T")


async def get_or_fail(session: AsyncSession, model: type[T], pk: int | None, field: str) -> T:
    obj = await session.get(model, pk) if pk is not None else None
    if obj is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"{model.__name__} not found.", field)
    return obj


# --- merchants -----------------------------------------------------------------------------------

MAX_COMMISSION_RATE = 10_000  # basis points: 100%


@dataclass
class MerchantData:
    name: str
    self_operated: bool = False
    commission_rate: int = 0  # basis points of the merchant's goods sold (settlement)


async def create_merchant(session: AsyncSession, data: MerchantData) -> Merchant:
    merchant = Merchant()
    await _write_merchant(session, merchant, data)
    session.add(merchant)
    await session.flush()
    return merchant


async def update_merchant(session: AsyncSession, merchant_id: int, data: MerchantData) -> Merchant:
    merchant = await get_or_fail(session, Merchant, merchant_id, "id")
    await _write_merchant(session, merchant, data)
    await session.flush()
    return merchant


async def _write_merchant(session: AsyncSession, merchant: Merchant, data: MerchantData) -> None:
    v = Violations()
    clean = check.text(v, data.name, "name", max_len=120)
    if not 0 <= data.commission_rate <= MAX_COMMISSION_RATE:
        v.add(
            ErrorCode.INVALID_INPUT, "A commission rate is 0–10000 basis points.", "commissionRate"
        )
    v.raise_if_any()
    if await _name_taken(session, Merchant, clean, merchant.id):
        raise DomainError(ErrorCode.DUPLICATE_NAME, "A merchant with this name exists.", "name")
    merchant.name, merchant.self_operated = clean or "", data.self_operated
    merchant.commission_rate = data.commission_rate


async def _name_taken(
    session: AsyncSession,
    model: type[Brand] | type[Merchant],
    name: str | None,
    exclude_id: int | None = None,
) -> bool:
    stmt = select(model.id).where(func.lower(model.name) == (name or "").lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


# --- brands --------------------------------------------------------------------------------------


@dataclass
class BrandData:
    name: str
    logo_url: str | None = None
    country: str | None = None


async def create_brand(session: AsyncSession, data: BrandData) -> Brand:
    brand = Brand()
    await _apply_brand(session, brand, data)
    session.add(brand)
    await session.flush()
    return brand


async def update_brand(session: AsyncSession, brand_id: int, data: BrandData) -> Brand:
    brand = await get_or_fail(session, Brand, brand_id, "id")
    await _apply_brand(session, brand, data)
    await session.flush()
    return brand


async def _apply_brand(session: AsyncSession, brand: Brand, data: BrandData) -> None:
    v = Violations()
    name = check.text(v, data.name, "name", max_len=120)
    logo = check.url(v, data.logo_url, "logoUrl")
    country = check.text(v, data.country, "country", max_len=60, required=False)
    v.raise_if_any()
    # Names are unique regardless of case: "Apple" and "apple" are the same brand.
    if await _name_taken(session, Brand, name, exclude_id=brand.id):
        raise DomainError(ErrorCode.DUPLICATE_NAME, f"Brand '{name}' already exists.", "name")
    brand.name, brand.logo_url, brand.country = name or "", logo, country


async def delete_brand(session: AsyncSession, brand_id: int) -> Brand:
    brand = await get_or_fail(session, Brand, brand_id, "id")
    used = await session.scalar(select(func.count()).where(Product.brand_id == brand_id))
    if used:
        raise DomainError(ErrorCode.BRAND_IN_USE, f"{used} product(s) use this brand.", "id")
    await session.delete(brand)
    await session.flush()
    return brand


# --- backend categories --------------------------------------------------------------------------


async def create_category(
    session: AsyncSession, name: str, parent_id: int | None, position: int = 0
) -> Category:
    v = Violations()
    clean = check.text(v, name, "name", max_len=80)
    v.raise_if_any()
    parent = await get_or_fail(session, Category, parent_id, "parentId") if parent_id else None
    level = parent.level + 1 if parent else 1
    if level > MAX_CATEGORY_LEVEL:
        raise DomainError(
            ErrorCode.CATEGORY_TOO_DEEP,
            f"Categories are at most {MAX_CATEGORY_LEVEL} levels deep.",
            "parentId",
        )
    if parent is not None:
        await _ensure_can_have_children(session, parent)
    await _ensure_unique_sibling(session, clean or "", parent_id, None)
    category = Category(name=clean, parent_id=parent_id, level=level, position=position, path="")
    session.add(category)
    await session.flush()
    category.path = f"{parent.path if parent else ''}{category.id}/"
    await session.flush()
    return category


async def _ensure_can_have_children(session: AsyncSession, parent: Category) -> None:
    # Products bind to leaves: a category holding products may not get children.
    if await _count_products_in(session, [parent.id]):
        raise DomainError(
            ErrorCode.CATEGORY_HAS_PRODUCTS,
            "This category has products; products must stay on leaf categories.",
            "parentId",
        )


async def _ensure_unique_sibling(
    session: AsyncSession, name: str, parent_id: int | None, exclude_id: int | None
) -> None:
    stmt = select(Category.id).where(func.lower(Category.name) == name.lower())
    stmt = stmt.where(
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    )
    if exclude_id is not None:
        stmt = stmt.where(Category.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first():
        raise DomainError(
            ErrorCode.DUPLICATE_NAME, f"A sibling category named '{name}' exists.", "name"
        )


async def _count_products_in(session: AsyncSession, category_ids: list[int]) -> int:
    return (
        await session.scalar(select(func.count()).where(Product.category_id.in_(category_ids))) or 0
    )


async def subtree(session: AsyncSession, category: Category) -> list[Category]:
    """The category and all its descendants (materialized-path prefix match)."""
    stmt = select(Category).where(Category.path.startswith(category.path))
    return list((await session.scalars(stmt)).all())


async def update_category(
    session: AsyncSession,
    category_id: int,
    *,
    name: str | None = None,
    parent_id: int | object | None = UNSET,
    position: int | None = None,
) -> Category:
    category = await get_or_fail(session, Category, category_id, "id")
    if name is not None:
        v = Violations()
        clean = check.text(v, name, "name", max_len=80)
        v.raise_if_any()
        category.name = clean or ""
    if position is not None:
        category.position = position
    if parent_id is not UNSET and parent_id != category.parent_id:
        await _move_category(session, category, parent_id)  # type: ignore[arg-type]
    await _ensure_unique_sibling(session, category.name, category.parent_id, category.id)
    await session.flush()
    return category


async def _move_category(
    session: AsyncSession, category: Category, new_parent_id: int | None
) -> None:
    parent = (
        await get_or_fail(session, Category, new_parent_id, "parentId")
        if new_parent_id is not None
        else None
    )
    if parent is not None and parent.path.startswith(category.path):
        raise DomainError(
            ErrorCode.CATEGORY_CYCLE,
            "A category cannot move under itself or its descendants.",
            "parentId",
        )
    members = await subtree(session, category)
    height = max(m.level for m in members) - category.level + 1
    new_level = parent.level + 1 if parent else 1
    if new_level + height - 1 > MAX_CATEGORY_LEVEL:
        raise DomainError(
            ErrorCode.CATEGORY_TOO_DEEP,
            f"The move would make the tree deeper than {MAX_CATEGORY_LEVEL} levels.",
            "parentId",
        )
    if parent is not None:
        await _ensure_can_have_children(session, parent)
    old_prefix = category.path
    new_prefix = f"{parent.path if parent else ''}{category.id}/"
    shift = new_level - category.level
    for member in members:
        member.path = new_prefix + member.path[len(old_prefix) :]
        member.level += shift
    category.parent_id = new_parent_id


async def delete_category(session: AsyncSession, category_id: int) -> Category:
    category = await get_or_fail(session, Category, category_id, "id")
    has_child = await session.scalar(select(func.count()).where(Category.parent_id == category_id))
    if has_child:
        raise DomainError(
            ErrorCode.CATEGORY_HAS_CHILDREN, "Delete or move the child categories first.", "id"
        )
    if await _count_products_in(session, [category_id]):
        raise DomainError(
            ErrorCode.CATEGORY_HAS_PRODUCTS,
            "Move the category's products to another category first.",
            "id",
        )
    await session.execute(delete(Attribute).where(Attribute.category_id == category_id))
    await session.execute(
        delete(DisplayCategoryCategory).where(DisplayCategoryCategory.category_id == category_id)
    )
    await session.delete(category)
    await session.flush()
    return category


async def lineage_attributes(session: AsyncSession, category: Category) -> list[Attribute]:
    """Attributes defined on the category and inherited from its ancestors, root first."""
    ids = list(category.path_ids)
    rows = (await session.scalars(select(Attribute).where(Attribute.category_id.in_(ids)))).all()
    order = {cid: i for i, cid in enumerate(ids)}
    return sorted(rows, key=lambda a: (order[a.category_id], a.position, a.id))


# --- attributes ----------------------------------------------------------------------------------


@dataclass
class AttributeData:
    category_id: int
    name: str
    kind: AttributeKind
    value_type: AttributeValueType
    options: list[str] = field(default_factory=list)
    required: bool = False
    filterable: bool = False
    allow_custom_values: bool = False


async def create_attribute(session: AsyncSession, data: AttributeData) -> Attribute:
    category = await get_or_fail(session, Category, data.category_id, "categoryId")
    v = Violations()
    name = check.text(v, data.name, "name", max_len=60) or ""
    options = [o.strip() for o in data.options]
    if data.value_type == AttributeValueType.OPTIONS and not options:
        v.add(ErrorCode.INVALID_INPUT, "An OPTIONS attribute needs at least one option.", "options")
    if any(not o or len(o) > 200 for o in options) or len(set(options)) != len(options):
        v.add(
            ErrorCode.INVALID_INPUT,
            "Options must be unique, non-empty, ≤ 200 characters.",
            "options",
        )
    v.raise_if_any()
    # Attributes are inherited down the tree: a name may appear once along any root-to-leaf path.
    lineage = list(category.path_ids)
    clash = await session.scalar(
        select(func.count())
        .select_from(Attribute)
        .join(Category)
        .where(func.lower(Attribute.name) == name.lower())
        .where(Attribute.category_id.in_(lineage) | Category.path.startswith(category.path))
    )
    if clash:
        raise DomainError(
            ErrorCode.DUPLICATE_NAME,
            f"Attribute '{name}' already exists on this category's lineage.",
            "name",
        )
    attribute = Attribute(
        category_id=category.id,
        name=name,
        kind=data.kind,
        value_type=data.value_type,
        options=options,
        required=data.required or data.kind == AttributeKind.KEY,
        filterable=data.filterable,
        allow_custom_values=data.allow_custom_values,
    )
    session.add(attribute)
    await session.flush()
    return attribute


# --- display categories --------------------------------------------------------------------------


@dataclass
class DisplayCategoryData:
    name: str | None = None
    parent_id: int | object | None = UNSET
    icon_url: str | object | None = UNSET
    position: int | None = None
    channels: list[str] | None = None
    category_ids: list[int] | None = None
    brand_ids: list[int] | None = None


async def create_display_category(
    session: AsyncSession, data: DisplayCategoryData
) -> DisplayCategory:
    if data.name is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "This field is required.", "name")
    node = DisplayCategory(name="", channels=[], position=0, level=1)
    session.add(node)
    await _apply_display_category(session, node, data)
    await session.flush()
    return node


async def update_display_category(
    session: AsyncSession, node_id: int, data: DisplayCategoryData
) -> DisplayCategory:
    node = await get_or_fail(session, DisplayCategory, node_id, "id")
    await _apply_display_category(session, node, data)
    await session.flush()
    return node


async def _apply_display_category(
    session: AsyncSession, node: DisplayCategory, data: DisplayCategoryData
) -> None:
    v = Violations()
    if data.name is not None:
        node.name = check.text(v, data.name, "name", max_len=80) or ""
    if data.icon_url is not UNSET:
        node.icon_url = check.url(v, data.icon_url, "iconUrl")  # type: ignore[arg-type]
    v.raise_if_any()
    if data.position is not None:
        node.position = data.position
    if data.channels is not None:
        node.channels = sorted(set(data.channels))
    if data.parent_id is not UNSET:
        await _place_display_category(session, node, data.parent_id)  # type: ignore[arg-type]
    await session.flush()
    if data.category_ids is not None:
        await _ensure_all_exist(session, Category, data.category_ids, "categoryIds")
        await session.execute(
            delete(DisplayCategoryCategory).where(
                DisplayCategoryCategory.display_category_id == node.id
            )
        )
        session.add_all(
            DisplayCategoryCategory(display_category_id=node.id, category_id=c)
            for c in sorted(set(data.category_ids))
        )
    if data.brand_ids is not None:
        await _ensure_all_exist(session, Brand, data.brand_ids, "brandIds")
        await session.execute(
            delete(DisplayCategoryBrand).where(DisplayCategoryBrand.display_category_id == node.id)
        )
        session.add_all(
            DisplayCategoryBrand(display_category_id=node.id, brand_id=b)
            for b in sorted(set(data.brand_ids))
        )


async def _place_display_category(
    session: AsyncSession, node: DisplayCategory, parent_id: int | None
) -> None:
    if parent_id is None:
        node.parent_id, node.level = None, 1
        return
    parent = await get_or_fail(session, DisplayCategory, parent_id, "parentId")
    ancestor: DisplayCategory | None = parent
    while ancestor is not None:  # the tree is shallow: at most MAX_DISPLAY_LEVEL hops
        if node.id is not None and ancestor.id == node.id:
            raise DomainError(
                ErrorCode.CATEGORY_CYCLE, "A category cannot move under itself.", "parentId"
            )
        ancestor = (
            await session.get(DisplayCategory, ancestor.parent_id) if ancestor.parent_id else None
        )
    if parent.level + 1 > MAX_DISPLAY_LEVEL:
        raise DomainError(
            ErrorCode.CATEGORY_TOO_DEEP,
            f"Display categories are at most {MAX_DISPLAY_LEVEL} levels deep.",
            "parentId",
        )
    if node.id is not None:
        has_children = await session.scalar(
            select(func.count()).where(DisplayCategory.parent_id == node.id)
        )
        if has_children and parent.level + 2 > MAX_DISPLAY_LEVEL:
            raise DomainError(
                ErrorCode.CATEGORY_TOO_DEEP, "The move would make the tree too deep.", "parentId"
            )
    node.parent_id, node.level = parent.id, parent.level + 1


async def _ensure_all_exist(
    session: AsyncSession, model: type[Category] | type[Brand], ids: list[int], field_name: str
) -> None:
    wanted = set(ids)
    found = set((await session.scalars(select(model.id).where(model.id.in_(wanted)))).all())
    if missing := wanted - found:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            f"{len(missing)} {model.__name__.lower()}(s) not found.",
            field_name,
        )


async def delete_display_category(session: AsyncSession, node_id: int) -> DisplayCategory:
    node = await get_or_fail(session, DisplayCategory, node_id, "id")
    if await session.scalar(select(func.count()).where(DisplayCategory.parent_id == node_id)):
        raise DomainError(
            ErrorCode.CATEGORY_HAS_CHILDREN, "Delete or move the child categories first.", "id"
        )
    await session.execute(
        delete(DisplayCategoryCategory).where(
            DisplayCategoryCategory.display_category_id == node_id
        )
    )
    await session.execute(
        delete(DisplayCategoryBrand).where(DisplayCategoryBrand.display_category_id == node_id)
    )
    await session.delete(node)
    await session.flush()
    return node


# --- shipping templates --------------------------------------------------------------------------


@dataclass
class ShippingTemplateData:
    merchant_id: int
    name: str
    kind: ShippingKind
    first_fee: Decimal | None = None
    additional_fee: Decimal | None = None
    flat_fee: Decimal | None = None
    free_over: Decimal | None = None
    max_parcel_weight_grams: int | None = None
    max_parcel_volume_cm3: int | None = None


async def create_shipping_template(
    session: AsyncSession, data: ShippingTemplateData
) -> ShippingTemplate:
    await get_or_fail(session, Merchant, data.merchant_id, "merchantId")
    v = Violations()
    name = check.text(v, data.name, "name", max_len=80)
    needs_first = data.kind in (ShippingKind.BY_PIECE, ShippingKind.BY_WEIGHT)
    first = check.money(v, data.first_fee, "firstFee", required=needs_first)
    additional = check.money(v, data.additional_fee, "additionalFee", required=False)
    flat = check.money(v, data.flat_fee, "flatFee", required=data.kind == ShippingKind.FLAT)
    free_over = check.money(v, data.free_over, "freeOver", required=False)
    for value, field_name in (
        (data.max_parcel_weight_grams, "maxParcelWeightGrams"),
        (data.max_parcel_volume_cm3, "maxParcelVolumeCm3"),
    ):
        if value is not None and value <= 0:
            v.add(ErrorCode.INVALID_INPUT, "A parcel limit is positive (or null).", field_name)
    v.raise_if_any()
    template = ShippingTemplate(
        merchant_id=data.merchant_id,
        name=name,
        kind=data.kind,
        first_fee=first or 0,
        additional_fee=additional or 0,
        flat_fee=flat or 0,
        free_over=free_over,
        max_parcel_weight_grams=data.max_parcel_weight_grams,
        max_parcel_volume_cm3=data.max_parcel_volume_cm3,
    )
    session.add(template)
    await session.flush()
    return template


async def ensure_funded_by(
    session: AsyncSession,
    merchant_id: int | None,
    sku_ids: list[int],
    product_ids: list[int],
    field_name: str,
) -> None:
    """A discount funded by a merchant names only that merchant's SKUs and products: nobody,
    platform staff included, makes one merchant pay for a discount on another's goods. The
    platform (None) funds discounts on anyone's."""
    if merchant_id is None:
        return
    foreign = 0
    for model, ids in ((Sku, sku_ids), (Product, product_ids)):
        if ids:
            foreign += (
                await session.scalar(
                    select(func.count()).where(
                        model.id.in_(set(ids)), model.merchant_id != merchant_id
                    )
                )
                or 0
            )
    if foreign:
        raise DomainError(
            ErrorCode.MERCHANT_MISMATCH,
            f"{foreign} of the named SKUs/products belong to another merchant; "
            "a merchant funds discounts on its own goods only.",
            field_name,
        )


# --- what a viewer sees --------------------------------------------------------------------------

NOWHERE = [-1]  # a display-category filter that matches no product (a hidden or unknown node)


@dataclass
class DisplayTree:
    """The display-category tree as one channel sees it: a node limited to other channels
    vanishes with its subtree (DOMAIN.md §1). Staff manage the whole tree. Built once per
    snapshot and channel and shared: nobody changes it."""

    nodes: dict[int, DisplayNode]
    children: dict[int | None, list[DisplayNode]]

    @classmethod
    def build(cls, rows: Sequence[DisplayNode], channel: str | None) -> DisplayTree:
        """`channel` None: every node."""
        by_parent: dict[int | None, list[DisplayNode]] = defaultdict(list)
        for row in rows:
            by_parent[row.parent_id].append(row)
        visible: dict[int, DisplayNode] = {}
        stack = list(by_parent.get(None, []))
        while stack:
            node = stack.pop()
            if channel is None or not node.channels or channel in node.channels:
                visible[node.id] = node
                stack.extend(by_parent.get(node.id, []))
        children = {p: [c for c in kids if c.id in visible] for p, kids in by_parent.items()}
        return cls(visible, children)

    def subtree_ids(self, node_id: int) -> list[int]:
        ids, stack = [], [node_id]
        while stack:
            current = stack.pop()
            ids.append(current)
            stack.extend(c.id for c in self.children.get(current, []))
        return ids

    def listing_ids(self, node_id: int) -> list[int]:
        """The display categories a listing under `node_id` shows products of: its visible
        subtree; a node this channel does not see lists nothing."""
        return self.subtree_ids(node_id) if node_id in self.nodes else NOWHERE

    def children_of(self, node_id: int | None) -> list[DisplayNode]:
        """A visible node's visible children; nothing under a hidden one."""
        return self.children.get(node_id, []) if node_id in self.nodes else []


class DisplaySnapshot:
    """Every display category (immutable views) and the tree each channel sees, built on
    first use. Kept per process until the display_categories table is written anywhere."""

    __slots__ = ("_trees", "nodes")

    def __init__(self, nodes: tuple[DisplayNode, ...]) -> None:
        self.nodes = nodes
        self._trees: dict[str | None, DisplayTree] = {}

    def seen_by(self, channel: str, staff: bool) -> DisplayTree:
        key = None if staff else channel
        tree = self._trees.get(key)
        if tree is None:
            tree = self._trees[key] = DisplayTree.build(self.nodes, key)
        return tree


_DISPLAY_COLUMNS = (
    DisplayCategory.id,
    DisplayCategory.parent_id,
    DisplayCategory.name,
    DisplayCategory.icon_url,
    DisplayCategory.position,
    DisplayCategory.level,
    DisplayCategory.channels,
    DisplayCategory.created_at,
)


async def display_snapshot(session: AsyncSession, now: datetime) -> DisplaySnapshot:
    """The display categories, read once and kept (shared by every request) until the
    display_categories table is written in any process, as `promotions.live_promotions`
    keeps the running promotions: a listing page costs no statement for its tree. A session
    holding display categories (a mutation changing them) reads its own."""
    # an answer showing the tree depends on every display category (a write anywhere in it)
    changes.depends_on("display_categories", [changes.ANY])
    feed = changes.feed_of(session.bind)
    version = feed.version("display_categories")
    kept: tuple[changes.Kept, DisplaySnapshot] | None = feed.memo.get("display_categories")
    if kept is not None and feed.live and kept[0].holds(version, now):
        return kept[1]
    sync = session.sync_session
    shareable = not any(
        isinstance(o, DisplayCategory) for o in (*sync.identity_map.values(), *sync.new)
    )
    stmt = select(*_DISPLAY_COLUMNS).order_by(DisplayCategory.position, DisplayCategory.id)
    with changes.covered("display_categories"):
        rows = (await session.execute(stmt)).all()
    snapshot = DisplaySnapshot(
        tuple(
            DisplayNode(i, parent, name, icon, position, level, tuple(channels or ()), created)
            for i, parent, name, icon, position, level, channels, created in rows
        )
    )
    if shareable and feed.live and feed.version("display_categories") == version:
        feed.memo["display_categories"] = (changes.Kept(version, now), snapshot)
    return snapshot


CategoryRow = dict[str, object]  # a backend category's columns, by attribute name


async def category_rows(session: AsyncSession, now: datetime) -> dict[int, CategoryRow] | None:
    """Every backend category's columns by id, read once and kept (shared by every request)
    until the categories table is written in any process, as `display_snapshot` keeps the
    display tree: a product page's breadcrumb (its category's ancestors) costs no statement.
    None while the change feed is not live (nothing may be kept: the caller reads the rows
    it needs instead of the whole table each time). The caller notes the ids it shows."""
    feed = changes.feed_of(session.bind)
    if not feed.live:
        return None
    version = feed.version("categories")
    kept: tuple[changes.Kept, dict[int, CategoryRow]] | None = feed.memo.get("categories")
    if kept is not None and kept[0].holds(version, now):
        return kept[1]
    with changes.covered("categories"):
        rows = (await session.execute(select(*_category_columns()))).mappings().all()
    snapshot = {int(row["id"]): dict(row) for row in rows}
    # a session changing categories (not committed yet) reads them for itself alone
    sync = session.sync_session
    shareable = not any(isinstance(o, Category) for o in (*sync.new, *sync.dirty))
    if shareable and feed.version("categories") == version:
        feed.memo["categories"] = (changes.Kept(version, now), snapshot)
    return snapshot


@cache
def _category_columns() -> tuple[Any, ...]:
    return tuple(getattr(Category, c.key).label(c.key) for c in Category.__mapper__.column_attrs)


def category_roots() -> Select[Category]:
    return (
        select(Category)
        .where(Category.parent_id.is_(None))
        .order_by(Category.position, Category.id)
    )


def brands() -> Select[Brand]:
    return select(Brand).order_by(Brand.name)


def merchants_seen_by(merchant_id: int | None) -> Select[Merchant]:
    """Every merchant for platform staff (`merchant_id` None); merchant staff see their own."""
    stmt = select(Merchant).order_by(Merchant.id)
    return stmt if merchant_id is None else stmt.where(Merchant.id == merchant_id)
