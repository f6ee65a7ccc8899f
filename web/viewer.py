"""Who is asking, on which channel: the Bearer access token (JWT) and the staff member's
current standing, judged from this process's map of staff access (core/access.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request

from core.db import current_counter
from core.settings import Settings
from resolvers.context import ANONYMOUS
from resolvers.context import Channel
from resolvers.context import Permission
from resolvers.context import Viewer
from resolvers.errors import ApiErrorCode
from services.accounts import decode_access_token
from services.accounts import staff_standing
from web.errors import BadRequest
from web.stores import feed


def channel(request: Request) -> Channel:
    raw = request.headers.get("x-channel", Channel.WEB.value).strip().upper()
    try:
        return Channel(raw)
    except ValueError as exc:
        allowed = ", ".join(c.value for c in Channel)
        raise BadRequest(
            ApiErrorCode.INVALID_CHANNEL, f"X-Channel must be one of {allowed}."
        ) from exc


def viewer(request: Request, settings: Settings, now: datetime) -> Viewer:
    """The viewer from `Authorization: Bearer <access token>`; no header means a guest. A bad
    or expired token is refused (401) rather than silently downgraded to a guest, so clients
    know to refresh."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not token.strip():
        return ANONYMOUS
    claims = (
        decode_access_token(settings, token.strip(), now) if scheme.lower() == "bearer" else None
    )
    found = viewer_of_claims(claims or {})
    if found is None:
        raise BadRequest(ApiErrorCode.UNAUTHENTICATED, "Invalid or expired access token.", 401)
    return found


def viewer_of_claims(claims: Mapping[str, Any]) -> Viewer | None:
    """The customer or staff member a verified token (access token, download link) names."""
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    if kind == "customer" and raw_id.isdigit():
        return Viewer(customer_id=int(raw_id))
    if kind == "staff" and raw_id.isdigit():
        granted = frozenset(
            Permission(p) for p in claims.get("perms", []) if p in Permission.__members__
        )
        version = claims.get("ver", 0)
        return Viewer(
            staff_id=int(raw_id),
            permissions=granted,
            merchant_id=claims.get("mid"),
            token_version=version if isinstance(version, int) else -1,
        )
    return None


async def ensure_staff_standing(request: Request, viewer: Viewer, settings: Settings) -> None:
    """A staff token issued before the staff member's roles or status last changed is refused
    (401: the client refreshes, and gets the current permissions or is told it is disabled).
    Judged from this process's map (core/access.py): one read per staff member, then none
    while the change listener is live."""
    if viewer.staff_id is None:
        return
    changes = feed(request)
    standing = (
        changes.staff_access.trusted(
            viewer.staff_id, changes.live, changes.hearing, settings.staff_recheck_seconds
        )
        if changes.origin
        else None
    )  # an engine not made by create_engine: nothing is kept
    if standing is None:
        hearing = changes.hearing  # before the read: a reconnection meanwhile makes it stale
        counted = current_counter.set(None)  # bookkeeping, not the request's statements
        try:
            async with request.app.state.session_factory() as session:
                standing = await staff_standing(session, viewer.staff_id)
        finally:
            current_counter.reset(counted)
        if changes.origin:
            standing = changes.staff_access.learn(viewer.staff_id, standing, hearing)
    if not standing.accepts(viewer.token_version):
        raise BadRequest(
            ApiErrorCode.UNAUTHENTICATED,
            "This access token was revoked: refresh it or log in again.",
            401,
        )
