"""Cross-origin access for browsers: the CORS_ORIGINS allow-list, and in development any
page served from this machine (localhost, 127.0.0.1, [::1], any port), so a front-end dev
server can call the API without configuration. Production never widens the allow-list."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from core.settings import Settings

LOCAL_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


def cors_middleware(settings: Settings) -> list[Middleware]:
    local = None if settings.is_production else LOCAL_ORIGIN
    if not settings.cors_origins and local is None:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_origin_regex=local,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-channel", "x-request-id"],
            expose_headers=["x-request-id", "etag"],
        )
    ]
