"""Staff CSV exports (exports.py serves them): orders, the daily sales report and the stock
ledger. Rows are read in keyset batches, each in a short session of its own, and written out
as they come, so a year of orders never sits in memory nor holds one long transaction.
Merchant staff are held to their merchant here, whatever they asked."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jwt
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.ids import InvalidGlobalId
from core.ids import decode_id
from core.ids import encode_id
from core.money import from_minor
from models.catalog import Sku
from models.inventory import MovementType
from models.inventory import StockMovement
from models.inventory import Warehouse
from models.orders import Order
from models.orders import OrderLine
from models.orders import OrderStatus
from services import audit
from services import reports

BATCH = 1000
MAX_DAYS = reports.MAX_DAYS


class Refused(Exception):
    """A bad or forbidden request, with its API error code and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass(frozen=True)
class Kind:
    name: str  # the file: /exports/<name>.csv
    policy: str  # the GraphQL field whose POLICY rule it shares
    filters: tuple[tuple[str, str], ...] = ()  # (parameter, global id type) beyond from/to
    statuses: type[Any] | None = None  # the enum `status`/`type` takes, if any
    status_param: str = "status"


ORDERS = Kind("orders", "adminOrders", (("merchantId", "Merchant"),), OrderStatus)
SALES = Kind("sales", "salesReport", (("merchantId", "Merchant"),))
STOCK_LEDGER = Kind(
    "stock-ledger",
    "stockMovements",
    (("skuId", "Sku"), ("warehouseId", "Warehouse")),
    MovementType,
    "type",
)
KINDS = (ORDERS, SALES, STOCK_LEDGER)
# One row of figures, answered by exports.py itself rather than streamed; merchantId required.
SETTLEMENT = Kind("settlement", "settlementStatement", (("merchantId", "Merchant"),))


@dataclass
class Asked:
    start: date
    end: date
    merchant_id: int | None  # whose rows: the viewer's merchant, or the one named, or all
    ids: dict[str, int] = field(default_factory=dict)  # other filters by parameter
    status: str | None = None

    def filename(self, kind: Kind) -> str:
        who = f"-{self.merchant_id}" if self.merchant_id is not None else ""
        return f"{kind.name}{who}-{self.start.isoformat()}-{self.end.isoformat()}.csv"

    def window(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        first = datetime.combine(self.start, time(), tzinfo=zone)
        last = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=zone)
        return first.astimezone(UTC), last.astimezone(UTC)


def _gid(raw: str, type_: str, name: str) -> int:
    try:
        kind, pk = decode_id(raw)
    except InvalidGlobalId:
        kind, pk = "", 0
    if kind != type_:
        raise Refused("INVALID_ID", f"`{name}` must be an ID of a {type_}.")
    return pk


def parse(
    kind: Kind, params: Mapping[str, str], viewer_merchant: int | None, zone: ZoneInfo
) -> Asked:
    try:
        start, end = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
    except (KeyError, ValueError):
        raise Refused("BAD_REQUEST", "Give `from` and `to` as YYYY-MM-DD.") from None
    if end < start or (end - start).days >= MAX_DAYS:
        raise Refused(
            "BAD_REQUEST",
            f"`to` must be on or after `from`, at most {MAX_DAYS} days later.",
        )
    ids = {name: _gid(params[name], type_, name) for name, type_ in kind.filters if name in params}
    merchant_id = ids.pop("merchantId", None)
    if viewer_merchant is not None:
        if merchant_id is not None and merchant_id != viewer_merchant:
            raise Refused(
                "FORBIDDEN",
                "`merchantId` must name a Merchant of your own merchant.",
                403,
            )
        merchant_id = viewer_merchant
    status = params.get(kind.status_param)
    if status is not None and (kind.statuses is None or status not in kind.statuses.__members__):
        raise Refused("BAD_REQUEST", f"`{kind.status_param}` is not a known value.")
    return Asked(start, end, merchant_id, ids, status)


