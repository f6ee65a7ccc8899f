"""Payment providers behind one small interface (DOMAIN.md §7: signed payments only).

A provider opens a trade for a channel (what the client needs to pay), tells whether a trade
was paid (`query`, asked before an unpaid payment expires), closes it (on cancellation), pays
money back (`refund`) and reads its own asynchronous notifications, verifying the signature
before anything is believed. Alipay and WeChat Pay are enabled when configured (core/settings.py);
the TEST provider, which trusts the confirmation it is given, exists outside production only;
OFFLINE is staff recording a bank transfer by hand.

Amounts are minor units (分) throughout; each provider converts at its own edge."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Protocol

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from core.settings import Settings
from services.errors import DomainError
from services.errors import ErrorCode

log = logging.getLogger("zhongtai.payments")

# What the client is handed back, per provider and channel.
APP, WEB, H5, MINI_PROGRAM = "APP", "WEB", "H5", "MINI_PROGRAM"


@dataclass(frozen=True)
class TradeRequest:
    out_trade_no: str
    amount: int
    currency: str
    subject: str
    channel: str
    expires_at: datetime  # the provider refuses payment after this (our deadline)
    openid: str | None = None  # WeChat JSAPI (mini program): the payer
    payer_ip: str | None = None  # WeChat H5


@dataclass(frozen=True)
class Started:
    """One of: an order string for the Alipay app SDK, a URL to open, or the parameters the
    WeChat SDK / wx.requestPayment takes."""

    order_string: str | None = None
    url: str | None = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class Paid:
    """The provider's verified word that a trade was paid."""

    out_trade_no: str
    transaction_id: str
    amount: int
    currency: str
    paid_at: datetime
    app_id: str  # the app (and for WeChat the merchant) the money went to
    merchant_id: str = ""


@dataclass(frozen=True)
class TradeState:
    paid: Paid | None  # set when paid
    closed: bool = False  # closed, or never opened at the provider: it can't be paid now


@dataclass(frozen=True)
class RefundRequest:
    transaction_id: str
    out_trade_no: str | None
    reference: str  # our refund number: the provider's idempotency key for the refund
    amount: int
    captured: int  # what the transaction took (WeChat wants the total)
    currency: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    status: str  # SUCCEEDED | PENDING | FAILED (models.payments.ProviderRefundStatus)
    provider_refund_id: str | None = None


@dataclass(frozen=True)
class RefundNotice:
    reference: str
    status: str
    provider_refund_id: str | None = None


class NotificationRejected(Exception):
    """A notification that is not believed (bad signature, not ours, undecryptable)."""


class PaymentProvider(Protocol):
    name: str

    async def start(self, trade: TradeRequest) -> Started: ...

    async def query(self, out_trade_no: str) -> TradeState: ...

    async def close(self, out_trade_no: str) -> None: ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    def read_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> Paid | RefundNotice | None:
        """Verified news, None for genuine news that changes nothing; raises
        NotificationRejected for anything not believed."""


def unavailable(provider: str, detail: object) -> DomainError:
    log.warning("payment provider %s unavailable: %s", provider, detail)
    return DomainError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{provider} cannot be reached just now; try again in a moment.",
        "provider",
    )


def refused(provider: str, detail: str) -> DomainError:
    log.warning("payment provider %s refused: %s", provider, detail)
    return DomainError(ErrorCode.PROVIDER_REFUSED, f"{provider} refused: {detail}", "provider")


# --- the providers without a remote side ----------------------------------------------------------


class _NoRemote:
    """Nothing to open, query or close; notifications never come."""

    name = ""

    async def start(self, trade: TradeRequest) -> Started:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"{self.name} payments are not started by the client.",
            "provider",
        )

    async def query(self, out_trade_no: str) -> TradeState:
        return TradeState(None, closed=True)

    async def close(self, out_trade_no: str) -> None:
        return None

    def read_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> Paid | RefundNotice | None:
        raise NotificationRejected(f"{self.name} sends no notifications")


@dataclass
class TestProvider(_NoRemote):
    """Confirms by mutation; remembers the refunds it was asked for (tests look at them)."""

    name: str = "TEST"
    refunds: list[tuple[str, int, str]] = field(default_factory=list)

    def verify(self, transaction_id: str, amount: int) -> bool:
        return bool(transaction_id.strip()) and amount >= 0

    async def refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append((request.transaction_id, request.amount, request.reference))
        return RefundResult("SUCCEEDED", f"test-refund:{request.reference}")


