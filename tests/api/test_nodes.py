"""node(id) / nodes(ids) for every Node type: the owner or permitted staff see an object; anyone
else gets null, never an error and never data. nodes of one type cost constant statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import assert_interface_type
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import AuditEntry
from models import Customer
from models import Order
from models import OrderLine
from models import Payment
from models import Role
from models import ShippingTemplate
from models import Sku
from resolvers.nodes import NODE_RULES
from services.accounts import Permission
from services.accounts import access_token
from tests.api import checkout_data
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.api.test_batching import seed_listing
from tests.api.test_coupons import create_template
from tests.api.test_coupons import customer
from tests.api.test_coupons import template
from tests.api.test_promotions import create
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.conftest import make_staff

NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
ORDER_NODES = (
    "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order { number status "
    "total { amount } } ... on OrderLine { title quantity } "
    "... on Payment { paymentStatus: status amountDue { amount } } } }"
)
ALL_PERMISSIONS = [p.value for p in Permission]


@dataclass
class World:
    """Two merchants; a customer's checkout buying from both (one order each, one payment)."""

    shop: Shop
    who: Shopper
    payment: dict[str, Any]
    viewers: dict[str, str | None]  # name → access token (None: a guest)
    own_staff_id: int

    def order_of(self, merchant: str) -> dict[str, Any]:
        return next(o for o in self.payment["orders"] if o["merchant"]["id"] == merchant)


async def world(api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock) -> World:
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900003001", [(shop.sku_a, 1), (shop.sku_c, 1)])
    payment = await place(api, who)
    stranger = await customer(api, "13900003002")
    _, unpermitted = await make_staff(
        engine, settings, clock, email="catalog@p.example", permissions=["MANAGE_CATALOG"]
    )
    own_id, own = await merchant_staff(
        engine, settings, clock, shop.merchant, email="own@m.example", permissions=ALL_PERMISSIONS
    )
    _, other = await merchant_staff(
        engine,
        settings,
        clock,
        shop.other_merchant,
        email="other@m.example",
        permissions=ALL_PERMISSIONS,
    )
    viewers = {
        "owner": who.token,
        "stranger": stranger,
        "guest": None,
        "unpermitted": unpermitted,
        "admin": api.admin_token,
        "own_merchant": own,
        "other_merchant": other,
    }
    return World(shop, who, payment, viewers, own_id)


async def sees(api: Api, global_id: str, token: str | None) -> bool:
    """Whether node and nodes show the object (they must agree, and never error)."""
    one = await api.post(NODE, {"id": global_id}, token=token)
    many = await api.post(NODES, {"ids": [global_id]}, token=token)
    assert "errors" not in one and "errors" not in many, (one, many)
    found = one["data"]["node"]
    assert many["data"]["nodes"] == [found]
    assert found is None or found == {"id": global_id}
    return found is not None


async def seen_by(api: Api, w: World, global_id: str) -> set[str]:
    return {name for name, token in w.viewers.items() if await sees(api, global_id, token)}


async def _first_id(engine: AsyncEngine, model: Any, *where: Any) -> str:
    async with create_session_factory(engine)() as s:
        pk = await s.scalar(select(model.id).where(*where).order_by(model.id).limit(1))
    assert pk is not None
    return encode_id(model.node_type, pk)


# --- coverage ------------------------------------------------------------------------------------


def test_every_node_type_has_a_visibility_rule() -> None:
    from schema import schema

    graphql = schema._schema
    node = assert_interface_type(graphql.get_type("Node"))
    implementing = {t.name for t in graphql.get_possible_types(node)}
    assert implementing == set(NODE_RULES)


# --- orders --------------------------------------------------------------------------------------


