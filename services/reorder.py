"""再次购买 (buy again): a finished order's items, straight into a checkout of their own.

The items go into a CHECKOUT cart (models/cart.py), not the shopping cart, and check out like
any cart (`checkoutPreview` / `checkoutComplete` with its token): priced at today's prices and
promotions, never the old order's. Items not buyable now (delisted, disabled, short of stock)
are left out and listed. Gifts are not bought again: promotions give them, or not, today."""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.cart import Cart
from models.cart import CartLine
from models.catalog import Sku
from models.orders import Order
from models.orders import OrderLine
from models.orders import OrderStatus
from services import inventory
from services.cart import MAX_QUANTITY
from services.cart import LineStatus
from services.cart import skus_and_products
from services.cart import status_of
from services.errors import DomainError
from services.errors import ErrorCode

S = OrderStatus
# paid for (shipped, received or refunded since): what a customer can buy again
FINISHED = frozenset({S.PAID, S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED, S.REFUNDED})
CHECKOUT = "CHECKOUT"


@dataclass
class LeftOut:
    sku: Sku | None  # None: the SKU no longer exists
    title: str  # as ordered
    quantity: int
    reason: LineStatus


@dataclass
class Prepared:
    cart: Cart | None  # None: nothing of the order can be bought now
    left_out: list[LeftOut] = field(default_factory=list)


async def buy_again(
    session: AsyncSession, customer_id: int, order_id: int, now: datetime, channel: str
) -> Prepared:
    order = await session.get(Order, order_id)
    if order is None or order.customer_id != customer_id:  # another's order is not there
        raise DomainError(ErrorCode.NOT_FOUND, "Order not found.", "id")
    if order.status not in FINISHED:
        raise DomainError(
            ErrorCode.INVALID_ORDER_STATE,
            "Only a paid order can be bought again; pay or check out this one instead.",
            "id",
        )
    lines = (
        await session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id == order.id, OrderLine.is_gift.is_(False))
            .order_by(OrderLine.id)
        )
    ).all()
    wanted: dict[int, int] = defaultdict(int)
    titles: dict[int, str] = {}
    for line in lines:
        wanted[line.sku_id] = min(MAX_QUANTITY, wanted[line.sku_id] + line.quantity)
        titles.setdefault(line.sku_id, line.title)
    skus, products = await skus_and_products(session, wanted)
    stock = await inventory.candidates(session, sorted(skus))
    buyable, left_out = [], []
    for sku_id, quantity in wanted.items():
        sku = skus.get(sku_id)
        product = products.get(sku.product_id) if sku else None
        if sku is None or product is None:
            status = LineStatus.DELISTED
        else:
            sellable = sum(max(0, units) for _, _, units in stock.get(sku_id, []))
            status = status_of(sku, product, quantity, sellable, now)
        if status == LineStatus.AVAILABLE:
            buyable.append((sku_id, quantity))
        else:
            left_out.append(LeftOut(sku, titles[sku_id], quantity, status))
    if not buyable:
        return Prepared(None, left_out)
    # one prepared checkout per customer: an older one is dropped
    await session.execute(
        update(Cart)
        .where(Cart.customer_id == customer_id, Cart.purpose == CHECKOUT, Cart.is_open.is_(True))
        .values(is_open=False)
    )
    cart = Cart(
        token=secrets.token_urlsafe(24),
        customer_id=customer_id,
        channel=channel,
        is_open=True,
        purpose=CHECKOUT,
        created_at=now,
        updated_at=now,
    )
    session.add(cart)
    await session.flush()
    session.add_all(
        CartLine(cart_id=cart.id, sku_id=sku_id, quantity=quantity, selected=True, created_at=now)
        for sku_id, quantity in buyable
    )
    await session.flush()
    return Prepared(cart, left_out)
