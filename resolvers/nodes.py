"""Relay `node(id)` / `nodes(ids)`: every type that implements Node, and who may see it.

NODE_RULES is the one place that says, per type, how a row is loaded and who may see it
(the central authorization policy reads it). Rows come through the request's dataloaders, so
`nodes` with many ids of one type costs one statement per relation, not one per id. Whoever
may not see an object gets null, exactly as for an id that does not exist: no error, nothing
that tells it exists. No rule is wider than the root field that serves the same object."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.orders import PaymentKind
from models.promotions import PromotionState
from resolvers import members
from resolvers.catalog import display_tree
from resolvers.catalog import is_visible
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.context import Permission
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from resolvers.purchasing import PurchaseOrder
from resolvers.purchasing import Stocktake
from resolvers.purchasing import Supplier
from resolvers.purchasing import load_by_id
from services import products
from services.coupons import claimable

Load = Callable[[Context, int], Awaitable[Any]]
Visible = Callable[[Context, Any], Awaitable[bool]]


@dataclass(frozen=True)
class NodeRule:
    load: Load  # the row for a primary key, or None
    visible: Visible  # may the request's viewer see this (loaded, existing) row?


def by_loader(name: str) -> Load:
    """Load through the request's dataloader `name` (batched with every other id)."""

    async def load(ctx: Context, pk: int) -> Any:
        return await getattr(ctx.loaders, name).load(pk)

    return load


# --- who the viewer is ---------------------------------------------------------------------------


def is_customer(ctx: Context, customer_id: int | None) -> bool:
    return ctx.viewer.customer_id is not None and ctx.viewer.customer_id == customer_id


def staff_of(ctx: Context, permission: Permission, merchant_id: int | None) -> bool:
    """Staff holding `permission`: platform staff for anything, merchant staff for their
    merchant's objects only (a platform object, merchant_id None, is not theirs)."""
    return ctx.viewer.owns_merchant(merchant_id) and ctx.viewer.can(permission)


def platform_staff(ctx: Context, permission: Permission) -> bool:
    return ctx.viewer.is_staff and ctx.viewer.merchant_id is None and ctx.viewer.can(permission)


# --- catalog: public as the storefront shows it --------------------------------------------------


async def anyone(ctx: Context, row: Any) -> bool:
    return True


async def product_visible(ctx: Context, product: Any) -> bool:
    """Listed now, or staff of its merchant (drafts, delisted)."""
    return is_visible(ctx, product)


async def sku_visible(ctx: Context, sku: Any) -> bool:
    """Enabled (or staff of its merchant), and its product visible."""
    product = await ctx.loaders.product.load(sku.product_id)
    return products.sku_is_visible(sku, product, ctx.viewer, ctx.now)


async def load_display_category(ctx: Context, pk: int) -> Any:
    """From the tree as the request's channel sees it: hidden nodes are simply absent."""
    return (await display_tree(ctx)).nodes.get(pk)


async def merchant_visible(ctx: Context, merchant: Any) -> bool:
    """A shop's name is public (storefronts show it through Product.merchant)."""
    return True


async def shipping_template_visible(ctx: Context, template: Any) -> bool:
    return ctx.viewer.owns_merchant(template.merchant_id)


# --- marketing -----------------------------------------------------------------------------------


async def promotion_visible(ctx: Context, promotion: Any) -> bool:
    """Activated promotions are public (product pages show them, scheduled and ended ones
    answer with their status); drafts and cancelled ones are for staff with
    MANAGE_PROMOTIONS of the funding merchant."""
    return promotion.state == PromotionState.ACTIVATED or staff_of(
        ctx, Permission.MANAGE_PROMOTIONS, promotion.merchant_id
    )


async def coupon_template_visible(ctx: Context, template: Any) -> bool:
    """Claimable batches are public (the coupon center lists them); the rest are for staff
    with MANAGE_COUPONS of the issuing merchant."""
    return claimable(template, ctx.now) or staff_of(
        ctx, Permission.MANAGE_COUPONS, template.merchant_id
    )


