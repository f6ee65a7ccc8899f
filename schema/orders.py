"""Checkout and orders API (storefront.graphql CheckoutPreview … RefundRequest, admin.graphql
AdminOrders … RefundReject): the preview, placing the checkout, paying, the customer's and the
admin's orders, shipments and refunds."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from core.ids import encode_id
from resolvers import orders as ro
from resolvers import records as m
from resolvers import red_packets as rrp
from resolvers.catalog import TransportClass
from resolvers.common import MutationResult
from resolvers.common import PageArgs
from resolvers.context import Permission
from resolvers.orders import OrderStatus as OrderStatusEnum
from resolvers.orders import PaymentKind as PaymentKindEnum
from resolvers.orders import PaymentStatus as PaymentStatusEnum
from resolvers.orders import RefundStatus as RefundStatusEnum
from schema.accounts import PostalAddress
from schema.cart import CartCost
from schema.cart import CartDiscount
from schema.cart import discount_of
from schema.common import Connection
from schema.common import Money
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import describe_values
from schema.common import money
from schema.common import said
from schema.common import user_errors
from schema.common import user_errors_field
from schema.members import CheckoutPoints
from schema.members import checkout_points
from schema.payloads import payload
from schema.red_packets import CheckoutRedPackets
from schema.red_packets import checkout_red_packets

if TYPE_CHECKING:
    from schema.accounts import Customer
    from schema.catalog import Merchant
    from schema.catalog import Sku
    from schema.inventory import Warehouse

MerchantRef = Annotated["Merchant", strawberry.lazy("schema.catalog")]
SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
CustomerRef = Annotated["Customer", strawberry.lazy("schema.accounts")]
WarehouseRef = Annotated["Warehouse", strawberry.lazy("schema.inventory")]
MANAGE_ORDERS = Permission.MANAGE_ORDERS

OrderStatus = OrderStatusEnum
strawberry.enum(OrderStatus, description="Where an order is in its lifecycle.")
PaymentStatus = PaymentStatusEnum
strawberry.enum(PaymentStatus, description="Where a payment is.")
RefundStatus = RefundStatusEnum
strawberry.enum(RefundStatus, description="Where a refund request is.")
PaymentKind = PaymentKindEnum
strawberry.enum(PaymentKind, description="What a payment pays for.")
describe_values(
    OrderStatus,
    {
        "PENDING_PAYMENT": (
            "Placed, waiting for payment; stock and coupons are held until it expires."
        ),
        "AWAITING_BALANCE": (
            "A presale whose deposit is paid, waiting for the balance (待付尾款) in the window "
            "`balanceStartsAt`..`balanceEndsAt`; unpaid by then, it is cancelled and the "
            "deposit forfeited."
        ),
        "PAID": "Paid, nothing shipped yet.",
        "PARTIALLY_SHIPPED": "Some units shipped, others still to ship.",
        "SHIPPED": "Every unit shipped.",
        "COMPLETED": "Received: confirmed by the customer, or automatically some days after "
        "shipping.",
        "CANCELLED": "Cancelled by the customer, an admin or the payment timeout.",
        "REFUNDED": "Fully refunded.",
    },
)
describe_values(
    PaymentStatus,
    {
        "PENDING": "Waiting for the money.",
        "PAID": "Confirmed by the payment provider.",
        "EXPIRED": "Not paid in time.",
        "CANCELLED": "Cancelled by the customer or an admin before payment.",
    },
)
describe_values(
    RefundStatus,
    {
        "REFUND_REQUESTED": "Requested by the customer, waiting for a staff decision.",
        "REFUNDED": "Approved and refunded.",
        "REJECTED": "Rejected by staff.",
    },
)
describe_values(
    PaymentKind,
    {
        "FULL": "The whole amount, at checkout.",
        "DEPOSIT": "A presale deposit, at checkout.",
        "BALANCE": "The rest of a presale, payable in the balance window.",
    },
)


@strawberry.enum(description="A provider that confirms by mutation.")
class PaymentProvider(Enum):
    TEST = strawberry.enum_value("TEST", description="The test provider (not in production).")


def _discounts(items: list[dict[str, Any]]) -> list[CartDiscount]:
    """An order line's stored discounts (snapshot dicts)."""
    return [discount_of(d["amount"], d["label"], d["source"], d["sourceId"]) for d in items]


