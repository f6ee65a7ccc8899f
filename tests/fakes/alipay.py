"""A fake Alipay open-API gateway: the part the project calls (alipay.trade.query / close /
refund), answers signed with "Alipay's" key over the raw `<method>_response` JSON, and the
customer's side — paying an order string or page URL, which yields the signed asynchronous
notification Alipay would POST (sorted `k=v&…` without sign and sign_type, RSA2)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.alipay import BEIJING
from services.alipay import fen
from services.alipay import signing_string
from services.alipay import yuan
from services.payments import rsa_sign
from services.payments import rsa_verify
from tests.fakes.gateway import FakeGateway
from tests.fakes.gateway import FakeTrade
from tests.fakes.keys import key

APP_ID = "2021000000000001"


@dataclass
class Trade(FakeTrade):
    status: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    paid_at: str = ""


class FakeAlipay(FakeGateway[Trade]):
    def __init__(self) -> None:
        super().__init__(Route("/gateway.do", self.gateway, methods=["POST"]))

    # --- the customer's side ----------------------------------------------------------------

    def open(self, order_string_or_url: str) -> dict[str, str]:
        """The customer opens what paymentStart gave: our signature must hold."""
        query = urlsplit(order_string_or_url).query or order_string_or_url
        params = dict(parse_qsl(query, keep_blank_values=True))
        assert rsa_verify(key("alipay-app").public_key(), signing_string(params), params["sign"]), (
            "the project's request signature does not verify"
        )
        biz = json.loads(params["biz_content"])
        self.trades.setdefault(
            biz["out_trade_no"], Trade(biz["out_trade_no"], fen(biz["total_amount"]))
        )
        return {**params, **{f"biz.{k}": str(v) for k, v in biz.items()}}

    def pay(self, out_trade_no: str, when: datetime) -> None:
        trade = self.trades[out_trade_no]
        trade.status, trade.trade_no = "TRADE_SUCCESS", f"2026{len(self.trades):020d}"
        trade.paid_at = when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")

    def notification(self, out_trade_no: str, **changes: str) -> dict[str, str]:
        """The form Alipay POSTs to notify_url, signed; `changes` alter it before signing."""
        trade = self.trades[out_trade_no]
        form = {
            "notify_time": trade.paid_at,
            "notify_type": "trade_status_sync",
            "notify_id": f"n-{trade.trade_no}",
            "app_id": APP_ID,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": yuan(trade.amount),
            "receipt_amount": yuan(trade.amount),
            "gmt_payment": trade.paid_at,
            "subject": "Zhongtai",
        }
        form.update(changes)
        form["sign"] = sign(signing_string(form, exclude=("sign", "sign_type")))
        return form

    # --- the gateway --------------------------------------------------------------------------

    async def gateway(self, request: Request) -> Response:
        if self.down:
            return Response("busy", status_code=503)
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        method = params.get("method", "")
        self.calls.append(method)
        if (
            not rsa_verify(
                key("alipay-app").public_key(), signing_string(params), params.get("sign", "")
            )
            or params.get("app_id") != APP_ID
        ):
            return answer(
                method,
                {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
            )
        biz = json.loads(params["biz_content"])
        handler = {
            "alipay.trade.query": self.query,
            "alipay.trade.close": self.close,
            "alipay.trade.refund": self.refund,
        }[method]
        return answer(method, handler(biz))

    def _trade(self, biz: dict[str, Any]) -> Trade | None:
        if "out_trade_no" in biz:
            return self.trades.get(biz["out_trade_no"])
        return next((t for t in self.trades.values() if t.trade_no == biz.get("trade_no")), None)

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        if trade is None:
            return missing()
        found = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": yuan(trade.amount),
        }
        if trade.trade_no:
            found.update(trade_no=trade.trade_no, send_pay_date=trade.paid_at)
        return found

    def close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        if trade is None:
            return missing()
        if trade.status != "WAIT_BUYER_PAY":
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        trade.status = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}

    def refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        if trade is None or trade.status != "TRADE_SUCCESS":
            return missing()
        if not trade.take_refund(biz["out_request_no"], fen(biz["refund_amount"])):
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
            }
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "fund_change": "Y",
            "refund_fee": yuan(sum(trade.refunds.values())),
        }


def sign(text: str) -> str:
    return rsa_sign(key("alipay-platform"), text)


def missing() -> dict[str, str]:
    return {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
    }


def answer(method: str, node: dict[str, Any]) -> Response:
    raw = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    name = method.replace(".", "_") + "_response"
    return Response(
        f'{{"{name}":{raw},"sign":"{sign(raw)}"}}', media_type="application/json;charset=utf-8"
    )


def form(data: dict[str, str]) -> str:
    return urlencode(data)
