"""Red packets (红包) through the API: share after paying, friends open, the balance spent at
checkout on flagged products under their cap, given back on refunds and cancellations, and
every limit. Numbers by hand in the comments (README "Red packets"): an open gives
min + draw mod (max − min + 1) fen (defaults 100..300), never more than the packet has left;
the draw is fixed by the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import OrderLine
from models import Sku
from services import red_packets
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import checkout_input
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.staff_data import merchant_staff
from tests.api.test_members import refill
from tests.api.test_members import refund
from tests.conftest import Api
from tests.contract import operation


def fix_draws(monkeypatch: pytest.MonkeyPatch, draws: list[int]) -> None:
    found: Iterator[int] = iter(draws)
    monkeypatch.setattr(red_packets, "draw", lambda: next(found))


async def product_of(engine: AsyncEngine, sku: str) -> str:
    async with create_session_factory(engine)() as s:
        found = await s.get(Sku, decode_id(sku)[1])
        assert found is not None
        return encode_id("Product", found.product_id)


async def red_packets_on(api: Api, engine: AsyncEngine, sku: str, cap: str | None) -> None:
    """Staff let red packets pay for the SKU's product, at most `cap` yuan per unit."""
    done = await api.admin(
        "ProductRedPacketSettings",
        {
            "id": await product_of(engine, sku),
            "input": {"redPacketsUsable": True, "redPacketCap": cap},
        },
    )
    product = done["productUpdate"]["product"]
    assert product["redPacketsUsable"] is True
    assert product["redPacketCap"] == (None if cap is None else {"amount": cap})


async def share(api: Api, who: Shopper, order_id: str) -> dict[str, Any]:
    done = await api.ok("RedPacketShare", {"orderId": order_id}, token=who.token)
    return done["redPacketShare"]["redPacket"]


async def open_packet(api: Api, who: Shopper, token: str) -> dict[str, Any]:
    """The grant, or the refusal's userErrors."""
    done = await api.op("RedPacketOpen", {"token": token}, token=who.token)
    assert "errors" not in done, done["errors"]
    answer = done["data"]["redPacketOpen"]
    return answer["grant"] or {"code": answer["userErrors"][0]["code"]}


async def mine(api: Api, who: Shopper) -> dict[str, Any]:
    return (await api.ok("MyRedPackets", token=who.token))["me"]


async def balance(api: Api, who: Shopper) -> str:
    return (await mine(api, who))["redPacketBalance"]["amount"]


async def paid_packet(api: Api, shop: Shop, phone: str, key: str = "key-1") -> tuple[Shopper, str]:
    """A customer who bought Phone B (300.00) and paid: their packet's token."""
    who = await shopper(api, phone, [(shop.sku_b, 1)])
    payment = await pay(api, who, await place(api, who, key))
    return who, (await share(api, who, payment["orders"][0]["id"]))["token"]


async def preview(api: Api, who: Shopper, **extra: Any) -> dict[str, Any]:
    done = await api.op(
        "CheckoutRedPacketsPreview", {"input": checkout_input(who, **extra)}, token=who.token
    )
    assert "errors" not in done, done["errors"]
    found: dict[str, Any] = done["data"]["checkoutPreview"]
    return found


