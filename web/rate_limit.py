"""Cost-based rate limiting: each client (customer, staff member or address) spends the
query's requested cost from its bucket; an empty bucket answers 429 with when to retry."""

from __future__ import annotations

import logging
from typing import Any

from resolvers.context import Context
from resolvers.errors import ApiErrorCode
from schema.limits import Cost
from services.rate_limits import Decision
from web.errors import BadRequest

log = logging.getLogger("zhongtai.http")


def _client(context: Context) -> str:
    viewer = context.viewer
    return (
        f"customer:{viewer.customer_id}"
        if viewer.customer_id
        else f"staff:{viewer.staff_id}"
        if viewer.staff_id
        else f"ip:{context.client}"
    )


async def throttle(limiter: Any, context: Context, cost: Cost | None) -> Decision | None:
    """The bucket's decision, or None when nothing is limited (or the limiter failed)."""
    if limiter is None or cost is None:
        return None
    try:
        decision = await limiter.take(_client(context), cost.requested)
    except Exception as exc:  # the limiter itself failed: serve rather than refuse everyone
        log.warning("rate limiter failed (%s: %s); request let through", type(exc).__name__, exc)
        return None
    if not decision.allowed:
        raise BadRequest(
            ApiErrorCode.RATE_LIMITED,
            f"Too much at once: this query costs {cost.requested} points and "
            f"{int(decision.available)} are left; retry later.",
            429,
            retryAfter=round(decision.retry_after, 2),
            cost=cost.requested,
            available=int(decision.available),
        )
    return decision


def throttle_status(limiter: Any, decision: Decision) -> dict[str, Any]:
    """The bucket's state as `extensions.cost.throttleStatus` shows it (Shopify's shape)."""
    return {
        "maximumAvailable": limiter.capacity,
        "currentlyAvailable": int(decision.available),
        "restoreRate": limiter.rate,
    }
