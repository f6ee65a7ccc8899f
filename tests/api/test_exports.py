"""Staff CSV exports (issue 20): orders, the sales report and the stock ledger, streamed under
their GraphQL field's policy rule, each download audited, merchant staff held to their own
merchant's rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import AuditEntry
from models import StockMovement
from resolvers.context import Permission
from tests.api.checkout_data import Shop
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.conftest import Api
from tests.conftest import make_staff

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too

DAY = {"from": "2026-04-10", "to": "2026-04-10"}  # T0 is 2026-04-10 16:00 in Shanghai


async def two_merchants_sold(api: Api, engine: AsyncEngine, clock: FixedClock) -> Shop:
    """One checkout, paid: Phone A (120.00, shipping free over 99, merchant 1) and Phone C
    (200.00, merchant 2)."""
    shop = await open_shop(api, engine, two_merchants=True)
    who = await shopper(api, "13900006661", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await pay(api, who, await place(api, who))
    async with create_session_factory(engine)() as s:  # stock receipts carry the wall clock
        await s.execute(update(StockMovement).values(created_at=clock.now()))
        await s.commit()
    return shop


async def download(
    api: Api, name: str, token: str | None, **params: str
) -> tuple[int, list[dict[str, str]]]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    got = await api.client.get(f"/exports/{name}.csv", params=params, headers=headers)
    if got.status_code != 200:
        return got.status_code, []
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith("attachment;")
    return 200, list(csv.DictReader(io.StringIO(got.text)))


async def test_staff_download_orders_sales_and_the_stock_ledger(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop = await two_merchants_sold(api, engine, clock)
    status, orders = await download(api, "orders", api.admin_token, **DAY)
    assert status == 200
    assert sorted((o["merchantId"], o["status"], o["total"], o["units"]) for o in orders) == sorted(
        [(shop.merchant, "PAID", "120.00", "1"), (shop.other_merchant, "PAID", "200.00", "1")]
    )
    _, pending = await download(api, "orders", api.admin_token, status="PENDING_PAYMENT", **DAY)
    assert pending == []
    _, sales = await download(api, "sales", api.admin_token, **DAY)
    assert [(d["date"], d["gmv"], d["paidOrders"], d["units"]) for d in sales] == [
        ("2026-04-10", "320.00", "2", "2")
    ]
    _, ledger = await download(api, "stock-ledger", api.admin_token, **DAY)
    assert sorted((m["warehouseId"], m["type"], m["quantity"]) for m in ledger) == sorted(
        [
            (shop.warehouse, "INBOUND", "10"),
            (shop.warehouse, "INBOUND", "10"),
            (shop.warehouse_c, "INBOUND", "10"),
        ]
    )
    async with create_session_factory(engine)() as s:
        logged = (
            await s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("export.%"))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert logged == ["export.orders", "export.orders", "export.sales", "export.stock-ledger"]


async def test_merchant_staff_get_their_own_rows_only(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await two_merchants_sold(api, engine, clock)
    merchant = decode_id(shop.merchant)[1]
    _, token = await make_staff(
        engine,
        settings,
        clock,
        email="m1@shop.example",
        permissions=[
            Permission.MANAGE_ORDERS.value,
            Permission.VIEW_REPORTS.value,
            Permission.MANAGE_INVENTORY.value,
        ],
        merchant_id=merchant,
    )
    _, orders = await download(api, "orders", token, **DAY)
    assert [(o["merchantId"], o["total"]) for o in orders] == [(shop.merchant, "120.00")]
    _, sales = await download(api, "sales", token, **DAY)
    assert [(d["gmv"], d["paidOrders"]) for d in sales] == [("120.00", "1")]
    _, ledger = await download(api, "stock-ledger", token, **DAY)
    assert {m["warehouseId"] for m in ledger} == {shop.warehouse}
    for name in ("orders", "sales"):
        status, _ = await download(api, name, token, merchantId=shop.other_merchant, **DAY)
        assert status == 403
    async with create_session_factory(engine)() as s:
        targets = (
            await s.scalars(select(AuditEntry.target_id).where(AuditEntry.action.like("export.%")))
        ).all()
    assert set(targets) == {merchant}  # what was exported: their merchant's rows


async def test_exports_are_refused_without_the_permission(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await open_shop(api, engine)
    _, reporter = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="r@shop.example",
        permissions=[Permission.VIEW_REPORTS.value],
    )
    assert (await download(api, "orders", None, **DAY))[0] == 401
    assert (await download(api, "orders", reporter, **DAY))[0] == 403  # needs MANAGE_ORDERS
    assert (await download(api, "stock-ledger", reporter, **DAY))[0] == 403
    assert (await download(api, "sales", reporter, **DAY))[0] == 200
    bad = {"from": "2026-04-10", "to": "2026-04-01"}
    assert (await download(api, "sales", api.admin_token, **bad))[0] == 400
    assert (await download(api, "orders", api.admin_token, status="NOPE", **DAY))[0] == 400
    assert (await download(api, "orders", api.admin_token, merchantId="x", **DAY))[0] == 400


async def follow(api: Api, url: str) -> tuple[int, list[dict[str, str]]]:
    got = await api.client.get(url)  # no Authorization header: the link stands for it
    if got.status_code != 200:
        return got.status_code, []
    return 200, list(csv.DictReader(io.StringIO(got.text)))


async def signed(api: Api, token: str, **input: str) -> dict[str, Any]:
    answer = await api.op("ExportLinkCreate", {"input": input}, token=token)
    return answer


async def test_a_signed_link_downloads_without_a_header_for_a_short_while(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await two_merchants_sold(api, engine, clock)
    merchant = decode_id(shop.merchant)[1]
    staff_id, token = await make_staff(
        engine,
        settings,
        clock,
        email="links@shop.example",
        permissions=[Permission.MANAGE_ORDERS.value],
        merchant_id=merchant,
    )
    answer = await signed(api, token, kind="ORDERS", **DAY)
    link = answer["data"]["exportLinkCreate"]["link"]
    assert link["url"].startswith("/exports/orders.csv?")
    assert link["expiresAt"] == "2026-04-10T08:05:00Z"  # five minutes
    status, orders = await follow(api, link["url"])
    assert status == 200  # the merchant's own rows only, as with the header
    assert [(o["merchantId"], o["total"]) for o in orders] == [(shop.merchant, "120.00")]

    # any parameter changed voids it; so does time
    assert (await follow(api, link["url"].replace("2026-04-10", "2026-04-09", 1)))[0] == 401
    assert (await follow(api, link["url"].replace("orders.csv", "sales.csv")))[0] == 401
    assert (await follow(api, link["url"] + "x"))[0] == 401
    clock.advance(minutes=6)
    assert (await follow(api, link["url"]))[0] == 401
    clock.advance(minutes=-6)

    # a revoked role: the link dies with the token it was signed from
    deactivated = await api.admin("StaffDeactivate", {"id": encode_id("Staff", staff_id)})
    assert deactivated["staffDeactivate"]["userErrors"] == []
    assert (await follow(api, link["url"]))[0] == 401
    async with create_session_factory(engine)() as s:
        logged = (
            await s.scalars(select(AuditEntry.action).where(AuditEntry.action == "export.orders"))
        ).all()
    assert len(logged) == 1  # the one download that went out


async def test_links_follow_the_exports_rules(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop = await two_merchants_sold(api, engine, clock)
    _, reporter = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="r2@shop.example",
        permissions=[Permission.VIEW_REPORTS.value],
    )
    refused = await signed(api, reporter, kind="ORDERS", **DAY)  # needs MANAGE_ORDERS
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await signed(api, reporter, kind="SALES", merchantId=shop.other_merchant, **DAY)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    guest = await api.op("ExportLinkCreate", {"input": {"kind": "SALES", **DAY}})
    assert guest["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad_range = await signed(
        api, reporter, kind="SALES", **{"from": "2026-04-10", "to": "2026-04-01"}
    )
    assert bad_range["data"]["exportLinkCreate"]["userErrors"][0]["code"] == "INVALID_INPUT"
    bad_status = await signed(api, api.admin_token, kind="ORDERS", status="NOPE", **DAY)
    assert bad_status["data"]["exportLinkCreate"]["userErrors"][0]["code"] == "INVALID_INPUT"
    no_merchant = await signed(api, api.admin_token, kind="SETTLEMENT", **DAY)
    assert no_merchant["data"]["exportLinkCreate"]["userErrors"][0]["code"] == "INVALID_ID"

    # settlement: platform staff name the merchant; the link answers its one row
    link = (await signed(api, api.admin_token, kind="SETTLEMENT", merchantId=shop.merchant, **DAY))[
        "data"
    ]["exportLinkCreate"]["link"]
    status, rows = await follow(api, link["url"])
    assert status == 200 and [r["merchantId"] for r in rows] == [shop.merchant]
    # a made-up token is no download link
    status, _ = await follow(api, "/exports/sales.csv?from=2026-04-10&to=2026-04-10&link=x")
    assert status == 401
