"""Refusals before anything runs: the document's cost and depth (schema/limits.py) and the
hygiene of its inputs (schema/input_hygiene.py), as BadRequests with their codes."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from resolvers.errors import ApiErrorCode
from schema.input_hygiene import InputRefused
from schema.input_hygiene import check_inputs
from schema.limits import Cost
from schema.limits import QueryTooComplex
from schema.limits import analyse
from web.errors import BadRequest


def cost(
    schema: GraphQLSchema,
    query: str,
    operation: str | None,
    variables: dict[str, Any] | None,
    introspection: bool,
) -> Cost | None:
    """Refuse over-limit documents before anything runs (no SQL is ever sent for them)."""
    try:
        return analyse(schema, query, operation, variables, introspection)
    except QueryTooComplex as too_much:
        if too_much.limit == "introspection":
            raise BadRequest(ApiErrorCode.INTROSPECTION_DISABLED, str(too_much)) from too_much
        raise BadRequest(
            ApiErrorCode.QUERY_TOO_COMPLEX, str(too_much), limit=too_much.limit
        ) from too_much


def inputs(
    schema: GraphQLSchema, query: str, operation: str | None, variables: dict[str, Any] | None
) -> None:
    """Refuse control characters, over-long text and absurd amounts before anything runs."""
    try:
        check_inputs(schema, query, operation, variables)
    except InputRefused as refused:
        extra = {} if refused.limit is None else {"limit": refused.limit}
        raise BadRequest(
            ApiErrorCode.BAD_USER_INPUT, str(refused), argument=refused.path, **extra
        ) from refused
