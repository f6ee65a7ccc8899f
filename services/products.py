"""Product (SPU) and SKU rules (DOMAIN.md §1): leaf category, KEY attributes required, SKU specs
exactly the category's SALES attributes, unique spec combinations and merchant SKU codes, prices,
and the listing lifecycle DRAFT → LISTED ⇄ DELISTED with optional schedule."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import from_minor
from core.money import to_minor
from models.catalog import Attribute
from models.catalog import AttributeKind
from models.catalog import AttributeValueType
from models.catalog import Brand
from models.catalog import Category
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ProductAttributeValue
from models.catalog import ProductStatus
from models.catalog import ShippingTemplate
from models.catalog import Sku
from services import validation as check
from services.catalog import UNSET
from services.catalog import get_or_fail
from services.catalog import lineage_attributes
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violations

MAX_SKUS = 200
MAX_IMAGES = 30
MAX_SPEC_TEXT = Sku.spec_key.property.columns[0].type.length  # spec_text is as long


class EffectiveStatus(StrEnum):
    """What a product is at a moment: the stored status read through its schedule."""

    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    LISTED = "LISTED"
    DELISTED = "DELISTED"


def effective_status(product: Product, now: datetime) -> EffectiveStatus:
    if product.status == ProductStatus.DRAFT:
        return EffectiveStatus.DRAFT
    if product.status == ProductStatus.DELISTED:
        return EffectiveStatus.DELISTED
    if product.delist_at is not None and now >= product.delist_at:
        return EffectiveStatus.DELISTED
    if product.list_at is not None and now < product.list_at:
        return EffectiveStatus.SCHEDULED
    return EffectiveStatus.LISTED


class MerchantScope(Protocol):
    """Whoever asks, as far as products go: staff of a merchant own its products."""

    def owns_merchant(self, merchant_id: int | None) -> bool: ...


def is_visible(product: Product | None, viewer: MerchantScope, now: datetime) -> bool:
    """Staff see their merchants' products in any state; everyone sees listed ones."""
    return product is not None and (
        viewer.owns_merchant(product.merchant_id) or product.is_listed_at(now)
    )


def sku_is_visible(sku: Sku, product: Product | None, viewer: MerchantScope, now: datetime) -> bool:
    """Enabled (or staff of its merchant), and its product visible."""
    return (sku.enabled or viewer.owns_merchant(sku.merchant_id)) and is_visible(
        product, viewer, now
    )


@dataclass
class SkuDraft:
    specs: list[tuple[int, str]]
    code: str
    price: Decimal | None
    market_price: Decimal | None = None
    cost_price: Decimal | None = None
    barcode: str | None = None
    weight_grams: int | None = None
    image_url: str | None = None
    id: int | None = None
    transport_class: str = "GENERAL"  # set when updating an existing SKU


@dataclass
class ProductDraft:
    title: str
    brand_id: int
    category_id: int
    merchant_id: int
    skus: list[SkuDraft]
    subtitle: str | None = None
    shipping_template_id: int | None = None
    tags: list[str] = field(default_factory=list)
    attributes: list[tuple[int, list[str]]] = field(default_factory=list)
    images: list[tuple[str, str | None]] = field(default_factory=list)
    description_mobile_html: str | None = None
    description_pc_html: str | None = None
    after_sales: str | None = None
    red_packets_usable: bool = False  # red packets (红包) may pay for it at checkout
    red_packet_cap: Decimal | None = None  # at most this per unit (yuan); None: no cap


@dataclass
class ProductPatch:
    """Fields left UNSET keep their value; `skus`, when given, is the full new SKU list
    (entries with an id update that SKU; existing SKUs not listed are disabled, never deleted,
    because carts and orders refer to them)."""

    title: Any = UNSET
    subtitle: Any = UNSET
    brand_id: Any = UNSET
    category_id: Any = UNSET
    shipping_template_id: Any = UNSET
    tags: Any = UNSET
    attributes: Any = UNSET
    images: Any = UNSET
    description_mobile_html: Any = UNSET
    description_pc_html: Any = UNSET
    after_sales: Any = UNSET
    red_packets_usable: Any = UNSET
    red_packet_cap: Any = UNSET
    skus: Any = UNSET


@dataclass
class _CleanSku:
    draft: SkuDraft
    specs: list[dict[str, Any]]
    spec_key: str
    spec_text: str
    price: int
    market_price: int | None
    cost_price: int | None