# --- checkout ------------------------------------------------------------------------------------


@strawberry.input(
    description="couponIds omitted = the recommended set; [] = none. "
    "expectedTotal: the total the shopper saw; a different total refuses."
)
class CheckoutInput:
    cart_id: strawberry.ID = strawberry.field(
        description="The cart's `id` (its unguessable token); its selected available lines are "
        "checked out."
    )
    address_id: strawberry.ID = strawberry.field(
        description="Relay global id of one of the customer's addresses."
    )
    coupon_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Relay global ids of the customer's coupons to use."
    )
    expected_total: Decimal | None = strawberry.field(
        default=None, description="The total the shopper saw, in yuan (Decimal string)."
    )
    note: str | None = strawberry.field(default=None, description="A note for the merchant.")
    points_to_use: int | None = strawberry.field(
        default=None,
        description="Points (积分) to pay with, after promotions and coupons (never shipping): "
        "at most the balance (else INSUFFICIENT_POINTS); more than the per-order cap uses the "
        "cap (see CheckoutPreview.points).",
    )
    red_packets_to_use: Decimal | None = strawberry.field(
        default=None,
        description="Red packet (红包) balance to pay with, in yuan (Decimal string), after "
        "promotions and coupons and before points (never shipping): at most the balance (else "
        "INSUFFICIENT_RED_PACKETS); more than the lines take uses what they take (see "
        "CheckoutPreview.redPackets).",
    )


@strawberry.type(description="A line of a checkout preview.")
class CheckoutLine:
    sku: SkuRef = strawberry.field(description="The SKU.")
    quantity: int = strawberry.field(description="Units.")
    unit_price: Money = strawberry.field(description="Base unit price (Money in yuan).")
    subtotal: Money = strawberry.field(description="Base amount (unit price × quantity).")
    discounts: list[CartDiscount] = strawberry.field(description="Each discount with its source.")
    total: Money = strawberry.field(description="What the line costs after discounts.")


@strawberry.type(
    description="The order one merchant would get from this checkout; all Money in yuan."
)
class CheckoutMerchantOrder:
    merchant: MerchantRef = strawberry.field(description="The merchant.")
    lines: list[CheckoutLine] = strawberry.field(description="The merchant's lines.")
    subtotal: Money = strawberry.field(description="Base amount before discounts.")
    promotion_discount: Money = strawberry.field(description="Total promotion discount.")
    coupon_discount: Money = strawberry.field(description="Total coupon discount.")
    shipping: Money = strawberry.field(description="The merchant's shipping fee.")
    total: Money = strawberry.field(description="What the customer pays for this order.")
    points_discount: Money = strawberry.field(
        default=money(0), description="What points pay for in this order."
    )
    red_packet_discount: Money = strawberry.field(
        default=money(0), description="What red packets pay for in this order."
    )


@strawberry.type(description="The checkout as it would be placed now, split per merchant.")
class CheckoutPreview:
    merchant_orders: list[CheckoutMerchantOrder] = strawberry.field(
        description="One order per merchant."
    )
    cost: CartCost | None = strawberry.field(
        description="Totals over all the orders; null when the checkout cannot be priced."
    )
    explanations: list[str] = strawberry.field(description="Human-readable notes on the pricing.")
    coupon_ids: list[strawberry.ID] = strawberry.field(description="The coupons applied.")
    user_errors: list[UserError] = strawberry.field(
        description="Why the checkout could not be placed as it is."
    )
    points: CheckoutPoints | None = strawberry.field(
        default=None,
        description="The member's points: balance, the most usable here, and what is used; "
        "null when the checkout cannot be priced.",
    )
    red_packets: CheckoutRedPackets | None = strawberry.field(
        default=None,
        description="The customer's red packets: balance, the most usable here, and what is "
        "used; null when the checkout cannot be priced.",
    )


