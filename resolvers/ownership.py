"""Who owns a resource (services/ownership.py), read on the request's session for the
authorization policy (schema/policy.py)."""

from __future__ import annotations

from resolvers.context import Context
from services import ownership
from services.ownership import OWNED_TYPES as OWNED_TYPES


async def owners_of(ctx: Context, type_name: str, pks: set[int]) -> dict[int, int | None]:
    """The owning merchant of each existing row; rows that do not exist are absent."""
    return await ctx.read(lambda s: ownership.owners_of(s, type_name, pks))
