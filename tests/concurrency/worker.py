"""A separate OS process hammering the reservation service, for the concurrency tests and the
benchmark. Prints one JSON line: counts of outcomes and latencies (ms).

    python -m tests.concurrency.worker reserve URL --skus 1 --attempts 250 --concurrency 25
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from core.clock import utcnow
from core.db import create_engine
from core.db import create_session_factory
from services import inventory
from services.errors import DomainError
from services.unit_of_work import in_new_session


async def _reserve_many(
    url: str,
    skus: list[int],
    attempts: int,
    concurrency: int,
    prefix: str,
    start_at: float,
    quantity: int,
) -> dict[str, Any]:
    engine = create_engine(url, pool_size=concurrency)
    factory = create_session_factory(engine)
    outcomes: dict[str, int] = {"ok": 0, "insufficient": 0}
    errors: list[str] = []
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(attempts):
        queue.put_nowait(i)

    async def one(i: int) -> None:
        lines = [(sku, quantity) for sku in skus]
        start = time.perf_counter()
        try:
            await in_new_session(
                factory, lambda s: inventory.reserve(s, lines, f"{prefix}-{i}", utcnow())
            )
            outcomes["ok"] += 1
        except DomainError as error:
            key = "insufficient" if error.code == "INSUFFICIENT_STOCK" else error.code
            outcomes[key] = outcomes.get(key, 0) + 1
        except Exception as error:  # anything else is a failure the test reports
            errors.append(f"{type(error).__name__}: {error}"[:300])
        latencies.append((time.perf_counter() - start) * 1000)

    async def runner() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    await asyncio.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await engine.dispose()
    return {**outcomes, "errors": errors, "latencies": latencies, "seconds": elapsed}


async def _coupon_calls(
    url: str,
    mode: str,
    template: int,
    customers: list[int],
    times: int,
    code: str,
    start_at: float,
    concurrency: int,
) -> dict[str, Any]:
    """Each customer claims (or redeems `code`) `times` times, all calls concurrent."""
    from services import coupons

    engine = create_engine(url, pool_size=concurrency)
    factory = create_session_factory(engine)
    outcomes: dict[str, int] = {}
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(customer_id: int) -> None:
        async with gate:
            try:
                if mode == "claim":
                    await in_new_session(
                        factory, lambda s: coupons.claim(s, template, customer_id, utcnow())
                    )
                else:
                    await in_new_session(
                        factory, lambda s: coupons.redeem_code(s, code, customer_id, utcnow())
                    )
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except DomainError as error:
                outcomes[error.code] = outcomes.get(error.code, 0) + 1
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}"[:300])

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(one(c) for c in customers for _ in range(times)))
    await engine.dispose()
    return {**outcomes, "errors": errors}


async def _sweep(url: str, start_at: float) -> dict[str, Any]:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    total = 0
    while True:
        async with factory() as session:
            swept = await inventory.sweep_expired(session, utcnow(), batch=10)
        total += swept
        if swept == 0:
            break
    await engine.dispose()
    return {"expired": total}


CHECKOUT = """
mutation CheckoutComplete($input: CheckoutInput!, $idempotencyKey: String!) {
  checkoutComplete(input: $input, idempotencyKey: $idempotencyKey) {
    payment { id status amountDue { amount } orders { id number } }
    userErrors { field code message }
  }
}"""


async def _checkout_calls(
    url: str,
    plan_path: str,
    key_prefix: str,
    expected: str | None,
    repeat: int,
    concurrency: int,
    start_at: float,
) -> dict[str, Any]:
    """This process is one API server (the app in-process) taking checkoutComplete calls
    through GraphQL: each planned customer checks out `repeat` times (same key each time)."""
    import httpx

    from app import create_app
    from core.settings import Settings
    from services.accounts import access_token

    plan = json.loads(Path(plan_path).read_text())
    # The default pool (10 + 10 overflow), as deployed: callers beyond it queue for a
    # connection, and two processes stay well inside PostgreSQL's 100 connections.
    settings = Settings(database_url=url, sweeper_interval_seconds=0, log_level="WARNING")
    app = create_app(settings=settings)
    outcomes: dict[str, int] = {}
    errors: list[str] = []
    payments: list[str] = []
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, customer: dict[str, Any]) -> None:
        token = access_token(settings, f"customer:{customer['id']}", utcnow())
        data: dict[str, Any] = {"cartId": customer["cart"], "addressId": customer["address"]}
        if expected is not None:
            data["expectedTotal"] = expected
        if customer.get("points"):  # points to pay with (services/members.py)
            data["pointsToUse"] = customer["points"]
        if customer.get("redPackets"):  # red packet balance to pay with (services/red_packets.py)
            data["redPacketsToUse"] = customer["redPackets"]
        async with gate:
            start = time.perf_counter()
            response = await client.post(
                "/graphql",
                json={
                    "query": CHECKOUT,
                    "variables": {
                        "input": data,
                        "idempotencyKey": f"{key_prefix}-{customer.get('key', customer['id'])}",
                    },
                },
                headers={"authorization": f"Bearer {token}"},
            )
            latencies.append((time.perf_counter() - start) * 1000)
        body = response.json() if response.status_code < 500 else {}
        if response.status_code >= 500 or "errors" in body:
            errors.append(f"{response.status_code}: {response.text[:300]}")
            return
        answer = body["data"]["checkoutComplete"]
        if answer["userErrors"]:
            code = answer["userErrors"][0]["code"]
            outcomes[code] = outcomes.get(code, 0) + 1
        else:
            outcomes["ok"] = outcomes.get("ok", 0) + 1
            payments.append(answer["payment"]["id"])

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            began = time.perf_counter()
            await asyncio.gather(*(one(client, c) for c in plan for _ in range(repeat)))
            elapsed = time.perf_counter() - began
    return {
        **outcomes,
        "errors": errors,
        "payments": payments,
        "latencies": latencies,
        "seconds": elapsed,
    }


async def _throttled_calls(
    url: str,
    redis_url: str,
    capacity: int,
    times: int,
    query: str,
    start_at: float,
    redis_prefix: str = "zt:",
) -> dict[str, Any]:
    """This process is one API server sharing rate-limit buckets through Redis: send the
    same anonymous query `times` times and count what was let through."""
    import httpx

    from app import create_app
    from core.settings import Settings

    settings = Settings(
        database_url=url,
        sweeper_interval_seconds=0,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        rate_limit_capacity=capacity,
        rate_limit_refill_per_second=0.001,
        log_level="WARNING",
    )
    app = create_app(settings=settings)
    statuses: dict[str, int] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            for _ in range(times):
                response = await client.post("/graphql", json={"query": query})
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
    return {"statuses": statuses, "errors": []}


LOGINS = {
    "customer": "mutation($l: String!, $p: String!) { tokenCreate(login: $l, password: $p) "
    "{ accessToken userErrors { code } } }",
    "staff": "mutation($l: String!, $p: String!) { staffTokenCreate(email: $l, password: $p) "
    "{ accessToken userErrors { code } } }",
}


async def _login_calls(
    url: str, kind: str, login: str, password: str, times: int, client: str, start_at: float
) -> dict[str, Any]:
    """This process is one API server taking `times` concurrent logins from `client`; it
    counts the passwords it actually checked (the real argon2 hasher, wrapped)."""
    import threading

    import httpx

    from app import create_app
    from core.settings import Settings
    from services import accounts

    checked = 0
    count_lock = threading.Lock()
    real = accounts._hasher

    class CountingHasher:
        def verify(self, password_hash: str, password: str) -> bool:
            nonlocal checked
            with count_lock:
                checked += 1
            return real.verify(password_hash, password)

    accounts._hasher = CountingHasher()  # type: ignore[assignment]
    settings = Settings(database_url=url, sweeper_interval_seconds=0, log_level="WARNING")
    app = create_app(settings=settings)
    outcomes: dict[str, int] = {}
    errors: list[str] = []

    async def one(http: httpx.AsyncClient) -> None:
        response = await http.post(
            "/graphql", json={"query": LOGINS[kind], "variables": {"l": login, "p": password}}
        )
        body = response.json() if response.status_code < 500 else {}
        if response.status_code >= 500 or "errors" in body:
            errors.append(f"{response.status_code}: {response.text[:300]}")
            return
        answer = next(iter(body["data"].values()))
        code = answer["userErrors"][0]["code"] if answer["userErrors"] else "ok"
        outcomes[code] = outcomes.get(code, 0) + 1

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            await asyncio.gather(*(one(http) for _ in range(times)))
    return {**outcomes, "checked": checked, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "mode", choices=["reserve", "sweep", "claim", "redeem", "checkout", "throttle", "login"]
    )
    parser.add_argument("url")
    parser.add_argument("--skus", default="1")
    parser.add_argument("--attempts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--prefix", default="w")
    parser.add_argument("--quantity", type=int, default=1)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--template", type=int, default=0)
    parser.add_argument("--customers", default="")  # "first-last"
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--code", default="")
    parser.add_argument("--plan", default="")  # checkout: JSON [{id, cart, address}]
    parser.add_argument("--key", default="k")
    parser.add_argument("--expected", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-prefix", default="zt:")
    parser.add_argument("--capacity", type=int, default=0)
    parser.add_argument("--query", default="")
    parser.add_argument("--kind", default="customer")  # login: customer or staff
    parser.add_argument("--login", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--client", default="127.0.0.1")
    args = parser.parse_args()
    if args.mode == "reserve":
        skus = [int(s) for s in args.skus.split(",")]
        result = asyncio.run(
            _reserve_many(
                args.url,
                skus,
                args.attempts,
                args.concurrency,
                args.prefix,
                args.start_at,
                args.quantity,
            )
        )
    elif args.mode in ("claim", "redeem"):
        first, last = (int(x) for x in args.customers.split("-"))
        result = asyncio.run(
            _coupon_calls(
                args.url,
                args.mode,
                args.template,
                list(range(first, last + 1)),
                args.times,
                args.code,
                args.start_at,
                args.concurrency,
            )
        )
    elif args.mode == "throttle":
        result = asyncio.run(
            _throttled_calls(
                args.url,
                args.redis,
                args.capacity,
                args.times,
                args.query,
                args.start_at,
                args.redis_prefix,
            )
        )
    elif args.mode == "login":
        result = asyncio.run(
            _login_calls(
                args.url,
                args.kind,
                args.login,
                args.password,
                args.times,
                args.client,
                args.start_at,
            )
        )
    elif args.mode == "checkout":
        result = asyncio.run(
            _checkout_calls(
                args.url,
                args.plan,
                args.key,
                args.expected,
                args.repeat,
                args.concurrency,
                args.start_at,
            )
        )
    else:
        result = asyncio.run(_sweep(args.url, args.start_at))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
