"""Customers ready to check out, in bulk (the concurrency tests and bench/checkout.py): each
with a 1.00 cash coupon, a default address and a cart holding the given SKUs; returns the plan
the `checkout` worker reads: [{id, cart, address}]."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ids import encode_id
from models import Address
from models import Cart
from models import CartLine
from models import Customer
from models import Warehouse
from models.coupons import CouponType
from models.coupons import Distribution
from services import coupons
from services import inventory


def default_address(customer_id: int) -> Address:
    """A bare default address: enough for a checkout to ship somewhere."""
    return Address(
        customer_id=customer_id,
        name="n",
        phone="13800138000",
        province="p",
        city="c",
        line1="l",
        is_default=True,
    )


async def make_shoppers(
    s: AsyncSession,
    count: int,
    phone_prefix: str,
    cart_skus: Callable[[int], list[int]],
    now: datetime,
) -> list[dict[str, Any]]:
    template = await coupons.create_template(
        s,
        coupons.TemplateData(
            name=f"1元券 {phone_prefix}",
            type=CouponType.CASH,
            amount=Decimal(1),
            total_quantity=count,
            distribution=Distribution.SYSTEM,
            per_customer_limit=1,
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=1),
        ),
    )
    people = [
        Customer(name=f"c{phone_prefix}{i}", phone=f"{phone_prefix}{i:08d}", password_hash="x")
        for i in range(count)
    ]
    s.add_all(people)
    await s.flush()
    await coupons.issue(s, template.id, [c.id for c in people], now)
    plan = []
    for i, c in enumerate(people):
        address = default_address(c.id)
        cart = Cart(
            token=f"cart-{phone_prefix}-{c.id}-checkout-token",
            customer_id=c.id,
            channel="WEB",
            is_open=True,
        )
        s.add_all([address, cart])
        await s.flush()
        s.add_all(
            CartLine(cart_id=cart.id, sku_id=sku, quantity=1, selected=True) for sku in cart_skus(i)
        )
        plan.append({"id": c.id, "cart": cart.token, "address": encode_id("Address", address.id)})
    await s.commit()
    return plan


async def receive_first_warehouse(s: AsyncSession, sku_id: int, units: int, reason: str) -> None:
    """Units of a seeded SKU into the first warehouse (tests.api.test_batching.seed_listing)."""
    warehouse = (await s.scalars(select(Warehouse.id).order_by(Warehouse.id))).first()
    assert warehouse is not None
    await inventory.receive_stock(s, sku_id, warehouse, units, reason, None)


async def one_customers_checkouts(
    s: AsyncSession, customer_id: int, sku_id: int, count: int, prefix: str, **extra: Any
) -> list[dict[str, Any]]:
    """`count` carts of one customer, one unit of the SKU each, and the checkout plan the
    worker processes run (tests/concurrency/worker.py), each entry with `extra`."""
    address = default_address(customer_id)
    s.add(address)
    plan = []
    for i in range(count):
        cart = Cart(token=f"{prefix}-cart-{i}-checkout", customer_id=customer_id, channel="WEB")
        s.add(cart)
        await s.flush()
        s.add(CartLine(cart_id=cart.id, sku_id=sku_id, quantity=1, selected=True))
        plan.append(
            {
                "id": customer_id,
                "key": f"cart-{i}",
                "cart": cart.token,
                "address": encode_id("Address", address.id),
                **extra,
            }
        )
    return plan
