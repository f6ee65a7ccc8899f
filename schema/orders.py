"""Checkout and orders API (storefront.graphql CheckoutPreview … RefundRequest, admin.graphql
AdminOrders … RefundReject): the preview, placing the checkout, paying, the customer's and the
admin's orders, shipments and refunds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models as m
from core.ids import encode_id
from models.orders import OrderStatus as OrderStatusEnum
from models.orders import PaymentKind as PaymentKindEnum
from models.orders import PaymentStatus as PaymentStatusEnum
from models.orders import RefundStatus as RefundStatusEnum
from resolvers import orders as ro
from resolvers.context import Permission
from schema.cart import CartCost, CartDiscount, discount_of
from schema.common import Connection, Money, Node, UserError, money, page_args, user_errors

if TYPE_CHECKING:
    from schema.accounts import Customer
    from schema.catalog import Merchant, Sku
    from schema.inventory import Warehouse

MerchantRef = Annotated["Merchant", strawberry.lazy("schema.catalog")]
SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
CustomerRef = Annotated["Customer", strawberry.lazy("schema.accounts")]
WarehouseRef = Annotated["Warehouse", strawberry.lazy("schema.inventory")]
MANAGE_ORDERS = Permission.MANAGE_ORDERS

OrderStatus = strawberry.enum(OrderStatusEnum)
PaymentStatus = strawberry.enum(PaymentStatusEnum)
RefundStatus = strawberry.enum(RefundStatusEnum)
PaymentKind = strawberry.enum(PaymentKindEnum)


@strawberry.enum
class PaymentProvider(Enum):
    TEST = "TEST"


def _discounts(items: list[dict[str, Any]]) -> list[CartDiscount]:
    """An order line's stored discounts (snapshot dicts)."""
    return [discount_of(d["amount"], d["label"], d["source"], d["sourceId"]) for d in items]


# --- checkout ------------------------------------------------------------------------------------


@strawberry.input(description="couponIds omitted = the recommended set; [] = none. "
                  "expectedTotal: the total the shopper saw; a different total refuses.")
class CheckoutInput:
    cart_id: strawberry.ID
    address_id: strawberry.ID
    coupon_ids: list[strawberry.ID] | None = None
    expected_total: Decimal | None = None
    note: str | None = None


@strawberry.type
class CheckoutLine:
    sku: SkuRef
    quantity: int
    unit_price: Money
    subtotal: Money
    discounts: list[CartDiscount]
    total: Money


@strawberry.type
class CheckoutMerchantOrder:
    merchant: MerchantRef
    lines: list[CheckoutLine]
    subtotal: Money
    promotion_discount: Money
    coupon_discount: Money
    shipping: Money
    total: Money


@strawberry.type
class CheckoutPreview:
    merchant_orders: list[CheckoutMerchantOrder]
    cost: CartCost | None
    explanations: list[str]
    coupon_ids: list[strawberry.ID] = strawberry.field(description="The coupons applied.")
    user_errors: list[UserError]


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
            lines.append(CheckoutLine(
                sku=item.sku, quantity=r.quantity, unit_price=money(r.unit_price),  # type: ignore[arg-type]
                subtotal=money(r.subtotal),  # type: ignore[arg-type]
                discounts=[discount_of(d.amount, d.label, d.source, d.source_id)
                           for d in r.discounts],
                total=money(r.total)))  # type: ignore[arg-type]
        found.append(CheckoutMerchantOrder(
            merchant=await loaders.merchant.load(mr.merchant_id), lines=lines,
            subtotal=money(mr.subtotal), promotion_discount=money(mr.promotion_discount),  # type: ignore[arg-type]
            coupon_discount=money(mr.coupon_discount), shipping=money(mr.shipping),  # type: ignore[arg-type]
            total=money(mr.total)))  # type: ignore[arg-type]
    return found


def _cost(result: Any) -> CartCost:
    return CartCost(subtotal=money(result.subtotal),  # type: ignore[arg-type]
                    promotion_discount=money(result.promotion_discount),  # type: ignore[arg-type]
                    coupon_discount=money(result.coupon_discount),  # type: ignore[arg-type]
                    shipping=money(result.shipping), total=money(result.total))  # type: ignore[arg-type]


