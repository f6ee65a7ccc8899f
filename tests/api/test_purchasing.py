"""Purchasing and stocktakes through the admin operations as written (issue 20): purchase orders
whose receipts are INBOUND movements and never exceed what was ordered; stocktakes whose
differences to the frozen snapshot post as ADJUSTMENT movements once a second staff member
approves; merchant staff confined to their own merchant's warehouses, orders and counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import AuditEntry
from models import StockLevel
from models import StockMovement
from services import inventory
from tests.api.checkout_data import Shop
from tests.api.checkout_data import open_shop
from tests.api.staff_data import merchant_staff
from tests.api.test_inventory import ledger_matches_on_hand
from tests.conftest import Api
from tests.conftest import make_staff

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too

INVENTORY = ["MANAGE_INVENTORY"]


@dataclass
class World:
    shop: Shop
    supplier: str  # merchant A's
    supplier_c: str  # merchant B's
    clerk_a: tuple[int, str]  # merchant A staff (id, token)
    clerk_a2: tuple[int, str]
    clerk_b: tuple[int, str]  # merchant B staff


async def world(api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock) -> World:
    shop = await open_shop(api, engine, two_merchants=True)
    a, b = decode_id(shop.merchant)[1], decode_id(shop.other_merchant)[1]
    supplier = (
        await api.admin(
            "SupplierCreate",
            {"input": {"name": "深圳电子", "contact": "王经理", "merchantId": shop.merchant}},
        )
    )["supplierCreate"]["supplier"]
    clerk_b = await make_staff(
        engine, settings, clock, email="b@buy.example", permissions=INVENTORY, merchant_id=b
    )
    supplier_c = await api.ok(
        "SupplierCreate", {"input": {"name": "深圳电子"}}, token=clerk_b[1]
    )  # the same name at another merchant is fine; merchant staff default to their merchant
    return World(
        shop,
        supplier["id"],
        supplier_c["supplierCreate"]["supplier"]["id"],
        await make_staff(
            engine, settings, clock, email="a1@buy.example", permissions=INVENTORY, merchant_id=a
        ),
        await make_staff(
            engine, settings, clock, email="a2@buy.example", permissions=INVENTORY, merchant_id=a
        ),
        clerk_b,
    )


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def call(api: Api, name: str, variables: dict[str, Any], token: str | None = None) -> Any:
    """The mutation's payload (userErrors included); GraphQL errors fail the test."""
    result = await api.op(name, variables, token=token or api.admin_token)
    assert "errors" not in result, result["errors"]
    return next(iter(result["data"].values()))


async def on_hand(engine: AsyncEngine, sku: str, warehouse: str) -> int:
    async with create_session_factory(engine)() as s:
        level = await s.get(StockLevel, (decode_id(sku)[1], decode_id(warehouse)[1]))
        return level.on_hand if level else 0


async def draft(api: Api, w: World, token: str | None = None, **extra: Any) -> dict[str, Any]:
    data = {
        "supplierId": w.supplier,
        "warehouseId": w.shop.warehouse,
        "note": "双十一备货",
        "lines": [
            {"skuId": w.shop.sku_a, "quantity": 10, "unitCost": "80.50"},
            {"skuId": w.shop.sku_b, "quantity": 5, "unitCost": "200.00"},
        ],
        **extra,
    }
    created = await call(api, "PurchaseOrderCreate", {"input": data}, token)
    assert created["userErrors"] == [], created
    return created["purchaseOrder"]


def receipt(*lines: tuple[str, int], key: str | None = None) -> dict[str, Any]:
    return {
        "lines": [{"skuId": s, "quantity": q} for s, q in lines],
        "clientKey": key,
    }


