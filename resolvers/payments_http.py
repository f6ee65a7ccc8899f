"""The providers' asynchronous notifications, outside GraphQL:

    POST /payments/alipay/notify      form-encoded; answered `success` / `failure`
    POST /payments/wechatpay/notify   JSON (payments and refunds); answered 204 / 4xx

Nothing changes before the provider verified the notification (signature, app / merchant id)
and the payment checked it (amount, currency, one transaction per payment). A repeated
notification changes nothing and gets the success answer. Anything refused changes nothing,
is logged and answered with failure, so the provider keeps it in its retry queue and its
console shows it unacknowledged: a genuine notification refused because of our configuration
(a key rotated, the amount due changed) is delivered again once that is fixed."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.responses import Response
from starlette.routing import Route

from core import metrics
from core.bodies import read_body
from core.clock import Clock
from core.settings import Settings
from services import members
from services import payments
from services import trades
from services.errors import DomainError
from services.unit_of_work import in_new_session

log = logging.getLogger("zhongtai.payments")


def payment_routes(settings: Settings, clock: Clock) -> list[Route]:
    """Enables the providers the settings configure, and the routes they notify."""
    payments.configure(settings)

    async def alipay(request: Request) -> Response:
        ok = await _receive(request, "ALIPAY", settings, clock)
        return PlainTextResponse("success" if ok else "failure")

    async def wechatpay(request: Request) -> Response:
        if await _receive(request, "WECHATPAY", settings, clock):
            return Response(status_code=204)
        return JSONResponse({"code": "FAIL", "message": "refused"}, status_code=400)

    return [
        Route("/payments/alipay/notify", alipay, methods=["POST"]),
        Route("/payments/wechatpay/notify", wechatpay, methods=["POST"]),
    ]


async def _receive(request: Request, name: str, settings: Settings, clock: Clock) -> bool:
    gateway = payments.PROVIDERS.get(name)
    if gateway is None:
        log.warning("%s notification, but %s is not configured here", name, name)
        return False
    body = await read_body(request, settings.max_body_bytes)
    if body is None:
        return _refused(name, "the body is over MAX_BODY_BYTES")
    try:
        news = gateway.read_notification(request.headers, body)
    except payments.NotificationRejected as exc:
        return _refused(name, str(exc))
    if news is None:
        return True
    now, factory = clock.now(), request.app.state.session_factory
    try:
        if isinstance(news, payments.Paid):
            paid = news
            done = await in_new_session(
                factory,
                lambda s: trades.accept(
                    s, name, paid, settings.currency, now, members.PointsRules.of(settings)
                ),
            )
            if done.late:
                log.warning(
                    "%s paid %s after it closed: recorded, flagged for refund",
                    name,
                    paid.out_trade_no,
                )
        else:
            notice = news
            await in_new_session(factory, lambda s: trades.refund_settled(s, name, notice, now))
    except DomainError as error:
        return _refused(name, f"{error.code.value}: {error.violations[0].message}")
    metrics.PAYMENTS.labels("notified").inc()
    return True


def _refused(name: str, why: str) -> bool:
    log.warning("%s notification refused: %s", name, why)
    metrics.PAYMENTS.labels("notification_refused").inc()
    return False
