"""Catalog: merchants, brands, backend and display categories, attributes, products (SPU), SKUs."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from typing import ClassVar
from typing import NamedTuple

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from core.ids import encode_id
from core.money import Money
from core.money import money
from core.values import Image
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import enum_column
from models.base import id_column


class AttributeKind(StrEnum):
    KEY = "KEY"
    SALES = "SALES"
    GENERAL = "GENERAL"


class AttributeValueType(StrEnum):
    OPTIONS = "OPTIONS"
    TEXT = "TEXT"
    NUMBER = "NUMBER"


class ProductStatus(StrEnum):
    DRAFT = "DRAFT"
    LISTED = "LISTED"
    DELISTED = "DELISTED"


class ShippingKind(StrEnum):
    FREE = "FREE"
    FLAT = "FLAT"
    BY_PIECE = "BY_PIECE"
    BY_WEIGHT = "BY_WEIGHT"


def path_ids(path: str | None) -> tuple[int, ...]:
    """The ids in a materialized path such as "1/5/12/"."""
    return tuple(int(part) for part in (path or "").split("/") if part)


class Merchant(NodeMixin, Base):
    __tablename__ = "merchants"
    node_type = "Merchant"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    self_operated: Mapped[bool] = mapped_column(Boolean, default=False)
    # the platform's commission on the merchant's sales, in basis points (500 = 5%)
    commission_rate: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Brand(NodeMixin, Base):
    __tablename__ = "brands"
    node_type = "Brand"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    logo_url: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Category(NodeMixin, Base):
    """Backend category (基础类目). `path` is the materialized path of ids, e.g. "1/5/12/"."""

    __tablename__ = "categories"
    node_type = "Category"
    __table_args__ = (
        UniqueConstraint("parent_id", "name"),
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        Index("ix_categories_path", "path"),
    )

    id: Mapped[int] = id_column()
    parent_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def path_ids(self) -> tuple[int, ...]:
        """Ids from the root down to this category."""
        return path_ids(self.path)

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent."""
        return list(self.path_ids[:-1])


class Attribute(NodeMixin, Base):
    __tablename__ = "attributes"
    node_type = "Attribute"
    __table_args__ = (UniqueConstraint("category_id", "name"),)

    id: Mapped[int] = id_column()
    category_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[AttributeKind] = mapped_column(enum_column(AttributeKind, "attribute_kind"))
    value_type: Mapped[AttributeValueType] = mapped_column(
        enum_column(AttributeValueType, "attribute_value_type")
    )
    options: Mapped[list[Any]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    filterable: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_custom_values: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DisplayCategory(NodeMixin, Base):
    """Front-end navigation category (前台类目); `channels` empty means every channel."""

    __tablename__ = "display_categories"
    node_type = "DisplayCategory"

    id: Mapped[int] = id_column()
    parent_id: Mapped[int | None] = mapped_column(
        ID_TYPE, ForeignKey("display_categories.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    icon_url: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=1)
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True, slots=True, eq=False)
class DisplayNode:
    """A display category as answers show it: the columns of its row, immutable, so one
    snapshot of the tree is shared by every request (`services.catalog.display_snapshot`)."""

    node_type: ClassVar[str] = "DisplayCategory"

    id: int
    parent_id: int | None
    name: str
    icon_url: str | None
    position: int
    level: int
    channels: tuple[str, ...]
    created_at: datetime

    @property
    def global_id(self) -> str:
        return encode_id("DisplayCategory", self.id)


# What answers read of a display category: a row being written, or a snapshot's view.
AnyDisplayCategory = DisplayCategory | DisplayNode


def _link(table: str) -> Mapped[int]:
    """One end of a display category's link: part of the link's key, and the link goes
    when the row it names does."""
    return mapped_column(ID_TYPE, ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True)


class DisplayCategoryCategory(Base):
    __tablename__ = "display_category_categories"

    display_category_id: Mapped[int] = _link("display_categories")
    category_id: Mapped[int] = _link("categories")


class DisplayCategoryBrand(Base):
    __tablename__ = "display_category_brands"

    display_category_id: Mapped[int] = _link("display_categories")
    brand_id: Mapped[int] = _link("brands")


class TransportClass(StrEnum):
    """How a SKU must travel (第二次拆单): classes other than GENERAL never share a parcel with
    another class."""

    GENERAL = "GENERAL"
    LIQUID = "LIQUID"
    BATTERY = "BATTERY"
    COLD_CHAIN = "COLD_CHAIN"


class ShippingTemplate(NodeMixin, Base):
    __tablename__ = "shipping_templates"
    node_type = "ShippingTemplate"

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[ShippingKind] = mapped_column(enum_column(ShippingKind, "shipping_kind"))
    first_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    additional_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    flat_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    free_over: Mapped[int | None] = mapped_column(BigInteger)
    # per-parcel limits when an order is split into parcels; null = no limit
    max_parcel_weight_grams: Mapped[int | None] = mapped_column(Integer)
    max_parcel_volume_cm3: Mapped[int | None] = mapped_column(Integer)


class Product(NodeMixin, Base):
    """SPU. price_min/price_max are derived from enabled SKUs, kept for sorting and filtering."""

    __tablename__ = "products"
    node_type = "Product"
    __table_args__ = (
        Index("ix_products_listing", "status", "category_id"),
        Index("ix_products_brand", "brand_id"),
        Index("ix_products_merchant", "merchant_id"),
    )

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    brand_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("brands.id"))
    category_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("categories.id"))
    shipping_template_id: Mapped[int | None] = mapped_column(
        ID_TYPE, ForeignKey("shipping_templates.id")
    )
    title: Mapped[str] = mapped_column(String(200))
    subtitle: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[ProductStatus] = mapped_column(
        enum_column(ProductStatus, "product_status"), default=ProductStatus.DRAFT
    )
    list_at: Mapped[datetime | None] = mapped_column()
    delist_at: Mapped[datetime | None] = mapped_column()
    first_listed_at: Mapped[datetime | None] = mapped_column()
    images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description_mobile_html: Mapped[str | None] = mapped_column(Text)
    description_pc_html: Mapped[str | None] = mapped_column(Text)
    after_sales: Mapped[str | None] = mapped_column(Text)
    price_min: Mapped[int] = mapped_column(BigInteger, default=0)
    price_max: Mapped[int] = mapped_column(BigInteger, default=0)
    sales_count: Mapped[int] = mapped_column(Integer, default=0)
    # red packets (红包, platform-funded) may pay for it at checkout, at most this per unit
    # (minor units; null: up to the line's amount)
    red_packets_usable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    red_packet_cap: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def thumbnail(self) -> Image | None:
        first = self.images[0] if self.images else None
        return Image(first["url"], first.get("alt")) if first else None

    def is_listed_at(self, at: datetime) -> bool:
        return (
            self.status == ProductStatus.LISTED
            and (self.list_at is None or self.list_at <= at)
            and (self.delist_at is None or at < self.delist_at)
        )