async def test_purchase_order_from_draft_to_received(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    sku_a, sku_b, wh = w.shop.sku_a, w.shop.sku_b, w.shop.warehouse
    po = await draft(api, w)
    assert po["status"] == "DRAFT" and po["totalCost"]["amount"] == "1805.00"  # 805 + 1000
    assert [ln["unitCost"]["amount"] for ln in po["lines"]] == ["80.50", "200.00"]
    # a draft is edited freely: the lines are replaced whole
    edited = await api.admin(
        "PurchaseOrderUpdate",
        {
            "id": po["id"],
            "input": {
                "note": "改数量",
                "lines": [
                    {"skuId": sku_a, "quantity": 10, "unitCost": "80.00"},
                    {"skuId": sku_b, "quantity": 4, "unitCost": "200.00"},
                ],
            },
        },
    )
    edited = edited["purchaseOrderUpdate"]
    assert edited["purchaseOrder"]["note"] == "改数量"
    assert [ln["quantityOrdered"] for ln in edited["purchaseOrder"]["lines"]] == [10, 4]
    # receiving a draft is refused: it was never sent
    early = await call(api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_a, 1))})
    assert errors(early) == [("INVALID_STATUS_TRANSITION", "id")]
    submitted = await call(api, "PurchaseOrderSubmit", {"id": po["id"]})
    assert submitted["purchaseOrder"]["status"] == "SUBMITTED"
    assert submitted["purchaseOrder"]["submittedAt"] is not None
    late_edit = await call(
        api, "PurchaseOrderUpdate", {"id": po["id"], "input": {"note": "too late"}}
    )
    assert errors(late_edit) == [("INVALID_STATUS_TRANSITION", "id")]

    first = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_a, 4), key="dn-1")}
    )
    assert first["userErrors"] == []
    order = first["purchaseOrder"]
    assert order["status"] == "PARTIALLY_RECEIVED"
    assert [(ln["quantityReceived"], ln["quantityOutstanding"]) for ln in order["lines"]] == [
        (4, 6),
        (0, 4),
    ]
    assert await on_hand(engine, sku_a, wh) == 14
    # the same delivery note sent again (a retry) books nothing twice
    again = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_a, 4), key="dn-1")}
    )
    assert again["userErrors"] == [] and again["purchaseOrder"]["lines"][0]["quantityReceived"] == 4
    assert await on_hand(engine, sku_a, wh) == 14
    reused = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_a, 5), key="dn-1")}
    )
    assert errors(reused) == [("IDEMPOTENCY_KEY_REUSED", "clientKey")]
    # over-receipt: 4 + 7 > 10, and the whole receipt is refused (sku_b's 4 are not booked)
    over = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_b, 4), (sku_a, 7))}
    )
    assert errors(over) == [("OVER_RECEIPT", "lines.1.quantity")]
    assert await on_hand(engine, sku_b, wh) == 10
    rest = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_b, 4), (sku_a, 6))}
    )
    assert rest["purchaseOrder"]["status"] == "RECEIVED"
    assert (await on_hand(engine, sku_a, wh), await on_hand(engine, sku_b, wh)) == (20, 14)
    more = await call(api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((sku_a, 1))})
    assert errors(more) == [("INVALID_STATUS_TRANSITION", "id")]
    closed = await call(api, "PurchaseOrderClose", {"id": po["id"]})
    assert errors(closed) == [("INVALID_STATUS_TRANSITION", "id")]  # nothing left to cancel

    await ledger_matches_on_hand(engine)
    async with create_session_factory(engine)() as s:
        inbound = (
            await s.scalars(
                select(StockMovement)
                .where(StockMovement.reference.like("purchase-receipt:%"))
                .order_by(StockMovement.id)
            )
        ).all()
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert [(m.type.value, m.quantity) for m in inbound] == [
        ("INBOUND", 4),
        ("INBOUND", 6),
        ("INBOUND", 4),
    ]
    assert all(m.reason == f"Purchase order {po['id']}" for m in inbound)
    assert actions.count("purchaseOrder.receive") == 3  # the two booked and the retry
    listed = await api.admin("PurchaseOrders", {"filter": {"status": "RECEIVED"}})
    assert [e["node"]["id"] for e in listed["purchaseOrders"]["edges"]] == [po["id"]]
    suppliers = await api.admin("Suppliers")
    assert {s["name"] for s in suppliers["suppliers"]} == {"深圳电子"}
    renamed = await api.admin(
        "SupplierUpdate", {"id": w.supplier, "input": {"name": "深圳电子二厂"}}
    )
    assert renamed["supplierUpdate"]["supplier"]["name"] == "深圳电子二厂"


async def test_closing_cancels_what_is_outstanding(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    po = await draft(api, w)
    refused = await call(api, "PurchaseOrderClose", {"id": po["id"]})
    assert errors(refused) == [("INVALID_STATUS_TRANSITION", "id")]  # a draft is just edited
    await api.admin("PurchaseOrderSubmit", {"id": po["id"]})
    await api.admin("PurchaseOrderReceive", {"id": po["id"], "input": receipt((w.shop.sku_a, 3))})
    closed = (await api.admin("PurchaseOrderClose", {"id": po["id"]}))["purchaseOrderClose"]
    order = closed["purchaseOrder"]
    assert order["status"] == "CLOSED" and order["closedAt"] is not None
    assert [ln["quantityOutstanding"] for ln in order["lines"]] == [7, 5]  # cancelled
    late = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((w.shop.sku_a, 1))}
    )
    assert errors(late) == [("INVALID_STATUS_TRANSITION", "id")]
    assert await on_hand(engine, w.shop.sku_a, w.shop.warehouse) == 13
    # a submitted order with nothing received closes too
    other = await draft(api, w)
    await api.admin("PurchaseOrderSubmit", {"id": other["id"]})
    assert (await api.admin("PurchaseOrderClose", {"id": other["id"]}))["purchaseOrderClose"][
        "purchaseOrder"
    ]["status"] == "CLOSED"


