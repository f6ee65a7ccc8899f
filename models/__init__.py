"""SQLAlchemy 2.0 typed models, one module per domain. Import them all so metadata is complete."""

from core import changes
from models.accounts import Address
from models.accounts import Customer
from models.accounts import LoginThrottle
from models.accounts import RefreshToken
from models.accounts import Role
from models.accounts import Staff
from models.accounts import StaffRole
from models.audit import AuditEntry
from models.base import Base
from models.cart import Cart
from models.cart import CartLine
from models.catalog import Attribute
from models.catalog import Brand
from models.catalog import Category
from models.catalog import DisplayCategory
from models.catalog import DisplayCategoryBrand
from models.catalog import DisplayCategoryCategory
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ProductAttributeValue
from models.catalog import ShippingTemplate
from models.catalog import Sku
from models.cms import Page
from models.cms import PageModule
from models.cms import PageVersion
from models.coupons import Coupon
from models.coupons import CouponClaimCount
from models.coupons import CouponCode
from models.coupons import CouponTemplate
from models.inventory import Reservation
from models.inventory import ReservationLine
from models.inventory import StockLevel
from models.inventory import StockMovement
from models.inventory import Warehouse
from models.members import MemberAccount
from models.members import MemberLevel
from models.members import PointsEntry
from models.operations import PersistedQuery
from models.order_events import OrderEvent
from models.order_events import OrderEventKind
from models.orders import Order
from models.orders import OrderDiscount
from models.orders import OrderLine
from models.orders import Payment
from models.orders import Refund
from models.orders import RefundLine
from models.orders import Shipment
from models.orders import ShipmentLine
from models.payments import PaymentTrade
from models.payments import ProviderRefund
from models.promotions import Promotion
from models.promotions import PromotionScope
from models.purchasing import PurchaseOrder
from models.purchasing import PurchaseOrderLine
from models.purchasing import PurchaseReceipt
from models.purchasing import PurchaseReceiptLine
from models.purchasing import Stocktake
from models.purchasing import StocktakeLine
from models.purchasing import Supplier
from models.red_packets import RedPacket
from models.red_packets import RedPacketGrant
from models.red_packets import RedPacketSpend

__all__ = [
    "Address",
    "Attribute",
    "AuditEntry",
    "Base",
    "Brand",
    "Cart",
    "CartLine",
    "Category",
    "Coupon",
    "CouponClaimCount",
    "CouponCode",
    "CouponTemplate",
    "Customer",
    "DisplayCategory",
    "DisplayCategoryBrand",
    "DisplayCategoryCategory",
    "LoginThrottle",
    "MemberAccount",
    "MemberLevel",
    "Merchant",
    "Order",
    "OrderDiscount",
    "OrderEvent",
    "OrderEventKind",
    "OrderLine",
    "Page",
    "PageModule",
    "PageVersion",
    "Payment",
    "PaymentTrade",
    "PersistedQuery",
    "PointsEntry",
    "Product",
    "ProductAttributeValue",
    "Promotion",
    "PromotionScope",
    "ProviderRefund",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseReceipt",
    "PurchaseReceiptLine",
    "RedPacket",
    "RedPacketGrant",
    "RedPacketSpend",
    "RefreshToken",
    "Refund",
    "RefundLine",
    "Reservation",
    "ReservationLine",
    "Role",
    "Shipment",
    "ShipmentLine",
    "ShippingTemplate",
    "Sku",
    "Staff",
    "StaffRole",
    "StockLevel",
    "StockMovement",
    "Stocktake",
    "StocktakeLine",
    "Supplier",
    "Warehouse",
]

# The change feed (core.changes) learns which tables public answers may read.
changes.declare_tables(Base.metadata.tables)
