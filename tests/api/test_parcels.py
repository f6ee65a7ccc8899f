"""Parcels (第二次拆单): an order split at payment by warehouse, transport class and the
shipping template's parcel weight limit; each parcel ships under its own tracking number."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from services import inventory
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import request_refund
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.conftest import Api
from tests.conftest import make_staff

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too

# (colour, storage, transport class, grams)
SKUS = [
    ("黑", "128GB", "LIQUID", 500),
    ("白", "128GB", "BATTERY", 200),
    ("蓝", "128GB", "GENERAL", 6000),  # heavy: two of them cannot share a 10 kg parcel
    ("黑", "256GB", "GENERAL", 3000),
]


async def parcel_shop(api: Api, engine: AsyncEngine) -> tuple[Any, dict[str, str], str]:
    c = await build_catalog(api)
    template = (
        await api.admin(
            "ShippingTemplateCreate",
            {
                "input": {
                    "merchantId": c.merchant,
                    "name": "parcels ≤ 10 kg",
                    "kind": "FLAT",
                    "flatFee": "10",
                    "maxParcelWeightGrams": 10_000,
                }
            },
        )
    )["shippingTemplateCreate"]["shippingTemplate"]["id"]
    data = phone_input(c, "Parcel phone", "Apple", ["100.00"], code="P")
    data["shippingTemplateId"] = template
    model = data["skus"][0]
    data["skus"] = [
        {
            **model,
            "specs": [
                {"attributeId": c.attributes["colour"], "value": colour},
                {"attributeId": c.attributes["storage"], "value": storage},
            ],
            "code": f"P-{i}",
            "barcode": f"69{i:011d}",
            "transportClass": transport,
            "weightGrams": grams,
        }
        for i, (colour, storage, transport, grams) in enumerate(SKUS)
    ]
    product = await add_product(api, c, "P", data)
    by_code = {s["code"]: s["id"] for s in product["skus"]}
    warehouse = (
        await api.admin(
            "WarehouseCreate", {"input": {"code": "W1", "name": "W1", "merchantId": c.merchant}}
        )
    )["warehouseCreate"]["warehouse"]["id"]
    async with create_session_factory(engine)() as s:
        for sku in by_code.values():
            await inventory.receive_stock(
                s, decode_id(sku)[1], decode_id(warehouse)[1], 10, "stock", None
            )
        await s.commit()
    return c, by_code, warehouse


async def test_an_order_splits_into_parcels_each_with_its_tracking_number(
    api: Api, engine: AsyncEngine, settings: Any, clock: FixedClock
) -> None:
    c, sku, warehouse = await parcel_shop(api, engine)
    who = await shopper(
        api,
        "13900007777",
        [(sku["P-0"], 1), (sku["P-1"], 1), (sku["P-2"], 2), (sku["P-3"], 1)],
    )
    payment = await place(api, who)
    order_id = payment["orders"][0]["id"]
    before = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    assert before["parcels"] == []  # planned at payment
    await pay(api, who, payment)

    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    got = [
        (
            p["number"],
            p["transportClass"],
            sorted((line["skuCode"], line["quantity"]) for line in p["lines"]),
            p["weightGrams"],
            p["status"],
            p["trackingNumber"],
        )
        for p in order["parcels"]
    ]
    # GENERAL first-fit-decreasing under 10 kg: heavy (6 kg) ×2 → #1, #2; the 3 kg unit tops
    # up #1 (9 kg); the liquid and the battery travel on their own
    assert got == [
        (1, "GENERAL", [("P-2", 1), ("P-3", 1)], 9000, "PLANNED", None),
        (2, "GENERAL", [("P-2", 1)], 6000, "PLANNED", None),
        (3, "LIQUID", [("P-0", 1)], 500, "PLANNED", None),
        (4, "BATTERY", [("P-1", 1)], 200, "PLANNED", None),
    ]
    assert {p["warehouse"]["id"] for p in order["parcels"]} == {warehouse}

    merchant_id = decode_id(c.merchant)[1]
    _, own = await make_staff(
        engine,
        settings,
        clock,
        email="own@parcels.example",
        permissions=["MANAGE_ORDERS"],
        merchant_id=merchant_id,
    )
    _, other = await merchant_staff(
        engine,
        settings,
        clock,
        c.other_merchant,
        email="other@parcels.example",
        permissions=["MANAGE_ORDERS"],
    )

    def ship(number: int, tracking: str) -> dict[str, Any]:
        return {
            "input": {
                "orderId": order_id,
                "parcelNumber": number,
                "carrier": "SF",
                "trackingNumber": tracking,
            }
        }

    refused = await api.op("OrderParcelShip", ship(1, "SF-X"), token=other)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    customer = await api.op("OrderParcelShip", ship(1, "SF-X"), token=who.token)
    assert customer["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    first = (await api.ok("OrderParcelShip", ship(1, "SF-1"), token=own))["orderParcelShip"]
    assert first["shipment"]["trackingNumber"] == "SF-1"
    assert first["order"]["status"] == "PARTIALLY_SHIPPED"
    again = await api.op("OrderParcelShip", ship(1, "SF-9"), token=own)
    assert again["data"]["orderParcelShip"]["userErrors"][0]["code"] == "INVALID_SHIPMENT"
    missing = await api.op("OrderParcelShip", ship(9, "SF-9"), token=own)
    assert missing["data"]["orderParcelShip"]["userErrors"][0]["code"] == "NOT_FOUND"
    for number in (2, 3, 4):
        await api.ok("OrderParcelShip", ship(number, f"SF-{number}"), token=own)

    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    assert order["status"] == "SHIPPED"
    assert [(p["trackingNumber"], p["status"]) for p in order["parcels"]] == [
        ("SF-1", "SHIPPED"),
        ("SF-2", "SHIPPED"),
        ("SF-3", "SHIPPED"),
        ("SF-4", "SHIPPED"),
    ]


def planned(order: dict[str, Any]) -> list[tuple[int, str, list[tuple[str, int]], str]]:
    return [
        (
            p["number"],
            p["transportClass"],
            sorted((line["skuCode"], line["quantity"]) for line in p["lines"]),
            p["status"],
        )
        for p in order["parcels"]
    ]


async def test_parcels_are_planned_again_when_units_leave_the_plan(
    api: Api, engine: AsyncEngine
) -> None:
    """A free `orderShip` and a refund before shipping change what is left to ship: only the
    groups they touched are planned again, under new numbers; the rest stay as they were."""
    _, sku, warehouse = await parcel_shop(api, engine)
    who = await shopper(
        api,
        "13900007778",
        [(sku["P-0"], 1), (sku["P-1"], 1), (sku["P-2"], 2), (sku["P-3"], 1)],
    )
    payment = await place(api, who)
    order_id = payment["orders"][0]["id"]
    await pay(api, who, payment)
    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    line_of = {
        line["skuCode"]: line["orderLine"]["id"] for p in order["parcels"] for line in p["lines"]
    }

    # one heavy unit leaves by a free shipment: GENERAL (#1, #2) is planned again as #5
    shipped = await api.admin(
        "OrderShip",
        {
            "input": {
                "orderId": order_id,
                "warehouseId": warehouse,
                "carrier": "SF",
                "trackingNumber": "SF-FREE",
                "lines": [{"orderLineId": line_of["P-2"], "quantity": 1}],
            }
        },
    )
    assert shipped["orderShip"]["userErrors"] == []
    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    assert planned(order) == [
        (3, "LIQUID", [("P-0", 1)], "PLANNED"),
        (4, "BATTERY", [("P-1", 1)], "PLANNED"),
        (5, "GENERAL", [("P-2", 1), ("P-3", 1)], "PLANNED"),
    ]
    assert order["parcels"][2]["weightGrams"] == 9000

    # the battery is refunded before shipping: its parcel goes, nothing else moves
    asked = await request_refund(api, who.token, order_id, [(line_of["P-1"], 1)], "不要了")
    approved = (await api.admin("RefundApprove", {"id": asked["id"]}))["refundApprove"]
    assert approved["userErrors"] == []
    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    assert [p[0] for p in planned(order)] == [3, 5]

    for number in (3, 5):
        ok = await api.admin(
            "OrderParcelShip",
            {
                "input": {
                    "orderId": order_id,
                    "parcelNumber": number,
                    "carrier": "SF",
                    "trackingNumber": f"SF-{number}",
                }
            },
        )
        assert ok["orderParcelShip"]["userErrors"] == []
    order = (await api.ok("OrderParcels", {"id": order_id}, token=who.token))["order"]
    assert order["status"] == "SHIPPED"
    assert [(p["number"], p["trackingNumber"]) for p in order["parcels"]] == [
        (3, "SF-3"),
        (5, "SF-5"),
    ]