async def test_purchase_order_rules(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    s = w.shop

    async def create(**changes: Any) -> list[tuple[str, str | None]]:
        data = {"supplierId": w.supplier, "warehouseId": s.warehouse, "lines": [], **changes}
        return errors(await call(api, "PurchaseOrderCreate", {"input": data}))

    assert await create(supplierId=w.supplier_c) == [("MERCHANT_MISMATCH", "supplierId")]
    assert await create(lines=[{"skuId": s.sku_c, "quantity": 1, "unitCost": "1"}]) == [
        ("MERCHANT_MISMATCH", "lines.0.skuId")
    ]
    assert await create(
        lines=[
            {"skuId": s.sku_a, "quantity": 0, "unitCost": "1"},
            {"skuId": s.sku_a, "quantity": 1, "unitCost": "-1"},
            {"skuId": s.sku_b, "quantity": 1, "unitCost": "0.001"},
        ]
    ) == [
        ("INVALID_QUANTITY", "lines.0.quantity"),
        ("INVALID_PRICE", "lines.1.unitCost"),
        ("INVALID_INPUT", "lines.1.skuId"),
        ("INVALID_PRICE", "lines.2.unitCost"),
    ]
    empty = (
        await call(
            api,
            "PurchaseOrderCreate",
            {"input": {"supplierId": w.supplier, "warehouseId": s.warehouse, "lines": []}},
        )
    )["purchaseOrder"]
    assert errors(await call(api, "PurchaseOrderSubmit", {"id": empty["id"]})) == [
        ("INVALID_INPUT", "id")
    ]
    po = await draft(api, w, lines=[{"skuId": s.sku_a, "quantity": 2, "unitCost": "1.00"}])
    await api.admin("PurchaseOrderSubmit", {"id": po["id"]})
    not_ordered = await call(
        api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((s.sku_b, 1))}
    )
    assert errors(not_ordered) == [("NOT_FOUND", "lines.0.skuId")]
    zero = await call(api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((s.sku_a, 0))})
    assert errors(zero) == [("INVALID_QUANTITY", "lines.0.quantity")]
    duplicate = await call(
        api, "SupplierCreate", {"input": {"name": "深圳电子 ", "merchantId": s.merchant}}
    )
    assert errors(duplicate) == [("DUPLICATE_NAME", "name")]