async def create_product(session: AsyncSession, draft: ProductDraft) -> Product:
    clean = await _validate(session, draft, existing=None)
    product = Product(merchant_id=draft.merchant_id, status=ProductStatus.DRAFT, sales_count=0)
    session.add(product)
    await _write(session, product, draft, clean, existing_skus=[])
    return product


async def update_product(session: AsyncSession, product_id: int, patch: ProductPatch) -> Product:
    product = await get_or_fail(session, Product, product_id, "id")
    existing_skus = list(
        (
            await session.scalars(
                select(Sku).where(Sku.product_id == product.id).order_by(Sku.position, Sku.id)
            )
        ).all()
    )
    draft = await _merge(session, product, existing_skus, patch)
    clean = await _validate(session, draft, existing=product)
    await _write(session, product, draft, clean, existing_skus)
    return product


async def _merge(
    session: AsyncSession, product: Product, skus: list[Sku], patch: ProductPatch
) -> ProductDraft:
    attrs = (
        await session.execute(
            select(ProductAttributeValue.attribute_id, ProductAttributeValue.value)
            .join(Attribute, Attribute.id == ProductAttributeValue.attribute_id)
            .where(
                ProductAttributeValue.product_id == product.id,
                Attribute.kind != AttributeKind.SALES,
            )
            .order_by(ProductAttributeValue.position)
        )
    ).all()
    current_attrs: dict[int, list[str]] = {}
    for attribute_id, value in attrs:
        current_attrs.setdefault(attribute_id, []).append(value)
    current = ProductDraft(
        title=product.title,
        subtitle=product.subtitle,
        brand_id=product.brand_id,
        category_id=product.category_id,
        merchant_id=product.merchant_id,
        shipping_template_id=product.shipping_template_id,
        tags=list(product.tags or []),
        attributes=list(current_attrs.items()),
        images=[(i["url"], i.get("alt")) for i in product.images or []],
        description_mobile_html=product.description_mobile_html,
        description_pc_html=product.description_pc_html,
        after_sales=product.after_sales,
        red_packets_usable=product.red_packets_usable,
        red_packet_cap=None
        if product.red_packet_cap is None
        else from_minor(product.red_packet_cap),
        skus=[_sku_as_draft(s) for s in skus if s.enabled],
    )
    changes = {k: v for k, v in vars(patch).items() if v is not UNSET}
    return replace(current, **changes)


def _sku_as_draft(sku: Sku) -> SkuDraft:
    return SkuDraft(
        id=sku.id,
        specs=[(s["attributeId"], s["value"]) for s in sku.specs],
        code=sku.code,
        price=from_minor(sku.price),
        market_price=from_minor(sku.market_price) if sku.market_price is not None else None,
        cost_price=from_minor(sku.cost_price) if sku.cost_price is not None else None,
        barcode=sku.barcode,
        weight_grams=sku.weight_grams,
        image_url=sku.image_url,
        transport_class=sku.transport_class,
    )


async def _validate(
    session: AsyncSession, draft: ProductDraft, existing: Product | None
) -> list[_CleanSku]:
    v = Violations()
    draft.title = check.text(v, draft.title, "title", max_len=200) or ""
    draft.subtitle = check.text(v, draft.subtitle, "subtitle", max_len=300, required=False)
    draft.tags = [t.strip() for t in draft.tags if t and t.strip()]
    for i, (image_url, _alt) in enumerate(draft.images):
        check.url(v, image_url, f"images.{i}.url")
    if len(draft.images) > MAX_IMAGES:
        v.add(ErrorCode.INVALID_INPUT, f"At most {MAX_IMAGES} images.", "images")
    check.money(v, draft.red_packet_cap, "redPacketCap", required=False)
    await _check_references(session, v, draft)
    category = await session.get(Category, draft.category_id)
    attributes = await lineage_attributes(session, category) if category else []
    _check_product_attributes(v, draft, attributes)
    skus = await _check_skus(session, v, draft, attributes, existing)
    v.raise_if_any()
    draft.description_mobile_html = check.html(draft.description_mobile_html)
    draft.description_pc_html = check.html(draft.description_pc_html)
    return skus


