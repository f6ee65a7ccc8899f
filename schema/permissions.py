"""One declarative permission mechanism for every admin field and mutation, plus the list of
mutations that are public on purpose (a test fails for any mutation that is neither)."""

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from resolvers.context import Permission

# Mutations anyone may call: sign-up, login, token refresh/revoke, and guest cart operations.
PUBLIC_MUTATIONS = frozenset({
    "customerRegister", "tokenCreate", "tokenRefresh", "tokenRevoke", "staffTokenCreate",
    # carts: guests own theirs by token; a customer's cart answers to its owner only
    "cartCreate", "cartLinesAdd", "cartLinesUpdate", "cartLinesRemove", "cartPromotionSelect",
})


class Requires(BasePermission):
    """Allows staff holding `permission`; everyone else gets a FORBIDDEN GraphQL error."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        self.message = f"Requires the {permission.value} permission."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.can(self.permission)


class StaffOfMerchant(BasePermission):
    """Staff-only data (cost prices, stock levels): platform staff, or staff of the merchant
    the object belongs to."""

    error_extensions = {"code": "FORBIDDEN"}
    message = "Only staff of this merchant can see this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.owns_merchant(getattr(source, "merchant_id", None))


class Staff(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}
    message = "Only staff can see this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.is_staff


class Customer(BasePermission):
    error_extensions = {"code": "UNAUTHENTICATED"}
    message = "Log in as a customer first."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.is_customer


class CustomerOrStaff(BasePermission):
    """Customers act on their own objects (the resolver checks ownership); staff need the
    permission."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        self.message = f"Log in as a customer, or as staff with {permission.value}."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer.is_customer or viewer.can(self.permission)


def _guard(permission: BasePermission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[permission], use_directives=False)]


def requires(permission: Permission) -> list[FieldExtension]:
    return _guard(Requires(permission))


def staff_of_merchant() -> list[FieldExtension]:
    return _guard(StaffOfMerchant())


def staff_only() -> list[FieldExtension]:
    return _guard(Staff())


def customer_only() -> list[FieldExtension]:
    return _guard(Customer())


def customer_or_staff(permission: Permission) -> list[FieldExtension]:
    return _guard(CustomerOrStaff(permission))
