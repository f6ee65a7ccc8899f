"""Inventory through the admin operations as written (DOMAIN.md §2, issue 4): warehouses, the
ledger, transfers, low stock; onHand only changes through movements and never below reserved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.settings import Settings
from models import StockLevel
from models import StockMovement
from services import inventory
from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.staff_data import merchant_staff
from tests.conftest import Api
from tests.conftest import make_staff


async def setup(api: Api) -> tuple[Catalog, str, str, str]:
    c = await build_catalog(api)
    product = await add_product(api, c, "p", phone_input(c, "P", "Apple", ["10.00"], code="P"))
    sku = (await api.ok("ProductDetail", {"id": product["id"]}))["product"]["skus"][0]["id"]
    sh = (
        await api.admin(
            "WarehouseCreate",
            {
                "input": {
                    "code": "sh-01",
                    "name": "上海仓",
                    "region": "华东",
                    "priority": 10,
                    "merchantId": c.merchant,
                }
            },
        )
    )["warehouseCreate"]["warehouse"]
    gz = (
        await api.admin(
            "WarehouseCreate",
            {
                "input": {
                    "code": "GZ-01",
                    "name": "广州仓",
                    "region": "华南",
                    "priority": 5,
                    "merchantId": c.merchant,
                }
            },
        )
    )["warehouseCreate"]["warehouse"]
    assert sh["code"] == "SH-01"  # codes are upper-cased
    return c, sku, sh["id"], gz["id"]


async def move(
    api: Api,
    sku: str,
    warehouse: str,
    quantity: int,
    kind: str = "INBOUND",
    reason: str | None = "receipt",
    safety: int | None = None,
) -> dict[str, Any]:
    result = await api.op(
        "StockMove",
        {
            "input": {
                "skuId": sku,
                "warehouseId": warehouse,
                "quantity": quantity,
                "type": kind,
                "reason": reason,
                "safetyStock": safety,
            }
        },
        token=api.admin_token,
    )
    assert "errors" not in result, result
    return result["data"]["stockMove"]


async def ledger_matches_on_hand(engine: AsyncEngine) -> None:
    async with create_session_factory(engine)() as s:
        levels = {
            (lv.sku_id, lv.warehouse_id): lv.on_hand
            for lv in (await s.scalars(select(StockLevel))).all()
        }
        sums = dict(
            ((sku, wh), int(total))
            for sku, wh, total in (
                await s.execute(
                    select(
                        StockMovement.sku_id,
                        StockMovement.warehouse_id,
                        func.sum(StockMovement.quantity),
                    ).group_by(StockMovement.sku_id, StockMovement.warehouse_id)
                )
            ).all()
        )
    assert levels == sums


async def test_stock_moves_and_sellable_quantity(api: Api, engine: AsyncEngine) -> None:
    c, sku, sh, gz = await setup(api)
    level = (await move(api, sku, sh, 30, safety=5))["stockLevel"]
    assert level == {"onHand": 30, "reserved": 0, "available": 30, "safetyStock": 5}
    await move(api, sku, gz, 10)
    await move(api, sku, sh, -4, "ADJUSTMENT", "stock-take found 4 missing")
    await move(api, sku, sh, 1, "RETURN", "customer return")
    detail = await api.ok("ProductDetail", {"id": c.products["p"]["id"]})
    # (30 − 4 + 1 − 5 safety) + 10 = 32
    assert detail["product"]["skus"][0]["sellableQuantity"] == 32
    assert detail["product"]["sellableQuantity"] == 32
    await ledger_matches_on_hand(engine)
    ledger = await api.admin("StockLedger", {"skuId": sku})
    rows = [
        (e["node"]["type"], e["node"]["quantity"], e["node"]["warehouse"]["code"])
        for e in ledger["stockMovements"]["edges"]
    ]
    assert rows == [
        ("RETURN", 1, "SH-01"),
        ("ADJUSTMENT", -4, "SH-01"),
        ("INBOUND", 10, "GZ-01"),
        ("INBOUND", 30, "SH-01"),
    ]
    assert {e["node"]["actor"]["id"] for e in ledger["stockMovements"]["edges"]} != {None}


async def test_stock_move_rules(api: Api, engine: AsyncEngine) -> None:
    _, sku, sh, _ = await setup(api)
    cases = [
        ({"quantity": -1, "type": "INBOUND"}, "INVALID_INPUT", "quantity"),
        ({"quantity": 0, "type": "ADJUSTMENT", "reason": "x"}, "INVALID_INPUT", "quantity"),
        ({"quantity": -5, "type": "ADJUSTMENT", "reason": "x"}, "INSUFFICIENT_STOCK", "quantity"),
        ({"quantity": 3, "type": "ADJUSTMENT", "reason": None}, "INVALID_INPUT", "reason"),
        ({"quantity": 3, "type": "INBOUND", "safetyStock": -1}, "INVALID_INPUT", "safetyStock"),
    ]
    for changes, code, field in cases:
        data: dict[str, Any] = {"reason": "r", **changes}
        result = await move(
            api,
            sku,
            sh,
            data.pop("quantity"),
            data.pop("type"),
            data.pop("reason"),
            data.pop("safetyStock", None),
        )
        assert {"code": code, "field": field} in [
            {"code": e["code"], "field": e["field"]} for e in result["userErrors"]
        ], changes
    await ledger_matches_on_hand(engine)


async def test_on_hand_never_goes_below_reserved(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    _, sku, sh, gz = await setup(api)
    await move(api, sku, sh, 10)
    sku_id = decode_id(sku)[1]
    async with create_session_factory(engine)() as s:
        await inventory.reserve(s, [(sku_id, 8)], "order:1", clock.now())
        await s.commit()
    refused = await move(api, sku, sh, -3, "ADJUSTMENT", "damaged")
    assert refused["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
    transfer = await api.op(
        "StockTransfer",
        {
            "input": {
                "skuId": sku,
                "fromWarehouseId": sh,
                "toWarehouseId": gz,
                "quantity": 3,
                "reason": "rebalance",
            }
        },
        token=api.admin_token,
    )
    assert transfer["data"]["stockTransfer"]["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
    ok = await move(api, sku, sh, -2, "ADJUSTMENT", "damaged")
    assert ok["stockLevel"] == {"onHand": 8, "reserved": 8, "available": 0, "safetyStock": 0}
    await ledger_matches_on_hand(engine)


async def test_transfer_is_atomic_and_ledgered(api: Api, engine: AsyncEngine) -> None:
    _, sku, sh, gz = await setup(api)
    await move(api, sku, sh, 10)
    result = await api.admin(
        "StockTransfer",
        {
            "input": {
                "skuId": sku,
                "fromWarehouseId": sh,
                "toWarehouseId": gz,
                "quantity": 4,
                "reason": "rebalance",
            }
        },
    )
    assert result["stockTransfer"]["from"] == {"available": 6}
    assert result["stockTransfer"]["to"] == {"available": 4}
    ledger = await api.admin("StockLedger", {"skuId": sku})
    types = [e["node"]["type"] for e in ledger["stockMovements"]["edges"]]
    assert types[:2] == ["TRANSFER_IN", "TRANSFER_OUT"]
    await ledger_matches_on_hand(engine)
    same = await api.op(
        "StockTransfer",
        {"input": {"skuId": sku, "fromWarehouseId": sh, "toWarehouseId": sh, "quantity": 1}},
        token=api.admin_token,
    )
    assert same["data"]["stockTransfer"]["userErrors"][0]["field"] == "toWarehouseId"


async def test_low_stock_query(api: Api) -> None:
    _, sku, sh, gz = await setup(api)
    await move(api, sku, sh, 5, safety=5)  # available 5 ≤ safety 5: low
    await move(api, sku, gz, 50, safety=5)
    low = await api.admin("LowStock", {})
    nodes = [e["node"] for e in low["stockLevels"]["edges"]]
    assert [(n["warehouse"]["code"], n["available"], n["safetyStock"]) for n in nodes] == [
        ("SH-01", 5, 5)
    ]
    assert nodes[0]["sku"]["code"] == "P-0"


async def test_warehouse_rules_and_merchant_scope(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    c, sku, sh, _ = await setup(api)
    duplicate = await api.op(
        "WarehouseCreate",
        {"input": {"code": "SH-01", "name": "again", "merchantId": c.merchant}},
        token=api.admin_token,
    )
    assert duplicate["data"]["warehouseCreate"]["userErrors"][0]["code"] == "DUPLICATE_NAME"
    other = (
        await api.admin(
            "WarehouseCreate",
            {"input": {"code": "B-01", "name": "B", "merchantId": c.other_merchant}},
        )
    )["warehouseCreate"]["warehouse"]["id"]
    mismatch = await move(api, sku, other, 5)
    assert mismatch["userErrors"][0]["code"] == "MERCHANT_MISMATCH"
    _, shop_token = await merchant_staff(
        engine,
        settings,
        clock,
        c.other_merchant,
        email="b@shop.example",
        permissions=["MANAGE_INVENTORY"],
    )
    foreign = await api.op(
        "StockMove",
        {"input": {"skuId": sku, "warehouseId": sh, "quantity": 5, "type": "INBOUND"}},
        token=shop_token,
    )
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # the policy's owner check
    listing = await api.post("{ warehouses { code } }", token=shop_token)
    assert listing["data"]["warehouses"] == [{"code": "B-01"}]


async def test_stock_operations_need_manage_inventory(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    _, sku, sh, _ = await setup(api)
    _, catalog_only = await make_staff(
        engine, settings, clock, email="cat@example.com", permissions=["MANAGE_CATALOG"]
    )
    result = await api.op(
        "StockMove",
        {"input": {"skuId": sku, "warehouseId": sh, "quantity": 5, "type": "INBOUND"}},
        token=catalog_only,
    )
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_stock_moves_are_audited(api: Api) -> None:
    _, sku, sh, _ = await setup(api)
    await move(api, sku, sh, 7)
    log = await api.admin("AuditLog", {"first": 1})
    entry = log["auditLog"]["edges"][0]["node"]
    assert entry["action"] == "stock.move" and entry["before"] is None
    assert entry["after"]["on_hand"] == 7
