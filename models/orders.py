"""Checkout and orders (DOMAIN.md §7): one payment per checkout grouping one order per merchant;
order lines are snapshots; shipments per warehouse; after-sales refunds per line and quantity."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import enum_column
from models.base import id_column


class PaymentStatus(StrEnum):
    PENDING = "PENDING"  # waiting for the money
    PAID = "PAID"
    EXPIRED = "EXPIRED"  # not paid in time
    CANCELLED = "CANCELLED"  # the customer or an admin cancelled before payment


class PaymentKind(StrEnum):
    FULL = "FULL"  # everything at checkout
    DEPOSIT = "DEPOSIT"  # presale: the deposit at checkout
    BALANCE = "BALANCE"  # presale: the rest, payable in the balance window


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    AWAITING_BALANCE = "AWAITING_BALANCE"  # presale: deposit paid, the balance not yet (待付尾款)
    PAID = "PAID"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


class RefundStatus(StrEnum):
    REFUND_REQUESTED = "REFUND_REQUESTED"
    REFUNDED = "REFUNDED"
    REJECTED = "REJECTED"


class Payment(NodeMixin, Base):
    """What the customer pays once for every order of a checkout. The idempotency key is
    unique per customer: the same key returns this payment, never a second one."""

    __tablename__ = "payments"
    node_type = "Payment"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_payments_status_expires", "status", "expires_at"),
        # one provider transaction pays one payment, never several
        Index("uq_payments_provider_transaction", "provider", "transaction_id", unique=True),
    )

    id: Mapped[int] = id_column()
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    request_hash: Mapped[str] = mapped_column(String(64))  # the checkout input the key covers
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    kind: Mapped[PaymentKind] = mapped_column(
        enum_column(PaymentKind, "payment_kind"), default=PaymentKind.FULL
    )
    # a balance payment: the deposit payment whose reservation and coupons it settles
    deposit_payment_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("payments.id"))
    opens_at: Mapped[datetime | None] = mapped_column()  # a balance: payable from then
    # A sub-order's own payment (拆单, paid alone): the one order it covers and the checkout's
    # combined payment, whose reservation and platform coupon it settles. No FK to orders:
    # orders point at payments already, and a cycle would need deferred constraints.
    order_id: Mapped[int | None] = mapped_column(ID_TYPE, index=True)
    combined_payment_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("payments.id"))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    provider: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(100))
    # Money that arrived after the payment was cancelled/expired: kept, to be paid back.
    needs_refund: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def reservation_owner(self) -> str:
        """Stock and the platform coupon are held in the name of the checkout's first
        payment (for a presale, the deposit)."""
        return f"payment:{self.deposit_payment_id or self.combined_payment_id or self.id}"


class Order(NodeMixin, Base):
    __tablename__ = "orders"
    node_type = "Order"
    __table_args__ = (
        Index("ix_orders_customer", "customer_id", "created_at"),
        Index("ix_orders_merchant", "merchant_id", "created_at"),
        Index("ix_orders_paid_at", "paid_at"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= total", name="refund_within_total"
        ),
    )

    id: Mapped[int] = id_column()
    number: Mapped[str] = mapped_column(String(32), unique=True)
    payment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("payments.id"), index=True)
    # presale: the deposit paid through `payment_id`, the rest through the balance payment
    deposit_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_payment_id: Mapped[int | None] = mapped_column(
        ID_TYPE, ForeignKey("payments.id"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "order_status"), default=OrderStatus.PENDING_PAYMENT
    )
    channel: Mapped[str] = mapped_column(String(20))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    promotion_discount: Mapped[int] = mapped_column(BigInteger)
    coupon_discount: Mapped[int] = mapped_column(BigInteger)
    shipping: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    # points (积分) spent on this order and the discount they gave (part of the lines'
    # discounts; total = subtotal - promotion - coupon - points + shipping)
    points_used: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    points_discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # what red packets (红包) paid, likewise platform-funded and part of the lines' discounts
    red_packet_discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    address: Mapped[dict[str, Any]] = mapped_column(JSON)  # snapshot at checkout
    note: Mapped[str | None] = mapped_column(String(500))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    # Set when the order was paid on its own: its units moved out of the checkout's shared
    # reservation into one of its own, so its siblings' holds can still expire.
    own_reservation: Mapped[str | None] = mapped_column(String(80))

    @property
    def coupon_owner(self) -> str:
        return f"order:{self.id}"

    @property
    def stock_owner(self) -> str:
        """Whose reservation holds this order's units."""
        return self.own_reservation or f"payment:{self.payment_id}"

    @property
    def payment_number(self) -> str:
        """The out-trade-no the order is paid under when paid on its own."""
        return f"P{self.number}"


