"""Cross-origin access for browsers: the CORS_ORIGINS allow-list."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from core.settings import Settings


def cors_middleware(settings: Settings) -> list[Middleware]:
    if not settings.cors_origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                       allow_methods=["GET", "POST"],
                       allow_headers=["authorization", "content-type", "x-channel",
                                      "x-request-id"],
                       expose_headers=["x-request-id", "etag"])]
