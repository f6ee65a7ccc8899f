"""Customers ready to check out, in bulk (the concurrency tests and bench/checkout.py): each
with a 1.00 cash coupon, a default address and a cart holding the given SKUs; returns the plan
the `checkout` worker reads: [{id, cart, address}]."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.ids import encode_id
from models import Address, Cart, CartLine, Customer
from models.coupons import CouponType, Distribution
from services import coupons


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
