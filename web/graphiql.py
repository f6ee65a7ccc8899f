"""GraphiQL served from the project: the page, and its vendored, pinned assets
(web/static/vendor/graphiql/, versions in VERSIONS.md) under a URL that names their content, so
they are cached for a year and still never stale. No CDN: it works offline."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).parent
ASSETS_DIR = HERE / "static" / "vendor" / "graphiql"
YEAR = 365 * 24 * 3600


class ImmutableFiles(StaticFiles):
    """Static files whose URL changes with their content: cached for good."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = f"public, max-age={YEAR}, immutable"
        return response


@lru_cache(maxsize=1)
def assets_url() -> str:
    """/static/graphiql-<digest of the assets>: a new build is a new URL."""
    digest = hashlib.sha256()
    for path in sorted(ASSETS_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return f"/static/graphiql-{digest.hexdigest()[:12]}"


@lru_cache(maxsize=1)
def graphiql_html() -> str:
    template = (HERE / "graphiql.html").read_text(encoding="utf-8")
    return template.replace("{{ASSETS}}", assets_url())


def asset_routes() -> list[Mount]:
    return [Mount(assets_url(), ImmutableFiles(directory=ASSETS_DIR), name="graphiql-assets")]