async def coupon_visible(ctx: Context, coupon: Any) -> bool:
    """The customer holding it; staff with MANAGE_COUPONS of the batch's issuer."""
    if is_customer(ctx, coupon.customer_id):
        return True
    if not ctx.viewer.can(Permission.MANAGE_COUPONS):
        return False
    template = await ctx.loaders.coupon_template.load(coupon.template_id)
    return template is not None and staff_of(ctx, Permission.MANAGE_COUPONS, template.merchant_id)


# --- orders: the customer who placed them, staff with MANAGE_ORDERS of the merchant -------------


async def order_visible(ctx: Context, order: Any) -> bool:
    """As the `order` root field: the owner, or staff with MANAGE_ORDERS of its merchant."""
    return is_customer(ctx, order.customer_id) or staff_of(
        ctx, Permission.MANAGE_ORDERS, order.merchant_id
    )


async def in_visible_order(ctx: Context, row: Any) -> bool:
    """Order lines, shipments and refunds are seen by whoever sees their order."""
    order = await ctx.loaders.order.load(row.order_id)
    return order is not None and await order_visible(ctx, order)


async def payment_visible(ctx: Context, payment: Any) -> bool:
    """The customer who pays it; platform staff with MANAGE_ORDERS; merchant staff with
    MANAGE_ORDERS when it pays at least one order of their merchant (one payment covers
    every merchant's order of a checkout, and `Order.payment` already shows it to them)."""
    if is_customer(ctx, payment.customer_id) or platform_staff(ctx, Permission.MANAGE_ORDERS):
        return True
    if not (ctx.viewer.is_staff and ctx.viewer.can(Permission.MANAGE_ORDERS)):
        return False
    loaders = ctx.loaders
    if payment.order_id is not None:  # a sub-order's own payment
        order = await loaders.order.load(payment.order_id)
        return order is not None and order.merchant_id == ctx.viewer.merchant_id
    paid = (
        loaders.orders_by_balance
        if payment.kind == PaymentKind.BALANCE
        else loaders.orders_by_payment
    )
    return any(o.merchant_id == ctx.viewer.merchant_id for o in await paid.load(payment.id))


# --- accounts ------------------------------------------------------------------------------------


async def customer_visible(ctx: Context, customer: Any) -> bool:
    """The customer themself; platform staff with MANAGE_ORDERS (customer service). Merchant
    staff would need "has ordered from us", a query per id: they reach a buyer through
    `Order.customer` instead."""
    return (
        is_customer(ctx, customer.id)
        or platform_staff(ctx, Permission.MANAGE_ORDERS)
        or platform_staff(ctx, Permission.MANAGE_CUSTOMERS)
    )


async def address_visible(ctx: Context, address: Any) -> bool:
    """The customer's own; platform staff with MANAGE_ORDERS. Merchant staff get the address
    an order ships to as the order's snapshot, never the address book."""
    return is_customer(ctx, address.customer_id) or platform_staff(ctx, Permission.MANAGE_ORDERS)


async def staff_visible(ctx: Context, staff: Any) -> bool:
    """A staff member sees themself; MANAGE_STAFF holders see their merchant's staff
    (platform staff see all)."""
    return ctx.viewer.staff_id == staff.id or staff_of(
        ctx, Permission.MANAGE_STAFF, staff.merchant_id
    )


async def role_visible(ctx: Context, role: Any) -> bool:
    """MANAGE_STAFF holders: platform staff see every role, merchant staff their merchant's
    (as the `roles` list)."""
    return ctx.viewer.can(Permission.MANAGE_STAFF) and (
        ctx.viewer.merchant_id is None or role.merchant_id == ctx.viewer.merchant_id
    )


