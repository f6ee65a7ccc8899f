"""GraphiQL works offline: the page loads only vendored assets from this server (no CDN), each
answered with its content type and cached for good; production serves neither page nor assets.
With a chromium on the machine, a headless browser loads the page and sees the editor."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app import create_app
from core.settings import Settings
from web.graphiql import ASSETS_DIR
from web.graphiql import assets_url

HTML = {"accept": "text/html"}
TYPES = {".js": "javascript", ".css": "text/css"}


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # no lifespan: the page and its assets never touch the database
    app = create_app(settings=settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        yield client


@pytest.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(Settings()):
        yield client


@pytest.fixture
async def production() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(Settings(environment="production", jwt_secret="p" * 40)):
        yield client


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', page)


async def test_every_asset_of_the_page_is_local_and_served(development: httpx.AsyncClient) -> None:
    page = await development.get("/graphql", headers=HTML)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    urls = _asset_urls(page.text)
    assert len(urls) == 6, urls
    for url in urls:
        assert url.startswith(assets_url() + "/"), f"{url} is not served from here"
        asset = await development.get(url)
        assert asset.status_code == 200, url
        assert TYPES[Path(url).suffix] in asset.headers["content-type"], url
        assert "immutable" in asset.headers["cache-control"], url
    assert "unpkg" not in page.text and "https://" not in page.text


def test_the_vendored_build_is_small_with_licences_and_no_source_maps() -> None:
    files = [p for p in ASSETS_DIR.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".map"]
    assert not [p for p in files if p.suffix in TYPES and b"sourceMappingURL" in p.read_bytes()]
    assert {p.name for p in (ASSETS_DIR / "licenses").iterdir()} >= {
        "react.LICENSE",
        "react-dom.LICENSE",
        "graphiql.LICENSE",
    }
    assert (ASSETS_DIR / "VERSIONS.md").exists()
    assert sum(p.stat().st_size for p in files) < 5_000_000


async def test_production_serves_neither_page_nor_assets(production: httpx.AsyncClient) -> None:
    page = await production.get("/graphql", headers=HTML)
    assert "graphiql" not in page.text.lower()
    asset = await production.get(f"{assets_url()}/graphiql.min.js")
    assert asset.status_code == 404


# --- a real browser, when the machine has one (never installed by the suite) -------------

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn on a loopback port (introspection needs no tables)."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ide.db'}", sweeper_interval_seconds=0
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/graphql"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_served_page_can_introspect_over_loopback(served: str) -> None:
    """What the browser test needs from the server, checked without a browser."""
    page = httpx.get(served, headers=HTML, timeout=10)
    assert page.status_code == 200 and assets_url() in page.text
    schema = httpx.post(served, json={"query": "{ __schema { queryType { name } } }"}, timeout=10)
    assert schema.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (`which chromium` "
    "found nothing); the browser smoke test of GraphiQL was not run",
)
def test_a_headless_browser_shows_the_graphiql_editor(served: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            served,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout
    assert "graphiql-query-editor" in dom, dom[:2000]
