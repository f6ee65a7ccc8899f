"""HTTP caching of GET answers: an ETag made from the answer itself, 304 on a match."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from web.media import json_response


def cacheable(
    request: Request, body: dict[str, Any], media: str, headers: dict[str, str]
) -> Response:
    """GET answers carry an ETag made from the answer itself (the page and every product it
    shows), so a client revalidates cheaply and can never be served a stale page; 304 when
    If-None-Match matches. Answers for a logged-in viewer are private. The ETag is made from
    the answer, whose messages are in the request's language, so it differs by language too."""
    data = {k: v for k, v in body.items() if k != "extensions"}
    etag = '"' + hashlib.sha256(orjson.dumps(data)).hexdigest()[:32] + '"'
    private = bool(request.headers.get("authorization"))
    cache = {
        "etag": etag,
        "cache-control": ("private" if private else "public") + ", max-age=0, must-revalidate",
        "vary": "Authorization, X-Channel, Accept-Language",
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={**headers, **cache})
    return json_response(body, 200, media, {**headers, **cache})
