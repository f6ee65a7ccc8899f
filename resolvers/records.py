"""The model classes schema/ types wrap (`is_type_of` checks) and read column limits from
(input hygiene), re-exported: schema/ reaches models/ only through resolvers/."""

from models import Address
from models import Attribute
from models import AuditEntry
from models import Brand
from models import Cart
from models import Category
from models import Coupon
from models import CouponTemplate
from models import Customer
from models import DisplayCategory
from models import MemberAccount
from models import MemberLevel
from models import Merchant
from models import Order
from models import OrderLine
from models import Page
from models import Payment
from models import Product
from models import ProductAttributeValue
from models import Promotion
from models import RedPacket
from models import Refund
from models import Role
from models import Shipment
from models import ShippingTemplate
from models import Sku
from models import Staff
from models import StockMovement
from models import Warehouse
from models.catalog import AnyDisplayCategory
from models.catalog import AnySku
from models.catalog import DisplayNode
from models.catalog import SkuView

__all__ = [
    "Address",
    "AnyDisplayCategory",
    "AnySku",
    "Attribute",
    "AuditEntry",
    "Brand",
    "Cart",
    "Category",
    "Coupon",
    "CouponTemplate",
    "Customer",
    "DisplayCategory",
    "DisplayNode",
    "MemberAccount",
    "MemberLevel",
    "Merchant",
    "Order",
    "OrderLine",
    "Page",
    "Payment",
    "Product",
    "ProductAttributeValue",
    "Promotion",
    "RedPacket",
    "Refund",
    "Role",
    "Shipment",
    "ShippingTemplate",
    "Sku",
    "SkuView",
    "Staff",
    "StockMovement",
    "Warehouse",
]
