"""A fake WeChat Pay API v3: checks the project's WECHATPAY2-SHA256-RSA2048 Authorization
header, answers signed with the "platform" key (Wechatpay-Timestamp/-Nonce/-Signature/-Serial
over "TIMESTAMP\\nNONCE\\nBODY\\n"), and makes the notifications WeChat Pay would POST: the
resource encrypted with AES-256-GCM under the APIv3 key, the envelope signed likewise."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.payments import rsa_sign
from services.payments import rsa_verify
from services.wechatpay import message
from tests.fakes.gateway import FakeGateway
from tests.fakes.gateway import FakeTrade
from tests.fakes.keys import key

MCHID, APPID, SERIAL = "1900000109", "wxd678efh567hg6787", "PUB_KEY_ID_0001"
APIV3_KEY = "a" * 16 + "b" * 16  # 32 bytes


@dataclass
class Trade(FakeTrade):
    kind: str = ""  # app, jsapi or h5
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""


class FakeWechatPay(FakeGateway[Trade]):
    def __init__(self) -> None:
        super().__init__(
            Route("/v3/pay/transactions/{kind}", self.prepay, methods=["POST"]),
            Route("/v3/pay/transactions/out-trade-no/{no}", self.query, methods=["GET"]),
            Route("/v3/pay/transactions/out-trade-no/{no}/close", self.close, methods=["POST"]),
            Route("/v3/refund/domestic/refunds", self.refund, methods=["POST"]),
        )

    # --- the customer's side and notifications ---------------------------------------------

    def pay(self, out_trade_no: str, when: datetime) -> None:
        trade = self.trades[out_trade_no]
        trade.state, trade.transaction_id = "SUCCESS", f"42000{len(self.trades):023d}"
        trade.success_time = when.isoformat(timespec="seconds")

    def transaction(self, trade: Trade) -> dict[str, Any]:
        return {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": trade.kind.upper(),
            "trade_state": trade.state,
            "success_time": trade.success_time,
            "amount": {
                "total": trade.amount,
                "payer_total": trade.amount,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
            "payer": {"openid": "o-payer"},
        }

    def notification(self, out_trade_no: str, **changes: Any) -> tuple[dict[str, str], bytes]:
        resource = {**self.transaction(self.trades[out_trade_no]), **changes}
        return envelope("TRANSACTION.SUCCESS", "transaction", resource)

    def refund_notification(
        self, out_refund_no: str, status: str = "SUCCESS"
    ) -> tuple[dict[str, str], bytes]:
        trade = next(t for t in self.trades.values() if out_refund_no in t.refunds)
        return envelope(
            f"REFUND.{status}",
            "refund",
            {
                "mchid": MCHID,
                "out_trade_no": trade.out_trade_no,
                "transaction_id": trade.transaction_id,
                "out_refund_no": out_refund_no,
                "refund_id": f"5030{out_refund_no}",
                "refund_status": status,
                "amount": {"total": trade.amount, "refund": trade.refunds[out_refund_no]},
            },
        )

    # --- the API ----------------------------------------------------------------------------

    async def _authorized(self, request: Request) -> tuple[bytes, Response | None]:
        body = await request.body()
        self.calls.append(f"{request.method} {request.url.path}")
        if self.down:
            return body, Response("busy", status_code=503)
        header = request.headers.get("authorization", "")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        signed = message(
            request.method,
            path,
            fields.get("timestamp", ""),
            fields.get("nonce_str", ""),
            body.decode(),
        )
        if (
            not header.startswith("WECHATPAY2-SHA256-RSA2048 ")
            or fields.get("mchid") != MCHID
            or not rsa_verify(
                key("wechat-merchant").public_key(), signed, fields.get("signature", "")
            )
        ):
            return body, reply({"code": "SIGN_ERROR", "message": "签名错误"}, 401)
        return body, None

    async def prepay(self, request: Request) -> Response:
        body, refused = await self._authorized(request)
        if refused:
            return refused
        order, kind = json.loads(body), request.path_params["kind"]
        if order["mchid"] != MCHID or order["appid"] != APPID:
            return reply({"code": "PARAM_ERROR", "message": "appid/mchid"}, 400)
        if kind == "jsapi" and not (order.get("payer") or {}).get("openid"):
            return reply({"code": "PARAM_ERROR", "message": "openid"}, 400)
        no = order["out_trade_no"]
        self.trades.setdefault(no, Trade(no, order["amount"]["total"], kind=kind))
        if kind == "h5":
            return reply(
                {"h5_url": f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{no}"}
            )
        return reply({"prepay_id": f"wx{no}"})

    async def _named_trade(self, request: Request) -> Trade | Response:
        """The trade the path names (out-trade-no/{no}), or the answer refusing the call."""
        _, refused = await self._authorized(request)
        if refused:
            return refused
        trade = self.trades.get(request.path_params["no"])
        if trade is None:
            return reply({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, 404)
        return trade

    async def query(self, request: Request) -> Response:
        trade = await self._named_trade(request)
        if isinstance(trade, Response):
            return trade
        return reply(self.transaction(trade))

    async def close(self, request: Request) -> Response:
        trade = await self._named_trade(request)
        if isinstance(trade, Response):
            return trade
        if trade.state == "SUCCESS":
            return reply({"code": "ORDERPAID", "message": "订单已支付"}, 400)
        trade.state = "CLOSED"
        return reply(None, 204)

    async def refund(self, request: Request) -> Response:
        body, refused = await self._authorized(request)
        if refused:
            return refused
        asked = json.loads(body)
        trade = next(
            (t for t in self.trades.values() if t.transaction_id == asked["transaction_id"]), None
        )
        if trade is None:
            return reply({"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}, 404)
        ref, amount = asked["out_refund_no"], asked["amount"]["refund"]
        if not trade.take_refund(ref, amount):
            return reply({"code": "INVALID_REQUEST", "message": "退款金额超过"}, 400)
        return reply(
            {
                "refund_id": f"5030{ref}",
                "out_refund_no": ref,
                "status": "PROCESSING",
                "amount": {"refund": amount, "total": trade.amount},
            }
        )


def signed_headers(body: bytes) -> dict[str, str]:
    stamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = rsa_sign(key("wechat-platform"), f"{stamp}\n{nonce}\n{body.decode()}\n")
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": SERIAL,
    }


def reply(data: Any, status: int = 200) -> Response:
    body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
    return Response(
        body,
        status_code=status,
        headers=signed_headers(body),
        media_type="application/json" if body else None,
    )


def envelope(event: str, kind: str, resource: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    nonce, associated = secrets.token_hex(6), kind
    ciphertext = AESGCM(APIV3_KEY.encode()).encrypt(
        nonce.encode(), json.dumps(resource).encode(), associated.encode()
    )
    body = json.dumps(
        {
            "id": secrets.token_hex(8),
            "create_time": "2026-04-10T16:00:00+08:00",
            "event_type": event,
            "resource_type": "encrypt-resource",
            "summary": "ok",
            "resource": {
                "algorithm": "AEAD_AES_256_GCM",
                "original_type": kind,
                "associated_data": associated,
                "nonce": nonce,
                "ciphertext": base64.b64encode(ciphertext).decode(),
            },
        }
    ).encode()
    return {**signed_headers(body), "Content-Type": "application/json"}, body
