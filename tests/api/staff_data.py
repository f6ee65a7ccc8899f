"""Staff of one merchant for API tests: make_staff (tests/conftest.py) given the merchant's
global id, as the API answers it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import Clock
from core.ids import decode_id
from core.settings import Settings
from tests.conftest import make_staff


async def merchant_staff(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    merchant: str,
    *,
    email: str,
    permissions: list[str],
) -> tuple[int, str]:
    """A staff member of `merchant` with a role holding `permissions`: (id, access token)."""
    return await make_staff(
        engine,
        settings,
        clock,
        email=email,
        permissions=permissions,
        merchant_id=decode_id(merchant)[1],
    )
