"""Content negotiation and JSON responses (GraphQL-over-HTTP media types)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def negotiate(request: Request) -> str:
    """The media type of the answer: the GraphQL-over-HTTP one when the client accepts it."""
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON


def json_response(
    data: Any, status: int = 200, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=media_type, headers=headers)
