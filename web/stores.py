"""State shared beyond one request: the Redis client, the persisted-query store, the
rate-limit buckets, and the change feed of the app's database."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from core import changes
from core.faults import Degradation
from core.settings import Settings
from services import persisted_queries as persisted
from services.rate_limits import FallbackBuckets
from services.rate_limits import LocalBuckets
from services.rate_limits import RedisBuckets


def redis_client(settings: Settings) -> Any:
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    # Short timeouts: Redis is a cache, and a stalled one must cost a request little.
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )


def shared_state(
    settings: Settings, redis: Any, app: Starlette, health: Degradation
) -> tuple[Any, Any]:
    """Persisted queries live in the database, cached in Redis when configured; rate-limit
    buckets live in Redis when configured (shared by every process), falling back to
    process memory while it is down, else in process memory."""
    record = persisted.DatabaseStore(lambda: app.state.session_factory)
    store = persisted.CachedStore(
        record
        if redis is None
        else persisted.RedisCache(redis, record, health, settings.redis_key_prefix)
    )
    limiter: Any = None
    if settings.rate_limit > 0:
        local = LocalBuckets(settings.rate_limit, settings.rate_limit_refill_per_second)
        limiter = (
            local
            if redis is None
            else FallbackBuckets(
                RedisBuckets(
                    redis,
                    settings.rate_limit,
                    settings.rate_limit_refill_per_second,
                    settings.redis_key_prefix,
                ),
                local,
                health,
            )
        )
    return store, limiter


def feed(request: Request) -> changes.ChangeFeed:
    """The change feed of the database the app's sessions use."""
    return changes.feed_of(request.app.state.session_factory.kw["bind"])
