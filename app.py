"""Starlette app factory: assembles the HTTP edge (web/) into routes, middleware and a
lifespan. Assembly only — each step lives in its own web/ module (README "Layout"), and
tests/unit/test_app_assembly.py keeps it that way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.routing import Route

import exports
from core import logs
from core.clock import Clock
from core.clock import SystemClock
from core.faults import Degradation
from core.settings import Settings
from core.settings import get_settings
from resolvers.payments_http import payment_routes
from schema import build_schema
from schema import schema as default_schema
from web import health
from web.cors import cors_middleware
from web.endpoint import GraphQLEndpoint
from web.graphiql import asset_routes
from web.lifespan import lifespan
from web.stores import redis_client
from web.stores import shared_state


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    schema: Any = None,
) -> Starlette:
    settings = settings or get_settings()
    settings.check_secure()
    logs.configure(settings.log_level)
    clock = clock or SystemClock()
    if schema is None:
        schema = build_schema(tracing=True) if settings.otel_tracing else default_schema
    endpoint = GraphQLEndpoint(schema, settings, clock)
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
        *health.routes(),
        *(asset_routes() if settings.graphiql_enabled else []),
        *exports.routes(settings, clock),
        *payment_routes(settings, clock),
    ]
    built = Starlette(
        routes=routes,
        middleware=cors_middleware(settings),
        lifespan=lifespan(settings, clock, engine, endpoint.operations),
    )
    built.state.endpoint = endpoint  # tests read what its plans answered
    built.state.redis = redis = redis_client(settings)
    built.state.redis_health = health_ = Degradation("redis")
    built.state.persisted_queries, built.state.limiter = shared_state(
        settings, redis, built, health_
    )
    return built


app = create_app()
