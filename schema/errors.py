"""Error masking and logging: business failures travel in userErrors; GraphQL errors that we
raise on purpose carry `extensions.code`; the database being unreachable is told apart
(SERVICE_UNAVAILABLE, answered 503); anything else unexpected is masked.

Logging is by `ZhongtaiSchema.process_errors`, which sees the errors before they are masked:
a client error (a refusal, a bad id, validation) is one line with its code, path and request
id; the database being down is one line; only an unexpected error logs its traceback, once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core.faults import is_unavailable

log = logging.getLogger("zhongtai.errors")

INTERNAL_ERROR = "INTERNAL_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; please retry shortly."


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return (
        original is not None and not isinstance(original, GraphQLError) and error.path is not None
    )


def _request_id(execution_context: Any) -> str:
    return getattr(getattr(execution_context, "context", None), "request_id", "-")


def _where(error: GraphQLError) -> str:
    return ".".join(map(str, error.path)) if error.path else "-"


def client_code(error: GraphQLError) -> str:
    """The code a client is shown for an error we did not raise with one (the endpoint
    fills in the same)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_REQUEST"


class ZhongtaiSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        request_id = _request_id(execution_context)
        for error in errors:
            if not is_unexpected(error):
                log.info(
                    "client error %s at %s (request %s): %s",
                    client_code(error),
                    _where(error),
                    request_id,
                    error.message,
                )
            elif is_unavailable(error.original_error):  # type: ignore[arg-type]
                original = error.original_error
                log.warning(
                    "database unavailable at %s (request %s): %s: %s",
                    _where(error),
                    request_id,
                    type(original).__name__,
                    original,
                )
            else:
                log.error(
                    "unexpected error at %s (request %s)",
                    _where(error),
                    request_id,
                    exc_info=error.original_error,
                )


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = _request_id(self.execution_context)
        result.errors = [
            _masked(error, request_id) if is_unexpected(error) else error for error in result.errors
        ]


def _masked(error: GraphQLError, request_id: str) -> GraphQLError:
    if is_unavailable(error.original_error):  # type: ignore[arg-type]
        message, code = UNAVAILABLE_MESSAGE, SERVICE_UNAVAILABLE
    else:
        message, code = (
            f"Internal error. Quote request id {request_id} when reporting it.",
            INTERNAL_ERROR,
        )
    return GraphQLError(
        message,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": code, "requestId": request_id},
    )