async def _preview(info: Info, quote: Any) -> list[CheckoutMerchantOrder]:
    loaders = info.context.loaders
    results = {r.line_id: r for r in quote.result.lines}
    found = []
    for mr in quote.result.merchants:
        lines = []
        for item in quote.lines:
            if item.product.merchant_id != mr.merchant_id:
                continue
            r = results[str(item.line.id)]
            lines.append(
                CheckoutLine(
                    sku=item.sku,
                    quantity=r.quantity,
                    unit_price=money(r.unit_price),
                    subtotal=money(r.subtotal),
                    discounts=[
                        discount_of(d.amount, d.label, d.source, d.source_id) for d in r.discounts
                    ],
                    total=money(r.total),
                )
            )
        found.append(
            CheckoutMerchantOrder(
                merchant=await loaders.merchant.load(mr.merchant_id),
                lines=lines,
                subtotal=money(mr.subtotal),
                promotion_discount=money(mr.promotion_discount),
                coupon_discount=money(mr.coupon_discount),
                shipping=money(mr.shipping),
                total=money(mr.total),
                points_discount=money(getattr(mr, "points_discount", 0)),
                red_packet_discount=money(getattr(mr, "red_packet_discount", 0)),
            )
        )
    return found


def _cost(result: Any) -> CartCost:
    return CartCost(
        subtotal=money(result.subtotal),
        promotion_discount=money(result.promotion_discount),
        coupon_discount=money(result.coupon_discount),
        shipping=money(result.shipping),
        total=money(result.total),
        points_discount=money(ro.points_discount(result)),
        red_packet_discount=money(rrp.discount_of(result)),
    )


# --- orders --------------------------------------------------------------------------------------


@strawberry.type(description="The shipping address as it was at checkout.")
class OrderAddress(PostalAddress):
    pass


@strawberry.type(
    description="A snapshot taken at checkout: later catalog or promotion changes never alter it."
)
class OrderLine(Node):
    title: str = strawberry.field(description="Product title at checkout.")
    spec_text: str = strawberry.field(
        description='SKU spec text at checkout, e.g. "Black / 256GB".'
    )
    image_url: str | None = strawberry.field(description="Image at checkout.")
    quantity: int = strawberry.field(description="Units ordered.")
    is_gift: bool = strawberry.field(
        description="Whether a promotion added it as a gift (price 0)."
    )
    shipped_quantity: int = strawberry.field(description="Units shipped so far.")
    refunded_quantity: int = strawberry.field(description="Units refunded so far.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.OrderLine)

    @strawberry.field(description="The SKU as it is now (null if it was deleted).")
    async def sku(self, info: Info) -> SkuRef | None:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Merchant SKU code.")
    def sku_code(self) -> str:
        return self.sku_code

    @strawberry.field(description="Base unit price at checkout (Money in yuan).")
    def unit_price(self) -> Money:
        return money(self.unit_price)

    @strawberry.field(description="Base amount (unit price × quantity, Money in yuan).")
    def subtotal(self) -> Money:
        return money(self.subtotal)

    @strawberry.field(description="The part of the discount the merchant funds.")
    def merchant_funded_discount(self) -> Money:
        return money(self.merchant_discount)  # type: ignore[attr-defined]

    @strawberry.field(
        description="The part of the discount the platform funds (owed to "
        "the merchant in settlement)."
    )
    def platform_funded_discount(self) -> Money:
        return money(self.platform_discount)  # type: ignore[attr-defined]

    @strawberry.field(description="Each promotion and coupon on this line, with its amount.")
    def discounts(self) -> list[CartDiscount]:
        return _discounts(self.discounts)

    @strawberry.field(description="What the customer paid for the line (refunds pay back from it).")
    def total(self) -> Money:
        return money(self.total)


@strawberry.type(description="A parcel shipped from one warehouse.")
class Shipment(Node):
    carrier: str = strawberry.field(description="The carrier.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")
    status: str = strawberry.field(description="The parcel's status.")
    created_at: datetime = strawberry.field(description="When it was shipped (ISO-8601, UTC).")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Shipment)

    @strawberry.field(description="The warehouse it left.")
    async def warehouse(self, info: Info) -> WarehouseRef:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]


