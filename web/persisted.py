"""Apollo automatic persisted queries and, in production, the allow-list: only operations
registered by `zhongtai persist-operations` run. Also the operation names metrics may use."""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from starlette.requests import Request

from cli import DEFAULT_OPERATIONS
from core.settings import Settings
from resolvers.errors import ApiErrorCode
from schema.documents import split_operations
from services import persisted_queries as persisted
from web.errors import BadRequest

log = logging.getLogger("zhongtai.http")

# Loading the registered names at start-up gives up after this long (best effort).
LOAD_NAMES_SECONDS = 1.5


def _not_allowed() -> BadRequest:
    return BadRequest(
        ApiErrorCode.OPERATION_NOT_ALLOWED, "Only registered operations are accepted."
    )


async def resolve(
    request: Request, params: dict[str, Any], settings: Settings, known: persisted.KnownOperations
) -> dict[str, Any]:
    """The request's params with the persisted query's text filled in; refuses what the
    allow-list does not hold. Registered names it meets are learnt for the metrics."""
    store = request.app.state.persisted_queries
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "`extensions` must be a JSON object.")
    wanted = extensions.get("persistedQuery") if extensions else None
    query = params.get("query")
    if wanted is None:
        if settings.allow_list_only and isinstance(query, str):
            entry = await store.get(persisted.digest(query))
            if entry is None or not entry.allowed:
                raise _not_allowed()
            known.learn([entry.name])
        return params
    key = wanted.get("sha256Hash") if isinstance(wanted, dict) else None
    if not isinstance(key, str) or wanted.get("version", 1) != 1:
        raise BadRequest(
            ApiErrorCode.BAD_REQUEST, "persistedQuery needs version 1 and a sha256Hash."
        )
    if isinstance(query, str) and query:
        if persisted.digest(query) != key:
            raise BadRequest(
                ApiErrorCode.PERSISTED_QUERY_HASH_MISMATCH, "provided sha does not match query"
            )
        entry = await store.get(key)
        if settings.allow_list_only:
            if entry is None or not entry.allowed:
                raise _not_allowed()
        elif entry is None:
            await store.put(key, query)
        if entry is not None and entry.allowed:
            known.learn([entry.name])
        return params
    entry = await store.get(key)
    if entry is None or (settings.allow_list_only and not entry.allowed):
        raise BadRequest(ApiErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
    if entry.allowed:
        known.learn([entry.name])
    return {**params, "query": entry.query}


@lru_cache(maxsize=1)
def contract_operation_names() -> frozenset[str]:
    """The client teams' operation names (the documents `persist-operations` registers by
    default): labels the metrics may use without any registration."""
    names: set[str] = set()
    for path in DEFAULT_OPERATIONS:
        names.update(split_operations(path.read_text(encoding="utf-8")))
    return frozenset(names)


async def learn_registered_names(store: Any, known: persisted.KnownOperations) -> None:
    """The allow-listed names, for the metrics' labels (best effort: learnt as used too)."""
    try:
        known.learn(await asyncio.wait_for(store.allowed_names(), LOAD_NAMES_SECONDS))
    except Exception as exc:
        log.warning("registered operation names not loaded (%s: %s)", type(exc).__name__, exc)
