"""CSV downloads over HTTP: GET with a Bearer token, answering the same figures as their
GraphQL query under the same authorization rule (schema/policy.py POLICY).

Besides the settlement statement: orders, the daily sales report and the stock ledger
(services/exports.py). Those are streamed in batches, merchant staff get their own merchant's
rows only (naming another merchant is refused), and each download is written to the audit
log (action `export.…`, target the merchant exported, or none for the whole platform) before
its first row goes out. `from`/`to` are calendar days in REPORT_TIMEZONE, at most 366 days."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.responses import StreamingResponse
from starlette.routing import Route

from core.clock import Clock
from core.ids import InvalidGlobalId
from core.ids import decode_id
from core.money import from_minor
from core.settings import Settings
from resolvers.context import Viewer
from resolvers.errors import ApiErrorCode
from schema.policy import POLICY
from services import exports as exporting
from services import settlement
from services.errors import DomainError
from web.errors import BadRequest
from web.viewer import ensure_staff_standing
from web.viewer import viewer as viewer_of
from web.viewer import viewer_of_claims


def _refused(code: ApiErrorCode, message: str, status: int) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code.value}}]}, status_code=status
    )


def _merchant_id(raw: str) -> int | None:
    try:
        kind, pk = decode_id(raw)
    except InvalidGlobalId:
        return None
    return pk if kind == "Merchant" else None


def statement_csv(st: settlement.Statement, merchant_gid: str) -> str:
    """One header row and one row of figures, amounts in yuan as the API gives them."""
    amounts = settlement.figures(st)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["merchantId", "from", "to", "commissionRate", "paidOrders", *amounts])
    writer.writerow(
        [
            merchant_gid,
            st.start.isoformat(),
            st.end.isoformat(),
            st.commission_rate,
            st.paid_orders,
            *(str(from_minor(v)) for v in amounts.values()),
        ]
    )
    return out.getvalue()


def routes(settings: Settings, clock: Clock) -> list[Route]:
    async def gate(request: Request, field: str) -> Viewer | Response:
        """The viewer, or the refusal: the token and staff-standing checks are the GraphQL
        endpoint's own, the rule is `field`'s POLICY entry."""
        try:
            viewer = linked_viewer(request) or viewer_of(request, settings, clock.now())
            await ensure_staff_standing(request, viewer, settings)
        except BadRequest as refused:
            return _refused(refused.code, str(refused), refused.status)
        refusal = POLICY[field].refusal(viewer)
        if refusal is None:
            return viewer
        extensions = refusal.extensions if isinstance(refusal, GraphQLError) else None
        code = ApiErrorCode((extensions or {}).get("code", ApiErrorCode.FORBIDDEN.value))
        status = 401 if code == ApiErrorCode.UNAUTHENTICATED else 403
        return _refused(code, str(refusal), status)

    def linked_viewer(request: Request) -> Viewer | None:
        """The staff member a `?link=` names (see services/exports.py); None without one."""
        token = request.query_params.get("link")
        if token is None or request.headers.get("authorization"):
            return None
        params = {k: v for k, v in request.query_params.items() if k != "link"}
        claims = exporting.read_link(
            settings.jwt_secret, token, request.url.path, params, clock.now()
        )
        found = viewer_of_claims(claims) if claims is not None else None
        if found is None or not found.is_staff:
            raise BadRequest(
                ApiErrorCode.UNAUTHENTICATED,
                "This download link is invalid or expired: ask for a new one.",
                401,
            )
        return found

    async def settlement_csv(request: Request) -> Response:
        viewer = await gate(request, "settlementStatement")
        if isinstance(viewer, Response):
            return viewer
        params = request.query_params
        merchant_gid = params.get("merchantId", "")
        merchant_id = _merchant_id(merchant_gid)
        if merchant_id is None:
            return _refused(ApiErrorCode.INVALID_ID, "Expected an ID of a Merchant.", 400)
        if viewer.merchant_id is not None and merchant_id != viewer.merchant_id:
            return _refused(
                ApiErrorCode.FORBIDDEN,
                "`merchantId` must name a Merchant of your own merchant.",
                403,
            )
        try:
            start, end = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
        except (KeyError, ValueError):
            return _refused(ApiErrorCode.BAD_REQUEST, "Give `from` and `to` as YYYY-MM-DD.", 400)
        try:
            async with request.app.state.session_factory() as session:
                found = await settlement.statement(
                    session, merchant_id, start, end, ZoneInfo(settings.report_timezone)
                )
        except DomainError as error:
            return _refused(ApiErrorCode.BAD_REQUEST, error.violations[0].message, 400)
        name = f"settlement-{merchant_id}-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            statement_csv(found, merchant_gid),
            media_type="text/csv",
            headers={
                "content-disposition": f'attachment; filename="{name}"',
                "cache-control": "no-store",
            },
        )

    def downloading(kind: exporting.Kind) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await download(request, kind)

        return endpoint

    async def download(request: Request, kind: exporting.Kind) -> Response:
        viewer = await gate(request, kind.policy)
        if isinstance(viewer, Response):
            return viewer
        zone = ZoneInfo(settings.report_timezone)
        try:
            asked = exporting.parse(kind, request.query_params, viewer.merchant_id, zone)
        except exporting.Refused as refused:
            return _refused(ApiErrorCode(refused.code), str(refused), refused.status)
        factory = request.app.state.session_factory
        async with factory() as session:
            await exporting.log_download(
                session, kind, asked, viewer.staff_id, request.headers.get("x-request-id")
            )
            await session.commit()
        return StreamingResponse(
            exporting.stream(factory, kind, asked, zone),
            media_type="text/csv",
            headers={
                "content-disposition": f'attachment; filename="{asked.filename(kind)}"',
                "cache-control": "no-store",
            },
        )

    return [
        Route(exporting.link_path(exporting.SETTLEMENT), settlement_csv, methods=["GET"]),
        *(
            Route(exporting.link_path(kind), downloading(kind), methods=["GET"])
            for kind in exporting.KINDS
        ),
    ]
