"""One declarative permission mechanism for every admin field and mutation."""

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from resolvers.context import Permission


class Requires(BasePermission):
    """Allows staff holding `permission`; everyone else gets a FORBIDDEN GraphQL error."""

    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        self.message = f"Requires the {permission.value} permission."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.can(self.permission)


class StaffOnly(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}
    message = "Only staff can see this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.is_staff


def requires(permission: Permission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[Requires(permission)], use_directives=False)]


def staff_only() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[StaffOnly()], use_directives=False)]