@pytest.mark.sqlite_too  # the contract flow, also on the newcomer's SQLite
async def test_red_packets_as_written(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await open_shop(api, engine)
    # Phone A takes red packets, at most 0.50 a unit; Phone B does not (the default)
    await red_packets_on(api, engine, shop.sku_a, "0.50")
    refused = await api.op(
        "ProductRedPacketSettings",
        {"id": await product_of(engine, shop.sku_b), "input": {"redPacketCap": "-1"}},
        token=api.admin_token,
    )
    assert [(e["field"], e["code"]) for e in refused["data"]["productUpdate"]["userErrors"]] == [
        ("redPacketCap", "INVALID_PRICE")
    ]
    fix_draws(monkeypatch, [88])  # 100 + 88 mod 201 = 188 fen

    sharer = await shopper(api, "13800138001", [(shop.sku_b, 1)])
    payment = await place(api, sharer)
    order_id = payment["orders"][0]["id"]
    unpaid = await api.op("RedPacketShare", {"orderId": order_id}, token=sharer.token)
    assert unpaid["data"]["redPacketShare"]["userErrors"][0]["code"] == "INVALID_ORDER_STATE"
    await pay(api, sharer, payment)
    packet = await share(api, sharer, order_id)
    assert len(packet["token"]) >= 40  # unguessable, not an id
    assert (packet["maxOpens"], packet["opens"], packet["order"]["id"]) == (5, 0, order_id)
    assert (packet["budget"], packet["given"]) == ({"amount": "10.00"}, {"amount": "0.00"})
    assert (await share(api, sharer, order_id))["token"] == packet["token"]  # one per checkout

    # a friend with Phone A ×2 (240.00) and Phone B (300.00) in the cart opens it
    friend = await shopper(api, "13800138002", [(shop.sku_a, 2), (shop.sku_b, 1)])
    grant = await open_packet(api, friend, packet["token"])
    assert grant["amount"] == grant["remaining"] == {"amount": "1.88"}
    assert grant["expiresAt"] == "2026-04-17T08:00:00Z"  # opened at T0, spendable 7 days
    assert await open_packet(api, friend, packet["token"]) == {"code": "RED_PACKET_ALREADY_OPENED"}
    assert await open_packet(api, sharer, packet["token"]) == {"code": "RED_PACKET_OWN"}
    assert await open_packet(api, friend, "x" * 43) == {"code": "NOT_FOUND"}
    guest = await api.op("RedPacketOpen", {"token": packet["token"]})
    assert guest["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    me = await mine(api, friend)
    assert me["redPacketBalance"] == {"amount": "1.88"}
    assert me["redPacketGrants"]["totalCount"] == 1 and me["redPackets"]["totalCount"] == 0
    theirs = await mine(api, sharer)
    assert theirs["redPacketBalance"] == {"amount": "0.00"}
    shared = theirs["redPackets"]["edges"][0]["node"]
    assert (shared["opens"], shared["given"]) == (1, {"amount": "1.88"})

    # Preview: the balance 1.88; Phone A takes at most 0.50 × 2 = 1.00; Phone B nothing
    seen = await preview(api, friend)
    assert seen["redPackets"] == {
        "balance": {"amount": "1.88"},
        "maxUsable": {"amount": "1.00"},
        "used": {"amount": "0.00"},
    }
    assert (await preview(api, friend, redPacketsToUse="5.00"))["userErrors"][0]["code"] == (
        "INSUFFICIENT_RED_PACKETS"
    )
    # asking 1.88 uses what the lines take: 1.00, all on Phone A; 540.00 − 1.00 = 539.00
    seen = await preview(api, friend, redPacketsToUse="1.88")
    assert seen["redPackets"]["used"] == {"amount": "1.00"}
    lines = {ln["sku"]["id"]: ln for ln in seen["merchantOrders"][0]["lines"]}
    assert lines[shop.sku_a]["discounts"] == [
        {"amount": {"amount": "1.00"}, "label": "红包抵扣", "sourceId": None}
    ]
    assert lines[shop.sku_a]["total"] == {"amount": "239.00"}
    assert lines[shop.sku_b]["discounts"] == [] and lines[shop.sku_b]["total"]["amount"] == "300.00"
    assert seen["cost"]["redPacketDiscount"] == {"amount": "1.00"}
    assert seen["cost"]["total"]["amount"] == "539.00"
    assert seen["cost"]["shipping"] == {"amount": "0.00"}

    placed = await place(api, friend, redPacketsToUse="1.88")
    assert placed["amountDue"]["amount"] == "539.00"
    assert await balance(api, friend) == "0.88"  # 1.88 − 1.00
    bought = placed["orders"][0]["id"]
    order = (await api.ok("OrderRedPackets", {"id": bought}, token=friend.token))["order"]
    assert (order["total"], order["redPacketDiscount"]) == (
        {"amount": "539.00"},
        {"amount": "1.00"},
    )
    async with create_session_factory(engine)() as s:  # platform-funded, as settlement reads
        a_line = await s.scalar(
            select(OrderLine).where(
                OrderLine.order_id == decode_id(bought)[1],
                OrderLine.sku_id == decode_id(shop.sku_a)[1],
            )
        )
        assert a_line is not None and a_line.platform_discount == 100
    await pay(api, friend, placed)

    # a refund of 1 of the 2 Phone A: its 1.00 red-packet discount × 1/2 = 0.50 comes back
    line_a = next(ln for ln in order["lines"] if ln["total"]["amount"] == "239.00")
    await refund(api, friend, bought, line_a["id"], 1)
    assert await balance(api, friend) == "1.38"
    order = (await api.ok("OrderRedPackets", {"id": bought}, token=friend.token))["order"]
    assert order["refundedAmount"] == {"amount": "119.50"}  # 239.00 × 1/2
    await refund(api, friend, bought, line_a["id"], 1)  # the last unit: the rest, 0.50
    assert await balance(api, friend) == "1.88"

    # one level: the friend shares a packet of their own only by paying their own order
    own = await share(api, friend, bought)
    assert own["token"] != packet["token"] and own["opens"] == 0


async def test_limits_per_packet_and_per_customer(
    api: Api,
    engine: AsyncEngine,
    clock: FixedClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "red_packet_max_opens", 3)
    monkeypatch.setattr(settings, "red_packet_budget", 500)  # 5.00 a packet
    monkeypatch.setattr(settings, "red_packet_opens_per_day", 2)
    shop = await open_shop(api, engine)
    # draws: 200 → 3.00; 200 → 3.00 but 2.00 left → 2.00; then 0 → 1.00 each
    fix_draws(monkeypatch, [200, 200, 0, 0, 0, 0, 0, 0])
    sharer = await shopper(api, "13800138001", [(shop.sku_b, 1)])
    tokens = []
    for key in ("k1", "k2", "k3"):  # three paid checkouts: three packets
        payment = await pay(api, sharer, await place(api, sharer, key))
        tokens.append((await share(api, sharer, payment["orders"][0]["id"]))["token"])
        await refill(api, sharer, [(shop.sku_b, 1)])
    assert len(set(tokens)) == 3
    f1, f2, f3, f4 = [await shopper(api, f"1380013801{i}", [(shop.sku_a, 1)]) for i in range(4)]

    # the budget: 3.00 + 2.00 = 5.00, then nothing is left
    assert (await open_packet(api, f1, tokens[0]))["amount"] == {"amount": "3.00"}
    assert (await open_packet(api, f2, tokens[0]))["amount"] == {"amount": "2.00"}
    assert await open_packet(api, f3, tokens[0]) == {"code": "RED_PACKET_EMPTY"}
    # the opens: 3 friends of packet 2 (1.00 each), the 4th finds it taken
    for friend in (f1, f2, f3):
        assert (await open_packet(api, friend, tokens[1]))["amount"] == {"amount": "1.00"}
    assert await open_packet(api, f4, tokens[1]) == {"code": "RED_PACKET_EMPTY"}
    # f1 opened two today: the third waits for tomorrow (Asia/Shanghai days)
    assert await open_packet(api, f1, tokens[2]) == {"code": "RED_PACKET_DAILY_LIMIT"}
    clock.advance(hours=8)  # T0 is 16:00 in Shanghai: now 2026-04-11 00:00 there
    assert (await open_packet(api, f1, tokens[2]))["amount"] == {"amount": "1.00"}
    assert await balance(api, f1) == "5.00"  # 3.00 + 1.00 + 1.00

    # packets open 7 days after sharing (T0); grants spend 7 days after opening
    clock.advance(days=7, hours=-1)  # T0 + 7 days + 7 hours
    assert await open_packet(api, f4, tokens[2]) == {"code": "RED_PACKET_EXPIRED"}
    assert await balance(api, f1) == "1.00"  # only the one opened 8 hours later is left
    clock.advance(hours=1)
    assert await balance(api, f1) == "0.00"


async def test_cancelled_orders_give_back_and_refunded_checkouts_stop_their_packet(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await open_shop(api, engine)
    await red_packets_on(api, engine, shop.sku_a, None)  # no cap: the whole line
    fix_draws(monkeypatch, [200, 200, 200])  # 3.00 each
    sharer, token = await paid_packet(api, shop, "13800138001")
    friend = await shopper(api, "13800138002", [(shop.sku_a, 1)])
    await open_packet(api, friend, token)
    # Phone A 120.00 − 3.00 = 117.00, shipping free over 99 (priced before red packets)
    placed = await place(api, friend, redPacketsToUse="3.00")
    assert placed["amountDue"]["amount"] == "117.00"
    assert await balance(api, friend) == "0.00"
    # the same key with another amount is another checkout
    again = await api.op(
        "CheckoutComplete",
        {"input": checkout_input(friend, redPacketsToUse="1.00"), "idempotencyKey": "key-1"},
        token=friend.token,
    )
    assert again["data"]["checkoutComplete"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    cancelled = await api.ok("OrderCancel", {"id": placed["orders"][0]["id"]}, token=friend.token)
    assert cancelled["orderCancel"]["order"]["status"] == "CANCELLED"
    assert await balance(api, friend) == "3.00"  # all of it back

    # staff cancel the sharer's paid order: the packet behind it stops opening
    late = await shopper(api, "13800138003", [(shop.sku_a, 1)])
    sharer_order = (await mine(api, sharer))["redPackets"]["edges"][0]["node"]["order"]["id"]
    await api.admin("OrderCancel", {"id": sharer_order, "reason": "缺货"})
    assert await open_packet(api, late, token) == {"code": "RED_PACKET_EXPIRED"}

    # nobody else reads a customer's red packets, staff neither
    customer = (await mine(api, friend))["id"]
    peek = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Customer { redPacketBalance { amount } } } }",
        {"id": customer},
        token=api.admin_token,
    )
    assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # unusable lines: Phone B does not take red packets
    await open_packet(api, late, (await paid_packet(api, shop, "13800138004"))[1])
    only_b = await shopper(api, "13800138005", [(shop.sku_b, 1)])
    await open_packet(api, only_b, (await paid_packet(api, shop, "13800138006"))[1])
    refused = await preview(api, only_b, redPacketsToUse="0.01")
    assert refused["userErrors"][0]["code"] == "RED_PACKETS_UNUSABLE"


async def test_a_checkout_over_two_merchants_spreads_and_gives_back_per_sub_order(
    api: Api, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await open_shop(api, engine, two_merchants=True)
    await red_packets_on(api, engine, shop.sku_a, None)  # Phone A 120.00: the whole line
    await red_packets_on(api, engine, shop.sku_c, "1.00")  # Phone C 200.00: 1.00 a unit
    fix_draws(monkeypatch, [200])  # 3.00
    _, token = await paid_packet(api, shop, "13800138001")
    friend = await shopper(api, "13800138002", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await open_packet(api, friend, token)
    # 3.00 over what the lines take, 120.00 : 1.00, by largest remainder:
    # 300 × 12000 / 12100 = 297.52 → 298 (the larger remainder), 300 × 100 / 12100 = 2.48 → 2
    placed = await place(api, friend, redPacketsToUse="3.00")
    assert placed["amountDue"]["amount"] == "317.00"  # 320.00 − 3.00, both ship free
    orders = {}
    for o in placed["orders"]:
        found = (await api.ok("OrderRedPackets", {"id": o["id"]}, token=friend.token))["order"]
        orders[found["redPacketDiscount"]["amount"]] = found
    assert {k: v["total"]["amount"] for k, v in orders.items()} == {
        "2.98": "117.02",
        "0.02": "199.98",
    }
    assert await balance(api, friend) == "0.00"
    # cancelling the unpaid Phone C order gives back its share only; then Phone A's
    await api.ok("OrderCancel", {"id": orders["0.02"]["id"]}, token=friend.token)
    assert await balance(api, friend) == "0.02"
    await api.ok("OrderCancel", {"id": orders["2.98"]["id"]}, token=friend.token)
    assert await balance(api, friend) == "3.00"


FIELDS = (
    "redPacketBalance { amount }",
    "redPackets(first: 5) { totalCount }",
    "redPacketGrants(first: 5) { totalCount }",
)


async def test_a_customers_red_packets_are_theirs_alone(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    """Authorization (review finding: only the platform admin reading the balance was
    tested): another customer can neither share a customer's packet nor read their packets,
    grants or balance; platform staff and the selling merchant's staff cannot read them
    either."""
    shop = await open_shop(api, engine)
    sharer = await shopper(api, "13800138101", [(shop.sku_b, 1)])
    paid = await pay(api, sharer, await place(api, sharer))
    order_id = paid["orders"][0]["id"]
    other = await shopper(api, "13800138102", [(shop.sku_a, 1)])

    stolen = await api.op("RedPacketShare", {"orderId": order_id}, token=other.token)
    assert [e["code"] for e in stolen["data"]["redPacketShare"]["userErrors"]] == ["NOT_FOUND"]
    staff = await api.post(
        operation("RedPacketShare"), {"orderId": order_id}, token=api.admin_token
    )
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await share(api, sharer, order_id)  # the sharer still can: nothing was taken

    customer = (await mine(api, sharer))["id"]
    _, seller = await merchant_staff(
        engine,
        settings,
        clock,
        shop.merchant,
        email="seller@shop.example",
        permissions=["MANAGE_ORDERS"],
    )
    for field in FIELDS:
        node = f"query($id: ID!) {{ node(id: $id) {{ ... on Customer {{ {field} }} }} }}"
        peek = await api.post(node, {"id": customer}, token=other.token)
        assert peek["data"]["node"] is None, field  # another customer's: not there for them
        peek = await api.post(node, {"id": customer}, token=api.admin_token)
        assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN", field
        via = f"query($id: ID!) {{ order(id: $id) {{ customer {{ {field} }} }} }}"
        peek = await api.post(via, {"id": order_id}, token=seller)
        assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN", field
