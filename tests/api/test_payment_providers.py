"""Alipay and WeChat Pay (DOMAIN.md §7, signed payments only) against local fake gateways
that sign as the providers document: paying per channel, notifications (forged, wrong amount,
not ours, replayed), late money vs expiry and cancellation, the refund ledger, a provider that
is down, TEST refused in production, offline payments by staff, one transaction per payment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Host

from app import create_app
from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.settings import Settings
from models import AuditEntry
from models import Payment
from models import ProviderRefund
from services import housekeeping
from services import ledger
from services import payments
from tests.api import checkout_data
from tests.api.checkout_data import ORDER_DETAIL
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.conftest import Api
from tests.conftest import make_staff
from tests.fakes import alipay as fa
from tests.fakes import wechatpay as fw
from tests.fakes.keys import private_pem
from tests.fakes.keys import public_pem

JWT_SECRET = "p" * 40  # production refuses the default; tokens work in both apps


@pytest.fixture
def settings() -> Settings:
    """Both providers configured with the fakes' keys; the project's keys are its own."""
    return Settings(
        database_url="sqlite+aiosqlite://",
        access_token_minutes=60 * 24 * 365,
        jwt_secret=JWT_SECRET,
        payment_notify_base_url="https://shop.example",
        alipay_app_id=fa.APP_ID,
        alipay_app_private_key=private_pem("alipay-app"),
        alipay_public_key=public_pem("alipay-platform"),
        alipay_gateway_url="http://alipay.fake/gateway.do",
        wechatpay_mchid=fw.MCHID,
        wechatpay_appid=fw.APPID,
        wechatpay_apiv3_key=fw.APIV3_KEY,
        wechatpay_private_key=private_pem("wechat-merchant"),
        wechatpay_cert_serial="SERIAL1",
        wechatpay_platform_public_key=public_pem("wechat-platform"),
        wechatpay_platform_serial=fw.SERIAL,
        wechatpay_gateway_url="http://wechat.fake",
    )


class Fakes:
    def __init__(self) -> None:
        self.alipay, self.wechat = fa.FakeAlipay(), fw.FakeWechatPay()
        gateways = Starlette(
            routes=[Host("alipay.fake", self.alipay.app), Host("wechat.fake", self.wechat.app)]
        )
        self.transport = httpx.ASGITransport(app=gateways)


@pytest.fixture
def fakes(api: Api, settings: Settings) -> Iterator[Fakes]:
    """The project's provider calls go to the fakes (the app was made by `api`)."""
    made = Fakes()
    payments.configure(settings, made.transport)
    yield made
    payments.configure(Settings())  # back to TEST only for whoever comes next


async def checkout(
    api: Api, engine: AsyncEngine, phone: str = "13900007001", shop: Shop | None = None
) -> tuple[Shopper, dict[str, Any]]:
    """One unit of A, from a new shop unless one is given."""
    shop = shop or await open_shop(api, engine)
    who = await shopper(api, phone, [(shop.sku_a, 1)])
    return who, await place(api, who)


def due(payment: dict[str, Any]) -> int:
    return int(payment["amountDue"]["amount"].replace(".", ""))


async def start(
    api: Api, who: Shopper, payment: dict[str, Any], provider: str, channel: str, **extra: Any
) -> dict[str, Any]:
    done = await api.ok(
        "PaymentStart",
        {"paymentId": payment["id"], "provider": provider, "channel": channel, **extra},
        token=who.token,
    )
    return done["paymentStart"]


async def status(api: Api, who: Shopper, payment: dict[str, Any]) -> tuple[str, str, bool]:
    """(order status, payment status, needs refund)"""
    found = await api.post(ORDER_DETAIL, {"id": payment["orders"][0]["id"]}, token=who.token)
    order = found["data"]["order"]
    return order["status"], order["payment"]["status"], order["payment"]["needsRefund"]