class ProductAttributeValue(Base):
    """Search index of a product's attribute values: KEY/GENERAL values plus its SKUs'
    SALES values."""

    __tablename__ = "product_attribute_values"
    __table_args__ = (Index("ix_pav_attribute_value", "attribute_id", "value"),)

    product_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    attribute_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("attributes.id"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


def _price_money(sku: Any) -> Money:
    """A SKU's price as Money (`Sku` and `SkuView` alike)."""
    return money(sku.price)  # type: ignore[return-value]


def _market_price_money(sku: Any) -> Money | None:
    return money(sku.market_price)


class Sku(NodeMixin, Base):
    """A sellable variant. `specs` = [{attributeId, name, value}] in attribute order;
    `spec_key` is the canonical combination that must be unique within the product."""

    __tablename__ = "skus"
    node_type = "Sku"
    __table_args__ = (
        UniqueConstraint("product_id", "spec_key"),
        UniqueConstraint("merchant_id", "code"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = id_column()
    product_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("products.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    code: Mapped[str] = mapped_column(String(64))
    barcode: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger)
    market_price: Mapped[int | None] = mapped_column(BigInteger)
    cost_price: Mapped[int | None] = mapped_column(BigInteger)
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    length_mm: Mapped[int | None] = mapped_column(Integer)
    width_mm: Mapped[int | None] = mapped_column(Integer)
    height_mm: Mapped[int | None] = mapped_column(Integer)
    transport_class: Mapped[str] = mapped_column(
        String(20), default=TransportClass.GENERAL, server_default=TransportClass.GENERAL.value
    )
    image_url: Mapped[str | None] = mapped_column(String(500))
    specs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    spec_key: Mapped[str] = mapped_column(String(400), default="")
    spec_text: Mapped[str] = mapped_column(String(400), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    price_money = property(_price_money)
    market_price_money = property(_market_price_money)


class SkuView(NamedTuple):
    """A SKU as an answer shows it: every column of its row as plain values (no ORM state),
    with its sellable number; immutable, and made as cheaply as a tuple. Loaders read SKUs
    this way (`resolvers/loaders.py`): hydrating ORM rows and decoding every `specs` through
    the driver's JSON codec was a quarter of a listing page. Answers only — what is written
    goes through `Sku`."""

    id: int
    product_id: int
    merchant_id: int
    code: str
    barcode: str | None
    price: int
    market_price: int | None
    cost_price: int | None
    weight_grams: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    transport_class: str
    image_url: str | None
    specs: list[Any]
    spec_key: str
    spec_text: str
    enabled: bool
    position: int
    created_at: datetime
    sellable: int

    @property
    def global_id(self) -> str:
        return encode_id("Sku", self.id)

    @property  # a NamedTuple body holds fields and methods only
    def price_money(self) -> Money:
        return _price_money(self)

    @property
    def market_price_money(self) -> Money | None:
        return _market_price_money(self)


# What answers read of a SKU: a row being written, or a view read for an answer.
AnySku = Sku | SkuView
