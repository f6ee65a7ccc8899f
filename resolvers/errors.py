"""GraphQL-level errors (not business-rule failures) with a stable `extensions.code`."""

from enum import StrEnum

from graphql import GraphQLError


class ApiErrorCode(StrEnum):
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_PAGINATION = "INVALID_PAGINATION"
    INVALID_CHANNEL = "INVALID_CHANNEL"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    BAD_REQUEST = "BAD_REQUEST"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    TIMEOUT = "TIMEOUT"


def api_error(code: ApiErrorCode, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})