async def test_orders_lines_shipments_and_refunds_follow_their_order(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    order_id = w.order_of(w.shop.merchant)["id"]
    order_seers = {"owner", "admin", "own_merchant"}
    assert await seen_by(api, w, order_id) == order_seers
    theirs = w.order_of(w.shop.other_merchant)["id"]
    assert await sees(api, theirs, w.viewers["other_merchant"])
    assert not await sees(api, theirs, w.viewers["own_merchant"])

    detail = await api.post(ORDER_DETAIL, {"id": order_id}, token=w.who.token)
    line_id = detail["data"]["order"]["lines"][0]["id"]
    assert await seen_by(api, w, line_id) == order_seers

    await pay(api, w.who, w.payment)
    shipped = await api.admin(
        "OrderShip",
        {
            "input": {
                "orderId": order_id,
                "warehouseId": w.shop.warehouse,
                "carrier": "SF",
                "trackingNumber": "1",
            }
        },
    )
    assert await seen_by(api, w, shipped["orderShip"]["shipment"]["id"]) == order_seers
    asked = await checkout_data.request_refund(
        api, w.who.token, order_id, [(line_id, 1)], "scratched"
    )
    assert await seen_by(api, w, asked["id"]) == order_seers


async def test_payments_are_seen_by_the_payer_and_staff_of_a_merchant_it_pays(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    both = {"owner", "admin", "own_merchant", "other_merchant"}
    assert await seen_by(api, w, w.payment["id"]) == both  # it pays both merchants' orders
    await checkout_data.refill(api, w.who, [(w.shop.sku_a, 1)])
    only_own = await place(api, w.who, key="key-2")
    assert await seen_by(api, w, only_own["id"]) == {"owner", "admin", "own_merchant"}


# --- accounts ------------------------------------------------------------------------------------


async def test_customers_and_addresses_are_their_owners_and_platform_order_staff(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    me = (await api.post("{ me { id } }", token=w.who.token))["data"]["me"]["id"]
    assert await seen_by(api, w, me) == {"owner", "admin"}
    assert await seen_by(api, w, w.who.address_id) == {"owner", "admin"}


async def test_staff_roles_and_audit_entries_are_for_staff_managers(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    own_staff = encode_id("Staff", w.own_staff_id)
    assert await seen_by(api, w, own_staff) == {"admin", "own_merchant"}
    role = await _first_id(engine, Role, Role.name == "role-own@m.example")
    assert await seen_by(api, w, role) == {"admin", "own_merchant"}  # the merchant's role
    # about a platform brand: platform staff only
    platform_entry = await _first_id(engine, AuditEntry, AuditEntry.target_type == "Brand")
    assert await seen_by(api, w, platform_entry) == {"admin"}
    await api.ok(
        "WarehouseCreate", {"input": {"code": "W9", "name": "W9"}}, token=w.viewers["own_merchant"]
    )
    merchant_entry = await _first_id(engine, AuditEntry, AuditEntry.actor_id == w.own_staff_id)
    assert await seen_by(api, w, merchant_entry) == {"admin", "own_merchant"}


# --- coupons and promotions ----------------------------------------------------------------------


async def test_coupons_and_templates_by_owner_issuer_and_claimability(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    hidden = await create_template(
        api, template("system", distribution="SYSTEM", merchantId=w.shop.merchant)
    )
    assert await seen_by(api, w, hidden) == {"admin", "own_merchant"}
    public = await create_template(api, template("public", merchantId=w.shop.merchant))
    assert await seen_by(api, w, public) == set(w.viewers)  # the coupon center shows it
    claimed = await api.ok("CouponClaim", {"templateId": public}, token=w.who.token)
    coupon = claimed["couponClaim"]["coupon"]["id"]
    assert await seen_by(api, w, coupon) == {"owner", "admin", "own_merchant"}


async def test_draft_promotions_are_for_their_merchants_promotion_staff(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    platform = (await create(api, reduction("platform draft")))["promotion"]["id"]
    assert await seen_by(api, w, platform) == {"admin"}
    created = await create(api, reduction("merchant draft", merchantId=w.shop.merchant))
    assert created["userErrors"] == [], created
    assert await seen_by(api, w, created["promotion"]["id"]) == {"admin", "own_merchant"}


# --- merchants and their settings ----------------------------------------------------------------


async def test_merchants_templates_and_warehouses_are_for_their_staff(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    assert await seen_by(api, w, w.shop.merchant) == set(w.viewers)  # a shop's name is public
    shipping = await _first_id(
        engine, ShippingTemplate, ShippingTemplate.merchant_id == decode_id(w.shop.merchant)[1]
    )
    assert await seen_by(api, w, shipping) == {"admin", "unpermitted", "own_merchant"}
    assert await seen_by(api, w, w.shop.warehouse) == {"admin", "own_merchant"}


# --- batching ------------------------------------------------------------------------------------


# one statement per type asked (orders, lines, payments); merchant staff: one more for the
# orders the payments pay (whether one is theirs)
NODES_MAX_STATEMENTS = 4


@dataclass
class Seeded:
    customer_id: int
    merchant_id: int
    orders: list[str]
    lines: list[str]
    payments: list[str]


async def seed_orders(engine: AsyncEngine, count: int, now: datetime) -> Seeded:
    """`count` one-line orders of one customer (each with its own payment) of one merchant."""
    await seed_listing(engine, 1)
    async with create_session_factory(engine)() as s:
        sku = (await s.scalars(select(Sku).limit(1))).one()
        buyer = Customer(name="buyer", password_hash="x")
        s.add(buyer)
        await s.flush()
        seeded = Seeded(buyer.id, sku.merchant_id, [], [], [])
        for n in range(count):
            payment = Payment(
                customer_id=buyer.id,
                idempotency_key=f"k{n}",
                request_hash="h",
                amount_due=100,
                expires_at=now,
            )
            s.add(payment)
            await s.flush()
            order = Order(
                number=f"N{n}",
                payment_id=payment.id,
                customer_id=buyer.id,
                merchant_id=sku.merchant_id,
                channel="WEB",
                subtotal=100,
                promotion_discount=0,
                coupon_discount=0,
                shipping=0,
                total=100,
                address={},
            )
            s.add(order)
            await s.flush()
            line = OrderLine(
                order_id=order.id,
                sku_id=sku.id,
                product_id=sku.product_id,
                sku_code=sku.code,
                title="P",
                spec_text="",
                unit_price=100,
                quantity=1,
                subtotal=100,
                discount=0,
                total=100,
            )
            s.add(line)
            await s.flush()
            seeded.orders.append(encode_id("Order", order.id))
            seeded.lines.append(encode_id("OrderLine", line.id))
            seeded.payments.append(encode_id("Payment", payment.id))
        await s.commit()
    return seeded


async def statements(api: Api, ids: list[str], token: str) -> int:
    result = await api.post(ORDER_NODES, {"ids": ids}, token=token)
    assert "errors" not in result, result
    assert all(n is not None for n in result["data"]["nodes"]), result
    return result["extensions"]["sqlStatements"]


async def test_nodes_of_many_orders_cost_constant_statements(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    seeded = await seed_orders(engine, 10, clock.now())
    owner = access_token(settings, f"customer:{seeded.customer_id}", clock.now())
    _, staff = await make_staff(
        engine,
        settings,
        clock,
        email="m@m.example",
        permissions=["MANAGE_ORDERS"],
        merchant_id=seeded.merchant_id,
    )
    for token in (owner, staff):
        one = await statements(
            api, seeded.orders[:1] + seeded.lines[:1] + seeded.payments[:1], token
        )
        ten = await statements(api, seeded.orders + seeded.lines + seeded.payments, token)
        assert one == ten <= NODES_MAX_STATEMENTS, (one, ten)
