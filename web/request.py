"""Reading a GraphQL request: GET query string or POST body (JSON or application/graphql),
its `query`/`variables`/`operationName`, and which operation it names."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from graphql import OperationDefinitionNode
from starlette.requests import Request

from core.bodies import read_body
from resolvers.errors import ApiErrorCode
from schema.limits import QueryTooComplex
from schema.limits import parse_document
from web.errors import BadRequest
from web.media import JSON


async def read_params(request: Request, max_body: int) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for key in ("variables", "extensions"):
            if params.get(key):
                params[key] = decode_json(params[key], key)
            elif key in params:
                del params[key]  # `?variables=` says there are none
        return params
    body = await read_body(request, max_body)
    if body is None:
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "Request body too large.", 413)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/graphql":
        return {"query": body.decode("utf-8", "replace")}
    if content_type not in (JSON, ""):
        raise BadRequest(
            ApiErrorCode.BAD_REQUEST, f"Unsupported content type {content_type!r}.", 415
        )
    params = decode_json(body, "body")
    if not isinstance(params, dict):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "The body must be a JSON object.")
    return params


def decode_json(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(ApiErrorCode.BAD_REQUEST, f"Malformed JSON in {what}.") from exc


def check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "A non-empty `query` string is required.")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "`variables` must be a JSON object.")
    operation = params.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "`operationName` must be a string.")
    return query, variables, operation


@lru_cache(maxsize=1024)
def _operations(query: str) -> tuple[str | None, ...]:
    """The names of the document's operations (None for an anonymous one)."""
    try:
        document = parse_document(query)
    except QueryTooComplex:
        return ()  # the cost check refuses it, with its code
    if document is None:
        return ()  # the schema reports the syntax error with its location
    return tuple(
        d.name.value if d.name else None
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def operation_name(query: str, operation: str | None) -> str | None:
    """The name the request runs under: the one asked for, or the document's only one."""
    names = _operations(query)
    return operation or (names[0] if len(names) == 1 and names[0] else None)


def require_operation_name(query: str, operation: str | None) -> None:
    # The GraphQL spec demands a name when a document holds several operations; never guess.
    if operation is None and len(_operations(query)) > 1:
        raise BadRequest(
            ApiErrorCode.GRAPHQL_VALIDATION_FAILED,
            "Must provide operationName: the document has several operations.",
        )
    # An operationName the document does not define is the client's mistake (else strawberry
    # raises and the server would answer a 500). An unparsable document names nothing: the
    # schema reports its syntax error.
    if operation is not None and _operations(query) and operation not in _operations(query):
        raise BadRequest(
            ApiErrorCode.BAD_REQUEST, f"The document has no operation named {operation[:100]!r}."
        )
