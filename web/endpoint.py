"""The GraphQL endpoint: GraphiQL for browsers, else the pipeline — read the request, resolve
persisted queries, refuse what is too costly or ill-formed, identify the viewer, throttle,
answer from the response cache or execute (admitted, with a deadline), then respond."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import Response
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from core import changes
from core.clock import Clock
from core.db import StatementCounter
from core.db import current_counter
from core.faults import is_unavailable
from core.settings import Settings
from resolvers.context import Context
from schema.execution import DeadlineExceeded
from schema.execution import timed_out
from schema.limits import Cost
from schema.limits import actual_cost
from schema.plans import Abandon
from schema.plans import Plans
from services import persisted_queries as persisted
from services.rate_limits import Decision
from web import checks
from web import errors
from web import persisted as persisted_step
from web import request as parse
from web.admission import Admission
from web.caching import CacheStep
from web.caching import Key
from web.etag import cacheable
from web.graphiql import graphiql_html
from web.language import default_language
from web.language import language_of
from web.media import json_response
from web.media import negotiate
from web.rate_limit import throttle
from web.rate_limit import throttle_status
from web.stores import feed
from web.telemetry import observe
from web.viewer import channel
from web.viewer import ensure_staff_standing
from web.viewer import viewer

log = logging.getLogger("zhongtai.http")


@cache
def plans_for(schema: Any) -> Plans:
    """A plan depends only on the schema and the document, so every app of one process built
    on one schema (uvicorn's, or each test's) shares the plans: a document is planned once."""
    return Plans(schema)


@dataclass(frozen=True, slots=True)
class Asked:
    """What an answer answers: the HTTP request and its context, the document and operation
    asked for, and the media type and headers the answer goes out with."""

    request: Request
    context: Context
    query: str
    operation: str | None
    media: str
    headers: dict[str, str]


class GraphQLEndpoint:
    def __init__(self, schema: Any, settings: Settings, clock: Clock) -> None:
        self.schema, self.settings, self.clock = schema, settings, clock
        self.ide_html = graphiql_html()
        self.admission = Admission(settings.db_pool_size)
        self.caching = CacheStep(settings.response_cache_entries, settings.response_cache_mb)
        self.operations = persisted.KnownOperations(persisted_step.contract_operation_names())
        # Known operations run from plans (schema/plans.py); not under tracing, whose spans
        # are per resolver of the normal path.
        self.plans = (
            plans_for(schema._schema)
            if settings.planned_execution and not settings.otel_tracing
            else None
        )

    async def handle(self, request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        media = negotiate(request)
        headers = {"x-request-id": request_id}
        try:
            return await self._handle(request, request_id, media, headers)
        except Exception as exc:  # outside execution (stores, staff check): never plain text
            return errors.failure(exc, request_id, media, headers)

    def _wants_ide(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and self.settings.graphiql_enabled
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _handle(
        self, request: Request, request_id: str, media: str, headers: dict[str, str]
    ) -> Response:
        if self._wants_ide(request):
            return HTMLResponse(self.ide_html)
        try:
            params = await parse.read_params(request, self.settings.max_body_bytes)
            params = await persisted_step.resolve(request, params, self.settings, self.operations)
            query, variables, operation = parse.check_params(params)
            parse.require_operation_name(query, operation)
            cost = checks.cost(
                self.schema._schema,
                query,
                operation,
                variables,
                self.settings.introspection_enabled,
            )
            checks.inputs(self.schema._schema, query, operation, variables)
            context = self._context(request, request_id)
            await ensure_staff_standing(request, context.viewer, self.settings)
            decision = await throttle(request.app.state.limiter, context, cost)
            cache_key = self.caching.key(context, query, operation, variables)
        except errors.BadRequest as bad:
            return errors.refused(bad, request_id, media, headers)
        started = time.perf_counter()  # a stale kept answer's stock read counts in its time
        if cache_key is not None:
            served = await self.caching.lookup(request, cache_key, context, self.admission)
            if served is not None:
                await _close(context.session)
                return self._respond(
                    Asked(request, context, query, operation, media, headers),
                    served.data,
                    [],
                    served.statements,
                    time.perf_counter() - started,
                    cost,
                    decision,
                    served.entry.actual_cost,
                    served.status,
                )
        return await self._execute(
            request,
            context,
            query,
            variables,
            operation,
            media,
            headers,
            cost,
            decision,
            cache_key,
            started,
        )

    def _context(self, request: Request, request_id: str) -> Context:
        now = self.clock.now()
        on, who = channel(request), viewer(request, self.settings, now)
        said_in = language_of(request.headers.get("accept-language"), default_language(who))
        return Context(
            session=request.app.state.session_factory(),
            now=now,
            viewer=who,
            channel=on,
            settings=self.settings,
            request_id=request_id,
            client=request.client.host if request.client else "unknown",
            language=said_in,
        )

    async def _execute(
        self,
        request: Request,
        context: Context,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        media: str,
        headers: dict[str, str],
        cost: Cost | None = None,
        decision: Decision | None = None,
        cache_key: Key | None = None,
        started: float | None = None,
    ) -> Response:
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        # read before any row, so an answer is never tagged newer than what it saw
        generation = feed(request).generation if cache_key is not None else 0
        # what a cacheable answer shows, collected while it is computed (core/changes.py)
        deps = changes.Deps() if cache_key is not None else None
        deps_token = changes.current_deps.set(deps)
        counter = StatementCounter()
        token = current_counter.set(counter)
        started = time.perf_counter() if started is None else started
        timeout = self.settings.request_timeout_seconds
        # wait_for stops a request only while it awaits; the deadline, checked between
        # fields, stops one that holds the event loop (schema/execution.py).
        context.deadline = time.monotonic() + timeout
        try:
            result, planned_cost = await asyncio.wait_for(
                self.admission.run(self._run(context, query, variables, operation, allowed)),
                timeout=timeout,
            )
        except TimeoutError:
            return errors.timed_out(media, headers)
        except InvalidOperationTypeError:
            return errors.mutation_over_get(media, headers)
        except CannotGetOperationTypeError:  # no such operation (checked earlier; kept safe)
            return errors.no_such_operation(media, headers)
        finally:
            current_counter.reset(token)
            changes.current_deps.reset(deps_token)
            await _close(context.session)
        if timed_out(result.errors):
            return errors.timed_out(media, headers)
        # A request error (parse, validation, variables) has no path; once execution started
        # the response carries `data`, even when a field error nulled all of it.
        failed = (
            result.data is None
            and bool(result.errors)
            and all(e.path is None for e in result.errors or ())
        )
        formatted = [errors.format_error(e, failed) for e in result.errors or []]
        actual = 0
        if cost is not None:  # a plan counted its values as it went
            actual = planned_cost if planned_cost is not None else actual_cost(result.data)
        cache_status = "bypass"
        if cache_key is not None:
            cache_status = "miss"
            if (
                not formatted
                and result.data is not None
                and context.answer_cacheable
                and deps is not None
            ):
                await self.caching.remember(
                    request, cache_key, generation, context, result.data, actual, deps
                )
        extensions = dict(result.extensions or {})
        if self.settings.sql_echo:  # debugging aid: which statements a request sent
            extensions["sql"] = [s.split()[0:6] for s in counter.statements]
        return self._respond(
            Asked(request, context, query, operation, media, headers),
            None if failed else result.data,
            formatted,
            counter.count,
            time.perf_counter() - started,
            cost,
            decision,
            actual,
            cache_status,
            extensions,
            failed,
        )

    async def _run(
        self,
        context: Context,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        allowed: set[OperationType],
    ) -> tuple[Any, int | None]:  # an ExecutionResult, and the planned cost
        """A known operation runs from its plan; anything the plan does not answer (an error
        of any kind, something it does not handle) runs on the normal path, which answers
        exactly as before — a query has no side effects, so running it again is safe, and a
        mutation's root field answers the second run from the outcome it kept."""
        plan = None
        if self.plans is not None and operation in self.operations.names:
            plan = self.plans.get(query, operation)
        if plan is not None and plan.operation.operation.value not in {t.value for t in allowed}:
            plan = None  # a mutation over GET: refused by the normal path, never applied
        try:
            if plan is not None:
                assert self.plans is not None
                try:
                    data, values = await plan.answer(context, variables)
                except Abandon:
                    self.plans.abandoned += 1
                except DeadlineExceeded as late:
                    await context.settle()
                    return ExecutionResult(data=None, errors=[late]), None
                else:
                    self.plans.answered += 1
                    await context.settle()
                    return ExecutionResult(data=data, errors=None), values
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation,
                allowed_operation_types=allowed,
            )
            return result, None
        finally:
            context.mutation_outcomes.clear()  # kept for this operation's second run only

    def _respond(
        self,
        asked: Asked,
        data: Any,
        formatted: list[dict[str, Any]],
        statements: int,
        seconds: float,
        cost: Cost | None,
        decision: Decision | None,
        actual: int,
        cache_status: str,
        extensions: dict[str, Any] | None = None,
        failed: bool = False,
    ) -> Response:
        request, context, media = asked.request, asked.context, asked.media
        name = parse.operation_name(asked.query, asked.operation)
        observe(
            self.operations.label(name),
            context,
            name,
            failed,
            formatted,
            statements,
            seconds,
            cost,
            cache_status,
        )
        body: dict[str, Any] = {}
        if formatted:
            body["errors"] = formatted
        if not failed:
            body["data"] = data
        body["extensions"] = {**(extensions or {}), "sqlStatements": statements}
        if cost is not None:
            body["extensions"]["cost"] = {
                "requested": cost.requested,
                "actual": actual,
                "maximum": cost.maximum,
            }
            if decision is not None:
                body["extensions"]["cost"]["throttleStatus"] = throttle_status(
                    request.app.state.limiter, decision
                )
        status, headers = errors.answer_status(
            failed,
            media,
            formatted,
            {**asked.headers, "x-cache": cache_status, "content-language": context.language.value},
        )
        if request.method == "GET" and status == 200 and not formatted:
            return cacheable(request, body, media, headers)
        return json_response(body, status, media, headers)


async def _close(session: Any) -> None:
    """Give the connection back; closing a session whose database just went away raises,
    and that must not turn the answer already made (or a 503) into a 500."""
    try:
        await session.close()
    except Exception as exc:
        log.warning(
            "closing a session failed (%s: %s)",
            type(exc).__name__,
            exc,
            exc_info=not is_unavailable(exc),
        )