class OrderLine(NodeMixin, Base):
    """A snapshot: later catalog or promotion changes never alter it."""

    __tablename__ = "order_lines"
    node_type = "OrderLine"
    __table_args__ = (
        CheckConstraint(
            "shipped_quantity + released_quantity <= quantity", name="shipped_within_quantity"
        ),
        CheckConstraint("refunded_quantity <= quantity", name="refunded_within_quantity"),
    )

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("products.id"))
    sku_code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    spec_text: Mapped[str] = mapped_column(String(400))
    image_url: Mapped[str | None] = mapped_column(String(500))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    # `discount` split by who funds it (settlement): the merchant, or the platform (owed to
    # the merchant by the platform)
    merchant_discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    platform_discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total: Mapped[int] = mapped_column(BigInteger)  # payable: what a refund pays back from
    # [{source, sourceId, label, amount, funder}] as the pricing function gave them (funder:
    # the funding merchant's id, null for the platform)
    discounts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # {promotion id: units at that promotion's price} for per-customer limits and flash stock
    promotion_units: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What pricing knew of the product when the order was placed — category path, brand,
    # weight, shipping template, red-packet terms (services/orders.py `placed_facts`) — for
    # re-pricing the order as placed when a coupon leaves it. None: a gift, or placed before
    # it was recorded.
    placed_facts: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False)
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    released_quantity: Mapped[int] = mapped_column(Integer, default=0)  # refunded before shipping
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    requested_quantity: Mapped[int] = mapped_column(Integer, default=0)  # in open refunds


class Shipment(NodeMixin, Base):
    __tablename__ = "shipments"
    node_type = "Shipment"

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"))
    carrier: Mapped[str] = mapped_column(String(60))
    tracking_number: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="SHIPPED")  # SHIPPED | DELIVERED
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = id_column()
    shipment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Parcel(Base):
    """A parcel planned when the order is paid (第二次拆单): the units of one warehouse and one
    transport class, within the shipping template's weight/volume limit. Shipping it records
    its shipment (carrier and tracking number)."""

    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("order_id", "number"),)

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the order
    warehouse_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("warehouses.id"))
    transport_class: Mapped[str] = mapped_column(String(20))
    weight_grams: Mapped[int] = mapped_column(BigInteger, default=0)
    volume_cm3: Mapped[int] = mapped_column(BigInteger, default=0)
    shipment_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("shipments.id"))


class ParcelLine(Base):
    __tablename__ = "parcel_lines"

    id: Mapped[int] = id_column()
    parcel_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("parcels.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Refund(NodeMixin, Base):
    __tablename__ = "refunds"
    node_type = "Refund"

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"), index=True)
    status: Mapped[RefundStatus] = mapped_column(
        enum_column(RefundStatus, "refund_status"), default=RefundStatus.REFUND_REQUESTED
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    restocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()


class RefundLine(Base):
    __tablename__ = "refund_lines"

    id: Mapped[int] = id_column()
    refund_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("refunds.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class OrderDiscount(Base):
    """Each promotion and coupon an order got, with its amount: coupon and promotion
    statistics are plain sums over these rows."""

    __tablename__ = "order_discounts"
    __table_args__ = (
        Index("ix_order_discounts_source", "source", "source_id"),
        Index("ix_order_discounts_template", "coupon_template_id"),
    )

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # PROMOTION | COUPON
    source_id: Mapped[int] = mapped_column(ID_TYPE)  # promotion id or coupon id
    coupon_template_id: Mapped[int | None] = mapped_column(ID_TYPE)
    amount: Mapped[int] = mapped_column(BigInteger)