async def test_stocktake_posts_differences_to_the_snapshot_after_a_second_approval(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    sku_a, sku_b, wh = w.shop.sku_a, w.shop.sku_b, w.shop.warehouse
    counter, other = w.clerk_a[1], w.clerk_a2[1]
    started = await call(
        api, "StocktakeStart", {"input": {"warehouseId": wh, "reason": "月末盘点"}}, counter
    )
    take = started["stocktake"]
    assert take["status"] == "COUNTING"
    assert [(ln["sku"]["id"], ln["snapshotOnHand"], ln["counted"]) for ln in take["lines"]] == [
        (sku_a, 10, None),
        (sku_b, 10, None),
    ]
    # while counting, the warehouse keeps working: 5 units of A arrive after the freeze
    async with create_session_factory(engine)() as s:
        await inventory.receive_stock(s, decode_id(sku_a)[1], decode_id(wh)[1], 5, "late", None)
        await s.commit()
    counted = await call(
        api,
        "StocktakeCount",
        {"id": take["id"], "counts": [{"skuId": sku_a, "quantity": 9}]},
        counter,
    )
    assert counted["userErrors"] == []
    recount = await call(
        api,
        "StocktakeCount",
        {"id": take["id"], "counts": [{"skuId": sku_a, "quantity": 8}]},
        counter,
    )  # a correction replaces the count
    assert [ln["difference"] for ln in recount["stocktake"]["lines"]] == [-2, None]
    second = await call(
        api,
        "StocktakeCount",
        {"id": take["id"], "counts": [{"skuId": sku_b, "quantity": 11}]},
        other,
    )
    assert second["stocktake"]["createdBy"] == {"id": encode_id("Staff", w.clerk_a[0])}
    assert [ln["countedBy"] for ln in second["stocktake"]["lines"]] == [
        {"id": encode_id("Staff", w.clerk_a[0])},
        {"id": encode_id("Staff", w.clerk_a2[0])},
    ]
    submitted = await call(api, "StocktakeSubmit", {"id": take["id"]}, counter)
    assert submitted["stocktake"]["status"] == "SUBMITTED"
    # neither the one who started it nor anyone who counted may approve it
    for token in (counter, other):
        refused = await call(api, "StocktakeApprove", {"id": take["id"]}, token)
        assert errors(refused) == [("SECOND_APPROVER_REQUIRED", "id")]
    assert await on_hand(engine, sku_a, wh) == 15
    approver = await merchant_staff(
        engine, settings, clock, w.shop.merchant, email="boss@buy.example", permissions=INVENTORY
    )
    approved = await api.ok("StocktakeApprove", {"id": take["id"]}, token=approver[1])
    done = approved["stocktakeApprove"]["stocktake"]
    assert done["status"] == "APPROVED" and done["decidedAt"] is not None
    assert [ln["adjustment"] for ln in done["lines"]] == [-2, 1]
    # counted − snapshot applied to today's stock: the 5 that arrived while counting stay
    assert (await on_hand(engine, sku_a, wh), await on_hand(engine, sku_b, wh)) == (13, 11)
    await ledger_matches_on_hand(engine)
    async with create_session_factory(engine)() as s:
        adjustments = (
            await s.scalars(
                select(StockMovement)
                .where(StockMovement.reference.like("stocktake:%"))
                .order_by(StockMovement.sku_id)
            )
        ).all()
    assert [(m.type.value, m.quantity, m.actor_id) for m in adjustments] == [
        ("ADJUSTMENT", -2, approver[0]),
        ("ADJUSTMENT", 1, approver[0]),
    ]
    assert all(m.reason == f"Stocktake {take['id']}: 月末盘点" for m in adjustments)
    again = await call(api, "StocktakeApprove", {"id": take["id"]}, approver[1])
    assert errors(again) == [("INVALID_STATUS_TRANSITION", "id")]
    listed = await api.ok("Stocktakes", {"filter": {"warehouseId": wh}}, token=counter)
    assert [e["node"]["status"] for e in listed["stocktakes"]["edges"]] == ["APPROVED"]


async def test_stocktake_rules(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    s = w.shop
    no_reason = await call(
        api, "StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": " "}}
    )
    assert errors(no_reason) == [("INVALID_INPUT", "reason")]
    take = (
        await api.admin("StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": "抽盘"}})
    )["stocktakeStart"]["stocktake"]
    busy = await call(api, "StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": "x"}})
    assert errors(busy) == [("STOCKTAKE_IN_PROGRESS", "warehouseId")]
    # the other merchant's SKU is not in this warehouse (platform staff get past the policy)
    bad = await call(
        api,
        "StocktakeCount",
        {
            "id": take["id"],
            "counts": [{"skuId": s.sku_a, "quantity": -1}, {"skuId": s.sku_c, "quantity": 1}],
        },
    )
    assert errors(bad) == [("INVALID_QUANTITY", "counts.0.quantity")]
    outside = await call(
        api, "StocktakeCount", {"id": take["id"], "counts": [{"skuId": s.sku_c, "quantity": 1}]}
    )
    assert errors(outside) == [("SKU_NOT_IN_STOCKTAKE", "counts.0.skuId")]
    nothing = await call(api, "StocktakeSubmit", {"id": take["id"]})
    assert errors(nothing) == [("INVALID_INPUT", "id")]
    early = await call(api, "StocktakeApprove", {"id": take["id"]}, w.clerk_a[1])
    assert errors(early) == [("INVALID_STATUS_TRANSITION", "id")]
    cancelled = (await api.admin("StocktakeCancel", {"id": take["id"]}))["stocktakeCancel"]
    assert cancelled["stocktake"]["status"] == "CANCELLED"
    late = await call(
        api, "StocktakeCount", {"id": take["id"], "counts": [{"skuId": s.sku_a, "quantity": 1}]}
    )
    assert errors(late) == [("INVALID_STATUS_TRANSITION", "id")]
    # a cancelled stocktake frees the warehouse; a shortfall below what is reserved is refused
    fresh = (
        await api.admin("StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": "再盘"}})
    )["stocktakeStart"]["stocktake"]
    async with create_session_factory(engine)() as session:
        await inventory.reserve(session, [(decode_id(s.sku_a)[1], 6)], "order:1", clock.now())
        await session.commit()
    await api.admin(
        "StocktakeCount", {"id": fresh["id"], "counts": [{"skuId": s.sku_a, "quantity": 5}]}
    )
    await api.admin("StocktakeSubmit", {"id": fresh["id"]})
    short = await call(api, "StocktakeApprove", {"id": fresh["id"]}, w.clerk_a[1])
    assert errors(short) == [("INSUFFICIENT_STOCK", "quantity")]
    assert await on_hand(engine, s.sku_a, s.warehouse) == 10


