"""Accounts API: sign-up, login and tokens, the customer's profile and addresses, staff, roles
and the audit log (DOMAIN.md §9)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

import models as m
from core.ids import encode_id
from resolvers import accounts as ra
from resolvers.context import Permission as PermissionEnum
from schema.catalog import Merchant, Permission
from schema.common import Connection, Node, UserError, page_args, user_errors

if TYPE_CHECKING:
    from schema.cart import Cart
    from schema.coupons import Coupon, CouponStatus
    from schema.orders import Order, OrderFilter

MANAGE_STAFF = PermissionEnum.MANAGE_STAFF
CartRef = Annotated["Cart", strawberry.lazy("schema.cart")]
CouponRef = Annotated["Coupon", strawberry.lazy("schema.coupons")]
CouponStatusRef = Annotated["CouponStatus", strawberry.lazy("schema.coupons")]
OrderRef = Annotated["Order", strawberry.lazy("schema.orders")]
OrderFilterRef = Annotated["OrderFilter", strawberry.lazy("schema.orders")]


@strawberry.type
class Address(Node):
    name: str
    phone: str
    province: str
    city: str
    district: str | None
    line1: str
    postal_code: str | None
    is_default: bool

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Address)


@strawberry.type
class Customer(Node):
    name: str
    email: str | None
    phone: str | None
    member_level: int
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Customer)

    @strawberry.field(description="No paid order yet (promotion and coupon audiences).")
    def is_new_customer(self) -> bool:
        return self.first_paid_at is None  # type: ignore[attr-defined]

    @strawberry.field
    async def addresses(self, info: Info) -> list[Address]:
        return await ra.addresses_of(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="The customer's coupons (default: the usable ones).")
    async def coupons(self, info: Info,
                      status: CouponStatusRef | None = None) -> list[CouponRef]:
        from resolvers.coupons import wallet

        return await wallet(info.context, status.value if status else None)  # type: ignore[attr-defined]

    @strawberry.field(description="Newest first.")
    async def orders(self, info: Info, filter: OrderFilterRef | None = None,
                     first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> Connection[OrderRef]:
        from resolvers.orders import customer_orders

        return await customer_orders(info.context, self.id, filter.status if filter else None,  # type: ignore[attr-defined,return-value]
                                     page_args(info, first, after, last, before))

    @strawberry.field(description="The customer's open cart (created on first use).")
    async def cart(self, info: Info) -> CartRef | None:
        from resolvers.cart import my_cart

        return await my_cart(info.context)  # type: ignore[return-value]


@strawberry.type(description="A set of permissions, owned by the platform or by one merchant "
                 "(whose staff alone see and assign it).")
class Role(Node):
    name: str

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Role)

    @strawberry.field(description="The owner; null for a platform role.")
    async def merchant(self, info: Info) -> Merchant | None:
        mid = self.merchant_id  # type: ignore[attr-defined]
        return await info.context.loaders.merchant.load(mid) if mid else None

    @strawberry.field
    def permissions(self) -> list[Permission]:  # type: ignore[valid-type]
        return [PermissionEnum(p) for p in self.permissions]  # type: ignore[attr-defined]


@strawberry.type
class Staff(Node):
    email: str
    name: str
    is_active: bool

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Staff)

    @strawberry.field
    async def merchant(self, info: Info) -> Merchant | None:
        mid = self.merchant_id  # type: ignore[attr-defined]
        return await info.context.loaders.merchant.load(mid) if mid else None

    @strawberry.field
    async def roles(self, info: Info) -> list[Role]:
        return await ra.staff_roles(info.context, self)  # type: ignore[arg-type,return-value]


@strawberry.type
class AuditEntry(Node):
    action: str
    target_type: str
    before: JSON | None
    after: JSON | None
    request_id: str | None
    created_at: datetime

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.AuditEntry)

    @strawberry.field(description="Global id of the changed object.")
    def target_id(self) -> strawberry.ID | None:
        pk = self.target_id
        return strawberry.ID(encode_id(self.target_type, pk)) if pk is not None else None

    @strawberry.field
    async def actor(self, info: Info) -> Staff | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        if actor_id is None:
            return None
        return await info.context.read(lambda s: s.get(m.Staff, actor_id))


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input
class CustomerRegisterInput:
    name: str
    password: str
    phone: str | None = None
    email: str | None = None


@strawberry.input(description="All fields optional here; required ones are checked as rules "
                  "(so a form gets field-level userErrors).")
class AddressInput:
    name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    line1: str | None = None
    postal_code: str | None = None


@strawberry.input
class StaffCreateInput:
    email: str
    name: str
    password: str
    role_ids: list[strawberry.ID]
    merchant_id: strawberry.ID | None = None


@strawberry.input(description="Staff give only roles within their own permissions and merchant.")
class StaffUpdateInput:
    name: str | None = None
    role_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the whole role set when given.")


@strawberry.input
class RoleInput:
    name: str
    permissions: list[Permission]  # type: ignore[valid-type]
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The owner (platform staff only; merchant staff always own "
        "theirs). Omitted: a platform role.")


@strawberry.input(description="Omitted fields keep their value.")
class RoleUpdateInput:
    name: str | None = None
    permissions: list[Permission] | None = None  # type: ignore[valid-type]


@strawberry.input
class AuditLogFilter:
    actor_id: strawberry.ID | None = None
    target_type: str | None = None
    target_id: strawberry.ID | None = None
    since: datetime | None = None
    until: datetime | None = None


# --- payloads ------------------------------------------------------------------------------------


@strawberry.type
class CustomerRegisterPayload:
    customer: Customer | None
    access_token: str | None
    refresh_token: str | None
    user_errors: list[UserError]


@strawberry.type
class TokenPayload:
    access_token: str | None
    refresh_token: str | None
    user_errors: list[UserError]


@strawberry.type
class TokenRevokePayload:
    revoked: bool
    user_errors: list[UserError]


@strawberry.type
class AddressPayload:
    address: Address | None
    user_errors: list[UserError]


@strawberry.type
class AddressDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class StaffPayload:
    staff: Staff | None
    user_errors: list[UserError]


@strawberry.type
class RolePayload:
    role: Role | None
    user_errors: list[UserError]


@strawberry.type
class RoleDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


def _tokens(result: Any) -> TokenPayload:
    tokens = result.value
    return TokenPayload(access_token=tokens.access_token if tokens else None,
                        refresh_token=tokens.refresh_token if tokens else None,
                        user_errors=user_errors(result.errors))


def _address(result: Any) -> AddressPayload:
    return AddressPayload(address=result.value, user_errors=user_errors(result.errors))


# --- root fields ---------------------------------------------------------------------------------


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The logged-in customer; null for guests and staff.")
    async def me(self, info: Info) -> Customer | None:
        return await ra.me(info.context)  # type: ignore[return-value]

    @strawberry.field
    async def audit_log(self, info: Info, filter: AuditLogFilter | None = None,
                        first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None
                       ) -> Connection[AuditEntry]:
        return await ra.audit_log(info.context, filter,
                                  page_args(info, first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Staff accounts, oldest first; merchant staff see their "
                      "merchant's only.")
    async def staff(self, info: Info, first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> Connection[Staff]:
        return await ra.staff_list(info.context, page_args(info, first, after, last, before))  # type: ignore[return-value]

    @strawberry.field(description="Roles; merchant staff see their merchant's only.")
    async def roles(self, info: Info) -> list[Role]:
        return await ra.role_list(info.context)  # type: ignore[return-value]


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def customer_register(self, info: Info,
                                input: CustomerRegisterInput) -> CustomerRegisterPayload:
        r = await ra.register(info.context, input)
        customer, tokens = r.value if r.value else (None, None)
        return CustomerRegisterPayload(
            customer=customer, access_token=tokens.access_token if tokens else None,
            refresh_token=tokens.refresh_token if tokens else None,
            user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Customer login by phone or email. A guest cart id, if "
                         "given, is merged into the customer's cart.")
    async def token_create(self, info: Info, login: str, password: str,
                           guest_cart_id: str | None = None) -> TokenPayload:
        return _tokens(await ra.token_create(info.context, login, password, guest_cart_id))

    @strawberry.mutation(description="Staff login by email.")
    async def staff_token_create(self, info: Info, email: str, password: str) -> TokenPayload:
        return _tokens(await ra.staff_token_create(info.context, email, password))

    @strawberry.mutation(description="Spend a refresh token for a new access + refresh pair. "
                         "A refresh token works once; reuse revokes the whole login.")
    async def token_refresh(self, info: Info, refresh_token: str) -> TokenPayload:
        return _tokens(await ra.token_refresh(info.context, refresh_token))

    @strawberry.mutation(description="Log out: revoke the refresh token's whole login.")
    async def token_revoke(self, info: Info, refresh_token: str) -> TokenRevokePayload:
        r = await ra.token_revoke(info.context, refresh_token)
        return TokenRevokePayload(revoked=bool(r.value), user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def address_create(self, info: Info, input: AddressInput) -> AddressPayload:
        return _address(await ra.address_create(info.context, input))

    @strawberry.mutation
    async def address_update(self, info: Info, id: strawberry.ID,
                             input: AddressInput) -> AddressPayload:
        return _address(await ra.address_update(info.context, id, input))

    @strawberry.mutation
    async def address_set_default(self, info: Info, id: strawberry.ID) -> AddressPayload:
        return _address(await ra.address_set_default(info.context, id))

    @strawberry.mutation
    async def address_delete(self, info: Info, id: strawberry.ID) -> AddressDeletePayload:
        r = await ra.address_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Address", r.value.id)) if r.value else None
        return AddressDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def staff_create(self, info: Info, input: StaffCreateInput) -> StaffPayload:
        r = await ra.staff_create(info.context, input)
        return StaffPayload(staff=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Change a staff member's name or roles; their current "
                         "access tokens are refused from the next request (they refresh).")
    async def staff_update(self, info: Info, id: strawberry.ID,
                           input: StaffUpdateInput) -> StaffPayload:
        r = await ra.staff_update(info.context, id, input)
        return StaffPayload(staff=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Lock a staff member out at once: access tokens refused "
                         "from the next request, logins revoked. Not oneself.")
    async def staff_deactivate(self, info: Info, id: strawberry.ID) -> StaffPayload:
        r = await ra.staff_set_active(info.context, id, False)
        return StaffPayload(staff=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Let a deactivated staff member log in again.")
    async def staff_activate(self, info: Info, id: strawberry.ID) -> StaffPayload:
        r = await ra.staff_set_active(info.context, id, True)
        return StaffPayload(staff=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation
    async def role_create(self, info: Info, input: RoleInput) -> RolePayload:
        r = await ra.role_create(info.context, input)
        return RolePayload(role=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Rename a role or replace its permissions; holders' "
                         "current access tokens are refused from the next request.")
    async def role_update(self, info: Info, id: strawberry.ID,
                          input: RoleUpdateInput) -> RolePayload:
        r = await ra.role_update(info.context, id, input)
        return RolePayload(role=r.value, user_errors=user_errors(r.errors))

    @strawberry.mutation(description="Refused (ROLE_IN_USE) while any staff member holds it.")
    async def role_delete(self, info: Info, id: strawberry.ID) -> RoleDeletePayload:
        r = await ra.role_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Role", r.value.id)) if r.value else None
        return RoleDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))