# --- orders --------------------------------------------------------------------------------------


@strawberry.type
class OrderAddress:
    name: str
    phone: str
    province: str
    city: str
    district: str | None
    line1: str
    postal_code: str | None


@strawberry.type(description="A snapshot taken at checkout: later catalog or promotion "
                 "changes never alter it.")
class OrderLine(Node):
    title: str
    spec_text: str
    image_url: str | None
    quantity: int
    is_gift: bool
    shipped_quantity: int
    refunded_quantity: int

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.OrderLine)

    @strawberry.field(description="The SKU as it is now (null if it was deleted).")
    async def sku(self, info: Info) -> SkuRef | None:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field
    def sku_code(self) -> str:
        return self.sku_code

    @strawberry.field
    def unit_price(self) -> Money:
        return money(self.unit_price)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def subtotal(self) -> Money:
        return money(self.subtotal)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="The part of the discount the merchant funds.")
    def merchant_funded_discount(self) -> Money:
        return money(self.merchant_discount)  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="The part of the discount the platform funds (owed to "
                      "the merchant in settlement).")
    def platform_funded_discount(self) -> Money:
        return money(self.platform_discount)  # type: ignore[attr-defined,return-value]

    @strawberry.field(description="Each promotion and coupon on this line, with its amount.")
    def discounts(self) -> list[CartDiscount]:
        return _discounts(self.discounts)

    @strawberry.field(description="What the customer paid for the line (refunds pay back "
                      "from it).")
    def total(self) -> Money:
        return money(self.total)  # type: ignore[return-value]


@strawberry.type
class Shipment(Node):
    carrier: str
    tracking_number: str
    status: str
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Shipment)

    @strawberry.field
    async def warehouse(self, info: Info) -> WarehouseRef:
        return await info.context.loaders.warehouse.load(self.warehouse_id)  # type: ignore[attr-defined]


@strawberry.type
class Refund(Node):
    status: RefundStatus  # type: ignore[valid-type]
    reason: str
    reject_reason: str | None
    restocked: bool
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Refund)

    @strawberry.field(description="The lines' payable share for the units, plus the shipping "
                      "fee when nothing was sent.")
    def amount(self) -> Money:
        return money(self.amount)  # type: ignore[return-value]


