"""Error → HTTP status: refusals before execution, failures outside it, time-outs, and the
status of an executed answer. Every error body is JSON with a stable `extensions.code`."""

from __future__ import annotations

import logging
import math
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response

from core import metrics
from core.faults import RETRY_AFTER_SECONDS
from core.faults import is_unavailable
from resolvers.errors import ApiErrorCode
from web.media import GRAPHQL_RESPONSE
from web.media import JSON
from web.media import json_response

log = logging.getLogger("zhongtai.http")


class BadRequest(Exception):
    """A request refused before execution, with its code and HTTP status."""

    def __init__(
        self, code: ApiErrorCode, message: str, status: int = 400, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.code, self.status, self.extensions = code, status, extensions


def refused(bad: BadRequest, request_id: str, media: str, headers: dict[str, str]) -> Response:
    """Refused before execution: one log line, like any client error."""
    log.info("request refused %s (request %s): %s", bad.code.value, request_id, bad)
    metrics.ERRORS.labels(bad.code.value).inc()
    body = {
        "errors": [{"message": str(bad), "extensions": {"code": bad.code.value, **bad.extensions}}]
    }
    if bad.status == 401:
        headers = {**headers, "www-authenticate": 'Bearer error="invalid_token"'}
    if bad.status == 429:
        headers = {**headers, "retry-after": str(math.ceil(bad.extensions.get("retryAfter", 1)))}
    status = bad.status
    if bad.code == ApiErrorCode.PERSISTED_QUERY_NOT_FOUND and media == JSON:
        status = 200  # what Apollo clients expect before they register the query
    return json_response(body, status, media, headers)


def failure(exc: Exception, request_id: str, media: str, headers: dict[str, str]) -> Response:
    """A request that failed outside GraphQL execution: 503 when the database cannot be
    reached, else a masked 500 (the traceback logged once) — JSON either way."""
    if is_unavailable(exc):
        log.warning(
            "database unavailable (request %s): %s: %s", request_id, type(exc).__name__, exc
        )
        code, status = ApiErrorCode.SERVICE_UNAVAILABLE, 503
        message = "The service is temporarily unavailable; please retry shortly."
        headers = {**headers, "retry-after": str(RETRY_AFTER_SECONDS)}
    else:
        log.error("unexpected error (request %s)", request_id, exc_info=exc)
        code, status = ApiErrorCode.INTERNAL_ERROR, 500
        message = f"Internal error. Quote request id {request_id} when reporting it."
    metrics.ERRORS.labels(code.value).inc()
    body = {
        "errors": [
            {"message": message, "extensions": {"code": code.value, "requestId": request_id}}
        ]
    }
    return json_response(body, status, media, headers)


def timed_out(media: str, headers: dict[str, str]) -> Response:
    """503, not 504: the server itself gave up (no gateway involved), and a retry later may
    well succeed. No partial data: the answer would be arbitrary, cut wherever time ran out."""
    metrics.ERRORS.labels(ApiErrorCode.TIMEOUT.value).inc()
    body = {
        "errors": [
            {
                "message": "The request took too long and was stopped.",
                "extensions": {"code": ApiErrorCode.TIMEOUT.value},
            }
        ]
    }
    return json_response(body, 503, media, headers)


def mutation_over_get(media: str, headers: dict[str, str]) -> Response:
    body = {
        "errors": [
            {
                "message": "Mutations must be sent with POST.",
                "extensions": {"code": ApiErrorCode.BAD_REQUEST.value},
            }
        ]
    }
    return json_response(body, 405, media, {**headers, "allow": "POST"})


def no_such_operation(media: str, headers: dict[str, str]) -> Response:
    body = {
        "errors": [
            {
                "message": "The document has no such operation.",
                "extensions": {"code": ApiErrorCode.BAD_REQUEST.value},
            }
        ]
    }
    return json_response(body, 400, media, headers)


def format_error(error: GraphQLError, request_failed: bool) -> dict[str, Any]:
    """A GraphQL error as sent, always with a code (parse, validation or bad request)."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if "code" not in extensions:
        if error.message.startswith("Syntax Error"):
            extensions["code"] = ApiErrorCode.GRAPHQL_PARSE_FAILED.value
        elif request_failed:
            extensions["code"] = ApiErrorCode.GRAPHQL_VALIDATION_FAILED.value
        else:
            extensions["code"] = ApiErrorCode.BAD_REQUEST.value
    formatted["extensions"] = extensions
    return formatted


def answer_status(
    failed: bool, media: str, errors: list[dict[str, Any]], headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """An executed answer's status: 400 for a request error under the GraphQL-over-HTTP media
    type, 503 (retry later) when the database was unreachable, else 200."""
    status = 400 if failed and media == GRAPHQL_RESPONSE else 200
    if any(e["extensions"]["code"] == ApiErrorCode.SERVICE_UNAVAILABLE for e in errors):
        status = 503  # the database is unreachable: whatever else it asked, retry later
        headers = {**headers, "retry-after": str(RETRY_AFTER_SECONDS)}
    return status, headers
