"""Starlette app factory: /graphql (GraphQL-over-HTTP, GraphiQL), /healthz, /readyz.
Nothing domain-specific lives here."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

import exports
from cli import DEFAULT_OPERATIONS
from core import changes, logs, metrics
from core.clock import Clock, SystemClock
from core.db import StatementCounter, create_engine, create_session_factory, current_counter
from core.faults import RETRY_AFTER_SECONDS, Degradation, is_unavailable
from core.response_cache import CachedAnswer, ResponseCache
from core.settings import Settings, get_settings
from resolvers.context import ANONYMOUS, Channel, Context, Permission, Viewer
from resolvers.errors import ApiErrorCode
from resolvers.payments_http import payment_routes
from schema import build_schema
from schema import schema as default_schema
from schema.documents import split_operations
from schema.execution import timed_out
from schema.input_hygiene import InputRefused, check_inputs
from schema.limits import Cost, QueryTooComplex, actual_cost, analyse, parse_document
from services import housekeeping
from services import persisted_queries as persisted
from services.accounts import decode_access_token, staff_standing
from services.rate_limits import Decision, FallbackBuckets, LocalBuckets, RedisBuckets
from services.schedule import SCHEDULED_TABLES, next_scheduled_change

log = logging.getLogger("zhongtai.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# /readyz gives each dependency this long (checked at once), so it answers within 2 s even
# when one of them accepts connections and never replies.
READY_DATABASE_SECONDS = 1.5
READY_REDIS_SECONDS = 0.5


class BadRequest(Exception):
    def __init__(self, code: ApiErrorCode, message: str, status: int = 400,
                 **extensions: Any) -> None:
        super().__init__(message)
        self.code, self.status, self.extensions = code, status, extensions


def _json(data: Any, status: int = 200, media_type: str = JSON,
          headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=media_type,
                    headers=headers)


def _wants_graphql_response(request: Request) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


async def _read_params(request: Request, max_body: int) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for key in ("variables", "extensions"):
            if params.get(key):
                params[key] = _decode_json(params[key], key)
            elif key in params:
                del params[key]  # `?variables=` says there are none
        return params
    body = await request.body()
    if len(body) > max_body:
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "Request body too large.", 413)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/graphql":
        return {"query": body.decode("utf-8", "replace")}
    if content_type not in (JSON, ""):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, f"Unsupported content type {content_type!r}.",
                         415)
    params = _decode_json(body, "body")
    if not isinstance(params, dict):
        raise BadRequest(ApiErrorCode.BAD_REQUEST, "The body must be a JSON object.")
    return params


def _decode_json(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(ApiErrorCode.BAD_REQUEST, f"Malformed JSON in {what}.") from exc


def _check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
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
    return tuple(d.name.value if d.name else None for d in document.definitions
                 if isinstance(d, OperationDefinitionNode))


def _operation_count(query: str) -> int:
    return len(_operations(query))


def _operation_name(query: str, operation: str | None) -> str | None:
    names = _operations(query)
    return operation or (names[0] if len(names) == 1 and names[0] else None)


def _require_operation_name(query: str, operation: str | None) -> None:
    # The GraphQL spec demands a name when a document holds several operations; never guess.
    if operation is None and _operation_count(query) > 1:
        raise BadRequest(ApiErrorCode.GRAPHQL_VALIDATION_FAILED,
                         "Must provide operationName: the document has several operations.")
    # An operationName the document does not define is the client's mistake (else strawberry
    # raises and the server would answer a 500). An unparsable document names nothing: the
    # schema reports its syntax error.
    if operation is not None and _operations(query) and operation not in _operations(query):
        raise BadRequest(ApiErrorCode.BAD_REQUEST,
                         f"The document has no operation named {operation[:100]!r}.")


# Root fields whose answers are the same for every guest and customer on a channel: catalog,
# navigation and CMS. Anything personal (me, cart, orders, wallet) or staff-only is absent.
PUBLIC_ROOTS = frozenset({"displayCategories", "displayCategory", "products", "product",
                          "categories", "brands", "page", "__typename"})


@lru_cache(maxsize=1024)
def _is_public_query(query: str, operation: str | None) -> bool:
    """A query (not a mutation) whose root fields are all PUBLIC_ROOTS (asked after the
    cost check, which parsed the document and refused one too large)."""
    document = parse_document(query)
    if document is None:
        return False
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    chosen = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
              and (operation is None or (d.name is not None and d.name.value == operation))]
    if len(chosen) != 1 or chosen[0].operation.value != "query":
        return False
    roots = _root_fields(chosen[0].selection_set, fragments, set())
    return roots is not None and roots <= PUBLIC_ROOTS


def _root_fields(selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 seen: set[str]) -> set[str] | None:
    names: set[str] = set()
    for node in selections.selections:
        if isinstance(node, FieldNode):
            names.add(node.name.value)
            continue
        if isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None or node.name.value in seen:
                return None  # left for validation to refuse
            seen.add(node.name.value)
            inner = _root_fields(fragment.selection_set, fragments, seen)
        else:
            assert isinstance(node, InlineFragmentNode)
            inner = _root_fields(node.selection_set, fragments, seen)
        if inner is None:
            return None
        names |= inner
    return names


def _channel(request: Request) -> Channel:
    raw = request.headers.get("x-channel", Channel.WEB.value).strip().upper()
    try:
        return Channel(raw)
    except ValueError as exc:
        allowed = ", ".join(c.value for c in Channel)
        raise BadRequest(ApiErrorCode.INVALID_CHANNEL,
                         f"X-Channel must be one of {allowed}.") from exc


def _viewer(request: Request, settings: Settings, now: datetime) -> Viewer:
    """The viewer from `Authorization: Bearer <access token>`; no header means a guest. A bad
    or expired token is refused (401) rather than silently downgraded to a guest, so clients
    know to refresh."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not token.strip():
        return ANONYMOUS
    claims = decode_access_token(settings, token.strip(), now) if scheme.lower() == "bearer" \
        else None
    kind, _, raw_id = (claims or {}).get("sub", "").partition(":")
    if kind == "customer" and raw_id.isdigit():
        return Viewer(customer_id=int(raw_id))
    if kind == "staff" and raw_id.isdigit():
        assert claims is not None
        granted = frozenset(Permission(p) for p in claims.get("perms", [])
                            if p in Permission.__members__)
        version = claims.get("ver", 0)
        return Viewer(staff_id=int(raw_id), permissions=granted, merchant_id=claims.get("mid"),
                      token_version=version if isinstance(version, int) else -1)
    raise BadRequest(ApiErrorCode.UNAUTHENTICATED, "Invalid or expired access token.", 401)


