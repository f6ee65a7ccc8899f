"""Alipay (支付宝) open API, RSA2: requests are signed with our app private key over the sorted
`k=v&…` string of every non-empty parameter but `sign`; Alipay's answers are verified with its
public key over the raw `<method>_response` JSON, its notifications over the sorted string
without `sign` and `sign_type`.

APP pays with a signed order string handed to the SDK (alipay.trade.app.pay); WEB and H5 open
a signed gateway URL (alipay.trade.page.pay / alipay.trade.wap.pay). Refunds
(alipay.trade.refund) are synchronous: the answer says whether the money went back, so there is
no refund notification to wait for."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from core.money import InvalidMoney
from core.money import from_minor
from core.money import to_minor
from core.settings import Settings
from services import payments
from services.errors import DomainError
from services.errors import ErrorCode
from services.payments import APP
from services.payments import H5
from services.payments import WEB
from services.payments import RemoteProvider

BEIJING = ZoneInfo("Asia/Shanghai")  # Alipay's timestamps are Beijing time, no zone
_METHODS = {
    APP: ("alipay.trade.app.pay", "QUICK_MSECURITY_PAY"),
    WEB: ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
    H5: ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
}
_PAID = {"TRADE_SUCCESS", "TRADE_FINISHED"}
NOTIFY_PATH = "/payments/alipay/notify"


def signing_string(params: Mapping[str, str], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    return "&".join(
        f"{k}={params[k]}"
        for k in sorted(params)
        if k not in exclude and params[k] not in ("", None)
    )


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def parse_beijing(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)


def yuan(amount: int) -> str:
    return f"{from_minor(amount):.2f}"


def fen(text: str) -> int:
    try:
        return to_minor(Decimal(text))
    except (InvalidOperation, InvalidMoney) as exc:
        raise payments.NotificationRejected(f"bad amount {text!r}") from exc


class AlipayProvider(RemoteProvider):
    name = "ALIPAY"

    def keys(self, settings: Settings) -> tuple[str, str]:
        return settings.alipay_app_private_key, settings.alipay_public_key

    @property
    def app_id(self) -> str:
        return self.settings.alipay_app_id

    @property
    def gateway(self) -> str:
        return self.settings.alipay_gateway_url

    # --- requests ------------------------------------------------------------------------------

    def _signed(
        self, method: str, biz: dict[str, Any], *, notify: bool = False, now: datetime | None = None
    ) -> dict[str, str]:
        params = {
            "app_id": self.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "version": "1.0",
            "timestamp": beijing(now or datetime.now(BEIJING)),
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify and self.settings.payment_notify_base_url:
            params["notify_url"] = self.settings.payment_notify_base_url.rstrip("/") + NOTIFY_PATH
        params["sign"] = self._sign(signing_string(params))
        return params

    async def _call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        """POST to the gateway; the answer's signature is checked before it is believed."""
        response = await self._send("POST", self.gateway, data=self._signed(method, biz))
        return self._verified_answer(method, response.text)

    def _verified_answer(self, method: str, text: str) -> dict[str, Any]:
        key = method.replace(".", "_") + "_response"
        try:
            document = json.loads(text)
            start = text.index(f'"{key}"')
            start = text.index("{", start)
            node, end = json.JSONDecoder().raw_decode(text, start)
            raw = text[start:end]
        except (ValueError, json.JSONDecodeError) as exc:
            raise self._unavailable(f"unreadable answer to {method}") from exc
        if not self._verify(raw, str(document.get("sign", ""))):
            raise self._unavailable(f"unsigned or forged answer to {method}")
        return node

    # --- the provider interface -----------------------------------------------------------

    async def start(self, trade: payments.TradeRequest) -> payments.Started:
        method, product = _METHODS.get(trade.channel, _METHODS[WEB])
        biz = {
            "out_trade_no": trade.out_trade_no,
            "total_amount": yuan(trade.amount),
            "subject": trade.subject,
            "product_code": product,
            "time_expire": beijing(trade.expires_at),
        }
        if trade.currency != "CNY":
            raise DomainError(
                ErrorCode.PAYMENT_PROVIDER_DISABLED, "Alipay takes CNY here.", "provider"
            )
        params = self._signed(method, biz, notify=True)
        if trade.channel == APP:
            return payments.Started(order_string=urlencode(params))
        return payments.Started(url=f"{self.gateway}?{urlencode(params)}")

    async def query(self, out_trade_no: str) -> payments.TradeState:
        node = await self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return payments.TradeState(None, closed=False)  # the customer never opened it: unpaid
        self._ensure_ok(node)
        if node.get("trade_status") in _PAID:
            paid_at = node.get("send_pay_date")
            return payments.TradeState(
                payments.Paid(
                    out_trade_no=node["out_trade_no"],
                    transaction_id=node["trade_no"],
                    amount=fen(node["total_amount"]),
                    currency=node.get("trans_currency") or "CNY",
                    paid_at=parse_beijing(paid_at) if paid_at else datetime.now(BEIJING),
                    app_id=self.app_id,
                )
            )
        return payments.TradeState(None, closed=node.get("trade_status") == "TRADE_CLOSED")

    async def close(self, out_trade_no: str) -> None:
        node = await self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return  # never opened by the customer: nothing to close
        self._ensure_ok(node)

    async def refund(self, request: payments.RefundRequest) -> payments.RefundResult:
        node = await self._call(
            "alipay.trade.refund",
            {
                "trade_no": request.transaction_id,
                "refund_amount": yuan(request.amount),
                "out_request_no": request.reference,
                "refund_reason": request.reason[:256],
            },
        )
        if node.get("sub_code") in ("ACQ.SYSTEM_ERROR", "ACQ.REFUND_CHARGE_ERROR"):
            raise self._unavailable(node.get("sub_msg"))  # the same out_request_no retries
        self._ensure_ok(node)
        return payments.RefundResult("SUCCEEDED", node.get("trade_no"))

    def _ensure_ok(self, node: Mapping[str, Any]) -> None:
        if node.get("code") != "10000":
            if node.get("code") == "20000":  # Alipay's "service unavailable"
                raise self._unavailable(node.get("sub_msg"))
            raise self._refused(f"{node.get('sub_code')} {node.get('sub_msg')}")

    def read_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> payments.Paid | payments.RefundNotice | None:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if params.get("sign_type", "RSA2") != "RSA2" or not self._verify(
            signing_string(params, exclude=("sign", "sign_type")),
            params.get("sign", ""),
        ):
            raise payments.NotificationRejected("bad signature")
        if params.get("app_id") != self.app_id:
            raise payments.NotificationRejected(f"for another app {params.get('app_id')!r}")
        if params.get("trade_status") not in _PAID:
            return None  # e.g. TRADE_CLOSED after a full refund: genuine, nothing to do
        return payments.Paid(
            out_trade_no=params["out_trade_no"],
            transaction_id=params["trade_no"],
            amount=fen(params["total_amount"]),
            currency=params.get("trans_currency") or "CNY",
            paid_at=parse_beijing(params["gmt_payment"])
            if params.get("gmt_payment")
            else datetime.now(BEIJING),
            app_id=params["app_id"],
        )