@strawberry.type
class Order(Node):
    number: str
    payment_number: str = strawberry.field(description="The out-trade-no this sub-order is "
                                           "paid under on its own (orderPaymentStart).")
    status: OrderStatus  # type: ignore[valid-type]
    channel: str
    note: str | None
    cancel_reason: str | None
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Order)

    @strawberry.field
    async def merchant(self, info: Info) -> MerchantRef:
        return await info.context.loaders.merchant.load(self.merchant_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def customer(self, info: Info) -> CustomerRef:
        return await info.context.loaders.customer.load(self.customer_id)  # type: ignore[attr-defined]

    @strawberry.field
    def address(self) -> OrderAddress:
        a = self.address
        return OrderAddress(name=a["name"], phone=a["phone"], province=a["province"],
                            city=a["city"], district=a.get("district"), line1=a["line1"],
                            postal_code=a.get("postalCode"))

    @strawberry.field
    def subtotal(self) -> Money:
        return money(self.subtotal)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def promotion_discount(self) -> Money:
        return money(self.promotion_discount)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def coupon_discount(self) -> Money:
        return money(self.coupon_discount)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def shipping(self) -> Money:
        return money(self.shipping)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def total(self) -> Money:
        return money(self.total)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def refunded_amount(self) -> Money:
        return money(self.refunded_amount)  # type: ignore[arg-type,return-value]

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        return await info.context.loaders.lines_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def shipments(self, info: Info) -> list[Shipment]:
        return await info.context.loaders.shipments_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field
    async def refunds(self, info: Info) -> list[Refund]:
        return await info.context.loaders.refunds_by_order.load(self.id)  # type: ignore[attr-defined]

    @strawberry.field(description="What the customer paid at checkout (a presale: the "
                      "deposit).")
    async def payment(self, info: Info) -> Payment:
        return await info.context.loaders.payment.load(self.payment_id)  # type: ignore[attr-defined]

    @strawberry.field(description="A presale's balance payment.")
    async def balance_payment(self, info: Info) -> Payment | None:
        if self.balance_payment_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.payment.load(self.balance_payment_id)  # type: ignore[attr-defined]

    @strawberry.field
    def deposit_amount(self) -> Money:
        return money(self.deposit_amount)  # type: ignore[arg-type,return-value]


@strawberry.type(description="A checkout's combined payment for all its orders (合并付款), or "
                 "one sub-order's own payment (orderPaymentStart).")
class Payment(Node):
    status: PaymentStatus  # type: ignore[valid-type]
    expires_at: datetime
    paid_at: datetime | None
    transaction_id: str | None
    needs_refund: bool = strawberry.field(description="Money arrived after the payment "
                                          "closed: it is kept on record to be paid back.")
    kind: PaymentKind = strawberry.field(  # type: ignore[valid-type]
        description="DEPOSIT and BALANCE for a presale (定金预售).")
    opens_at: datetime | None = strawberry.field(
        description="A balance: payable from then until expiresAt.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Payment)

    @strawberry.field
    def amount_due(self) -> Money:
        return money(self.amount_due)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def amount_paid(self) -> Money:
        return money(self.amount_paid)  # type: ignore[arg-type,return-value]

    @strawberry.field
    def amount_refunded(self) -> Money:
        return money(self.amount_refunded)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="A sub-order's own payment: the one order it covers "
                      "(null for a checkout's combined payment).")
    async def order(self, info: Info) -> Order | None:
        if self.order_id is None:  # type: ignore[attr-defined]
            return None
        return await info.context.loaders.order.load(self.order_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def orders(self, info: Info) -> list[Order]:
        loaders = info.context.loaders
        if self.order_id is not None:  # type: ignore[attr-defined]
            return [await loaders.order.load(self.order_id)]  # type: ignore[attr-defined]
        by = loaders.orders_by_balance if self.kind == PaymentKindEnum.BALANCE \
            else loaders.orders_by_payment
        return await by.load(self.id)  # type: ignore[attr-defined]


# --- inputs and payloads -------------------------------------------------------------------------


@strawberry.input
class OrderFilter:
    status: OrderStatus | None = None  # type: ignore[valid-type]


@strawberry.input
class AdminOrderFilter:
    status: OrderStatus | None = None  # type: ignore[valid-type]
    merchant_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    number: str | None = None
    created_from: date | None = None
    created_to: date | None = strawberry.field(default=None, description="Inclusive.")


@strawberry.input
class ShipmentLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input(description="lines omitted = everything of the order held in the warehouse.")
class ShipmentInput:
    order_id: strawberry.ID
    warehouse_id: strawberry.ID
    carrier: str
    tracking_number: str
    lines: list[ShipmentLineInput] | None = None


@strawberry.input
class RefundLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.type
class CheckoutCompletePayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.type
class PaymentConfirmPayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.type
class OrderPaymentStartPayload:
    payment: Payment | None
    user_errors: list[UserError]


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class OrderShipPayload:
    shipment: Shipment | None
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class RefundPayload:
    refund: Refund | None
    order: Order | None
    user_errors: list[UserError]


def _refund_payload(result: Any) -> RefundPayload:
    decided = result.value
    return RefundPayload(refund=decided.refund if decided else None,
                         order=decided.order if decided else None,
                         user_errors=user_errors(result.errors))


# --- root fields ---------------------------------------------------------------------------------


@strawberry.type
class OrdersQuery:
    @strawberry.field(description="Priced exactly as checkoutComplete would place it now.")
    async def checkout_preview(self, info: Info, input: CheckoutInput) -> CheckoutPreview:
        result = await ro.preview(info.context, input)
        quote = result.value
        if quote is None:
            return CheckoutPreview(merchant_orders=[], cost=None, explanations=[],
                                   coupon_ids=[], user_errors=user_errors(result.errors))
        return CheckoutPreview(
            merchant_orders=await _preview(info, quote), cost=_cost(quote.result),
            explanations=quote.result.explanations,
            coupon_ids=[strawberry.ID(encode_id("Coupon", c))
                        for c in quote.result.coupons_applied],
            user_errors=[])

    @strawberry.field(description="An order of the logged-in customer, or of the staff "
                      "member's merchant; null for anyone else.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await ro.order(info.context, id)  # type: ignore[return-value]

    @strawberry.field(description="Newest first. Merchant staff see their merchant's only.")
    async def admin_orders(self, info: Info, filter: AdminOrderFilter | None = None,
                           first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None) -> Connection[Order]:
        return await ro.admin_orders(info.context, filter,
                                     page_args(info, first, after, last, before))  # type: ignore[return-value]


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(description="Places one order per "
                         "merchant under one payment. The same idempotencyKey returns the "
                         "same payment; reused for a different checkout it is refused.")
    async def checkout_complete(self, info: Info, input: CheckoutInput,
                                idempotency_key: str) -> CheckoutCompletePayload:
        r = await ro.complete(info.context, input, idempotency_key)
        return CheckoutCompletePayload(payment=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation(description="The TEST provider confirms "
                         "by mutation (not in production: PAYMENT_PROVIDER_DISABLED); "
                         "idempotent by transactionId; amount must equal amountDue.")
    async def payment_confirm(self, info: Info, payment_id: strawberry.ID,
                              provider: PaymentProvider, transaction_id: str,
                              amount: Decimal) -> PaymentConfirmPayload:
        r = await ro.payment_confirm(info.context, payment_id, provider.value, transaction_id,
                                     amount)
        return PaymentConfirmPayload(payment=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation(description="A payment for one unpaid sub-order alone (the same "
                         "one if asked again). Paying it closes the checkout's combined "
                         "payment; the other sub-orders stay payable on their own.")
    async def order_payment_start(self, info: Info,
                                  order_id: strawberry.ID) -> OrderPaymentStartPayload:
        r = await ro.payment_start(info.context, order_id)
        return OrderPaymentStartPayload(payment=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation(description="Customers: "
                         "before payment (that sub-order only; its siblings stay payable, a "
                         "presale goes as a whole). Staff: also after payment, before "
                         "shipment (the order is refunded).")
    async def order_cancel(self, info: Info, id: strawberry.ID,
                           reason: str | None = None) -> OrderPayload:
        r = await ro.cancel(info.context, id, reason)
        return OrderPayload(order=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation
    async def order_confirm_receipt(self, info: Info, id: strawberry.ID) -> OrderPayload:
        r = await ro.confirm_receipt(info.context, id)
        return OrderPayload(order=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation
    async def order_refund_request(self, info: Info, order_id: strawberry.ID,
                                   lines: list[RefundLineInput], reason: str) -> RefundPayload:
        r = await ro.refund_request(info.context, order_id, lines, reason)
        return RefundPayload(refund=r.value, order=None, user_errors=user_errors(r.errors))  # type: ignore[arg-type]

    @strawberry.mutation
    async def order_ship(self, info: Info, input: ShipmentInput) -> OrderShipPayload:
        r = await ro.ship(info.context, input)
        shipped = r.value
        return OrderShipPayload(shipment=shipped.shipment if shipped else None,  # type: ignore[arg-type]
                                order=shipped.order if shipped else None,  # type: ignore[arg-type]
                                user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Pays the refund "
                         "back; restock puts shipped units back in their warehouse.")
    async def refund_approve(self, info: Info, id: strawberry.ID,
                             restock: bool = True) -> RefundPayload:
        return _refund_payload(await ro.refund_approve(info.context, id, restock))

    @strawberry.mutation
    async def refund_reject(self, info: Info, id: strawberry.ID, reason: str) -> RefundPayload:
        return _refund_payload(await ro.refund_reject(info.context, id, reason))