async def _ensure_staff_standing(request: Request, viewer: Viewer, settings: Settings) -> None:
    """A staff token issued before the staff member's roles or status last changed is refused
    (401: the client refreshes, and gets the current permissions or is told it is disabled).
    Judged from this process's map (core/access.py): one read per staff member, then none
    while the change listener is live."""
    if viewer.staff_id is None:
        return
    feed = _feed(request)
    standing = feed.staff_access.trusted(viewer.staff_id, feed.live, feed.hearing,
                                         settings.staff_recheck_seconds) \
        if feed.origin else None  # an engine not made by create_engine: nothing is kept
    if standing is None:
        hearing = feed.hearing  # before the read: a reconnection meanwhile makes it stale
        counted = current_counter.set(None)  # bookkeeping, not the request's statements
        try:
            async with request.app.state.session_factory() as session:
                standing = await staff_standing(session, viewer.staff_id)
        finally:
            current_counter.reset(counted)
        if feed.origin:
            standing = feed.staff_access.learn(viewer.staff_id, standing, hearing)
    if not standing.accepts(viewer.token_version):
        raise BadRequest(ApiErrorCode.UNAUTHENTICATED,
                         "This access token was revoked: refresh it or log in again.", 401)


def _format_error(error: GraphQLError, request_failed: bool) -> dict[str, Any]:
    formatted = error.formatted
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


