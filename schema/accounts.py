"""Accounts API: sign-up, login and tokens, the customer's profile and addresses, staff, roles
and the audit log (DOMAIN.md §9)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.ids import encode_id
from resolvers import accounts as ra
from resolvers import records as m
from resolvers.common import PageArgs
from resolvers.context import Permission as PermissionEnum
from schema import members
from schema import red_packets as rp
from schema.catalog import Merchant
from schema.catalog import Permission
from schema.common import Connection
from schema.common import Money
from schema.common import Node
from schema.common import RelayWindow
from schema.common import UserError
from schema.common import deleted_id_field
from schema.common import page_args
from schema.common import user_errors
from schema.common import user_errors_field
from schema.payloads import payload

if TYPE_CHECKING:
    from schema.cart import Cart
    from schema.coupons import Coupon
    from schema.coupons import CouponStatus
    from schema.orders import Order
    from schema.orders import OrderFilter

MANAGE_STAFF = PermissionEnum.MANAGE_STAFF
CartRef = Annotated["Cart", strawberry.lazy("schema.cart")]
CouponRef = Annotated["Coupon", strawberry.lazy("schema.coupons")]
CouponStatusRef = Annotated["CouponStatus", strawberry.lazy("schema.coupons")]
OrderRef = Annotated["Order", strawberry.lazy("schema.orders")]
OrderFilterRef = Annotated["OrderFilter", strawberry.lazy("schema.orders")]


# Not in the schema itself: the fields of a customer's address and of an order's copy of it.
@strawberry.type
class PostalAddress:
    name: str = strawberry.field(description="Recipient's name.")
    phone: str = strawberry.field(description="Recipient's phone number.")
    province: str = strawberry.field(description="Province (省).")
    city: str = strawberry.field(description="City (市).")
    district: str | None = strawberry.field(description="District (区/县), if any.")
    line1: str = strawberry.field(description="Street address.")
    postal_code: str | None = strawberry.field(description="Postal code, if given.")


@strawberry.type(description="A postal address of a customer; customers see only their own.")
class Address(Node, PostalAddress):
    is_default: bool = strawberry.field(
        description="Whether this is the customer's default address (exactly one is)."
    )

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Address)


@strawberry.type(description="A customer account.")
class Customer(Node):
    name: str = strawberry.field(description="Display name.")
    email: str | None = strawberry.field(description="Email, if registered with one.")
    phone: str | None = strawberry.field(description="Phone number, if registered with one.")
    member_level: int = strawberry.field(
        description="Member level: the rank of `level`, 0 below every level (promotion and "
        "coupon audiences)."
    )
    created_at: datetime = strawberry.field(
        description="When the account was registered (ISO-8601, UTC)."
    )
    # the member center (schema/members.py)
    growth: int = members.growth_field
    points: int = members.points_field
    level: members.MemberLevel | None = members.level_field
    next_level: members.MemberLevel | None = members.next_level_field
    growth_to_next_level: int | None = members.growth_to_next_level_field
    level_override: members.MemberLevel | None = members.level_override_field
    points_ledger: Connection[members.PointsEntry] = members.points_ledger_field
    # red packets (schema/red_packets.py): the customer's own
    red_packet_balance: Money = rp.balance_field
    red_packets: Connection[rp.RedPacket] = rp.packets_field
    red_packet_grants: Connection[rp.RedPacketGrant] = rp.grants_field

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Customer)

    @strawberry.field(description="No paid order yet (promotion and coupon audiences).")
    def is_new_customer(self) -> bool:
        return self.first_paid_at is None  # type: ignore[attr-defined]

    @strawberry.field(description="The customer's addresses, the default among them.")
    async def addresses(self, info: Info) -> list[Address]:
        return await ra.addresses_of(info.context, self)  # type: ignore[arg-type,return-value]

    @strawberry.field(description="The customer's coupons (default: the usable ones).")
    async def coupons(self, info: Info, status: CouponStatusRef | None = None) -> list[CouponRef]:
        from resolvers.coupons import wallet

        return await wallet(info.context, status.value if status else None)

    @strawberry.field(description="Newest first.")
    async def orders(
        self,
        info: Info,
        filter: OrderFilterRef | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[OrderRef]:
        from resolvers.orders import customer_orders

        return await customer_orders(
            info.context,
            self.id,  # type: ignore[attr-defined,return-value]
            filter.status if filter else None,
            page_args(info, first, after, last, before),
        )

    @strawberry.field(description="The customer's open cart (created on first use).")
    async def cart(self, info: Info) -> CartRef | None:
        from resolvers.cart import my_cart

        return await my_cart(info.context)  # type: ignore[return-value]


@strawberry.type(
    description="A set of permissions, owned by the platform or by one merchant "
    "(whose staff alone see and assign it)."
)
class Role(Node):
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Role)

    @strawberry.field(description="The owner; null for a platform role.")
    async def merchant(self, info: Info) -> Merchant | None:
        mid = self.merchant_id  # type: ignore[attr-defined]
        return await info.context.loaders.merchant.load(mid) if mid else None

    @strawberry.field(description="What it grants.")
    def permissions(self) -> list[Permission]:
        return [PermissionEnum(p) for p in self.permissions]


@strawberry.type(description="A staff account of the platform or of one merchant.")
class Staff(Node):
    email: str = strawberry.field(description="Email to log in with.")
    name: str = strawberry.field(description="Display name.")
    is_active: bool = strawberry.field(description="False once deactivated: no access.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.Staff)

    @strawberry.field(description="Their merchant; null for platform staff.")
    async def merchant(self, info: Info) -> Merchant | None:
        mid = self.merchant_id  # type: ignore[attr-defined]
        return await info.context.loaders.merchant.load(mid) if mid else None

    @strawberry.field(description="Their roles.")
    async def roles(self, info: Info) -> list[Role]:
        return await ra.staff_roles(info.context, self)  # type: ignore[arg-type,return-value]


@strawberry.type(description="One admin mutation as written to the audit log.")
class AuditEntry(Node):
    action: str = strawberry.field(description="What was done.")
    target_type: str = strawberry.field(description='Type of the changed object, e.g. "Product".')
    before: JSON | None = strawberry.field(
        description="The object before the change (null for a creation)."
    )
    after: JSON | None = strawberry.field(
        description="The object after the change (null for a deletion)."
    )
    request_id: str | None = strawberry.field(
        description="The request that made the change, for tracing."
    )
    created_at: datetime = strawberry.field(description="When (ISO-8601, UTC).")

    @classmethod
    def is_type_of(cls, obj: Any, info: Info) -> bool:
        return isinstance(obj, m.AuditEntry)

    @strawberry.field(description="Global id of the changed object.")
    def target_id(self) -> strawberry.ID | None:
        pk = self.target_id
        return strawberry.ID(encode_id(self.target_type, pk)) if pk is not None else None

    @strawberry.field(description="The staff member who did it.")
    async def actor(self, info: Info) -> Staff | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        if actor_id is None:
            return None
        return await info.context.read(lambda s: s.get(m.Staff, actor_id))


# --- inputs --------------------------------------------------------------------------------------


@strawberry.input(description="A new customer account: a phone or an email is required.")
class CustomerRegisterInput:
    name: str = strawberry.field(description="Display name.")
    password: str = strawberry.field(description="Password.")
    phone: str | None = strawberry.field(default=None, description="Phone number to log in with.")
    email: str | None = strawberry.field(default=None, description="Email to log in with.")


@strawberry.input(
    description="All fields optional here; required ones are checked as rules "
    "(so a form gets field-level userErrors)."
)
class AddressInput:
    name: str | None = strawberry.field(default=None, description="Recipient's name (required).")
    phone: str | None = strawberry.field(
        default=None, description="Recipient's phone number (required)."
    )
    province: str | None = strawberry.field(default=None, description="Province (省) (required).")
    city: str | None = strawberry.field(default=None, description="City (市) (required).")
    district: str | None = strawberry.field(default=None, description="District (区/县).")
    line1: str | None = strawberry.field(default=None, description="Street address (required).")
    postal_code: str | None = strawberry.field(default=None, description="Postal code.")


@strawberry.input(description="A new staff account.")
class StaffCreateInput:
    email: str = strawberry.field(description="Email to log in with.")
    name: str = strawberry.field(description="Display name.")
    password: str = strawberry.field(description="Initial password.")
    role_ids: list[strawberry.ID] = strawberry.field(
        description="Relay global ids of the roles to grant."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of their merchant; omitted = platform staff."
    )


@strawberry.input(description="Staff give only roles within their own permissions and merchant.")
class StaffUpdateInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    role_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the whole role set when given."
    )


@strawberry.input(description="A new role.")
class RoleInput:
    name: str = strawberry.field(description="Display name.")
    permissions: list[Permission] = strawberry.field(
        description="What it grants; only permissions the caller holds."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The owner (platform staff only; merchant staff always own "
        "theirs). Omitted: a platform role.",
    )


@strawberry.input(description="Omitted fields keep their value.")
class RoleUpdateInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    permissions: list[Permission] | None = strawberry.field(
        default=None, description="What it grants; only permissions the caller holds."
    )


@strawberry.input(description="Narrows auditLog; every given condition must hold.")
class AuditLogFilter:
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the staff member who acted."
    )
    target_type: str | None = strawberry.field(
        default=None, description='Type of the changed object, e.g. "Product".'
    )
    target_id: strawberry.ID | None = strawberry.field(
        default=None, description="Relay global id of the changed object."
    )
    since: datetime | None = strawberry.field(
        default=None, description="Entries at or after this time (ISO-8601, UTC)."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Entries before this time (ISO-8601, UTC)."
    )


# --- payloads ------------------------------------------------------------------------------------


@strawberry.type(description="Result of customerRegister: the account, logged in.")
class CustomerRegisterPayload:
    customer: Customer | None = strawberry.field(description="The new customer; null when refused.")
    access_token: str | None = strawberry.field(
        description="Bearer token for the Authorization header."
    )
    refresh_token: str | None = strawberry.field(description="Single-use token for tokenRefresh.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a login or token refresh.")
class TokenPayload:
    access_token: str | None = strawberry.field(
        description="Bearer token for the Authorization header."
    )
    refresh_token: str | None = strawberry.field(description="Single-use token for tokenRefresh.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of tokenRevoke.")
class TokenRevokePayload:
    revoked: bool = strawberry.field(description="Whether a login was ended.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of an address mutation.")
class AddressPayload:
    address: Address | None = strawberry.field(
        description="The address as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of addressDelete.")
class AddressDeletePayload:
    deleted_id: strawberry.ID | None = deleted_id_field()
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a staff mutation.")
class StaffPayload:
    staff: Staff | None = strawberry.field(
        description="The staff member as saved; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of a role mutation.")
class RolePayload:
    role: Role | None = strawberry.field(description="The role as saved; null when refused.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of roleDelete.")
class RoleDeletePayload:
    deleted_id: strawberry.ID | None = deleted_id_field()
    user_errors: list[UserError] = user_errors_field()


def _tokens(result: Any) -> TokenPayload:
    tokens = result.value
    return TokenPayload(
        access_token=tokens.access_token if tokens else None,
        refresh_token=tokens.refresh_token if tokens else None,
        user_errors=user_errors(result.errors),
    )


def _address(result: Any) -> AddressPayload:
    return AddressPayload(address=result.value, user_errors=user_errors(result.errors))


# --- root fields ---------------------------------------------------------------------------------


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The logged-in customer; null for guests and staff.")
    async def me(self, info: Info) -> Customer | None:
        return await ra.me(info.context)  # type: ignore[return-value]

    @strawberry.field(
        description="Audit entries of admin mutations; merchant staff see entries "
        "about their merchant's resources only.",
        extensions=[RelayWindow(50)],
    )
    async def audit_log(
        self,
        info: Info,
        filter: Annotated[
            AuditLogFilter | None, strawberry.argument(description="Narrow the result.")
        ] = None,
        *,
        page: PageArgs,
    ) -> Connection[AuditEntry]:
        return await ra.audit_log(info.context, filter, page)  # type: ignore[return-value]

    @strawberry.field(
        description="Staff accounts, oldest first; merchant staff see their merchant's only.",
        extensions=[RelayWindow(50)],
    )
    async def staff(
        self,
        info: Info,
        page: PageArgs,
    ) -> Connection[Staff]:
        return await ra.staff_list(info.context, page)  # type: ignore[return-value]

    @strawberry.field(description="Roles; merchant staff see their merchant's only.")
    async def roles(self, info: Info) -> list[Role]:
        return await ra.role_list(info.context)  # type: ignore[return-value]


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Register a customer account by phone or email and password.")
    async def customer_register(
        self,
        info: Info,
        input: Annotated[
            CustomerRegisterInput, strawberry.argument(description="The new account.")
        ],
    ) -> CustomerRegisterPayload:
        r = await ra.register(info.context, input)
        customer, tokens = r.value if r.value else (None, None)
        return CustomerRegisterPayload(
            customer=customer,
            access_token=tokens.access_token if tokens else None,
            refresh_token=tokens.refresh_token if tokens else None,
            user_errors=user_errors(r.errors),
        )

    @strawberry.mutation(
        description="Customer login by phone or email. A guest cart id, if "
        "given, is merged into the customer's cart."
    )
    async def token_create(
        self,
        info: Info,
        login: Annotated[str, strawberry.argument(description="Phone number or email.")],
        password: Annotated[str, strawberry.argument(description="The customer's password.")],
        guest_cart_id: Annotated[
            str | None,
            strawberry.argument(description="A guest cart to merge into the customer's cart."),
        ] = None,
    ) -> TokenPayload:
        return _tokens(await ra.token_create(info.context, login, password, guest_cart_id))

    @strawberry.mutation(description="Staff login by email.")
    async def staff_token_create(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The staff member's email.")],
        password: Annotated[str, strawberry.argument(description="The staff member's password.")],
    ) -> TokenPayload:
        return _tokens(await ra.staff_token_create(info.context, email, password))

    @strawberry.mutation(
        description="Spend a refresh token for a new access + refresh pair. "
        "A refresh token works once; reuse revokes the whole login."
    )
    async def token_refresh(
        self,
        info: Info,
        refresh_token: Annotated[
            str, strawberry.argument(description="The refresh token from the last token pair.")
        ],
    ) -> TokenPayload:
        return _tokens(await ra.token_refresh(info.context, refresh_token))

    @strawberry.mutation(description="Log out: revoke the refresh token's whole login.")
    async def token_revoke(
        self,
        info: Info,
        refresh_token: Annotated[
            str, strawberry.argument(description="The refresh token of the login to end.")
        ],
    ) -> TokenRevokePayload:
        r = await ra.token_revoke(info.context, refresh_token)
        return TokenRevokePayload(revoked=bool(r.value), user_errors=user_errors(r.errors))

    @strawberry.mutation(
        description="Add an address for the logged-in customer; their first "
        "address becomes the default."
    )
    async def address_create(
        self,
        info: Info,
        input: Annotated[AddressInput, strawberry.argument(description="The new address.")],
    ) -> AddressPayload:
        return _address(await ra.address_create(info.context, input))

    @strawberry.mutation(description="Change one of the logged-in customer's addresses.")
    async def address_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the address.")
        ],
        input: Annotated[
            AddressInput, strawberry.argument(description="The address's new values.")
        ],
    ) -> AddressPayload:
        return _address(await ra.address_update(info.context, id, input))

    @strawberry.mutation(description="Make one of the logged-in customer's addresses the default.")
    async def address_set_default(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the address.")
        ],
    ) -> AddressPayload:
        return _address(await ra.address_set_default(info.context, id))

    @strawberry.mutation(
        description="Delete one of the logged-in customer's addresses; deleting "
        "the default promotes the most recent."
    )
    async def address_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the address.")
        ],
    ) -> AddressDeletePayload:
        r = await ra.address_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Address", r.value.id)) if r.value else None
        return AddressDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))

    @strawberry.mutation(
        description="Create a staff account; nobody grants a permission they do "
        "not hold (staff with MANAGE_STAFF)."
    )
    async def staff_create(
        self,
        info: Info,
        input: Annotated[
            StaffCreateInput, strawberry.argument(description="The new staff account.")
        ],
    ) -> StaffPayload:
        return payload(StaffPayload, staff=await ra.staff_create(info.context, input))

    @strawberry.mutation(
        description="Change a staff member's name or roles; their current "
        "access tokens are refused from the next request (they refresh)."
    )
    async def staff_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the staff member.")
        ],
        input: Annotated[
            StaffUpdateInput, strawberry.argument(description="The new name or roles.")
        ],
    ) -> StaffPayload:
        return payload(StaffPayload, staff=await ra.staff_update(info.context, id, input))

    @strawberry.mutation(
        description="Lock a staff member out at once: access tokens refused "
        "from the next request, logins revoked. Not oneself."
    )
    async def staff_deactivate(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the staff member.")
        ],
    ) -> StaffPayload:
        return payload(StaffPayload, staff=await ra.staff_set_active(info.context, id, False))

    @strawberry.mutation(description="Let a deactivated staff member log in again.")
    async def staff_activate(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the staff member.")
        ],
    ) -> StaffPayload:
        return payload(StaffPayload, staff=await ra.staff_set_active(info.context, id, True))

    @strawberry.mutation(
        description="Create a role (a set of permissions); nobody grants a "
        "permission they do not hold (staff with MANAGE_STAFF)."
    )
    async def role_create(
        self,
        info: Info,
        input: Annotated[RoleInput, strawberry.argument(description="The new role.")],
    ) -> RolePayload:
        return payload(RolePayload, role=await ra.role_create(info.context, input))

    @strawberry.mutation(
        description="Rename a role or replace its permissions; holders' "
        "current access tokens are refused from the next request."
    )
    async def role_update(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the role.")
        ],
        input: Annotated[
            RoleUpdateInput, strawberry.argument(description="The role's new name or permissions.")
        ],
    ) -> RolePayload:
        return payload(RolePayload, role=await ra.role_update(info.context, id, input))

    @strawberry.mutation(description="Refused (ROLE_IN_USE) while any staff member holds it.")
    async def role_delete(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the role.")
        ],
    ) -> RoleDeletePayload:
        r = await ra.role_delete(info.context, id)
        deleted = strawberry.ID(encode_id("Role", r.value.id)) if r.value else None
        return RoleDeletePayload(deleted_id=deleted, user_errors=user_errors(r.errors))
