"""Presale (定金预售, DOMAIN.md §4 DEPOSIT and §7; issue 7): the deposit is paid at checkout, the
balance in the promotion's balance window; an unpaid balance forfeits the deposit and releases
the stock."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.ids import decode_id
from services import inventory
from tests.api.checkout_data import Shop
from tests.api.checkout_data import Shopper
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.checkout_data import stock_of
from tests.api.test_promotions import APRIL
from tests.api.test_promotions import live
from tests.conftest import Api

# issue 20: every rule on both databases (SQLite is the newcomer's default)
pytestmark = pytest.mark.sqlite_too

PRESALE_ORDER = """
query Presale($id: ID!) {
  order(id: $id) {
    status total { amount } depositAmount { amount } cancelReason balanceStartsAt balanceEndsAt
    payment { id kind status amountDue { amount } }
    balancePayment { id kind status amountDue { amount } opensAt expiresAt }
  }
}"""


async def presale(
    api: Api, engine: AsyncEngine, phone: str = "13900004441"
) -> tuple[Shop, Shopper, dict[str, Any]]:
    """Phone A (120.00) on presale: deposit 50 worth 100, balance 2026-05-02 … 05-15."""
    shop = await open_shop(api, engine)
    await live(
        api,
        {
            "name": "A 预售",
            "type": "DEPOSIT",
            "startsAt": APRIL[0],
            "endsAt": APRIL[1],
            "scope": {"skuIds": [shop.sku_a]},
            "rules": {
                "deposit": {
                    "deposit": "50",
                    "depositWorth": "100",
                    "balanceStartsAt": "2026-05-02T00:00:00Z",
                    "balanceEndsAt": "2026-05-15T00:00:00Z",
                }
            },
        },
    )
    who = await shopper(api, phone, [(shop.sku_a, 1)])
    return shop, who, await place(api, who)


async def order_of(api: Api, who: Shopper, payment: dict[str, Any]) -> dict[str, Any]:
    found = await api.post(PRESALE_ORDER, {"id": payment["orders"][0]["id"]}, token=who.token)
    assert "errors" not in found, found
    return found["data"]["order"]


async def pay_balance(api: Api, who: Shopper, balance: dict[str, Any]) -> dict[str, Any]:
    return await api.op(
        "PaymentConfirm",
        {
            "paymentId": balance["id"],
            "transactionId": "bal",
            "amount": balance["amountDue"]["amount"],
        },
        token=who.token,
    )


async def test_deposit_now_balance_in_its_window(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop, who, deposit = await presale(api, engine)
    # 120 − (100 − 50) = 70, + 10 shipping (under 99): 80 in all, 50 now, 30 later
    assert deposit["amountDue"]["amount"] == "50.00"
    order = await order_of(api, who, deposit)
    assert order["total"]["amount"] == "80.00" and order["depositAmount"]["amount"] == "50.00"
    assert order["payment"]["kind"] == "DEPOSIT"
    balance = order["balancePayment"]
    assert (
        balance["kind"],
        balance["amountDue"]["amount"],
        balance["opensAt"],
        balance["expiresAt"],
    ) == ("BALANCE", "30.00", "2026-05-02T00:00:00Z", "2026-05-15T00:00:00Z")
    early = await pay_balance(api, who, balance)
    assert early["data"]["paymentConfirm"]["userErrors"][0]["code"] == "BALANCE_NOT_DUE"

    await pay(api, who, deposit)
    order = await order_of(api, who, deposit)
    # 待付尾款: the deposit is in, the balance window is on the order
    assert order["status"] == "AWAITING_BALANCE" and order["payment"]["status"] == "PAID"
    assert (order["balanceStartsAt"], order["balanceEndsAt"]) == (
        "2026-05-02T00:00:00Z",
        "2026-05-15T00:00:00Z",
    )
    awaiting = (await api.ok("MyOrders", {"status": "AWAITING_BALANCE"}, token=who.token))["me"]
    assert awaiting["orders"]["totalCount"] == 1
    still_early = await pay_balance(api, who, balance)
    assert still_early["data"]["paymentConfirm"]["userErrors"][0]["code"] == "BALANCE_NOT_DUE"

    clock.set(datetime(2026, 5, 3, tzinfo=UTC))  # the deposit's 30 minutes are long gone…
    async with create_session_factory(engine)() as s:
        assert await inventory.sweep_expired(s, clock.now()) == 0  # …but the stock is held
    assert await stock_of(engine, shop.sku_a) == (10, 1)
    paid = await pay_balance(api, who, balance)
    assert paid["data"]["paymentConfirm"]["userErrors"] == []
    order = await order_of(api, who, deposit)
    assert order["status"] == "PAID" and order["balancePayment"]["status"] == "PAID"
    clock.set(datetime(2026, 5, 20, tzinfo=UTC))
    async with create_session_factory(engine)() as s:  # paid: committed, never expires
        assert await inventory.sweep_expired(s, clock.now()) == 0
    assert await stock_of(engine, shop.sku_a) == (10, 1)


async def test_unpaid_balance_forfeits_the_deposit_and_frees_the_stock(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    shop, who, deposit = await presale(api, engine)
    await pay(api, who, deposit)
    clock.set(datetime(2026, 5, 15, 0, 1, tzinfo=UTC))
    async with create_session_factory(engine)() as s:
        assert await inventory.sweep_expired(s, clock.now()) == 1
    order = await order_of(api, who, deposit)
    assert order["status"] == "CANCELLED" and "forfeited" in order["cancelReason"]
    assert order["payment"]["status"] == "PAID"  # the deposit is kept
    assert order["balancePayment"]["status"] == "EXPIRED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)


async def test_a_presale_checks_out_on_its_own(api: Api, engine: AsyncEngine) -> None:
    shop, who, _ = await presale(api, engine)
    await api.ok(
        "CartLinesAdd",
        {
            "cartId": who.cart_id,
            "lines": [{"skuId": shop.sku_a, "quantity": 1}, {"skuId": shop.sku_b, "quantity": 1}],
        },
        token=who.token,
    )
    mixed = await api.op(
        "CheckoutComplete",
        {"input": {"cartId": who.cart_id, "addressId": who.address_id}, "idempotencyKey": "mixed"},
        token=who.token,
    )
    assert mixed["data"]["checkoutComplete"]["userErrors"][0]["code"] == "PRESALE_ALONE"


async def test_cancelling_after_the_deposit_forfeits_it(api: Api, engine: AsyncEngine) -> None:
    shop, who, deposit = await presale(api, engine)
    await pay(api, who, deposit)
    done = await api.ok("OrderCancel", {"id": deposit["orders"][0]["id"]}, token=who.token)
    assert done["orderCancel"]["order"]["status"] == "CANCELLED"
    order = await order_of(api, who, deposit)
    assert order["payment"]["status"] == "PAID"
    assert order["balancePayment"]["status"] == "CANCELLED"
    assert await stock_of(engine, shop.sku_a) == (10, 0)


async def test_a_paid_presale_is_refunded_across_balance_and_deposit(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """80.00 came in two payments (50 deposit, 30 balance): cancelling after payment pays
    back all of it, the balance's 30 on its transaction and the deposit's 50 on its own."""
    from sqlalchemy import select

    from core.ids import decode_id
    from models import Payment
    from models.payments import ProviderRefund

    _, who, deposit = await presale(api, engine, "13900004442")
    await pay(api, who, deposit)
    clock.set(datetime(2026, 5, 3, tzinfo=UTC))
    balance = (await order_of(api, who, deposit))["balancePayment"]
    assert (await pay_balance(api, who, balance))["data"]["paymentConfirm"]["userErrors"] == []
    done = await api.admin(
        "OrderCancel", {"id": deposit["orders"][0]["id"], "reason": "out of stock"}
    )
    assert done["orderCancel"]["userErrors"] == []
    async with create_session_factory(engine)() as s:
        rows = (await s.scalars(select(ProviderRefund).order_by(ProviderRefund.id))).all()
        assert [r.amount for r in rows] == [3000, 5000]
        for gid, refunded in ((balance["id"], 3000), (deposit["id"], 5000)):
            payment = await s.get(Payment, decode_id(gid)[1])
            assert payment is not None and payment.amount_refunded == refunded
    order = await order_of(api, who, deposit)
    assert order["status"] == "CANCELLED"


async def test_balance_due_is_told_once_when_the_window_opens(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """The sweeper publishes BALANCE_DUE (尾款提醒) for a deposit-paid presale once its balance
    window is open: to in-process subscribers after commit and into the order-event outbox,
    once however often it runs."""
    from models import OrderEvent
    from services import events
    from services import housekeeping
    from services import order_events

    _, who, deposit = await presale(api, engine)
    factory = create_session_factory(engine)
    heard: list[events.DomainEvent] = []
    unsubscribe = events.subscribe(order_events.BALANCE_DUE, heard.append)
    try:
        await pay(api, who, deposit)
        assert (await housekeeping.sweep(factory, clock.now(), 7)).reminded == 0  # not yet
        clock.set(datetime(2026, 5, 2, 0, 0, 1, tzinfo=UTC))
        assert (await housekeeping.sweep(factory, clock.now(), 7)).reminded == 1
        assert (await housekeeping.sweep(factory, clock.now(), 7)).reminded == 0  # told once
    finally:
        unsubscribe()
    order = await order_of(api, who, deposit)
    balance = order["balancePayment"]
    (told,) = heard
    assert told.data["kind"] == "BALANCE_DUE"
    assert told.data["balanceDue"] == "30.00" and told.data["closesAt"].startswith("2026-05-15")
    assert told.data["balancePaymentId"] == decode_id(balance["id"])[1]
    async with factory() as s:
        (row,) = await order_events.after(s, 0)
        assert row.order_id == decode_id(deposit["orders"][0]["id"])[1]
        assert await order_events.after(s, row.id) == []
        assert isinstance(row, OrderEvent)
