"""WeChat Pay (微信支付) API v3. Requests carry a `WECHATPAY2-SHA256-RSA2048` Authorization
header: our merchant key signs "METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n". Answers and
notifications are signed by WeChat Pay over "TIMESTAMP\\nNONCE\\nBODY\\n" (Wechatpay-Timestamp,
-Nonce, -Signature, -Serial headers) and verified with the platform public key; a
notification's resource is decrypted with AES-256-GCM under the APIv3 key.

APP: /v3/pay/transactions/app → prepay_id → the signed parameters the app SDK takes;
MINI_PROGRAM: /v3/pay/transactions/jsapi (needs the payer's openid) → wx.requestPayment
parameters; H5 (and WEB, which opens the same page): /v3/pay/transactions/h5 → h5_url.
Refunds (/v3/refund/domestic/refunds) may finish later: the refund notification settles them."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.settings import Settings
from services import payments
from services.errors import DomainError
from services.errors import ErrorCode
from services.payments import APP
from services.payments import MINI_PROGRAM
from services.payments import RemoteProvider

NOTIFY_PATH = "/payments/wechatpay/notify"
MAX_SKEW_SECONDS = 300  # older signed messages are replays
_REFUND_STATUS = {
    "SUCCESS": "SUCCEEDED",
    "PROCESSING": "PENDING",
    "CLOSED": "FAILED",
    "ABNORMAL": "FAILED",
}


def message(*parts: str) -> str:
    return "".join(f"{p}\n" for p in parts)


def decrypt(apiv3_key: str, resource: Mapping[str, str]) -> dict[str, Any]:
    try:
        plain = AESGCM(apiv3_key.encode()).decrypt(
            resource["nonce"].encode(),
            base64.b64decode(resource["ciphertext"]),
            (resource.get("associated_data") or "").encode(),
        )
        return json.loads(plain)
    except Exception as exc:  # wrong key, tampered ciphertext, not JSON
        raise payments.NotificationRejected("resource does not decrypt") from exc


class WechatPayProvider(RemoteProvider):
    name = "WECHATPAY"

    def keys(self, settings: Settings) -> tuple[str, str]:
        return settings.wechatpay_private_key, settings.wechatpay_platform_public_key

    @property
    def mchid(self) -> str:
        return self.settings.wechatpay_mchid

    @property
    def appid(self) -> str:
        return self.settings.wechatpay_appid

    @property
    def gateway(self) -> str:
        return self.settings.wechatpay_gateway_url.rstrip("/")

    # --- signatures -------------------------------------------------------------------------

    def authorization(self, method: str, path: str, body: str) -> str:
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        signature = self._sign(message(method, path, stamp, nonce, body))
        return (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{self.mchid}",nonce_str="{nonce}",'
            f'signature="{signature}",timestamp="{stamp}",'
            f'serial_no="{self.settings.wechatpay_cert_serial}"'
        )

    def genuine(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Signed by WeChat Pay with the platform key we hold, and recent."""
        stamp = headers.get("wechatpay-timestamp", "")
        serial = self.settings.wechatpay_platform_serial
        if serial and headers.get("wechatpay-serial") != serial:
            return False
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            return False
        signed = f"{stamp}\n{headers.get('wechatpay-nonce', '')}\n".encode() + body + b"\n"
        return self._verify(signed, headers.get("wechatpay-signature", ""))

    # --- requests ---------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        body = (
            ""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        )
        headers = {
            "Authorization": self.authorization(method, path, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = await self._send(
            method, self.gateway + path, busy=(429,), content=body.encode(), headers=headers
        )
        if not self.genuine(response.headers, response.content):
            raise self._unavailable(f"unsigned or forged answer to {path}")
        return response.status_code, (response.json() if response.content else {})

    def _ok(self, status: int, answer: Mapping[str, Any]) -> None:
        if status >= 400:
            if answer.get("code") in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"):
                raise self._unavailable(answer.get("message"))
            raise self._refused(f"{answer.get('code')} {answer.get('message')}")

    def _notify_url(self) -> str:
        return self.settings.payment_notify_base_url.rstrip("/") + NOTIFY_PATH

    # --- the provider interface -----------------------------------------------------------

    async def start(self, trade: payments.TradeRequest) -> payments.Started:
        order: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": trade.subject[:127],
            "out_trade_no": trade.out_trade_no,
            "notify_url": self._notify_url(),
            "time_expire": trade.expires_at.isoformat(timespec="seconds"),
            "amount": {"total": trade.amount, "currency": trade.currency},
        }
        if trade.channel == APP:
            return self._app_params(await self._prepay("app", order))
        if trade.channel == MINI_PROGRAM:
            if not trade.openid:
                raise DomainError(
                    ErrorCode.INVALID_INPUT,
                    "The mini program pays with the payer's openid.",
                    "openid",
                )
            order["payer"] = {"openid": trade.openid}
            return self._jsapi_params(await self._prepay("jsapi", order))
        order["scene_info"] = {
            "payer_client_ip": trade.payer_ip or "127.0.0.1",
            "h5_info": {"type": "Wap"},
        }
        status, answer = await self._call("POST", "/v3/pay/transactions/h5", order)
        self._ok(status, answer)
        return payments.Started(url=answer["h5_url"])

    async def _prepay(self, kind: str, order: dict[str, Any]) -> str:
        status, answer = await self._call("POST", f"/v3/pay/transactions/{kind}", order)
        self._ok(status, answer)
        return str(answer["prepay_id"])

    def _app_params(self, prepay_id: str) -> payments.Started:
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        sign = self._sign(message(self.appid, stamp, nonce, prepay_id))
        return payments.Started(
            params={
                "appid": self.appid,
                "partnerid": self.mchid,
                "prepayid": prepay_id,
                "package": "Sign=WXPay",
                "noncestr": nonce,
                "timestamp": stamp,
                "sign": sign,
            }
        )

    def _jsapi_params(self, prepay_id: str) -> payments.Started:
        stamp, nonce, package = (
            str(int(time.time())),
            secrets.token_hex(16),
            f"prepay_id={prepay_id}",
        )
        sign = self._sign(message(self.appid, stamp, nonce, package))
        return payments.Started(
            params={
                "appId": self.appid,
                "timeStamp": stamp,
                "nonceStr": nonce,
                "package": package,
                "signType": "RSA",
                "paySign": sign,
            }
        )

    async def query(self, out_trade_no: str) -> payments.TradeState:
        status, answer = await self._call(
            "GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.mchid}"
        )
        if status == 404:
            return payments.TradeState(None, closed=False)
        self._ok(status, answer)
        state = answer.get("trade_state")
        if state in ("SUCCESS", "REFUND"):  # REFUND: paid, then (partly) refunded
            return payments.TradeState(self._paid(answer))
        return payments.TradeState(None, closed=state in ("CLOSED", "REVOKED", "PAYERROR"))

    async def close(self, out_trade_no: str) -> None:
        status, answer = await self._call(
            "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.mchid}
        )
        if status == 404:
            return
        self._ok(status, answer)

    async def refund(self, request: payments.RefundRequest) -> payments.RefundResult:
        status, answer = await self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "transaction_id": request.transaction_id,
                "out_refund_no": request.reference,
                "reason": request.reason[:80] or None,
                "notify_url": self._notify_url(),
                "amount": {
                    "refund": request.amount,
                    "total": request.captured,
                    "currency": request.currency,
                },
            },
        )
        self._ok(status, answer)
        return payments.RefundResult(
            _REFUND_STATUS.get(answer.get("status", ""), "PENDING"), answer.get("refund_id")
        )

    def _paid(self, data: Mapping[str, Any]) -> payments.Paid:
        amount = data.get("amount") or {}
        return payments.Paid(
            out_trade_no=str(data["out_trade_no"]),
            transaction_id=str(data["transaction_id"]),
            amount=int(amount.get("total", -1)),
            currency=str(amount.get("currency", "")),
            paid_at=datetime.fromisoformat(data["success_time"]),
            app_id=str(data.get("appid", "")),
            merchant_id=str(data.get("mchid", "")),
        )

    def read_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> payments.Paid | payments.RefundNotice | None:
        if not self.genuine(headers, body):
            raise payments.NotificationRejected("bad signature")
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
        except (ValueError, KeyError, TypeError) as exc:
            raise payments.NotificationRejected("not a notification") from exc
        data = decrypt(self.settings.wechatpay_apiv3_key, resource)
        if data.get("mchid") != self.mchid:
            raise payments.NotificationRejected(f"for another merchant {data.get('mchid')!r}")
        event = envelope.get("event_type", "")
        if event.startswith("REFUND."):
            return payments.RefundNotice(
                str(data["out_refund_no"]),
                _REFUND_STATUS.get(data.get("refund_status", ""), "PENDING"),
                data.get("refund_id"),
            )
        if event != "TRANSACTION.SUCCESS" or data.get("trade_state") != "SUCCESS":
            return None
        if data.get("appid") != self.appid:
            raise payments.NotificationRejected(f"for another app {data.get('appid')!r}")
        return self._paid(data)