async def log_download(
    session: AsyncSession, kind: Kind, asked: Asked, staff_id: int | None, request_id: str | None
) -> None:
    """Who downloaded what: written, and committed by the caller, before any row goes out."""
    await audit.record(
        session,
        actor_id=staff_id,
        action=f"export.{kind.name}",
        target_type="Merchant",
        target_id=asked.merchant_id,
        before=None,
        after={
            "from": asked.start.isoformat(),
            "to": asked.end.isoformat(),
            **({kind.status_param: asked.status} if asked.status else {}),
            **{name: encode_id(type_, asked.ids[name]) for name, type_ in _typed(kind, asked)},
        },
        request_id=request_id,
    )


def _typed(kind: Kind, asked: Asked) -> list[tuple[str, str]]:
    return [(name, type_) for name, type_ in kind.filters if name in asked.ids]


def _line(row: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def _yuan(minor: int) -> str:
    return str(from_minor(minor))


def _at(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else ""


async def stream(
    factory: async_sessionmaker[AsyncSession], kind: Kind, asked: Asked, zone: ZoneInfo
) -> AsyncIterator[str]:
    producers: dict[str, Callable[..., AsyncIterator[str]]] = {
        ORDERS.name: _orders,
        SALES.name: _sales,
        STOCK_LEDGER.name: _stock_ledger,
    }
    async for chunk in producers[kind.name](factory, asked, zone):
        yield chunk


ORDER_COLUMNS = [
    "orderId",
    "number",
    "status",
    "merchantId",
    "customerId",
    "channel",
    "createdAt",
    "paidAt",
    "shippedAt",
    "completedAt",
    "cancelledAt",
    "units",
    "subtotal",
    "promotionDiscount",
    "couponDiscount",
    "shipping",
    "total",
    "depositAmount",
    "refundedAmount",
]


async def _orders(
    factory: async_sessionmaker[AsyncSession], asked: Asked, zone: ZoneInfo
) -> AsyncIterator[str]:
    """One row per order created in the range, oldest first; amounts in yuan."""
    first, last = asked.window(zone)
    where: list[Any] = [Order.created_at >= first, Order.created_at < last]
    if asked.merchant_id is not None:
        where.append(Order.merchant_id == asked.merchant_id)
    if asked.status is not None:
        where.append(Order.status == OrderStatus(asked.status))
    yield _line(ORDER_COLUMNS)
    after = 0
    while True:
        async with factory() as session:
            batch = (
                await session.scalars(
                    select(Order).where(*where, Order.id > after).order_by(Order.id).limit(BATCH)
                )
            ).all()
            units = dict(
                (
                    await session.execute(
                        select(OrderLine.order_id, func.sum(OrderLine.quantity))
                        .where(
                            OrderLine.order_id.in_([o.id for o in batch]),
                            OrderLine.is_gift.is_(False),
                        )
                        .group_by(OrderLine.order_id)
                    )
                ).all()
            )
        if not batch:
            return
        yield "".join(
            _line(
                [
                    encode_id("Order", o.id),
                    o.number,
                    o.status.value,
                    encode_id("Merchant", o.merchant_id),
                    encode_id("Customer", o.customer_id),
                    o.channel,
                    _at(o.created_at),
                    _at(o.paid_at),
                    _at(o.shipped_at),
                    _at(o.completed_at),
                    _at(o.cancelled_at),
                    int(units.get(o.id, 0)),
                    _yuan(o.subtotal),
                    _yuan(o.promotion_discount),
                    _yuan(o.coupon_discount),
                    _yuan(o.shipping),
                    _yuan(o.total),
                    _yuan(o.deposit_amount),
                    _yuan(o.refunded_amount),
                ]
            )
            for o in batch
        )
        after = batch[-1].id


SALES_COLUMNS = ["date", "gmv", "refunded", "paidOrders", "units", "averageOrderValue"]


async def _sales(
    factory: async_sessionmaker[AsyncSession], asked: Asked, zone: ZoneInfo
) -> AsyncIterator[str]:
    """The salesReport's days, as the query answers them (at most 366 rows)."""
    async with factory() as session:
        report = await reports.sales_report(
            session, asked.start, asked.end, asked.merchant_id, str(zone)
        )
    yield _line(SALES_COLUMNS)
    yield "".join(
        _line(
            [
                d.date.isoformat(),
                _yuan(d.gmv),
                _yuan(d.refunded),
                d.paid_orders,
                d.units,
                _yuan(d.average_order_value),
            ]
        )
        for d in report.days
    )


LEDGER_COLUMNS = [
    "movementId",
    "createdAt",
    "type",
    "skuId",
    "skuCode",
    "warehouseId",
    "warehouseCode",
    "quantity",
    "reference",
    "reason",
    "actorId",
]


async def _stock_ledger(
    factory: async_sessionmaker[AsyncSession], asked: Asked, zone: ZoneInfo
) -> AsyncIterator[str]:
    """Every stock movement in the range, oldest first (quantity signed: what on hand changed
    by); merchant staff: movements of their merchant's warehouses."""
    first, last = asked.window(zone)
    where: list[Any] = [StockMovement.created_at >= first, StockMovement.created_at < last]
    if asked.merchant_id is not None:
        where.append(Warehouse.merchant_id == asked.merchant_id)
    if "skuId" in asked.ids:
        where.append(StockMovement.sku_id == asked.ids["skuId"])
    if "warehouseId" in asked.ids:
        where.append(StockMovement.warehouse_id == asked.ids["warehouseId"])
    if asked.status is not None:
        where.append(StockMovement.type == MovementType(asked.status))
    yield _line(LEDGER_COLUMNS)
    after = 0
    while True:
        async with factory() as session:
            batch = (
                await session.execute(
                    select(StockMovement, Sku.code, Warehouse.code)
                    .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
                    .join(Sku, Sku.id == StockMovement.sku_id)
                    .where(*where, StockMovement.id > after)
                    .order_by(StockMovement.id)
                    .limit(BATCH)
                )
            ).all()
        if not batch:
            return
        yield "".join(
            _line(
                [
                    m.id,
                    _at(m.created_at),
                    m.type.value,
                    encode_id("Sku", m.sku_id),
                    sku_code,
                    encode_id("Warehouse", m.warehouse_id),
                    warehouse_code,
                    m.quantity,
                    m.reference or "",
                    m.reason or "",
                    encode_id("Staff", m.actor_id) if m.actor_id else "",
                ]
            )
            for m, sku_code, warehouse_code in batch
        )
        after = batch[-1][0].id


# --- download links ------------------------------------------------------------------------------
#
# A browser downloads a file by following a link, and a link cannot carry an Authorization
# header. `exportLinkCreate` therefore signs the exact download (path and parameters) for the
# staff member asking, valid for LINK_SECONDS: `?link=<token>` stands in for the header. The
# token carries the access token's claims (permissions, merchant, version), so at download the
# same policy rule and staff-standing check apply as with the header: a link outlives neither
# a revoked role nor a disabled account, and changing any parameter voids it.

LINK_SECONDS = 300


def link_path(kind: Kind) -> str:
    return f"/exports/{kind.name}.csv"


def _fingerprint(path: str, params: Mapping[str, str]) -> str:
    return hashlib.sha256(f"{path}?{urlencode(sorted(params.items()))}".encode()).hexdigest()


def sign_link(
    secret: str, claims: Mapping[str, Any], path: str, params: Mapping[str, str], now: datetime
) -> tuple[str, datetime]:
    """The URL (path and query, `link` last) and when it stops working."""
    expires = now + timedelta(seconds=LINK_SECONDS)
    token = jwt.encode(
        {
            **claims,
            "typ": "download",
            "url": _fingerprint(path, params),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        },
        secret,
        algorithm="HS256",
    )
    return f"{path}?{urlencode({**params, 'link': token})}", expires


def read_link(
    secret: str, token: str, path: str, params: Mapping[str, str], now: datetime
) -> dict[str, Any] | None:
    """The claims of a link signed for exactly this path and these parameters, unexpired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "require": ["sub", "exp", "url"]},
        )
    except jwt.PyJWTError:
        return None
    if (
        claims.get("typ") != "download"
        or claims["exp"] <= now.timestamp()
        or claims["url"] != _fingerprint(path, params)
    ):
        return None
    return claims