async def _check_references(session: AsyncSession, v: Violations, draft: ProductDraft) -> None:
    if await session.get(Brand, draft.brand_id) is None:
        v.add(ErrorCode.NOT_FOUND, "Brand not found.", "brandId")
    if await session.get(Merchant, draft.merchant_id) is None:
        v.add(ErrorCode.NOT_FOUND, "Merchant not found.", "merchantId")
    category = await session.get(Category, draft.category_id)
    if category is None:
        v.add(ErrorCode.NOT_FOUND, "Category not found.", "categoryId")
    elif await session.scalar(select(func.count()).where(Category.parent_id == category.id)):
        v.add(
            ErrorCode.CATEGORY_NOT_LEAF,
            f"Products bind to leaf categories; '{category.name}' has subcategories.",
            "categoryId",
        )
    if draft.shipping_template_id is not None:
        template = await session.get(ShippingTemplate, draft.shipping_template_id)
        if template is None:
            v.add(ErrorCode.NOT_FOUND, "Shipping template not found.", "shippingTemplateId")
        elif template.merchant_id != draft.merchant_id:
            v.add(
                ErrorCode.MERCHANT_MISMATCH,
                "The shipping template belongs to another merchant.",
                "shippingTemplateId",
            )


def _check_value(v: Violations, attribute: Attribute, value: str, field_name: str) -> None:
    if not value.strip() or len(value) > 200:
        v.add(
            ErrorCode.INVALID_ATTRIBUTE_VALUE,
            f"'{attribute.name}' needs a non-empty value of at most 200 characters.",
            field_name,
        )
    elif attribute.value_type == AttributeValueType.NUMBER:
        try:
            Decimal(value)
        except ArithmeticError:
            v.add(
                ErrorCode.INVALID_ATTRIBUTE_VALUE,
                f"'{attribute.name}' must be a number.",
                field_name,
            )
    elif (
        attribute.value_type == AttributeValueType.OPTIONS
        and not attribute.allow_custom_values
        and value not in attribute.options
    ):
        v.add(
            ErrorCode.INVALID_ATTRIBUTE_VALUE,
            f"'{value}' is not an option of '{attribute.name}'.",
            field_name,
        )


def _check_product_attributes(
    v: Violations, draft: ProductDraft, attributes: list[Attribute]
) -> None:
    by_id = {a.id: a for a in attributes if a.kind != AttributeKind.SALES}
    given: set[int] = set()
    for i, (attribute_id, values) in enumerate(draft.attributes):
        attribute = by_id.get(attribute_id)
        if attribute is None:
            v.add(
                ErrorCode.INVALID_ATTRIBUTE,
                "Not a KEY or GENERAL attribute of the product's category.",
                f"attributes.{i}.attributeId",
            )
            continue
        if attribute_id in given:
            v.add(
                ErrorCode.INVALID_ATTRIBUTE, "Attribute given twice.", f"attributes.{i}.attributeId"
            )
        given.add(attribute_id)
        for value in values:
            _check_value(v, attribute, value, f"attributes.{i}.values")
    for attribute in by_id.values():
        if attribute.required and not any(
            a == attribute.id and vals for a, vals in draft.attributes
        ):
            v.add(
                ErrorCode.MISSING_REQUIRED_ATTRIBUTE,
                f"'{attribute.name}' ({attribute.kind}) is required.",
                "attributes",
            )


async def _check_skus(
    session: AsyncSession,
    v: Violations,
    draft: ProductDraft,
    attributes: list[Attribute],
    existing: Product | None,
) -> list[_CleanSku]:
    if not draft.skus:
        v.add(ErrorCode.NO_SKUS, "A product needs at least one SKU.", "skus")
    if len(draft.skus) > MAX_SKUS:
        v.add(ErrorCode.INVALID_INPUT, f"At most {MAX_SKUS} SKUs.", "skus")
    sales = [a for a in attributes if a.kind == AttributeKind.SALES]
    clean: list[_CleanSku] = []
    seen_keys: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for i, sku in enumerate(draft.skus):
        c = _check_sku(v, sku, sales, f"skus.{i}")
        if c is None:
            continue
        if c.spec_key in seen_keys:
            v.add(
                ErrorCode.DUPLICATE_SKU_SPEC,
                f"SKUs {seen_keys[c.spec_key]} and {i} have the same specs ({c.spec_text}).",
                f"skus.{i}.specs",
            )
        seen_keys.setdefault(c.spec_key, i)
        if sku.code in seen_codes:
            v.add(
                ErrorCode.DUPLICATE_SKU_CODE, f"Code '{sku.code}' is used twice.", f"skus.{i}.code"
            )
        seen_codes.setdefault(sku.code, i)
        clean.append(c)
    await _check_codes_free(session, v, draft, seen_codes, existing)
    return clean


