"""SQLAlchemy 2.0 typed models, one module per domain. Import them all so metadata is complete."""

from models.base import Base
from models.catalog import (
    Attribute,
    Brand,
    Category,
    DisplayCategory,
    DisplayCategoryBrand,
    DisplayCategoryCategory,
    Merchant,
    Product,
    ProductAttributeValue,
    ShippingTemplate,
    Sku,
)
from models.inventory import StockLevel, StockMovement, Warehouse

__all__ = [
    "Attribute",
    "Base",
    "Brand",
    "Category",
    "DisplayCategory",
    "DisplayCategoryBrand",
    "DisplayCategoryCategory",
    "Merchant",
    "Product",
    "ProductAttributeValue",
    "ShippingTemplate",
    "Sku",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
