"""Paying through Alipay and WeChat Pay (storefront.graphql PaymentStart) and staff recording
an offline payment (admin.graphql PaymentRecordOffline). Confirmation itself comes from the
providers' signed notifications (resolvers/payments_http.py), never from the client."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import payments as rp
from resolvers.context import Channel as ChannelEnum
from schema.catalog import Channel
from schema.common import UserError, user_errors
from schema.orders import Payment, PaymentConfirmPayload


@strawberry.enum
class PaymentGateway(Enum):
    ALIPAY = "ALIPAY"
    WECHATPAY = "WECHATPAY"


@strawberry.type(description="What the WeChat app SDK (PayReq) takes, signed.")
class WechatAppParams:
    appid: str
    partnerid: str
    prepayid: str
    package: str
    noncestr: str
    timestamp: str
    sign: str


@strawberry.type(description="What wx.requestPayment takes in the mini program, signed.")
class WechatJsapiParams:
    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str


@strawberry.type(description="Exactly one of orderString (Alipay APP: hand it to the SDK), "
                 "url (Alipay WEB/H5, WeChat H5: open it), appParams (WeChat APP) or "
                 "jsapiParams (WeChat mini program) is set. The order is paid when the "
                 "provider's signed notification arrives: poll the payment's status.")
class PaymentStartPayload:
    payment: Payment | None = None
    provider: PaymentGateway | None = None
    channel: Channel | None = None  # type: ignore[valid-type]
    out_trade_no: str | None = None
    order_string: str | None = None
    url: str | None = None
    app_params: WechatAppParams | None = None
    jsapi_params: WechatJsapiParams | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _payload(done: rp.StartedPayment) -> PaymentStartPayload:
    started, params = done.started, done.started.params or {}
    app = WechatAppParams(**params) if "partnerid" in params else None
    jsapi = WechatJsapiParams(app_id=params["appId"], time_stamp=params["timeStamp"],
                              nonce_str=params["nonceStr"], package=params["package"],
                              sign_type=params["signType"], pay_sign=params["paySign"]) \
        if "paySign" in params else None
    return PaymentStartPayload(payment=done.payment,  # type: ignore[arg-type]
                               provider=PaymentGateway(done.provider),
                               channel=ChannelEnum(done.channel), out_trade_no=done.out_trade_no,
                               order_string=started.order_string, url=started.url,
                               app_params=app, jsapi_params=jsapi)


@strawberry.type
class PaymentsMutation:
    @strawberry.mutation(description="Starts paying a payment at Alipay or WeChat Pay for a "
                         "channel (default: the X-Channel header). The mini program needs "
                         "the payer's openid. PROVIDER_UNAVAILABLE: try again shortly.")
    async def payment_start(self, info: Info, payment_id: strawberry.ID,
                            provider: PaymentGateway, channel: Channel | None = None,  # type: ignore[valid-type]
                            openid: str | None = None) -> PaymentStartPayload:
        r = await rp.payment_start(info.context, payment_id, provider.value,
                                   channel.value if channel else None, openid)
        if r.value is None:
            return PaymentStartPayload(user_errors=user_errors(r.errors))
        return _payload(r.value)

    @strawberry.mutation(description="Platform staff record money that came by bank "
                         "transfer (audited); the reference is the bank's. Idempotent by "
                         "reference; amount must equal amountDue.")
    async def payment_record_offline(
        self,
        info: Info,
        payment_id: Annotated[strawberry.ID, strawberry.argument(
            description="Relay global id of the payment.")],
        reference: Annotated[str, strawberry.argument(
            description="The bank's transfer reference.")],
        amount: Annotated[Decimal, strawberry.argument(
            description="Amount received in yuan, as a Decimal string; must equal amountDue.")],
    ) -> PaymentConfirmPayload:
        r = await rp.payment_record_offline(info.context, payment_id, reference, amount)
        return PaymentConfirmPayload(payment=r.value, user_errors=user_errors(r.errors))  # type: ignore[arg-type]
