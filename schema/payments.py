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
from schema.common import UserError
from schema.common import user_errors
from schema.common import user_errors_field
from schema.orders import Payment
from schema.orders import PaymentConfirmPayload
from schema.payloads import payload


@strawberry.enum(description="A real payment provider.")
class PaymentGateway(Enum):
    ALIPAY = strawberry.enum_value("ALIPAY", description="Alipay (支付宝).")
    WECHATPAY = strawberry.enum_value("WECHATPAY", description="WeChat Pay (微信支付).")


@strawberry.type(description="What the WeChat app SDK (PayReq) takes, signed.")
class WechatAppParams:
    appid: str = strawberry.field(description="App id.")
    partnerid: str = strawberry.field(description="Merchant id.")
    prepayid: str = strawberry.field(description="Prepay id.")
    package: str = strawberry.field(description="The package value for the SDK.")
    noncestr: str = strawberry.field(description="Random string.")
    timestamp: str = strawberry.field(description="Unix time in seconds.")
    sign: str = strawberry.field(description="Signature.")


@strawberry.type(description="What wx.requestPayment takes in the mini program, signed.")
class WechatJsapiParams:
    app_id: str = strawberry.field(description="Mini program app id.")
    time_stamp: str = strawberry.field(description="Unix time in seconds.")
    nonce_str: str = strawberry.field(description="Random string.")
    package: str = strawberry.field(description="The package value for wx.requestPayment.")
    sign_type: str = strawberry.field(description="Signature algorithm.")
    pay_sign: str = strawberry.field(description="Signature.")


@strawberry.type(
    description="Exactly one of orderString (Alipay APP: hand it to the SDK), "
    "url (Alipay WEB/H5, WeChat H5: open it), appParams (WeChat APP) or "
    "jsapiParams (WeChat mini program) is set. The order is paid when the "
    "provider's signed notification arrives: poll the payment's status."
)
class PaymentStartPayload:
    payment: Payment | None = strawberry.field(default=None, description="The payment being paid.")
    provider: PaymentGateway | None = strawberry.field(
        default=None, description="The provider asked."
    )
    channel: Channel | None = strawberry.field(default=None, description="The channel paying from.")
    out_trade_no: str | None = strawberry.field(
        default=None, description="Our trade number at the provider."
    )
    order_string: str | None = strawberry.field(
        default=None, description="Alipay APP: the signed order string for the SDK."
    )
    url: str | None = strawberry.field(
        default=None, description="Alipay WEB/H5 or WeChat H5: the page to open."
    )
    app_params: WechatAppParams | None = strawberry.field(
        default=None, description="WeChat APP: parameters for the SDK."
    )
    jsapi_params: WechatJsapiParams | None = strawberry.field(
        default=None, description="WeChat mini program: parameters for wx.requestPayment."
    )
    user_errors: list[UserError] = user_errors_field(default_factory=list)


def _payload(done: rp.StartedPayment) -> PaymentStartPayload:
    started, params = done.started, done.started.params or {}
    app = WechatAppParams(**params) if "partnerid" in params else None
    jsapi = (
        WechatJsapiParams(
            app_id=params["appId"],
            time_stamp=params["timeStamp"],
            nonce_str=params["nonceStr"],
            package=params["package"],
            sign_type=params["signType"],
            pay_sign=params["paySign"],
        )
        if "paySign" in params
        else None
    )
    return PaymentStartPayload(
        payment=done.payment,  # type: ignore[arg-type]
        provider=PaymentGateway(done.provider),
        channel=ChannelEnum(done.channel),
        out_trade_no=done.out_trade_no,
        order_string=started.order_string,
        url=started.url,
        app_params=app,
        jsapi_params=jsapi,
    )


@strawberry.type
class PaymentsMutation:
    @strawberry.mutation(
        description="Starts paying a payment at Alipay or WeChat Pay for a "
        "channel (default: the X-Channel header). The mini program needs "
        "the payer's openid. PROVIDER_UNAVAILABLE: try again shortly."
    )
    async def payment_start(
        self,
        info: Info,
        payment_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the payment.")
        ],
        provider: Annotated[
            PaymentGateway, strawberry.argument(description="ALIPAY or WECHATPAY.")
        ],
        channel: Annotated[
            Channel | None,
            strawberry.argument(
                description="The channel paying from; default: the X-Channel header."
            ),
        ] = None,
        openid: Annotated[
            str | None,
            strawberry.argument(description="The payer's WeChat openid (mini program only)."),
        ] = None,
    ) -> PaymentStartPayload:
        # names equal values here; mypy sees enum_value() definitions, not strings
        r = await rp.payment_start(
            info.context, payment_id, provider.name, channel.name if channel else None, openid
        )
        if r.value is None:
            return PaymentStartPayload(user_errors=user_errors(r.errors))
        return _payload(r.value)

    @strawberry.mutation(
        description="Platform staff record money that came by bank "
        "transfer (audited); the reference is the bank's. Idempotent by "
        "reference; amount must equal amountDue."
    )
    async def payment_record_offline(
        self,
        info: Info,
        payment_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the payment.")
        ],
        reference: Annotated[
            str, strawberry.argument(description="The bank's transfer reference.")
        ],
        amount: Annotated[
            Decimal,
            strawberry.argument(
                description="Amount received in yuan, as a Decimal string; must equal amountDue."
            ),
        ],
    ) -> PaymentConfirmPayload:
        r = await rp.payment_record_offline(info.context, payment_id, reference, amount)
        return payload(PaymentConfirmPayload, payment=r)
