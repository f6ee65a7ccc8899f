"""Guards on fields of types (cost prices, stock, statistics). Root fields and mutations are
guarded by the authorization policy, schema/policy.py."""

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from resolvers import records as m
from resolvers.context import Permission


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
        return info.context.viewer.owns_merchant(merchant_of(source))


def merchant_of(source: Any) -> int | None:
    """The merchant an object belongs to; a merchant belongs to itself."""
    if isinstance(source, m.Merchant):
        return source.id
    return getattr(source, "merchant_id", None)


def _guard(permission: BasePermission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[permission], use_directives=False)]


def requires(permission: Permission) -> list[FieldExtension]:
    return _guard(Requires(permission))


def staff_of_merchant() -> list[FieldExtension]:
    return _guard(StaffOfMerchant())