async def test_merchant_staff_stay_within_their_merchant(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    w = await world(api, engine, settings, clock)
    s = w.shop
    a, b = w.clerk_a[1], w.clerk_b[1]
    po = await draft(api, w, token=a)  # merchant A's staff on their own: fine
    await api.ok("PurchaseOrderSubmit", {"id": po["id"]}, token=a)
    take = (
        await api.ok(
            "StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": "A"}}, token=a
        )
    )["stocktakeStart"]["stocktake"]
    own_take = (
        await api.ok(
            "StocktakeStart", {"input": {"warehouseId": s.warehouse_c, "reason": "B"}}, token=b
        )
    )["stocktakeStart"]["stocktake"]
    attacks = [
        ("PurchaseOrderReceive", {"id": po["id"], "input": receipt((s.sku_a, 1))}),
        ("PurchaseOrderClose", {"id": po["id"]}),
        ("PurchaseOrderUpdate", {"id": po["id"], "input": {"note": "x"}}),
        (
            "PurchaseOrderCreate",
            {"input": {"supplierId": w.supplier_c, "warehouseId": s.warehouse, "lines": []}},
        ),
        (
            "PurchaseOrderCreate",
            {
                "input": {
                    "supplierId": w.supplier_c,
                    "warehouseId": s.warehouse_c,
                    "lines": [{"skuId": s.sku_a, "quantity": 1, "unitCost": "1"}],
                }
            },
        ),
        ("SupplierUpdate", {"id": w.supplier, "input": {"name": "mine now"}}),
        ("SupplierCreate", {"input": {"name": "x", "merchantId": s.merchant}}),
        ("StocktakeStart", {"input": {"warehouseId": s.warehouse, "reason": "x"}}),
        ("StocktakeCount", {"id": take["id"], "counts": [{"skuId": s.sku_c, "quantity": 1}]}),
        ("StocktakeCount", {"id": own_take["id"], "counts": [{"skuId": s.sku_a, "quantity": 1}]}),
        ("StocktakeSubmit", {"id": take["id"]}),
        ("StocktakeApprove", {"id": take["id"]}),
        ("StocktakeCancel", {"id": take["id"]}),
    ]
    for name, variables in attacks:
        result = await api.op(name, variables, token=b)
        codes = [e["extensions"]["code"] for e in result.get("errors") or []]
        assert codes == ["FORBIDDEN"], (name, result)
        assert next(iter(result["data"].values())) is None if result.get("data") else True
    # their lists and `node` hold only their merchant's
    assert (await api.ok("Suppliers", token=b))["suppliers"] == [
        {"id": w.supplier_c, "name": "深圳电子", "contact": None}
    ]
    assert (await api.ok("PurchaseOrders", token=b))["purchaseOrders"]["totalCount"] == 0
    takes = (await api.ok("Stocktakes", token=b))["stocktakes"]["edges"]
    assert [e["node"]["id"] for e in takes] == [own_take["id"]]
    seen = await api.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [po["id"], take["id"], w.supplier, own_take["id"]]},
        token=b,
    )
    assert seen["data"]["nodes"] == [None, None, None, {"id": own_take["id"]}]
    # nothing moved: A's order is untouched, A's stocktake still counting
    assert await on_hand(engine, s.sku_a, s.warehouse) == 10
    mine = await api.ok("PurchaseOrders", token=a)
    assert [e["node"]["status"] for e in mine["purchaseOrders"]["edges"]] == ["SUBMITTED"]


async def test_concurrent_receipts_never_over_receive(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    import asyncio

    w = await world(api, engine, settings, clock)
    po = await draft(api, w, lines=[{"skuId": w.shop.sku_a, "quantity": 5, "unitCost": "1"}])
    await api.admin("PurchaseOrderSubmit", {"id": po["id"]})
    results = await asyncio.gather(
        *(
            call(api, "PurchaseOrderReceive", {"id": po["id"], "input": receipt((w.shop.sku_a, 3))})
            for _ in range(3)
        )
    )
    booked = [r for r in results if not r["userErrors"]]
    assert len(booked) == 1
    assert all(
        errors(r) == [("OVER_RECEIPT", "lines.0.quantity")] for r in results if r["userErrors"]
    )
    assert await on_hand(engine, w.shop.sku_a, w.shop.warehouse) == 13
    await ledger_matches_on_hand(engine)