class GraphQLEndpoint:
    def __init__(self, schema: Any, settings: Settings, clock: Clock) -> None:
        self.schema, self.settings, self.clock = schema, settings, clock
        self.ide_html = get_graphql_ide_html(graphql_ide="graphiql")
        self._admission: asyncio.Semaphore | None = None
        self.cache = (ResponseCache(settings.response_cache_entries)
                      if settings.response_cache_entries > 0 else None)
        self.operations = persisted.KnownOperations(_contract_operation_names())

    @property
    def admission(self) -> asyncio.Semaphore:
        """At most DB_POOL_SIZE executions at once: the rest wait here, in arrival order,
        holding nothing — the pool's own wait is not fair, and under overload an unlucky
        request could starve there until it timed out. Not more: a transaction holding hot
        stock rows waits for the event loop between its last statement and COMMIT, behind
        every other running execution; at 2 × the pool, 64 concurrent checkouts on two
        processes made lock convoys that hit the 5 s lock timeout (bench/checkout.py)."""
        if self._admission is None:
            self._admission = asyncio.Semaphore(self.settings.db_pool_size)
        return self._admission

    async def handle(self, request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        media = GRAPHQL_RESPONSE if _wants_graphql_response(request) else JSON
        headers = {"x-request-id": request_id}
        try:
            return await self._handle(request, request_id, media, headers)
        except Exception as exc:  # outside execution (stores, staff check): never plain text
            return _failure(exc, request_id, media, headers)

    async def _handle(self, request: Request, request_id: str, media: str,
                      headers: dict[str, str]) -> Response:
        if (request.method == "GET" and self.settings.graphiql_enabled and "query" not in
                request.query_params and "text/html" in request.headers.get("accept", "")):
            return HTMLResponse(self.ide_html)
        try:
            params = await _read_params(request, self.settings.max_body_bytes)
            params = await self._persisted(request, params)
            query, variables, operation = _check_params(params)
            _require_operation_name(query, operation)
            cost = self._cost(query, operation, variables)
            self._check_inputs(query, operation, variables)
            context = self._context(request, request_id)
            await _ensure_staff_standing(request, context.viewer, self.settings)
            throttle = await self._throttle(request, context, cost)
            cache_key = self._cache_key(context, query, operation, variables)
        except BadRequest as bad:  # refused before execution: one line, like any client error
            log.info("request refused %s (request %s): %s", bad.code.value, request_id, bad)
            metrics.ERRORS.labels(bad.code.value).inc()
            body = {"errors": [{"message": str(bad),
                                "extensions": {"code": bad.code.value, **bad.extensions}}]}
            if bad.status == 401:
                headers = {**headers, "www-authenticate": 'Bearer error="invalid_token"'}
            if bad.status == 429:
                headers = {**headers, "retry-after": str(math.ceil(
                    bad.extensions.get("retryAfter", 1)))}
            status = bad.status
            if bad.code == ApiErrorCode.PERSISTED_QUERY_NOT_FOUND and media == JSON:
                status = 200  # what Apollo clients expect before they register the query
            return _json(body, status, media, headers)
        if cache_key is not None:
            feed = _feed(request)
            assert self.cache is not None  # a key is made only when there is a cache
            entry = self.cache.get(cache_key, feed.generation, context.now) \
                if feed.live else None
            if entry is not None:
                await _close(context.session)
                return self._respond(request, context, query, operation, media, headers,
                                     entry.data, [], 0, 0.0, cost, throttle,
                                     entry.actual_cost, "hit")
        return await self._execute(request, context, query, variables, operation, media,
                                   headers, cost, throttle, cache_key)

    def _cache_key(self, context: Context, query: str, operation: str | None,
                   variables: dict[str, Any] | None) -> tuple[Any, ...] | None:
        """Public browse queries from guests and customers are answered from the response
        cache; the key is everything such an answer depends on besides data and time."""
        if self.cache is None or context.viewer.is_staff or not _is_public_query(query,
                                                                                 operation):
            return None
        return (query, operation, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
                context.channel)

    async def _remember(self, request: Request, key: tuple[Any, ...], generation: int,
                        context: Context, data: Any, actual: int) -> None:
        """Keep an answer unless something changed while it was computed."""
        assert self.cache is not None
        feed, now = _feed(request), context.now
        # The schedule changes only with the tables that hold windows, not with stock.
        version = feed.version(*SCHEDULED_TABLES)
        schedule = self.cache.schedule
        if schedule is None or not schedule.holds(version, now):
            token = current_counter.set(None)  # the cache's own bookkeeping, not the request's
            try:
                async with request.app.state.session_factory() as session:
                    schedule = changes.Kept(version, now,
                                            await next_scheduled_change(session, now))
            except Exception as exc:
                log.warning("schedule lookup failed; answer not cached",
                            exc_info=not is_unavailable(exc))
                return
            finally:
                current_counter.reset(token)
            self.cache.schedule = schedule
        until = min((m for m in (schedule.until, context.answer_expires) if m is not None),
                    default=None)
        if feed.live and feed.generation == generation:
            # kept as its JSON: a fraction of the objects' memory, and no work to send again
            self.cache.put(key, CachedAnswer(orjson.Fragment(orjson.dumps(data)), actual,
                                             changes.Kept(generation, now, until)))

    async def _persisted(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        """Apollo automatic persisted queries, and the allow-list in production: only
        operations registered by `zhongtai persist-operations` run."""
        store = request.app.state.persisted_queries
        extensions = params.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise BadRequest(ApiErrorCode.BAD_REQUEST, "`extensions` must be a JSON object.")
        wanted = extensions.get("persistedQuery") if extensions else None
        query = params.get("query")
        if wanted is None:
            if self.settings.allow_list_only and isinstance(query, str):
                entry = await store.get(persisted.digest(query))
                if entry is None or not entry.allowed:
                    raise BadRequest(ApiErrorCode.OPERATION_NOT_ALLOWED,
                                     "Only registered operations are accepted.")
                self.operations.learn([entry.name])
            return params
        key = wanted.get("sha256Hash") if isinstance(wanted, dict) else None
        if not isinstance(key, str) or wanted.get("version", 1) != 1:
            raise BadRequest(ApiErrorCode.BAD_REQUEST,
                             "persistedQuery needs version 1 and a sha256Hash.")
        if isinstance(query, str) and query:
            if persisted.digest(query) != key:
                raise BadRequest(ApiErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
                                 "provided sha does not match query")
            entry = await store.get(key)
            if self.settings.allow_list_only:
                if entry is None or not entry.allowed:
                    raise BadRequest(ApiErrorCode.OPERATION_NOT_ALLOWED,
                                     "Only registered operations are accepted.")
            elif entry is None:
                await store.put(key, query)
            if entry is not None and entry.allowed:
                self.operations.learn([entry.name])
            return params
        entry = await store.get(key)
        if entry is None or (self.settings.allow_list_only and not entry.allowed):
            raise BadRequest(ApiErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        if entry.allowed:
            self.operations.learn([entry.name])
        return {**params, "query": entry.query}

    async def _throttle(self, request: Request, context: Context,
                        cost: Cost | None) -> Decision | None:
        limiter = request.app.state.limiter
        if limiter is None or cost is None:
            return None
        viewer = context.viewer
        client = (f"customer:{viewer.customer_id}" if viewer.customer_id else
                  f"staff:{viewer.staff_id}" if viewer.staff_id else f"ip:{context.client}")
        try:
            decision = await limiter.take(client, cost.requested)
        except Exception as exc:  # the limiter itself failed: serve rather than refuse everyone
            log.warning("rate limiter failed (%s: %s); request let through",
                        type(exc).__name__, exc)
            return None
        if not decision.allowed:
            raise BadRequest(ApiErrorCode.RATE_LIMITED,
                             f"Too much at once: this query costs {cost.requested} points and "
                             f"{int(decision.available)} are left; retry later.", 429,
                             retryAfter=round(decision.retry_after, 2),
                             cost=cost.requested, available=int(decision.available))
        return decision

    async def _admitted(self, work: Any) -> Any:
        async with self.admission:
            return await work

    def _cost(self, query: str, operation: str | None,
              variables: dict[str, Any] | None) -> Cost | None:
        """Refuse over-limit documents before anything runs (no SQL is ever sent for them)."""
        try:
            return analyse(self.schema._schema, query, operation, variables,
                           self.settings.introspection_enabled)
        except QueryTooComplex as too_much:
            if too_much.limit == "introspection":
                raise BadRequest(ApiErrorCode.INTROSPECTION_DISABLED, str(too_much)) \
                    from too_much
            raise BadRequest(ApiErrorCode.QUERY_TOO_COMPLEX, str(too_much),
                             limit=too_much.limit) from too_much

    def _check_inputs(self, query: str, operation: str | None,
                      variables: dict[str, Any] | None) -> None:
        """Refuse control characters, over-long text and absurd amounts before anything runs
        (schema/input_hygiene.py)."""
        try:
            check_inputs(self.schema._schema, query, operation, variables)
        except InputRefused as refused:
            extra = {} if refused.limit is None else {"limit": refused.limit}
            raise BadRequest(ApiErrorCode.BAD_USER_INPUT, str(refused), argument=refused.path,
                             **extra) from refused

    def _context(self, request: Request, request_id: str) -> Context:
        now = self.clock.now()
        channel, viewer = _channel(request), _viewer(request, self.settings, now)
        return Context(session=request.app.state.session_factory(), now=now, viewer=viewer,
                       channel=channel, settings=self.settings, request_id=request_id,
                       client=request.client.host if request.client else "unknown")

    async def _execute(self, request: Request, context: Context, query: str,
                       variables: dict[str, Any] | None, operation: str | None, media: str,
                       headers: dict[str, str], cost: Cost | None = None,
                       throttle: Decision | None = None,
                       cache_key: tuple[Any, ...] | None = None) -> Response:
        allowed = ({OperationType.QUERY} if request.method == "GET"
                   else {OperationType.QUERY, OperationType.MUTATION})
        # read before any row, so an answer is never tagged newer than what it saw
        generation = _feed(request).generation if cache_key is not None else 0
        counter = StatementCounter()
        token = current_counter.set(counter)
        started = time.perf_counter()
        timeout = self.settings.request_timeout_seconds
        # wait_for stops a request only while it awaits; the deadline, checked between
        # fields, stops one that holds the event loop (schema/execution.py).
        context.deadline = time.monotonic() + timeout
        try:
            result = await asyncio.wait_for(self._admitted(self.schema.execute(
                query, variable_values=variables, context_value=context,
                operation_name=operation, allowed_operation_types=allowed)),
                timeout=timeout)
        except TimeoutError:
            return _timed_out(media, headers)
        except InvalidOperationTypeError:
            body = {"errors": [{"message": "Mutations must be sent with POST.",
                                "extensions": {"code": ApiErrorCode.BAD_REQUEST.value}}]}
            return _json(body, 405, media, {**headers, "allow": "POST"})
        except CannotGetOperationTypeError:  # no such operation (checked earlier; kept safe)
            body = {"errors": [{"message": "The document has no such operation.",
                                "extensions": {"code": ApiErrorCode.BAD_REQUEST.value}}]}
            return _json(body, 400, media, headers)
        finally:
            current_counter.reset(token)
            await _close(context.session)
        if timed_out(result.errors):
            return _timed_out(media, headers)
        # A request error (parse, validation, variables) has no path; once execution started
        # the response carries `data`, even when a field error nulled all of it.
        failed = result.data is None and bool(result.errors) and \
            all(e.path is None for e in result.errors)
        errors = [_format_error(e, failed) for e in result.errors or []]
        actual = actual_cost(result.data) if cost is not None else 0
        cache_status = "bypass"
        if cache_key is not None:
            cache_status = "miss"
            if not errors and result.data is not None and context.answer_cacheable:
                await self._remember(request, cache_key, generation, context, result.data,
                                     actual)
        extensions = dict(result.extensions or {})
        if self.settings.sql_echo:  # debugging aid: which statements a request sent
            extensions["sql"] = [s.split()[0:6] for s in counter.statements]
        return self._respond(request, context, query, operation, media, headers,
                             None if failed else result.data, errors, counter.count,
                             time.perf_counter() - started, cost, throttle, actual,
                             cache_status, extensions, failed)

    def _respond(self, request: Request, context: Context, query: str, operation: str | None,
                 media: str, headers: dict[str, str], data: Any, errors: list[dict[str, Any]],
                 statements: int, seconds: float, cost: Cost | None,
                 throttle: Decision | None, actual: int, cache_status: str,
                 extensions: dict[str, Any] | None = None, failed: bool = False) -> Response:
        name = _operation_name(query, operation)
        _observe(self.operations.label(name), failed, errors, statements, seconds)
        metrics.RESPONSE_CACHE.labels(cache_status).inc()
        logs.ACCESS.info("graphql", extra={
            "request_id": context.request_id, "operation": (name or "anonymous")[:100],
            "duration_ms": round(seconds * 1000, 2), "cost": cost.requested if cost else None,
            "sql_statements": statements, "errors": [e["extensions"]["code"] for e in errors],
            "staff_id": context.viewer.staff_id, "customer_id": context.viewer.customer_id,
            "channel": context.channel.value, "cache": cache_status})
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = errors
        if not failed:
            body["data"] = data
        body["extensions"] = {**(extensions or {}), "sqlStatements": statements}
        if cost is not None:
            body["extensions"]["cost"] = {"requested": cost.requested, "actual": actual,
                                          "maximum": cost.maximum}
            if throttle is not None:
                limiter = request.app.state.limiter
                body["extensions"]["cost"]["throttleStatus"] = {
                    "maximumAvailable": limiter.capacity,
                    "currentlyAvailable": int(throttle.available),
                    "restoreRate": limiter.rate}
        headers = {**headers, "x-cache": cache_status}
        status = 400 if failed and media == GRAPHQL_RESPONSE else 200
        if any(e["extensions"]["code"] == ApiErrorCode.SERVICE_UNAVAILABLE for e in errors):
            status = 503  # the database is unreachable: whatever else it asked, retry later
            headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        if request.method == "GET" and status == 200 and not errors:
            return _cacheable(request, body, media, headers)
        return _json(body, status, media, headers)


async def run_sweeper(factory: Any, clock: Clock, interval: float, settings: Settings) -> None:
    """Expire overdue reservations (and their unpaid orders) every `interval` seconds. Every
    process may run one: the sweep claims rows with SKIP LOCKED, so each expires once."""
    while True:
        await asyncio.sleep(interval)
        try:
            swept = await housekeeping.sweep(factory, clock.now(),
                                             settings.auto_complete_days, settings.currency)
            metrics.SWEEPS.inc()
            metrics.EXPIRED.inc(swept.expired)
            if swept.expired or swept.completed:
                log.info("sweeper expired %d reservation(s), completed %d order(s)",
                         swept.expired, swept.completed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep sweeping; the next run retries what this one missed
            if is_unavailable(exc):  # one line per run, not a traceback every 30 s
                log.warning("reservation sweep skipped: database unavailable (%s)", exc)
            else:
                log.exception("reservation sweep failed")


def _observe(name: str, failed: bool, errors: list[dict[str, Any]], statements: int,
             seconds: float) -> None:
    metrics.REQUESTS.labels(name, "error" if failed else "ok").inc()
    metrics.LATENCY.labels(name).observe(seconds)
    metrics.SQL_STATEMENTS.observe(statements)
    for error in errors:
        metrics.ERRORS.labels(error["extensions"]["code"]).inc()


async def _close(session: Any) -> None:
    """Give the connection back; closing a session whose database just went away raises,
    and that must not turn the answer already made (or a 503) into a 500."""
    try:
        await session.close()
    except Exception as exc:
        log.warning("closing a session failed (%s: %s)", type(exc).__name__, exc,
                    exc_info=not is_unavailable(exc))


def _failure(exc: Exception, request_id: str, media: str, headers: dict[str, str]) -> Response:
    """A request that failed outside GraphQL execution: 503 when the database cannot be
    reached, else a masked 500 (the traceback logged once) — JSON either way."""
    if is_unavailable(exc):
        log.warning("database unavailable (request %s): %s: %s", request_id,
                    type(exc).__name__, exc)
        code, status = ApiErrorCode.SERVICE_UNAVAILABLE, 503
        message = "The service is temporarily unavailable; please retry shortly."
        headers = {**headers, "retry-after": str(RETRY_AFTER_SECONDS)}
    else:
        log.error("unexpected error (request %s)", request_id, exc_info=exc)
        code, status = ApiErrorCode.INTERNAL_ERROR, 500
        message = f"Internal error. Quote request id {request_id} when reporting it."
    metrics.ERRORS.labels(code.value).inc()
    body = {"errors": [{"message": message,
                        "extensions": {"code": code.value, "requestId": request_id}}]}
    return _json(body, status, media, headers)


@lru_cache(maxsize=1)
def _contract_operation_names() -> frozenset[str]:
    """The client teams' operation names (the documents `persist-operations` registers by
    default): labels the metrics may use without any registration."""
    names: set[str] = set()
    for path in DEFAULT_OPERATIONS:
        names.update(split_operations(path.read_text(encoding="utf-8")))
    return frozenset(names)


def _timed_out(media: str, headers: dict[str, str]) -> Response:
    """503, not 504: the server itself gave up (no gateway involved), and a retry later may
    well succeed. No partial data: the answer would be arbitrary, cut wherever time ran out."""
    metrics.ERRORS.labels(ApiErrorCode.TIMEOUT.value).inc()
    body = {"errors": [{"message": "The request took too long and was stopped.",
                        "extensions": {"code": ApiErrorCode.TIMEOUT.value}}]}
    return _json(body, 503, media, headers)


def _cacheable(request: Request, body: dict[str, Any], media: str,
               headers: dict[str, str]) -> Response:
    """GET answers carry an ETag made from the answer itself (the page and every product it
    shows), so a client revalidates cheaply and can never be served a stale page; 304 when
    If-None-Match matches. Answers for a logged-in viewer are private."""
    data = {k: v for k, v in body.items() if k != "extensions"}
    etag = '"' + hashlib.sha256(orjson.dumps(data)).hexdigest()[:32] + '"'
    private = bool(request.headers.get("authorization"))
    cache = {"etag": etag, "cache-control": ("private" if private else "public")
             + ", max-age=0, must-revalidate", "vary": "Authorization, X-Channel"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={**headers, **cache})
    return _json(body, 200, media, {**headers, **cache})


def _feed(request: Request) -> changes.ChangeFeed:
    """The change feed of the database the app's sessions use."""
    return changes.feed_of(request.app.state.session_factory.kw["bind"])


def _redis(settings: Settings) -> Any:
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    # Short timeouts: Redis is a cache, and a stalled one must cost a request little.
    return Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout_seconds,
                          socket_connect_timeout=settings.redis_timeout_seconds)


def _shared_state(settings: Settings, redis: Any, app: Starlette,
                  health: Degradation) -> tuple[Any, Any]:
    """Persisted queries live in the database, cached in Redis when configured; rate-limit
    buckets live in Redis when configured (shared by every process), falling back to
    process memory while it is down, else in process memory."""
    record = persisted.DatabaseStore(lambda: app.state.session_factory)
    store = persisted.CachedStore(record if redis is None
                                  else persisted.RedisCache(redis, record, health,
                                                            settings.redis_key_prefix))
    limiter: Any = None
    if settings.rate_limit > 0:
        local = LocalBuckets(settings.rate_limit, settings.rate_limit_refill_per_second)
        limiter = local if redis is None else FallbackBuckets(
            RedisBuckets(redis, settings.rate_limit, settings.rate_limit_refill_per_second,
                         settings.redis_key_prefix),
            local, health)
    return store, limiter


async def _database_state(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # down, refused or frozen: not ready, say why in one line
        log.warning("readiness: database %s: %s", type(exc).__name__, exc)
        return "down"
    return "ok"


async def _redis_state(redis: Any, health: Degradation) -> str:
    if redis is None:
        return "off"
    try:
        await redis.ping()
    except Exception as exc:
        health.failed("readiness", exc)
        return "down"
    health.succeeded()
    return "ok"


_abandoned: set[asyncio.Task[str]] = set()  # checks left to finish in the background


async def _bounded(check: Any, seconds: float) -> str:
    """The check's answer, or "down" after `seconds`. Not wait_for: that waits for the
    cancelled check to clean up, and giving back a connection to a frozen server hangs too."""
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        return task.result()
    log.warning("readiness: no answer within %.1f s", seconds)
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_abandoned.discard)
    return "down"


async def readiness(engine: AsyncEngine, redis: Any, health: Degradation) -> dict[str, str]:
    """Each dependency's state, both checked at once, each within its own short timeout."""
    database, cache = await asyncio.gather(
        _bounded(_database_state(engine), READY_DATABASE_SECONDS),
        _bounded(_redis_state(redis, health), READY_REDIS_SECONDS))
    return {"database": database, "redis": cache}


async def _learn_registered_names(store: Any, known: persisted.KnownOperations) -> None:
    """The allow-listed names, for the metrics' labels (best effort: learnt as used too)."""
    try:
        known.learn(await asyncio.wait_for(store.allowed_names(), READY_DATABASE_SECONDS))
    except Exception as exc:
        log.warning("registered operation names not loaded (%s: %s)", type(exc).__name__, exc)


def create_app(settings: Settings | None = None, clock: Clock | None = None,
               engine: AsyncEngine | None = None, schema: Any = None) -> Starlette:
    settings = settings or get_settings()
    settings.check_secure()
    logs.configure(settings.log_level)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.engine = engine or create_engine(
            settings.database_url, echo=settings.sql_echo, pool_size=settings.db_pool_size,
            sqlite_shared=settings.workers > 1,
            connect_timeout=settings.db_connect_timeout_seconds)
        app.state.session_factory = create_session_factory(app.state.engine)
        # Start-up objects (schema, caches, modules) live forever: move them out of the GC's
        # generations so collections under load only walk request garbage.
        gc.collect()
        gc.freeze()
        sweeper = (asyncio.create_task(run_sweeper(app.state.session_factory, clock,
                                                   settings.sweeper_interval_seconds,
                                                   settings))
                   if settings.sweeper_interval_seconds > 0 else None)
        listener = await changes.start_listening(app.state.engine)
        await _learn_registered_names(persisted.DatabaseStore(lambda: app.state.session_factory),
                                      endpoint.operations)
        yield
        for task in (sweeper, listener):
            if task is not None:
                task.cancel()
        if own_engine:
            await app.state.engine.dispose()
        if app.state.redis is not None:
            await app.state.redis.aclose()

    async def metrics_endpoint(_: Request) -> Response:
        payload, media = metrics.render()
        return Response(payload, media_type=media)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready while the database answers. Redis is only a cache (the API works without
        it, degraded): its state is reported but never makes the process unready."""
        state = await readiness(request.app.state.engine, request.app.state.redis,
                                request.app.state.redis_health)
        ready = state["database"] == "ok"
        return JSONResponse({"status": "ok" if ready else "unavailable", **state},
                            status_code=200 if ready else 503)

    if schema is None:
        schema = build_schema(tracing=True) if settings.otel_tracing else default_schema
    endpoint = GraphQLEndpoint(schema, settings, clock)
    routes = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *exports.routes(settings, clock),
        *payment_routes(settings, clock),
    ]
    middleware = [Middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                             allow_methods=["GET", "POST"],
                             allow_headers=["authorization", "content-type", "x-channel",
                                            "x-request-id"],
                             expose_headers=["x-request-id", "etag"])] \
        if settings.cors_origins else []
    built = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    built.state.redis = redis = _redis(settings)
    built.state.redis_health = health = Degradation("redis")
    built.state.persisted_queries, built.state.limiter = _shared_state(settings, redis, built,
                                                                       health)
    return built


app = create_app()
