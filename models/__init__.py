"""SQLAlchemy 2.0 typed models, one module per domain. Import them all so metadata is complete."""

from core import changes
from models.accounts import Address, Customer, LoginThrottle, RefreshToken, Role, Staff, StaffRole
from models.audit import AuditEntry
from models.base import Base
from models.cart import Cart, CartLine
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
from models.cms import Page, PageModule, PageVersion
from models.coupons import Coupon, CouponClaimCount, CouponCode, CouponTemplate
from models.inventory import (
    Reservation,
    ReservationLine,
    StockLevel,
    StockMovement,
    Warehouse,
)
from models.members import MemberAccount, MemberLevel, PointsEntry
from models.operations import PersistedQuery
from models.order_events import OrderEvent, OrderEventKind
from models.orders import (
    Order,
    OrderDiscount,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    Shipment,
    ShipmentLine,
)
from models.payments import PaymentTrade, ProviderRefund
from models.promotions import Promotion, PromotionScope
from models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
    Stocktake,
    StocktakeLine,
    Supplier,
)
from models.red_packets import RedPacket, RedPacketGrant, RedPacketSpend

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
