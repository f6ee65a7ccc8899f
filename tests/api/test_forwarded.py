"""Client addresses behind a proxy (FORWARDED_ALLOW_IPS): the app served by a real uvicorn on a
loopback port, as `zhongtai serve` configures it. Only a trusted proxy may say who the client
is; anyone else is known by the address they connect from (login throttling counts it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from cli import proxy_options
from core.db import create_session_factory
from core.settings import Settings
from models.accounts import LoginThrottle

LOGIN = (
    'mutation { tokenCreate(login: "nobody@example.com", password: "wrong-pass-1") '
    "{ userErrors { code } } }"
)


@pytest.fixture
async def server(sqlite_engine: AsyncEngine) -> AsyncIterator[str]:
    """The API on 127.0.0.1:<free port>, trusting the proxy at 127.0.0.1 only."""
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        forwarded_allow_ips="127.0.0.1",
        sweeper_interval_seconds=0,
        log_level="WARNING",
    )
    app = create_app(settings=settings, engine=sqlite_engine)
    app.state.engine = sqlite_engine
    app.state.session_factory = create_session_factory(sqlite_engine)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_level="warning",
        **proxy_options(settings),
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    try:
        for _ in range(500):
            if uv.started:
                break
            await asyncio.sleep(0.01)
        port = uv.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def counted_address(engine: AsyncEngine, url: str, source: str, forwarded_for: str) -> str:
    """Fail one login from `source` claiming `forwarded_for`; the address it was counted
    under."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=url, timeout=10) as client:
        response = await client.post(
            "/graphql", json={"query": LOGIN}, headers={"x-forwarded-for": forwarded_for}
        )
    assert response.json()["data"]["tokenCreate"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    async with create_session_factory(engine)() as s:
        (key,) = (
            await s.scalars(select(LoginThrottle.key).where(LoginThrottle.key.like("ip:%")))
        ).all()
        await s.delete(await s.scalar(select(LoginThrottle).where(LoginThrottle.key == key)))
        await s.commit()
    return key.removeprefix("ip:")


async def test_an_untrusted_client_cannot_forge_its_address(
    server: str, sqlite_engine: AsyncEngine
) -> None:
    assert await counted_address(sqlite_engine, server, "127.0.0.2", "1.2.3.4") == "127.0.0.2"


async def test_a_trusted_proxy_names_the_client(server: str, sqlite_engine: AsyncEngine) -> None:
    assert await counted_address(sqlite_engine, server, "127.0.0.1", "1.2.3.4") == "1.2.3.4"
    # nginx appends the address it saw to what the client sent: the client's own entry
    # (9.9.9.9) is ignored, the one the proxy added counts.
    assert (
        await counted_address(sqlite_engine, server, "127.0.0.1", "9.9.9.9, 5.6.7.8") == "5.6.7.8"
    )


def test_serve_passes_the_setting_to_uvicorn() -> None:
    options = proxy_options(Settings(forwarded_allow_ips="172.30.0.10"))
    assert options == {"proxy_headers": True, "forwarded_allow_ips": "172.30.0.10"}
    # by default only a proxy on this host is believed
    assert Settings.model_fields["forwarded_allow_ips"].default == "127.0.0.1"