def _check_sku(v: Violations, sku: SkuDraft, sales: list[Attribute], path: str) -> _CleanSku | None:
    before = len(v.items)
    sku.code = (sku.code or "").strip()
    if not sku.code or len(sku.code) > 64:
        v.add(ErrorCode.INVALID_INPUT, "A SKU code of 1–64 characters is required.", f"{path}.code")
    price = check.money(v, sku.price, f"{path}.price")
    market = check.money(v, sku.market_price, f"{path}.marketPrice", required=False)
    cost = check.money(v, sku.cost_price, f"{path}.costPrice", required=False)
    if price is not None and market is not None and market < price:
        v.add(
            ErrorCode.INVALID_PRICE,
            "The market (strike-through) price is below the price.",
            f"{path}.marketPrice",
        )
    check.non_negative_int(v, sku.weight_grams, f"{path}.weightGrams")
    check.url(v, sku.image_url, f"{path}.imageUrl")
    given = dict(sku.specs)
    wanted = {a.id for a in sales}
    if len(given) != len(sku.specs) or set(given) != wanted:
        names = ", ".join(a.name for a in sales) or "none"
        v.add(
            ErrorCode.SKU_SPEC_MISMATCH,
            f"Specs must give exactly one value for each SALES attribute ({names}).",
            f"{path}.specs",
        )
    else:
        for attribute in sales:
            _check_value(v, attribute, given[attribute.id], f"{path}.specs")
    if len(v.items) > before or price is None:
        return None
    specs: list[dict[str, Any]] = [
        {"attributeId": a.id, "name": a.name, "value": given[a.id].strip()} for a in sales
    ]
    spec_key = ";".join(f"{s['attributeId']}={s['value']}" for s in specs)
    # Each value fits its 200 characters, but several joined may not fit their columns.
    if len(spec_key) > MAX_SPEC_TEXT:
        v.add(
            ErrorCode.INVALID_ATTRIBUTE_VALUE,
            f"The specs together must stay within {MAX_SPEC_TEXT} characters.",
            f"{path}.specs",
        )
        return None
    return _CleanSku(
        draft=sku,
        specs=specs,
        spec_key=spec_key,
        spec_text=" ".join(s["value"] for s in specs),
        price=price,
        market_price=market,
        cost_price=cost,
    )


async def _check_codes_free(
    session: AsyncSession,
    v: Violations,
    draft: ProductDraft,
    codes: dict[str, int],
    existing: Product | None,
) -> None:
    if not codes:
        return
    stmt = select(Sku.code, Sku.id).where(
        Sku.merchant_id == draft.merchant_id, Sku.code.in_(list(codes))
    )
    if existing is not None:
        stmt = stmt.where(Sku.product_id != existing.id)
    for code, _ in (await session.execute(stmt)).all():
        v.add(
            ErrorCode.DUPLICATE_SKU_CODE,
            f"Code '{code}' is already used by another product of this merchant.",
            f"skus.{codes[code]}.code",
        )


async def _write(
    session: AsyncSession,
    product: Product,
    draft: ProductDraft,
    skus: list[_CleanSku],
    existing_skus: list[Sku],
) -> None:
    product.title, product.subtitle = draft.title, draft.subtitle
    product.brand_id, product.category_id = draft.brand_id, draft.category_id
    product.shipping_template_id = draft.shipping_template_id
    product.tags = draft.tags
    product.images = [{"url": u, "alt": a} for u, a in draft.images]
    product.description_mobile_html = draft.description_mobile_html
    product.description_pc_html = draft.description_pc_html
    product.after_sales = draft.after_sales
    product.red_packets_usable = draft.red_packets_usable
    cap = draft.red_packet_cap  # checked in _validate
    product.red_packet_cap = None if cap is None else to_minor(cap)
    product.price_min = min(s.price for s in skus)
    product.price_max = max(s.price for s in skus)
    await session.flush()
    saved = await _write_skus(session, product, skus, existing_skus)
    await _index_attribute_values(session, product, draft, saved)
    await session.flush()


async def _write_skus(
    session: AsyncSession, product: Product, skus: list[_CleanSku], existing: list[Sku]
) -> list[Sku]:
    by_id = {s.id: s for s in existing}
    by_key = {s.spec_key: s for s in existing}
    kept: set[int] = set()
    original_codes = {s.id: s.code for s in existing}
    # Free the codes/spec keys of SKUs about to be disabled or changed, before reuse.
    for sku in existing:
        sku.enabled = False
        sku.spec_key, sku.code = f"~{sku.id}", f"~{sku.id}"
    await session.flush()
    saved: list[Sku] = []
    for position, c in enumerate(skus):
        row = by_id.get(c.draft.id) if c.draft.id is not None else by_key.get(c.spec_key)
        if row is None or row.id in kept:
            row = Sku(product_id=product.id, merchant_id=product.merchant_id)
            session.add(row)
        else:
            kept.add(row.id)
        row.code, row.barcode, row.image_url = c.draft.code, c.draft.barcode, c.draft.image_url
        row.price, row.market_price, row.cost_price = c.price, c.market_price, c.cost_price
        row.weight_grams = c.draft.weight_grams
        row.transport_class = c.draft.transport_class
        row.specs, row.spec_key, row.spec_text = c.specs, c.spec_key, c.spec_text
        row.enabled, row.position = True, position
        saved.append(row)
    for sku in existing:
        if sku.id not in kept:
            sku.code = f"~{sku.id}:{original_codes[sku.id]}"[:64]
    await session.flush()
    return saved


async def _index_attribute_values(
    session: AsyncSession, product: Product, draft: ProductDraft, skus: list[Sku]
) -> None:
    await session.execute(
        delete(ProductAttributeValue).where(ProductAttributeValue.product_id == product.id)
    )
    rows: dict[tuple[int, str], int] = {}
    for attribute_id, values in draft.attributes:
        for value in values:
            rows.setdefault((attribute_id, value.strip()), len(rows))
    for sku in skus:
        for spec in sku.specs:
            rows.setdefault((spec["attributeId"], spec["value"]), len(rows))
    session.add_all(
        ProductAttributeValue(product_id=product.id, attribute_id=a, value=val, position=pos)
        for (a, val), pos in rows.items()
    )


# --- listing lifecycle ---------------------------------------------------------------------------


async def list_product(
    session: AsyncSession,
    product_id: int,
    now: datetime,
    list_at: datetime | None = None,
    delist_at: datetime | None = None,
) -> Product:
    product = await get_or_fail(session, Product, product_id, "id")
    status = effective_status(product, now)
    if status == EffectiveStatus.LISTED and list_at is None and delist_at is None:
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION, "The product is already listed.", "id"
        )
    starts = list_at or now
    if delist_at is not None and delist_at <= max(starts, now):
        raise DomainError(
            ErrorCode.INVALID_SCHEDULE,
            "delistAt must be after listAt and in the future.",
            "delistAt",
        )
    enabled = await session.scalar(
        select(func.count()).where(Sku.product_id == product.id, Sku.enabled.is_(True))
    )
    if not enabled:
        raise DomainError(ErrorCode.NO_SKUS, "A product needs an enabled SKU to be listed.", "id")
    product.status = ProductStatus.LISTED
    product.list_at = list_at if list_at is not None and list_at > now else None
    product.delist_at = delist_at
    if product.first_listed_at is None:
        product.first_listed_at = starts
    await session.flush()
    return product


async def delist_product(session: AsyncSession, product_id: int, now: datetime) -> Product:
    product = await get_or_fail(session, Product, product_id, "id")
    status = effective_status(product, now)
    if status in (EffectiveStatus.DRAFT, EffectiveStatus.DELISTED):
        raise DomainError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"A {status.value} product cannot be delisted.",
            "id",
        )
    product.status = ProductStatus.DELISTED
    product.list_at = product.delist_at = None
    await session.flush()
    return product


async def delete_product(session: AsyncSession, product_id: int) -> Product:
    """Only a product that was never listed and never stocked can be deleted; anything that
    may sit in carts, orders or the stock ledger is delisted instead."""
    from models.inventory import StockMovement

    product = await get_or_fail(session, Product, product_id, "id")
    sku_ids = list(
        (await session.scalars(select(Sku.id).where(Sku.product_id == product.id))).all()
    )
    stocked = sku_ids and await session.scalar(
        select(func.count()).where(StockMovement.sku_id.in_(sku_ids))
    )
    if product.first_listed_at is not None or stocked:
        raise DomainError(
            ErrorCode.PRODUCT_IN_USE, "This product was listed or stocked; delist it instead.", "id"
        )
    await session.execute(
        delete(ProductAttributeValue).where(ProductAttributeValue.product_id == product.id)
    )
    await session.execute(delete(Sku).where(Sku.product_id == product.id))
    await session.delete(product)
    await session.flush()
    return product
