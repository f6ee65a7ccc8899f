"""Accounts glue: registration, login and tokens, the customer's own addresses, staff, roles
and the audit log."""

from __future__ import annotations

from typing import Any

from models.accounts import Address
from models.accounts import Customer
from models.accounts import Role
from models.accounts import Staff
from models.audit import AuditEntry
from resolvers import nodes
from resolvers.common import Change
from resolvers.common import MutationResult
from resolvers.common import Page
from resolvers.common import PageArgs
from resolvers.common import counted_page
from resolvers.common import input_id
from resolvers.common import input_ids
from resolvers.common import mutate
from resolvers.common import query_id
from resolvers.context import Context
from resolvers.context import Permission
from services import accounts
from services import audit
from services import coupons
from services.errors import DomainError
from services.errors import ErrorCode


def _require_customer(ctx: Context) -> int:
    if ctx.viewer.customer_id is None:
        raise DomainError(ErrorCode.FORBIDDEN, "Log in as a customer first.", None)
    return ctx.viewer.customer_id


async def register(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        customer = await accounts.register_customer(
            session,
            accounts.Registration(
                name=data.name, password=data.password, email=data.email, phone=data.phone
            ),
        )
        await coupons.issue_on_registration(session, customer, ctx.now)
        tokens = await accounts.issue_tokens(
            session, ctx.settings, f"customer:{customer.id}", ctx.now
        )
        return customer, tokens

    return await mutate(ctx, run)


async def token_create(
    ctx: Context, login: str, password: str, guest_cart_id: str | None
) -> MutationResult[Any]:
    return await mutate(
        ctx,
        lambda s: accounts.login_customer(
            s, ctx.settings, login, password, ctx.now, ctx.client, guest_cart_id
        ),
    )


async def staff_token_create(ctx: Context, email: str, password: str) -> MutationResult[Any]:
    return await mutate(
        ctx, lambda s: accounts.login_staff(s, ctx.settings, email, password, ctx.now, ctx.client)
    )


async def token_refresh(ctx: Context, refresh_token: str) -> MutationResult[Any]:
    return await mutate(
        ctx, lambda s: accounts.refresh_tokens(s, ctx.settings, refresh_token, ctx.now)
    )


async def token_revoke(ctx: Context, refresh_token: str) -> MutationResult[Any]:
    async def run(session: Any) -> bool:
        await accounts.revoke_family_of(session, refresh_token, ctx.now)
        return True

    return await mutate(ctx, run)


async def me(ctx: Context) -> Customer | None:
    if ctx.viewer.customer_id is None:
        return None
    return await ctx.read(lambda s: s.get(Customer, ctx.viewer.customer_id))


async def addresses_of(ctx: Context, customer: Customer) -> list[Address]:
    """The address book follows the Address node's rule: the customer, or platform staff with
    MANAGE_ORDERS. A merchant's staff reach a buyer through `Order.customer` and see the
    address the order ships to, never the book."""
    if not (
        nodes.is_customer(ctx, customer.id) or nodes.platform_staff(ctx, Permission.MANAGE_ORDERS)
    ):
        return []
    stmt = accounts.address_book(customer.id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


def _address_data(data: Any) -> accounts.AddressData:
    return accounts.AddressData(
        name=data.name,
        phone=data.phone,
        province=data.province,
        city=data.city,
        district=data.district,
        line1=data.line1,
        postal_code=data.postal_code,
    )


async def address_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.create_address(session, _require_customer(ctx), _address_data(data))

    return await mutate(ctx, run)


async def address_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.update_address(
            session,
            _require_customer(ctx),
            input_id(global_id, "Address", "id") or 0,
            _address_data(data),
        )

    return await mutate(ctx, run)


async def address_set_default(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.set_default_address(
            session, _require_customer(ctx), input_id(global_id, "Address", "id") or 0
        )

    return await mutate(ctx, run)


async def address_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.delete_address(
            session, _require_customer(ctx), input_id(global_id, "Address", "id") or 0
        )

    return await mutate(ctx, run)


def actor_of(ctx: Context) -> accounts.Actor:
    viewer = ctx.viewer
    return accounts.Actor(
        staff_id=viewer.staff_id,
        merchant_id=viewer.merchant_id,
        permissions=frozenset(p.value for p in viewer.permissions),
    )


def _permissions(values: list[Any] | None) -> list[str] | None:
    return None if values is None else [p.value for p in values]


async def role_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.create_role(
            session,
            actor_of(ctx),
            accounts.RoleData(
                name=data.name,
                permissions=_permissions(data.permissions) or [],
                merchant_id=input_id(data.merchant_id, "Merchant", "merchantId"),
            ),
        )

    return await mutate(ctx, run, Change("role.create", Role))


async def role_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.update_role(
            session,
            actor_of(ctx),
            input_id(global_id, "Role", "id") or 0,
            data.name,
            _permissions(data.permissions),
        )

    return await mutate(ctx, run, Change("role.update", Role, global_id))


async def role_delete(ctx: Context, global_id: str) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.delete_role(
            session, actor_of(ctx), input_id(global_id, "Role", "id") or 0
        )

    return await mutate(ctx, run, Change("role.delete", Role, global_id))


async def staff_create(ctx: Context, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.create_staff(
            session,
            actor_of(ctx),
            accounts.StaffData(
                email=data.email,
                name=data.name,
                password=data.password,
                role_ids=input_ids(data.role_ids, "Role", "roleIds"),
                merchant_id=input_id(data.merchant_id, "Merchant", "merchantId"),
            ),
        )

    return await mutate(ctx, run, Change("staff.create", Staff))


async def staff_update(ctx: Context, global_id: str, data: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        role_ids = None if data.role_ids is None else input_ids(data.role_ids, "Role", "roleIds")
        return await accounts.update_staff(
            session, actor_of(ctx), input_id(global_id, "Staff", "id") or 0, data.name, role_ids
        )

    return await mutate(ctx, run, Change("staff.update", Staff, global_id))


async def staff_set_active(ctx: Context, global_id: str, active: bool) -> MutationResult[Any]:
    async def run(session: Any) -> Any:
        return await accounts.set_staff_active(
            session, actor_of(ctx), input_id(global_id, "Staff", "id") or 0, active, ctx.now
        )

    action = "staff.activate" if active else "staff.deactivate"
    return await mutate(ctx, run, Change(action, Staff, global_id))


async def staff_list(ctx: Context, args: PageArgs) -> Page[Staff]:
    stmt = accounts.staff_visible_to(actor_of(ctx))
    return await counted_page(ctx, stmt, [Staff.id], args)


async def role_list(ctx: Context) -> list[Role]:
    stmt = accounts.roles_visible_to(actor_of(ctx)).order_by(Role.id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


async def staff_roles(ctx: Context, staff: Staff) -> list[Role]:
    stmt = accounts.roles_of(staff.id)
    return list(await ctx.read(lambda s: s.scalars(stmt)))


async def audit_log(ctx: Context, filter_: Any, args: PageArgs) -> Page[AuditEntry]:
    wanted = audit.EntryFilter()
    if filter_ is not None:
        wanted = audit.EntryFilter(
            actor_id=query_id(filter_.actor_id, "Staff")[1] if filter_.actor_id else None,
            target=query_id(filter_.target_id) if filter_.target_id else None,
            target_type=filter_.target_type or None,
            since=filter_.since,
            until=filter_.until,
        )
    stmt = audit.entries_seen_by(ctx.viewer.merchant_id, wanted)
    return await counted_page(ctx, stmt, audit.NEWEST_FIRST, args)