@strawberry.type(description="Units of one order line in a parcel.")
class ParcelLine:
    quantity: int = strawberry.field(description="Units of the line in this parcel.")

    @strawberry.field(description="The order line (its SKU code, title and specs).")
    async def order_line(self, info: Info) -> OrderLine:
        return await info.context.loaders.order_line.load(self.order_line_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The SKU code, as on the order line.")
    async def sku_code(self, info: Info) -> str:
        line = await info.context.loaders.order_line.load(self.order_line_id)  # type: ignore[attr-defined]
        return str(line.sku_code)


@strawberry.type(
    description="A parcel planned at payment (第二次拆单): one warehouse, one transport class, "
    "within the shipping template's weight/volume limit; shipped with its own tracking number."
)
class Parcel:
    number: int = strawberry.field(description="Its number within the order (1, 2, ...).")
    weight_grams: int = strawberry.field(description="Total weight of its units (grams).")
    volume_cm3: int = strawberry.field(description="Total volume of its units (cm³).")

    @strawberry.field(description="How its units must travel.")
    def transport_class(self) -> TransportClass:
        return TransportClass(self.transport_class)

    @strawberry.field(description="The warehouse it leaves from.")
    async def warehouse(self, info: Info) -> WarehouseRef:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The order lines and units it holds.")
    async def lines(self, info: Info) -> list[ParcelLine]:
        return await info.context.loaders.lines_by_parcel.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="Its shipment once shipped; null while PLANNED.")
    async def shipment(self, info: Info) -> Shipment | None:
        if self.shipment_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.shipment.load(self.shipment_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The carrier's tracking number; null while PLANNED.")
    async def tracking_number(self, info: Info) -> str | None:
        if self.shipment_id is None:  # type: ignore[attr-defined]
            return None
        shipment = await info.context.loaders.shipment.load(self.shipment_id)  # type: ignore[attr-defined]
        return str(shipment.tracking_number)

    @strawberry.field(description="PLANNED until shipped, then its shipment's status.")
    async def status(self, info: Info) -> str:
        if self.shipment_id is None:  # type: ignore[attr-defined]
            return "PLANNED"
        shipment = await info.context.loaders.shipment.load(self.shipment_id)  # type: ignore[attr-defined]
        return str(shipment.status)


@strawberry.type(description="An after-sales refund request and its outcome.")
class Refund(Node):
    status: RefundStatus = strawberry.field(description="Where the request is.")
    reason: str = strawberry.field(description="The customer's reason.")
    reject_reason: str | None = strawberry.field(description="Why staff rejected it.")
    restocked: bool = strawberry.field(description="Whether the units went back to stock.")
    created_at: datetime = strawberry.field(description="When it was requested (ISO-8601, UTC).")
    decided_at: datetime | None = strawberry.field(
        description="When it was approved or rejected (ISO-8601, UTC)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Refund)

    @strawberry.field(
        description="The lines' payable share for the units, plus the shipping "
        "fee when nothing was sent."
    )
    def amount(self) -> Money:
        return money(self.amount)


@strawberry.type(
    description="One merchant's (sub-)order; customers see their own, merchant "
    "staff their merchant's."
)
class Order(Node):
    number: str = strawberry.field(description="Human-readable order number.")
    payment_number: str = strawberry.field(
        description="The out-trade-no this sub-order is paid under on its own (orderPaymentStart)."
    )
    status: OrderStatus = strawberry.field(description="Where the order is in its lifecycle.")
    channel: str = strawberry.field(description="The channel it was placed on.")
    note: str | None = strawberry.field(description="The customer's note.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled, if it was.")
    created_at: datetime = strawberry.field(description="When it was placed (ISO-8601, UTC).")
    paid_at: datetime | None = strawberry.field(description="When it was paid (ISO-8601, UTC).")
    shipped_at: datetime | None = strawberry.field(
        description="When it was shipped (ISO-8601, UTC)."
    )
    completed_at: datetime | None = strawberry.field(
        description="When it was completed (ISO-8601, UTC)."
    )
    cancelled_at: datetime | None = strawberry.field(
        description="When it was cancelled (ISO-8601, UTC)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Order)

    @strawberry.field(description="The merchant selling.")
    async def merchant(self, info: Info) -> MerchantRef:
        return await info.context.loaders.merchant.load(self.merchant_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The customer buying.")
    async def customer(self, info: Info) -> CustomerRef:
        return await info.context.loaders.customer.load(self.customer_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The shipping address as it was at checkout.")
    def address(self) -> OrderAddress:
        a = self.address
        return OrderAddress(
            name=a["name"],
            phone=a["phone"],
            province=a["province"],
            city=a["city"],
            district=a.get("district"),
            line1=a["line1"],
            postal_code=a.get("postalCode"),
        )

    @strawberry.field(description="Base amount before discounts (Money in yuan).")
    def subtotal(self) -> Money:
        return money(self.subtotal)

    @strawberry.field(description="Total promotion discount (Money in yuan).")
    def promotion_discount(self) -> Money:
        return money(self.promotion_discount)

    @strawberry.field(description="Total coupon discount (Money in yuan).")
    def coupon_discount(self) -> Money:
        return money(self.coupon_discount)

    @strawberry.field(description="What points paid for (Money in yuan).")
    def points_discount(self) -> Money:
        return money(self.points_discount)

    @strawberry.field(description="What red packets (红包) paid for (Money in yuan).")
    def red_packet_discount(self) -> Money:
        return money(self.red_packet_discount)

    @strawberry.field(description="Points (积分) spent on this order.")
    def points_used(self) -> int:
        return self.points_used

    @strawberry.field(description="Shipping fee (Money in yuan).")
    def shipping(self) -> Money:
        return money(self.shipping)

    @strawberry.field(description="What the customer pays (Money in yuan).")
    def total(self) -> Money:
        return money(self.total)

    @strawberry.field(description="Refunded so far (Money in yuan).")
    def refunded_amount(self) -> Money:
        return money(self.refunded_amount)

    @strawberry.field(description="The lines, as snapshots taken at checkout.")
    async def lines(self, info: Info) -> list[OrderLine]:
        return await info.context.loaders.lines_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="Parcels shipped.")
    async def shipments(self, info: Info) -> list[Shipment]:
        return await info.context.loaders.shipments_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Parcels planned at payment (by warehouse, transport class and the "
        "template's parcel limits), each with its own tracking number once shipped; empty "
        "before payment."
    )
    async def parcels(self, info: Info) -> list[Parcel]:
        return await info.context.loaders.parcels_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="Refund requests and their outcome.")
    async def refunds(self, info: Info) -> list[Refund]:
        return await info.context.loaders.refunds_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="What the customer paid at checkout (a presale: the deposit).")
    async def payment(self, info: Info) -> Payment:
        return await info.context.loaders.payment.load(self.payment_id)  # type: ignore[attr-defined]

    @strawberry.field(description="A presale's balance payment.")
    async def balance_payment(self, info: Info) -> Payment | None:
        if self.balance_payment_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.payment.load(self.balance_payment_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Deposit of a presale order (Money in yuan); zero otherwise.")
    def deposit_amount(self) -> Money:
        return money(self.deposit_amount)

    @strawberry.field(description="A presale: when its balance becomes payable; null otherwise.")
    async def balance_starts_at(self, info: Info) -> datetime | None:
        balance = await _balance_of(info, self)
        return balance.opens_at if balance else None

    @strawberry.field(
        description="A presale: when its balance window closes (unpaid, the order is "
        "cancelled); null otherwise."
    )
    async def balance_ends_at(self, info: Info) -> datetime | None:
        balance = await _balance_of(info, self)
        return balance.expires_at if balance else None


async def _balance_of(info: Info, order: Any) -> Any:
    """A presale order's balance payment row (the window is its opensAt..expiresAt)."""
    if order.balance_payment_id is None:
        return None
    return await info.context.loaders.payment.load(order.balance_payment_id)


@strawberry.type(
    description="A checkout's combined payment for all its orders (合并付款), or "
    "one sub-order's own payment (orderPaymentStart)."
)
class Payment(Node):
    status: PaymentStatus = strawberry.field(description="Where the payment is.")
    expires_at: datetime = strawberry.field(
        description="When an unpaid payment expires and its orders are cancelled (ISO-8601, UTC)."
    )
    paid_at: datetime | None = strawberry.field(description="When it was paid (ISO-8601, UTC).")
    transaction_id: str | None = strawberry.field(description="The provider's transaction id.")
    needs_refund: bool = strawberry.field(
        description="Money arrived after the payment closed: it is kept on record to be paid back."
    )
    kind: PaymentKind = strawberry.field(
        description="DEPOSIT and BALANCE for a presale (定金预售)."
    )
    opens_at: datetime | None = strawberry.field(
        description="A balance: payable from then until expiresAt."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Payment)

    @strawberry.field(description="What is to pay (Money in yuan).")
    def amount_due(self) -> Money:
        return money(self.amount_due)

    @strawberry.field(description="What has been paid (Money in yuan).")
    def amount_paid(self) -> Money:
        return money(self.amount_paid)

    @strawberry.field(description="What has been refunded (Money in yuan).")
    def amount_refunded(self) -> Money:
        return money(self.amount_refunded)

    @strawberry.field(
        description="A sub-order's own payment: the one order it covers "
        "(null for a checkout's combined payment)."
    )
    async def order(self, info: Info) -> Order | None:
        if self.order_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.order.load(self.order_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The orders it pays.")
    async def orders(self, info: Info) -> list[Order]:
        return await ro.payment_orders(info.context, self)  # type: ignore[arg-type,return-value]


# --- inputs and payloads -------------------------------------------------------------------------


@strawberry.input(description="Narrows a customer's orders.")
class OrderFilter:
    status: OrderStatus | None = strawberry.field(
        default=None, description="Only orders in this status."
    )


@strawberry.input(description="Narrows adminOrders; every given condition must hold.")
class AdminOrderFilter:
    status: OrderStatus | None = strawberry.field(
        default=None, description="Only orders in this status."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Relay global id of the merchant (merchant staff: their own only).",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the customer."
    )
    number: str | None = strawberry.field(default=None, description="The order number.")
    created_from: date | None = strawberry.field(
        default=None, description="Only orders created on or after this day (UTC)."
    )
    created_to: date | None = strawberry.field(default=None, description="Inclusive.")


@strawberry.input(description="Units of an order line in a parcel.")
class ShipmentLineInput:
    order_line_id: strawberry.ID = strawberry.field(
        description="Relay global id of the order line."
    )
    quantity: int = strawberry.field(description="Units.")


@strawberry.input(description="lines omitted = everything of the order held in the warehouse.")
class ShipmentInput:
    order_id: strawberry.ID = strawberry.field(description="Relay global id of the order.")
    warehouse_id: strawberry.ID = strawberry.field(description="Relay global id of the warehouse.")
    carrier: str = strawberry.field(description="The carrier.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")
    lines: list[ShipmentLineInput] | None = strawberry.field(
        default=None, description="Order lines and quantities in the parcel."
    )


@strawberry.input(description="Ship one planned parcel of an order.")
class ParcelShipInput:
    order_id: strawberry.ID = strawberry.field(description="Relay global id of the order.")
    parcel_number: int = strawberry.field(description="The parcel's number within the order.")
    carrier: str = strawberry.field(description="The carrier.")
    tracking_number: str = strawberry.field(description="The carrier's tracking number.")


@strawberry.input(description="Units of an order line to refund.")
class RefundLineInput:
    order_line_id: strawberry.ID = strawberry.field(
        description="Relay global id of the order line."
    )
    quantity: int = strawberry.field(description="Units to refund.")


@strawberry.type(description="Result of checkoutComplete.")
class CheckoutCompletePayload:
    payment: Payment | None = strawberry.field(
        description="The combined payment of the orders placed; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of confirming or recording a payment.")
class PaymentConfirmPayload:
    payment: Payment | None = strawberry.field(
        description="The payment after the confirmation; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of orderPaymentStart.")
class OrderPaymentStartPayload:
    payment: Payment | None = strawberry.field(
        description="The sub-order's own payment; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(
        description="The order after the change; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of orderShip.")
class OrderShipPayload:
    shipment: Shipment | None = strawberry.field(
        description="The shipment recorded; null when refused."
    )
    order: Order | None = strawberry.field(description="The order after the shipment.")
    user_errors: list[UserError] = user_errors_field()


def _ship_payload(r: MutationResult[ro.Shipped]) -> OrderShipPayload:
    shipped = r.value
    return OrderShipPayload(
        shipment=shipped.shipment if shipped else None,  # type: ignore[arg-type]
        order=shipped.order if shipped else None,  # type: ignore[arg-type]
        user_errors=user_errors(r.errors),
    )


@strawberry.type(description="Result of a refund mutation.")
class RefundPayload:
    refund: Refund | None = strawberry.field(
        description="The refund after the change; null when refused."
    )
    order: Order | None = strawberry.field(description="The order after the change.")
    user_errors: list[UserError] = user_errors_field()


def _refund_payload(result: Any) -> RefundPayload:
    decided = result.value
    return RefundPayload(
        refund=decided.refund if decided else None,
        order=decided.order if decided else None,
        user_errors=user_errors(result.errors),
    )


# --- root fields ---------------------------------------------------------------------------------


@strawberry.type
class OrdersQuery:
    @strawberry.field(description="Priced exactly as checkoutComplete would place it now.")
    async def checkout_preview(
        self,
        info: Info,
        input: Annotated[
            CheckoutInput,
            strawberry.argument(
                description="What to check out: cart, address, coupons and promotion choices."
            ),
        ],
    ) -> CheckoutPreview:
        result = await ro.preview(info.context, input)
        quote = result.value
        if quote is None:
            return CheckoutPreview(
                merchant_orders=[],
                cost=None,
                explanations=[],
                coupon_ids=[],
                user_errors=user_errors(result.errors),
            )
        return CheckoutPreview(
            merchant_orders=await _preview(info, quote),
            cost=_cost(quote.result),
            explanations=said(info, quote.result.explanations),
            coupon_ids=[
                strawberry.ID(encode_id("Coupon", c)) for c in quote.result.coupons_applied
            ],
            user_errors=[],
            points=await checkout_points(info, quote),
            red_packets=await checkout_red_packets(info, quote),
        )

    @strawberry.field(
        description="An order of the logged-in customer, or of the staff "
        "member's merchant; null for anyone else."
    )
    async def order(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the order.")
        ],
    ) -> Order | None:
        return await ro.order(info.context, id)  # type: ignore[return-value]

    @strawberry.field(
        description="Newest first. Merchant staff see their merchant's only.",
        extensions=[RelayWindow(50)],
    )
    async def admin_orders(
        self,
        info: Info,
        filter: Annotated[
            AdminOrderFilter | None, strawberry.argument(description="Narrow the result.")
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[Order]:
        return await ro.admin_orders(info.context, filter, page)  # type: ignore[return-value]


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(
        description="Places one order per "
        "merchant under one payment. The same idempotencyKey returns the "
        "same payment; reused for a different checkout it is refused."
    )
    async def checkout_complete(
        self,
        info: Info,
        input: Annotated[
            CheckoutInput,
            strawberry.argument(
                description="What to check out: cart, address, coupons, promotion choices and the "
                "expected total."
            ),
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="A client-made key unique per checkout attempt; resend it on retries."
            ),
        ],
    ) -> CheckoutCompletePayload:
        r = await ro.complete(info.context, input, idempotency_key)
        return payload(CheckoutCompletePayload, payment=r)

    @strawberry.mutation(
        description="The TEST provider confirms "
        "by mutation (not in production: PAYMENT_PROVIDER_DISABLED); "
        "idempotent by transactionId; amount must equal amountDue."
    )
    async def payment_confirm(
        self,
        info: Info,
        payment_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the payment.")
        ],
        provider: Annotated[
            PaymentProvider,
            strawberry.argument(description="The provider that took the money (TEST only here)."),
        ],
        transaction_id: Annotated[
            str, strawberry.argument(description="The provider's transaction id.")
        ],
        amount: Annotated[
            Decimal,
            strawberry.argument(
                description="Amount paid in yuan, as a Decimal string; must equal amountDue."
            ),
        ],
    ) -> PaymentConfirmPayload:
        # the name equals the value; mypy sees the enum_value() definition, not a string
        r = await ro.payment_confirm(
            info.context, payment_id, provider.name, transaction_id, amount
        )
        return PaymentConfirmPayload(payment=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation(
        description="A payment for one unpaid sub-order alone (the same "
        "one if asked again). Paying it closes the checkout's combined "
        "payment; the other sub-orders stay payable on their own."
    )
    async def order_payment_start(
        self,
        info: Info,
        order_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the unpaid sub-order."),
        ],
    ) -> OrderPaymentStartPayload:
        r = await ro.payment_start(info.context, order_id)
        return payload(OrderPaymentStartPayload, payment=r)

    @strawberry.mutation(
        description="Customers: "
        "before payment (that sub-order only; its siblings stay payable, a "
        "presale goes as a whole). Staff: also after payment, before "
        "shipment (the order is refunded)."
    )
    async def order_cancel(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the (sub-)order.")
        ],
        reason: Annotated[
            str | None, strawberry.argument(description="Why, for the order's history.")
        ] = None,
    ) -> OrderPayload:
        return payload(OrderPayload, order=await ro.cancel(info.context, id, reason))

    @strawberry.mutation(description="The customer confirms a shipped order arrived.")
    async def order_confirm_receipt(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the order.")
        ],
    ) -> OrderPayload:
        return payload(OrderPayload, order=await ro.confirm_receipt(info.context, id))

    @strawberry.mutation(
        description="Ask for an after-sales refund of some lines and quantities "
        "of the customer's order."
    )
    async def order_refund_request(
        self,
        info: Info,
        order_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the order.")
        ],
        lines: Annotated[
            list[RefundLineInput],
            strawberry.argument(description="Order lines and quantities to refund."),
        ],
        reason: Annotated[str, strawberry.argument(description="The customer's reason.")],
    ) -> RefundPayload:
        r = await ro.refund_request(info.context, order_id, lines, reason)
        return RefundPayload(refund=r.value, order=None, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Ship one planned parcel: a shipment of exactly its units from its "
        "warehouse, with its tracking number (staff with MANAGE_ORDERS; merchant staff their "
        "merchant's orders only)."
    )
    async def order_parcel_ship(
        self,
        info: Info,
        input: Annotated[
            ParcelShipInput, strawberry.argument(description="The order, parcel and tracking.")
        ],
    ) -> OrderShipPayload:
        return _ship_payload(await ro.ship_parcel(info.context, input))

    @strawberry.mutation(
        description="Record a shipment of an order's lines (staff with "
        "MANAGE_ORDERS; merchant staff their merchant's orders only)."
    )
    async def order_ship(
        self,
        info: Info,
        input: Annotated[
            ShipmentInput, strawberry.argument(description="The order, lines and parcel details.")
        ],
    ) -> OrderShipPayload:
        return _ship_payload(await ro.ship(info.context, input))

    @strawberry.mutation(
        description="Pays the refund back; restock puts shipped units back in their warehouse."
    )
    async def refund_approve(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the refund.")
        ],
        restock: Annotated[
            bool, strawberry.argument(description="Put the shipped units back in their warehouse.")
        ] = True,
    ) -> RefundPayload:
        return _refund_payload(await ro.refund_approve(info.context, id, restock))

    @strawberry.mutation(
        description="Refuse a refund request with a reason (staff with MANAGE_ORDERS)."
    )
    async def refund_reject(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the refund.")
        ],
        reason: Annotated[str, strawberry.argument(description="Why, shown to the customer.")],
    ) -> RefundPayload:
        return _refund_payload(await ro.refund_reject(info.context, id, reason))