@dataclass
class OfflineProvider(_NoRemote):
    """A bank transfer recorded by staff: paying it back is a transfer staff make by hand, so
    the ledger row stays PENDING until someone marks it done."""

    name: str = "OFFLINE"

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult("PENDING")


TEST = TestProvider()
OFFLINE = OfflineProvider()
PROVIDERS: dict[str, PaymentProvider] = {"TEST": TEST, "OFFLINE": OFFLINE}
# Providers a customer starts from the client (paymentStart) and that notify us.
REMOTE = ("ALIPAY", "WECHATPAY")


def configure(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """Enable what the settings configure. `transport` routes provider calls elsewhere (tests
    hand in a fake gateway)."""
    from services.alipay import AlipayProvider
    from services.wechatpay import WechatPayProvider

    PROVIDERS.clear()
    PROVIDERS["OFFLINE"] = OFFLINE
    if not settings.is_production:
        PROVIDERS["TEST"] = TEST
    if settings.alipay_enabled:
        PROVIDERS["ALIPAY"] = AlipayProvider(settings, transport)
    if settings.wechatpay_enabled:
        PROVIDERS["WECHATPAY"] = WechatPayProvider(settings, transport)


def provider(name: str) -> PaymentProvider:
    found = PROVIDERS.get(name)
    if found is None:
        raise DomainError(
            ErrorCode.PAYMENT_PROVIDER_DISABLED,
            f"The {name} payment provider is not enabled here.",
            "provider",
        )
    return found


# --- shared by the providers: keys, RSA signatures, HTTP ---------------------------------------


def load_pem(value: str) -> bytes:
    """PEM text, or the path of a PEM file; a bare base64 body (as Alipay's console shows
    keys) is wrapped."""
    text = value.strip()
    if not text.startswith("-----") and Path(text).is_file():
        text = Path(text).read_text().strip()
    if not text.startswith("-----"):
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"
    return text.encode()


def private_key(value: str) -> rsa.RSAPrivateKey:
    text = load_pem(value)
    if b"PUBLIC KEY" in text:  # a bare body is a PKCS#8 private key here
        body = text.split(b"\n")[1]
        text = b"-----BEGIN PRIVATE KEY-----\n" + body + b"\n-----END PRIVATE KEY-----"
    key = serialization.load_pem_private_key(text, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key(value: str) -> rsa.RSAPublicKey:
    text = load_pem(value)
    if b"CERTIFICATE" in text:
        from cryptography import x509

        key: Any = x509.load_pem_x509_certificate(text).public_key()
    else:
        key = serialization.load_pem_public_key(text)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: Alipay's RSA2 and WeChat Pay's
    WECHATPAY2-SHA256-RSA2048 are both this."""
    return base64.b64encode(
        key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: str | bytes, signature: str) -> bool:
    data = message.encode() if isinstance(message, str) else message
    try:
        key.verify(
            base64.b64decode(signature, validate=True), data, padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:  # InvalidSignature, or base64 that is not base64
        return False
    return True


def http_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """Short timeouts: a slow provider must not hold a request (or row locks) for long."""
    return httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(settings.payment_timeout_seconds)
    )


class RemoteProvider:
    """What Alipay and WeChat Pay share: the settings, the transport tests route calls through,
    our private key (requests are signed with it) and the provider's public key (its answers
    and notifications are verified with it), and one HTTP exchange whose failures (no answer,
    a 5xx or a status in `busy`) make the provider unavailable rather than wrong."""

    name: str

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings, self.transport = settings, transport
        ours, theirs = self.keys(settings)
        self._key, self._their_key = private_key(ours), public_key(theirs)

    def keys(self, settings: Settings) -> tuple[str, str]:
        """Our private key and the provider's public key, as the settings give them."""
        raise NotImplementedError

    def _sign(self, message: str) -> str:
        return rsa_sign(self._key, message)

    def _verify(self, message: str | bytes, signature: str) -> bool:
        return rsa_verify(self._their_key, message, signature)

    def _unavailable(self, detail: object) -> DomainError:
        return unavailable(self.name, detail)

    def _refused(self, detail: str) -> DomainError:
        return refused(self.name, detail)

    async def _send(
        self, method: str, url: str, *, busy: tuple[int, ...] = (), **request: Any
    ) -> httpx.Response:
        try:
            async with http_client(self.settings, self.transport) as client:
                response = await client.request(method, url, **request)
        except httpx.HTTPError as exc:
            raise self._unavailable(exc) from exc
        if response.status_code >= 500 or response.status_code in busy:
            raise self._unavailable(f"HTTP {response.status_code}")
        return response
