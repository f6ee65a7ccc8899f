"""Shared set-up for checkout and order tests: a shop, a customer with an address and a cart,
and the few operations the contract documents do not carry (confirm receipt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from models import StockLevel
from services import inventory
from tests.api.catalog_data import add_product
from tests.api.catalog_data import phone_input
from tests.api.test_cart import shop
from tests.api.test_coupons import customer
from tests.conftest import Api

ADDRESS = {
    "name": "张三",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "line1": "世纪大道 100 号",
    "postalCode": "200120",
}

CONFIRM_RECEIPT = """
mutation ConfirmReceipt($id: ID!) {
  orderConfirmReceipt(id: $id) { order { id status } userErrors { field code message } }
}"""

ORDER_DETAIL = """
query OrderDetail($id: ID!) {
  order(id: $id) {
    id number status total { amount } refundedAmount { amount }
    lines { id quantity total { amount } discounts { amount { amount } label sourceId }
            shippedQuantity refundedQuantity isGift }
    payment { id status amountDue { amount } amountRefunded { amount } needsRefund }
  }
}"""


@dataclass
class Shopper:
    token: str
    cart_id: str
    address_id: str


@dataclass
class Shop:
    sku_a: str  # Phone A, 120.00
    sku_b: str  # Phone B, 300.00
    warehouse: str
    merchant: str
    sku_c: str = ""  # Phone C, 200.00, sold by the other merchant (free shipping)
    warehouse_c: str = ""
    other_merchant: str = ""


async def open_shop(api: Api, engine: AsyncEngine, *, two_merchants: bool = False) -> Shop:
    c, sku_a, sku_b, warehouse = await shop(api, engine)
    found = Shop(sku_a, sku_b, warehouse, c.merchant)
    if two_merchants:
        data = phone_input(c, "Phone C", "Apple", ["200.00"], code="C")
        data.update(merchantId=c.other_merchant, shippingTemplateId=None)
        product = await add_product(api, c, "C", data)
        detail = await api.ok("ProductDetail", {"id": product["id"]})
        found.sku_c = detail["product"]["skus"][0]["id"]
        found.warehouse_c = (
            await api.admin(
                "WarehouseCreate",
                {"input": {"code": "W2", "name": "W2", "merchantId": c.other_merchant}},
            )
        )["warehouseCreate"]["warehouse"]["id"]
        found.other_merchant = c.other_merchant
        async with create_session_factory(engine)() as s:
            await inventory.receive_stock(
                s, decode_id(found.sku_c)[1], decode_id(found.warehouse_c)[1], 10, "stock", None
            )
            await s.commit()
    return found


async def shopper(api: Api, phone: str, lines: list[tuple[str, int]]) -> Shopper:
    token = await customer(api, phone)
    address = (await api.ok("AddressCreate", {"input": {**ADDRESS, "phone": phone}}, token=token))[
        "addressCreate"
    ]["address"]["id"]
    cart = await api.ok(
        "CartCreate", {"lines": [{"skuId": s, "quantity": q} for s, q in lines]}, token=token
    )
    return Shopper(token, cart["cartCreate"]["cart"]["id"], address)


async def refill(api: Api, who: Shopper, lines: list[tuple[str, int]]) -> None:
    """Put (SKU id, quantity) lines in the shopper's cart again, e.g. after checking it out."""
    await api.ok(
        "CartLinesAdd",
        {"cartId": who.cart_id, "lines": [{"skuId": s, "quantity": q} for s, q in lines]},
        token=who.token,
    )


def checkout_input(who: Shopper, **extra: Any) -> dict[str, Any]:
    return {"cartId": who.cart_id, "addressId": who.address_id, **extra}


async def place(api: Api, who: Shopper, key: str = "key-1", **extra: Any) -> dict[str, Any]:
    done = await api.ok(
        "CheckoutComplete",
        {"input": checkout_input(who, **extra), "idempotencyKey": key},
        token=who.token,
    )
    return done["checkoutComplete"]["payment"]


async def pay(
    api: Api, who: Shopper, payment: dict[str, Any], txn: str | None = None
) -> dict[str, Any]:
    txn = txn or f"txn-{payment['id']}"  # one transaction pays one payment
    paid = await api.ok(
        "PaymentConfirm",
        {
            "paymentId": payment["id"],
            "transactionId": txn,
            "amount": payment["amountDue"]["amount"],
        },
        token=who.token,
    )
    return paid["paymentConfirm"]["payment"]


async def request_refund(
    api: Api, token: str, order_id: str, lines: list[tuple[str, int]], reason: str = "r"
) -> dict[str, Any]:
    """The customer asks for units of order lines back ((order line id, quantity) each); the
    refund as answered (userErrors must be empty)."""
    wanted = [{"orderLineId": line_id, "quantity": quantity} for line_id, quantity in lines]
    asked = await api.ok(
        "RefundRequest", {"orderId": order_id, "reason": reason, "lines": wanted}, token=token
    )
    return asked["orderRefundRequest"]["refund"]


def ship_all_input(shop: Shop, order_id: str) -> dict[str, Any]:
    """OrderShip variables: every unit of the order, from the shop's warehouse."""
    return {
        "input": {
            "orderId": order_id,
            "warehouseId": shop.warehouse,
            "carrier": "SF",
            "trackingNumber": "1",
        }
    }


async def ship_all(api: Api, shop: Shop, order_id: str) -> None:
    await api.admin("OrderShip", ship_all_input(shop, order_id))


async def stock_of(engine: AsyncEngine, sku: str) -> tuple[int, int]:
    """(on hand, reserved) over every warehouse."""
    async with create_session_factory(engine)() as s:
        levels = (
            await s.scalars(select(StockLevel).where(StockLevel.sku_id == decode_id(sku)[1]))
        ).all()
        return sum(x.on_hand for x in levels), sum(x.reserved for x in levels)