async def alipay_notify(api: Api, form: dict[str, str]) -> str:
    response = await api.client.post(
        "/payments/alipay/notify",
        content=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return response.text


async def wechat_notify(api: Api, signed: tuple[dict[str, str], bytes]) -> int:
    headers, body = signed
    return (
        await api.client.post("/payments/wechatpay/notify", content=body, headers=headers)
    ).status_code


# --- paying, per provider and channel ------------------------------------------------------------


@pytest.mark.parametrize("channel", ["APP", "WEB", "H5"])
async def test_alipay_pays_through_a_signed_notification(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock, channel: str
) -> None:
    who, payment = await checkout(api, engine)
    started = await start(api, who, payment, "ALIPAY", channel)
    handed = started["orderString"] if channel == "APP" else started["url"]
    assert handed and (channel == "APP") == (started["url"] is None)
    opened = fakes.alipay.open(handed)  # our RSA2 signature verifies at "Alipay"
    assert (
        opened["method"]
        == {
            "APP": "alipay.trade.app.pay",
            "WEB": "alipay.trade.page.pay",
            "H5": "alipay.trade.wap.pay",
        }[channel]
    )
    assert opened["notify_url"] == "https://shop.example/payments/alipay/notify"
    assert int(opened["biz.total_amount"].replace(".", "")) == due(payment)
    assert await status(api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)

    fakes.alipay.pay(started["outTradeNo"], clock.now())
    form = fakes.alipay.notification(started["outTradeNo"])
    assert await alipay_notify(api, form) == "success"
    assert await status(api, who, payment) == ("PAID", "PAID", False)
    assert await alipay_notify(api, form) == "success"  # Alipay retried: nothing changes
    assert await status(api, who, payment) == ("PAID", "PAID", False)


@pytest.mark.parametrize("channel", ["APP", "MINI_PROGRAM", "H5"])
async def test_wechatpay_pays_through_a_signed_notification(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock, channel: str
) -> None:
    who, payment = await checkout(api, engine)
    extra = {"openid": "o-payer"} if channel == "MINI_PROGRAM" else {}
    started = await start(api, who, payment, "WECHATPAY", channel, **extra)
    if channel == "APP":
        params = started["appParams"]
        assert params["partnerid"] == fw.MCHID and params["package"] == "Sign=WXPay"
        assert payments.rsa_verify(
            fw.key("wechat-merchant").public_key(),
            fw.message(
                params["appid"], params["timestamp"], params["noncestr"], params["prepayid"]
            ),
            params["sign"],
        )
    elif channel == "MINI_PROGRAM":
        params = started["jsapiParams"]
        assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
        assert payments.rsa_verify(
            fw.key("wechat-merchant").public_key(),
            fw.message(params["appId"], params["timeStamp"], params["nonceStr"], params["package"]),
            params["paySign"],
        )
    else:
        assert started["url"].startswith("https://wx.tenpay.com/")
    trade = fakes.wechat.trades[started["outTradeNo"]]
    assert trade.amount == due(payment)

    fakes.wechat.pay(trade.out_trade_no, clock.now())
    signed = fakes.wechat.notification(trade.out_trade_no)
    assert await wechat_notify(api, signed) == 204
    assert await status(api, who, payment) == ("PAID", "PAID", False)
    assert await wechat_notify(api, signed) == 204  # replayed: nothing changes
    assert await status(api, who, payment) == ("PAID", "PAID", False)


async def test_the_mini_program_needs_the_payers_openid(
    api: Api, engine: AsyncEngine, fakes: Fakes
) -> None:
    who, payment = await checkout(api, engine)
    refused = await api.op(
        "PaymentStart",
        {"paymentId": payment["id"], "provider": "WECHATPAY", "channel": "MINI_PROGRAM"},
        token=who.token,
    )
    errors = refused["data"]["paymentStart"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID_INPUT", "openid")]


# --- notifications not believed ------------------------------------------------------------------


async def test_forged_wrong_amount_and_not_ours_change_nothing(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    who, payment = await checkout(api, engine)
    started = await start(api, who, payment, "ALIPAY", "WEB")
    ali = started["outTradeNo"]
    fakes.alipay.open(started["url"])
    fakes.alipay.pay(ali, clock.now())
    genuine = fakes.alipay.notification(ali)
    forged = {**genuine, "total_amount": "0.01"}  # the signature no longer holds
    assert await alipay_notify(api, forged) == "failure"
    wrong_amount = fakes.alipay.notification(ali, total_amount="0.01")  # signed, but wrong
    assert await alipay_notify(api, wrong_amount) == "failure"
    other_app = fakes.alipay.notification(ali, app_id="2021000000009999")
    assert await alipay_notify(api, other_app) == "failure"
    assert await status(api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)

    wx = (await start(api, who, payment, "WECHATPAY", "H5"))["outTradeNo"]
    fakes.wechat.pay(wx, clock.now())
    headers, body = fakes.wechat.notification(wx)
    assert await wechat_notify(api, ({**headers, "Wechatpay-Signature": "AAAA"}, body)) == 400
    assert (
        await wechat_notify(
            api, fakes.wechat.notification(wx, amount={"total": 1, "currency": "CNY"})
        )
        == 400
    )
    assert await wechat_notify(api, fakes.wechat.notification(wx, mchid="1900000999")) == 400
    assert await wechat_notify(api, fakes.wechat.notification(wx, appid="wx-other")) == 400
    assert await status(api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)
    assert await alipay_notify(api, genuine) == "success"  # the genuine one still pays
    assert await status(api, who, payment) == ("PAID", "PAID", False)


# --- late money: expiry and cancellation ---------------------------------------------------------


@pytest.mark.parametrize("provider", ["ALIPAY", "WECHATPAY"])
async def test_paid_in_time_but_not_yet_notified_is_not_cancelled_at_expiry(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock, provider: str
) -> None:
    who, payment = await checkout(api, engine)
    started = await start(api, who, payment, provider, "H5")
    no = started["outTradeNo"]
    if provider == "ALIPAY":
        fakes.alipay.open(started["url"])
        fakes.alipay.pay(no, clock.now())
    else:
        fakes.wechat.pay(no, clock.now())
    clock.advance(minutes=31)  # the notification is late; the sweeper asks first
    swept = await housekeeping.sweep(create_session_factory(engine), clock.now(), 10)
    assert swept.expired == 0
    assert await status(api, who, payment) == ("PAID", "PAID", False)


async def test_unpaid_trades_are_closed_at_expiry_and_late_money_is_flagged(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    who, payment = await checkout(api, engine)
    no = (await start(api, who, payment, "WECHATPAY", "APP"))["outTradeNo"]
    clock.advance(minutes=31)
    swept = await housekeeping.sweep(create_session_factory(engine), clock.now(), 10)
    assert swept.expired == 1
    assert fakes.wechat.trades[no].state == "CLOSED"  # it can't be paid any more
    assert await status(api, who, payment) == ("CANCELLED", "EXPIRED", False)
    fakes.wechat.pay(no, clock.now())  # yet money came (say, the provider raced the close)
    assert await wechat_notify(api, fakes.wechat.notification(no)) == 204
    assert await status(api, who, payment) == ("CANCELLED", "EXPIRED", True)


async def test_cancelling_closes_the_trade_or_finds_it_paid(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    who, payment = await checkout(api, engine, shop=shop)
    no = (await start(api, who, payment, "WECHATPAY", "H5"))["outTradeNo"]
    fakes.wechat.pay(no, clock.now())  # paid a moment ago, the notification not in yet
    refused = await api.op("OrderCancel", {"id": payment["orders"][0]["id"]}, token=who.token)
    assert refused["data"]["orderCancel"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    assert await status(api, who, payment) == ("PAID", "PAID", False)

    other, unpaid = await checkout(api, engine, "13900007002", shop)
    started = await start(api, other, unpaid, "ALIPAY", "WEB")
    fakes.alipay.open(started["url"])
    await api.ok("OrderCancel", {"id": unpaid["orders"][0]["id"]}, token=other.token)
    assert fakes.alipay.trades[started["outTradeNo"]].status == "TRADE_CLOSED"
    assert await status(api, other, unpaid) == ("CANCELLED", "CANCELLED", False)


# --- refunds -------------------------------------------------------------------------------------


async def test_refund_ledger_adds_partial_refunds_and_never_passes_the_capture(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    who = await shopper(api, "13900007003", [(shop.sku_a, 2)])
    payment = await place(api, who)
    no = (await start(api, who, payment, "WECHATPAY", "APP"))["outTradeNo"]
    fakes.wechat.pay(no, clock.now())
    assert await wechat_notify(api, fakes.wechat.notification(no)) == 204
    order = (await api.post(ORDER_DETAIL, {"id": payment["orders"][0]["id"]}, token=who.token))[
        "data"
    ]["order"]
    line = order["lines"][0]["id"]
    for _ in range(2):  # one unit, then the other
        asked = await checkout_data.request_refund(api, who.token, order["id"], [(line, 1)])
        await api.admin("RefundApprove", {"id": asked["id"]})
    trade = fakes.wechat.trades[no]
    assert sum(trade.refunds.values()) == due(payment) == trade.amount
    async with create_session_factory(engine)() as s:
        rows = (await s.scalars(select(ProviderRefund).order_by(ProviderRefund.id))).all()
        assert [(r.provider, r.transaction_id, r.status.value) for r in rows] == [
            ("WECHATPAY", trade.transaction_id, "PENDING")
        ] * 2
        assert sum(r.amount for r in rows) == due(payment)
        paid = await s.get(Payment, decode_id(payment["id"])[1])
        assert paid is not None and paid.amount_refunded == due(payment)
        with pytest.raises(Exception, match="more than is left"):
            await ledger.pay_back(s, paid, 1, "one-too-many", clock.now())
        await s.rollback()
    # WeChat's refund notification settles each ledger row
    for reference in trade.refunds:
        assert await wechat_notify(api, fakes.wechat.refund_notification(reference)) == 204
    async with create_session_factory(engine)() as s:
        assert {r.status.value for r in (await s.scalars(select(ProviderRefund))).all()} == {
            "SUCCEEDED"
        }


async def test_money_paid_twice_goes_back_through_the_second_provider(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    """The customer opened both an Alipay and a WeChat trade and paid both: the first
    notification pays the orders, the second money is refunded at once, exactly once."""
    who, payment = await checkout(api, engine, "13900007009")
    alipay = await start(api, who, payment, "ALIPAY", "APP")
    fakes.alipay.open(alipay["orderString"])
    first = alipay["outTradeNo"]
    second = (await start(api, who, payment, "WECHATPAY", "APP"))["outTradeNo"]
    fakes.alipay.pay(first, clock.now())
    fakes.wechat.pay(second, clock.now())
    assert await alipay_notify(api, fakes.alipay.notification(first)) == "success"
    signed = fakes.wechat.notification(second)
    # WeChat retries, even while the first is being recorded: each answered success, and
    # the money refunded once (the trade row is locked while a notification is recorded)
    answers = await asyncio.gather(*(wechat_notify(api, signed) for _ in range(4)))
    assert answers == [204] * 4
    assert await wechat_notify(api, signed) == 204
    assert await status(api, who, payment) == ("PAID", "PAID", False)
    trade = fakes.wechat.trades[second]
    assert list(trade.refunds.values()) == [due(payment)]
    async with create_session_factory(engine)() as s:
        paid = await s.get(Payment, decode_id(payment["id"])[1])
        assert paid is not None and paid.provider == "ALIPAY" and paid.amount_refunded == 0
        rows = (await s.scalars(select(ProviderRefund))).all()
        assert [(r.provider, r.transaction_id, r.amount) for r in rows] == [
            ("WECHATPAY", trade.transaction_id, due(payment))
        ]


async def test_alipay_refunds_are_synchronous(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    who, payment = await checkout(api, engine)
    started = await start(api, who, payment, "ALIPAY", "APP")
    fakes.alipay.open(started["orderString"])
    fakes.alipay.pay(started["outTradeNo"], clock.now())
    assert await alipay_notify(api, fakes.alipay.notification(started["outTradeNo"])) == "success"
    await api.admin("OrderCancel", {"id": payment["orders"][0]["id"], "reason": "no stock"})
    assert sum(fakes.alipay.trades[started["outTradeNo"]].refunds.values()) == due(payment)
    async with create_session_factory(engine)() as s:
        assert [r.status.value for r in (await s.scalars(select(ProviderRefund))).all()] == [
            "SUCCEEDED"
        ]


# --- a provider that is down ---------------------------------------------------------------------


async def test_a_provider_that_is_down_is_a_clear_user_error_to_retry(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock
) -> None:
    who, payment = await checkout(api, engine)
    fakes.wechat.down = True
    refused = await api.op(
        "PaymentStart",
        {"paymentId": payment["id"], "provider": "WECHATPAY", "channel": "APP"},
        token=who.token,
    )
    assert refused["data"]["paymentStart"]["userErrors"][0]["code"] == "PROVIDER_UNAVAILABLE"
    fakes.wechat.down = False
    no = (await start(api, who, payment, "WECHATPAY", "APP"))["outTradeNo"]  # retried: fine
    fakes.wechat.down = True
    cancel = await api.op("OrderCancel", {"id": payment["orders"][0]["id"]}, token=who.token)
    assert cancel["data"]["orderCancel"]["userErrors"][0]["code"] == "PROVIDER_UNAVAILABLE"
    clock.advance(minutes=31)  # can't ask: the stock is held a little longer, not cancelled
    assert (await housekeeping.sweep(create_session_factory(engine), clock.now(), 10)).expired == 0
    assert await status(api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)
    fakes.wechat.down = False
    fakes.wechat.pay(no, clock.now() - timedelta(minutes=2))
    await housekeeping.sweep(create_session_factory(engine), clock.now(), 10)
    assert await status(api, who, payment) == ("PAID", "PAID", False)


# --- TEST in production, offline payments, one transaction per payment ---------------------------


@pytest.fixture
async def production_api(engine: AsyncEngine, clock: FixedClock) -> AsyncIterator[Api]:
    settings = Settings(
        database_url="sqlite+aiosqlite://",
        environment="production",
        jwt_secret=JWT_SECRET,
        persisted_queries_only=False,
        access_token_minutes=60 * 24 * 365,
    )
    app = create_app(settings=settings, clock=clock, engine=engine)
    app.state.engine, app.state.session_factory = engine, create_session_factory(engine)
    _, token = await make_staff(
        engine,
        settings,
        clock,
        email="admin@prod.example",
        permissions=["MANAGE_ORDERS", "MANAGE_CATALOG", "MANAGE_INVENTORY"],
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield Api(client, token)
    finally:
        payments.configure(Settings())


async def test_the_test_provider_is_refused_in_production(
    api: Api, engine: AsyncEngine, production_api: Api
) -> None:
    who, payment = await checkout(api, engine)
    refused = await production_api.op(
        "PaymentConfirm",
        {
            "paymentId": payment["id"],
            "transactionId": "made-up",
            "amount": payment["amountDue"]["amount"],
        },
        token=who.token,
    )
    assert "data" in refused, refused
    errors = refused["data"]["paymentConfirm"]["userErrors"]
    assert [e["code"] for e in errors] == ["PAYMENT_PROVIDER_DISABLED"]
    assert await status(production_api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)


async def test_staff_record_an_offline_payment_audited(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    who, payment = await checkout(api, engine, shop=shop)
    variables = {
        "paymentId": payment["id"],
        "reference": "ICBC-20260410-0001",
        "amount": payment["amountDue"]["amount"],
    }
    refused = await api.op("PaymentRecordOffline", variables, token=who.token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    merchant = decode_id(shop.merchant)[1]
    _, merchant_token = await make_staff(
        engine,
        settings,
        clock,
        email="m@shop.example",
        permissions=["MANAGE_ORDERS"],
        merchant_id=merchant,
    )
    refused = await api.op("PaymentRecordOffline", variables, token=merchant_token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    done = await api.admin("PaymentRecordOffline", variables)
    assert done["paymentRecordOffline"]["payment"]["status"] == "PAID"
    assert (await api.admin("PaymentRecordOffline", variables))[  # idempotent by reference
        "paymentRecordOffline"
    ]["payment"]["status"] == "PAID"
    async with create_session_factory(engine)() as s:
        actions = (await s.scalars(select(AuditEntry.action))).all()
    assert actions.count("payment.record_offline") == 2


async def test_one_transaction_pays_one_payment(api: Api, engine: AsyncEngine) -> None:
    shop = await open_shop(api, engine)
    who, first = await checkout(api, engine, shop=shop)
    other, second = await checkout(api, engine, "13900007004", shop)
    await pay(api, who, first, "shared-txn")
    again = await api.op(
        "PaymentConfirm",
        {
            "paymentId": second["id"],
            "transactionId": "shared-txn",
            "amount": second["amountDue"]["amount"],
        },
        token=other.token,
    )
    assert again["data"]["paymentConfirm"]["userErrors"][0]["code"] == "DUPLICATE_TRANSACTION"
    assert await status(api, other, second) == ("PENDING_PAYMENT", "PENDING", False)


async def test_an_oversized_notification_is_refused_unread(
    api: Api, engine: AsyncEngine, fakes: Fakes, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The notification endpoints are public: a body over MAX_BODY_BYTES is refused (the
    provider would retry a genuine one) and changes nothing, whatever it holds."""
    who, payment = await checkout(api, engine, "13900007010")
    no = (await start(api, who, payment, "WECHATPAY", "APP"))["outTradeNo"]
    fakes.wechat.pay(no, clock.now())
    headers, body = fakes.wechat.notification(no)
    padded = body + b" " * 1_000_001  # still valid JSON, now too long to read
    assert await wechat_notify(api, (headers, padded)) == 400
    assert await status(api, who, payment) == ("PENDING_PAYMENT", "PENDING", False)
    huge = await api.client.post(
        "/payments/alipay/notify",
        content=b"a=" + b"x" * 1_000_001,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.text == "failure"
    # refused for its size, before any signature was read
    assert sum("over MAX_BODY_BYTES" in r.getMessage() for r in caplog.records) == 2
    assert await wechat_notify(api, (headers, body)) == 204  # the genuine one still pays
