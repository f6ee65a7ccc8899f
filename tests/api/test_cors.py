"""CORS: in development a browser app served from this machine (any port) passes the
preflight without configuration; production answers only its CORS_ORIGINS allow-list."""

from __future__ import annotations

import httpx
import pytest

from app import create_app
from core.settings import Settings

PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, authorization",
}


async def _preflight(settings: Settings, origin: str) -> httpx.Response:
    # no lifespan: a preflight never reaches the database
    app = create_app(settings=settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})


@pytest.fixture
def production() -> Settings:
    return Settings(
        environment="production", jwt_secret="p" * 40, cors_origins=["https://shop.example"]
    )


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://localhost",
        "https://localhost:8443",
    ],
)
async def test_development_allows_local_browser_apps(origin: str) -> None:
    answer = await _preflight(Settings(), origin)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed and "authorization" in allowed


@pytest.mark.parametrize(
    "origin",
    ["http://localhost.evil.example", "http://evil.example", "http://localhost:5173.evil.example"],
)
async def test_development_still_refuses_other_origins(origin: str) -> None:
    answer = await _preflight(Settings(), origin)
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


async def test_production_refuses_an_unlisted_local_origin(production: Settings) -> None:
    answer = await _preflight(production, "http://localhost:5173")
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
    listed = await _preflight(production, "https://shop.example")
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == "https://shop.example"


async def test_production_without_origins_has_no_cors_at_all() -> None:
    bare = Settings(environment="production", jwt_secret="p" * 40)
    answer = await _preflight(bare, "http://localhost:5173")
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers
