"""Error masking: business failures travel in userErrors; GraphQL errors that we raise on
purpose carry `extensions.code`; anything unexpected is logged with the request id and masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("zhongtai.errors")


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError) and \
        error.path is not None


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        masked = []
        for error in result.errors:
            if is_unexpected(error):
                log.error("unexpected error in %s (request %s)", ".".join(map(str, error.path)),
                          request_id, exc_info=error.original_error)
                error = GraphQLError(
                    f"Internal error. Quote request id {request_id} when reporting it.",
                    nodes=error.nodes, path=error.path,
                    extensions={"code": "INTERNAL_ERROR", "requestId": request_id},
                )
            masked.append(error)
        result.errors = masked