async def audit_entry_visible(ctx: Context, entry: Any) -> bool:
    """MANAGE_STAFF holders: platform staff see every entry, merchant staff the entries about
    their merchant's resources (as `auditLog`: never another party's cost prices or stock)."""
    if not (ctx.viewer.is_staff and ctx.viewer.can(Permission.MANAGE_STAFF)):
        return False
    if ctx.viewer.merchant_id is None:
        return True
    return bool(await ctx.loaders.audit_entry_about_viewers_merchant.load(entry.id))


# --- inventory -----------------------------------------------------------------------------------


async def warehouse_visible(ctx: Context, warehouse: Any) -> bool:
    return staff_of(ctx, Permission.MANAGE_INVENTORY, warehouse.merchant_id)


async def merchant_inventory_visible(ctx: Context, row: Any) -> bool:
    """Suppliers, purchase orders, stocktakes: as their lists (MANAGE_INVENTORY, merchant's)."""
    return staff_of(ctx, Permission.MANAGE_INVENTORY, row.merchant_id)


# Every GraphQL type implementing Node, by its global-id type name (models' `node_type`).
# tests/api/test_nodes.py fails when a Node type has no rule here.
NODE_RULES: dict[str, NodeRule] = {
    # catalog
    "Product": NodeRule(by_loader("product"), product_visible),
    "Sku": NodeRule(by_loader("sku"), sku_visible),
    "DisplayCategory": NodeRule(load_display_category, anyone),
    "Brand": NodeRule(by_loader("brand"), anyone),
    "Category": NodeRule(by_loader("category"), anyone),
    "Attribute": NodeRule(by_loader("attribute"), anyone),
    "Merchant": NodeRule(by_loader("merchant"), merchant_visible),
    "ShippingTemplate": NodeRule(by_loader("shipping_template"), shipping_template_visible),
    # marketing
    "Promotion": NodeRule(by_loader("promotion"), promotion_visible),
    "CouponTemplate": NodeRule(by_loader("coupon_template"), coupon_template_visible),
    "Coupon": NodeRule(by_loader("coupon"), coupon_visible),
    # orders
    "Order": NodeRule(by_loader("order"), order_visible),
    "OrderLine": NodeRule(by_loader("order_line"), in_visible_order),
    "Shipment": NodeRule(by_loader("shipment"), in_visible_order),
    "Refund": NodeRule(by_loader("refund"), in_visible_order),
    "Payment": NodeRule(by_loader("payment"), payment_visible),
    # accounts
    "Customer": NodeRule(by_loader("customer"), customer_visible),
    "Address": NodeRule(by_loader("address"), address_visible),
    "Staff": NodeRule(by_loader("staff"), staff_visible),
    "Role": NodeRule(by_loader("role"), role_visible),
    "AuditEntry": NodeRule(by_loader("audit_entry"), audit_entry_visible),
    # inventory
    "Warehouse": NodeRule(by_loader("warehouse"), warehouse_visible),
    # members
    "MemberLevel": NodeRule(members.load_level, anyone),
    **{
        model.node_type: NodeRule(load_by_id(model), merchant_inventory_visible)
        for model in (Supplier, PurchaseOrder, Stocktake)
    },
}


async def node(ctx: Context, global_id: str) -> Any:
    """The object, if the viewer may see it; null otherwise (unknown type or id included)."""
    kind, pk = query_id(global_id)
    rule = NODE_RULES.get(kind)
    if rule is None:
        return None
    row = await rule.load(ctx, pk)
    return row if row is not None and await rule.visible(ctx, row) else None


async def nodes(ctx: Context, global_ids: list[str]) -> list[Any]:
    if len(global_ids) > ctx.settings.max_page_size:
        raise api_error(
            ApiErrorCode.INVALID_PAGINATION,
            f"At most {ctx.settings.max_page_size} ids per request.",
        )
    # concurrently, so the dataloaders see every id of a type in one batch
    return list(await asyncio.gather(*(node(ctx, g) for g in global_ids)))
