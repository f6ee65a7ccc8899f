"""Schema fuzzing, shared by the suite's test (tests/fuzz/test_fuzz.py) and the longer run
(bench/fuzz.py): a world with demo data, strategies that write queries and mutations over the
whole schema with hostile scalars, viewers of every kind, and the verdict on each answer.

The promise checked: whatever is sent, the answer is never a 5xx (save a 503 that says why)
and never carries an INTERNAL_ERROR — hostile input is refused with a code, not a crash."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import graphql
import httpx
import hypothesis_graphql as hg
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from core import changes
from core.clock import Clock
from core.clock import SystemClock
from core.db import create_engine
from core.db import create_session_factory
from core.ids import encode_cursor
from core.ids import encode_id
from core.settings import Settings
from models import Base
from models import Merchant
from models import Sku
from schema import schema
from seed import seed_demo
from services.accounts import Permission
from tests.api.checkout_data import ADDRESS
from tests.conftest import cheap_password_hashing
from tests.conftest import make_staff
from tests.contract import operation

ROLES = ("guest", "customer", "merchant", "admin")
# A 503 is allowed only when it says why (database down, deadline): never a bare crash.
UNAVAILABLE_CODES = {"SERVICE_UNAVAILABLE", "TIMEOUT"}
ALL_PERMISSIONS = [p.value for p in Permission]
MERCHANT_PERMISSIONS = [p.value for p in Permission if p is not Permission.MANAGE_STAFF]


# --- the world -------------------------------------------------------------------------------


@dataclass
class World:
    tokens: dict[str, str | None]  # role → bearer token (None: a guest)
    ids: list[str]  # real global ids of every Node type, refreshed as the fuzzer makes more


async def _post(
    client: httpx.AsyncClient, name: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """A contract operation for setting the world up; it must succeed."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql",
        headers=headers,
        json={"query": operation(name), "variables": variables, "operationName": name},
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert not payload.get("userErrors"), payload
    return payload


async def build_world(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    client: httpx.AsyncClient,
    products_per_leaf: int,
) -> World:
    """Demo data, a platform admin, a merchant's staff member and a customer with an address,
    a cart and a placed order, so real ids of most kinds exist."""
    factory = create_session_factory(engine)
    async with factory() as session:
        await seed_demo(session, products_per_leaf=products_per_leaf)
        merchant = await session.scalar(select(Merchant.id).order_by(Merchant.id.desc()))
        skus = (await session.scalars(select(Sku.id).order_by(Sku.id).limit(2))).all()
    _, admin = await make_staff(
        engine, settings, clock, email="fuzz-admin@test.example", permissions=ALL_PERMISSIONS
    )
    _, staff = await make_staff(
        engine,
        settings,
        clock,
        email="fuzz-merchant@test.example",
        permissions=MERCHANT_PERMISSIONS,
        merchant_id=merchant,
    )
    customer = (
        await _post(
            client,
            "Register",
            {"input": {"name": "Fuzz", "phone": "13900139000", "password": "secret-pass-9"}},
        )
    )["accessToken"]
    address = (await _post(client, "AddressCreate", {"input": ADDRESS}, customer))["address"]["id"]
    cart = (
        await _post(
            client,
            "CartCreate",
            {"lines": [{"skuId": encode_id("Sku", s), "quantity": 1} for s in skus]},
            customer,
        )
    )["cart"]["id"]
    await _post(
        client,
        "CheckoutComplete",
        {"input": {"cartId": cart, "addressId": address}, "idempotencyKey": "fuzz-1"},
        customer,
    )
    await _post(
        client,
        "CartCreate",
        {"lines": [{"skuId": encode_id("Sku", skus[0]), "quantity": 2}]},
        customer,
    )  # one left open
    world = World({"guest": None, "customer": customer, "merchant": staff, "admin": admin}, [])
    await refresh_ids(engine, world)
    return world


async def refresh_ids(engine: AsyncEngine, world: World, per_type: int = 40) -> None:
    """The newest ids of every model with a global id (mutations keep making more)."""
    found: list[str] = []
    async with create_session_factory(engine)() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            kind = getattr(model, "node_type", None)
            if kind is None:
                continue
            pks = (
                await session.scalars(select(model.id).order_by(model.id.desc()).limit(per_type))
            ).all()
            found += [encode_id(kind, pk) for pk in pks]
    world.ids[:] = found


# --- strategies ------------------------------------------------------------------------------

NODE_TYPES = [
    "Product",
    "Sku",
    "DisplayCategory",
    "Brand",
    "Category",
    "Attribute",
    "Merchant",
    "ShippingTemplate",
    "Promotion",
    "CouponTemplate",
    "Coupon",
    "Order",
    "OrderLine",
    "Shipment",
    "Refund",
    "Payment",
    "Customer",
    "Address",
    "Staff",
    "Role",
    "AuditEntry",
    "Warehouse",
    "Page",
    "PageModule",
    "Cart",
    "CartLine",
    "Nope",
]
PLAIN = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "true",
    "null",
    "13800138000",
    "a@b.cn",
    "%",
    "_",
    "\\",
    "'; DROP TABLE product; --",
    "<script>alert(1)</script>",
    "${x}",
    "../../etc/passwd",
    "手机",
    "Phone",
    "🎉",
    "ZTC-ABCD-1234",
    "2026-04-10T08:00:00Z",
    "2026-04-10",
]
# Control characters, NUL bytes, lone surrogates and over-long strings: refused at the edge
# as BAD_USER_INPUT (schema/input_hygiene.py), never a database error.
HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\x1b[31m",
    "\x7f",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\t",
    "\u0085",
]


def texts(hostile: bool) -> st.SearchStrategy[str]:
    """Strings a client might send, from plausible to hostile."""
    letters = st.characters(
        codec=None if hostile else "utf-8", exclude_categories=() if hostile else ("Cc", "Cs")
    )
    made = [
        st.sampled_from(PLAIN),
        st.text(letters, max_size=40),
        st.integers(0, 10**6).map(encode_cursor),
    ]
    if hostile:
        made += [
            st.sampled_from(HOSTILE),
            st.builds(
                str.__mul__,
                st.sampled_from(["a", "中", "😀", "\x00", "\ud83d"]),
                st.integers(256, 120_000),
            ),
        ]
    return st.one_of(made)


def _string(text: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=text)


def _ids(world: World, hostile: bool) -> st.SearchStrategy[graphql.ValueNode]:
    """Real ids of the world (looked up when drawn: the list grows), ids of every type with any
    key, and junk."""
    real = st.integers(0, 10**6).map(lambda i: world.ids[i % len(world.ids)] if world.ids else "")
    made = st.builds(
        encode_id,
        st.sampled_from(NODE_TYPES),
        st.one_of(st.integers(0, 100), st.integers(0, 2**63 - 1)),
    )
    strings = st.one_of(real, real, made, texts(hostile)).map(_string)
    numbers = st.integers(-(2**70), 2**70).map(lambda n: graphql.IntValueNode(value=str(n)))
    return strings | numbers


def _decimals(hostile: bool) -> st.SearchStrategy[graphql.ValueNode]:
    words = st.sampled_from(
        [
            "0",
            "0.00",
            "-0",
            "0.001",
            "129.00",
            "-1",
            "1e2",
            "1E+999999",
            "99999999999999999999.99",
            "NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            " 12.5 ",
            "1,000",
            "12.345",
            "0x10",
        ]
    )
    numbers = st.decimals(allow_nan=True, allow_infinity=True).map(str)
    return st.one_of(
        st.one_of(words, numbers, texts(hostile)).map(_string),
        st.integers(-(2**40), 2**40).map(lambda n: graphql.IntValueNode(value=str(n))),
        st.floats(allow_nan=False, allow_infinity=False).map(
            lambda f: graphql.FloatValueNode(value=repr(f))
        ),
    )


def _datetimes(hostile: bool) -> st.SearchStrategy[graphql.ValueNode]:
    stamps = st.datetimes().map(lambda d: d.isoformat())
    zoned = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    edges = st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-04-10T08:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-04-10",
            "T",
            "Z",
            "2026-04-10T08:00:00+25:00",
        ]
    )
    return st.one_of(stamps, zoned, edges, texts(hostile)).map(_string) | st.integers(
        -(2**31), 2**31 - 1
    ).map(lambda n: graphql.IntValueNode(value=str(n)))


def _dates(hostile: bool) -> st.SearchStrategy[graphql.ValueNode]:
    edges = st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-29", "2026-4-1", "20260410"])
    return st.one_of(st.dates().map(lambda d: d.isoformat()), edges, texts(hostile)).map(_string)


def _json_values(hostile: bool) -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        texts(hostile).map(_string),
        st.just(graphql.NullValueNode()),
        st.booleans().map(lambda b: graphql.BooleanValueNode(value=b)),
        st.integers(-(2**70), 2**70).map(lambda n: graphql.IntValueNode(value=str(n))),
    )

    def nested(inner: st.SearchStrategy[graphql.ValueNode]) -> st.SearchStrategy[graphql.ValueNode]:
        lists = st.lists(inner, max_size=4).map(lambda v: graphql.ListValueNode(values=tuple(v)))
        objects = st.dictionaries(
            st.from_regex(r"[A-Za-z_]\w{0,8}", fullmatch=True), inner, max_size=4
        ).map(
            lambda d: graphql.ObjectValueNode(
                fields=tuple(
                    graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                    for k, v in d.items()
                )
            )
        )
        return lists | objects

    return st.recursive(leaves, nested, max_leaves=10)


def scalar_strategies(world: World, hostile: bool) -> dict[str, st.SearchStrategy[Any]]:
    ints = [st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)])]
    if hostile:
        ints.append(st.integers(-(2**70), 2**70))  # over int32: refused by validation
    return {
        "ID": _ids(world, hostile),
        "String": texts(hostile).map(_string),
        "Int": st.one_of(ints).map(lambda n: graphql.IntValueNode(value=str(n))),
        "Decimal": _decimals(hostile),
        "DateTime": _datetimes(hostile),
        "Date": _dates(hostile),
        "JSON": _json_values(hostile),
    }


def documents(sdl: str, world: World, hostile: bool) -> st.SearchStrategy[str]:
    """Valid queries and mutations over every root field (half and half)."""
    scalars = scalar_strategies(world, hostile)
    return st.one_of(
        hg.queries(sdl, custom_scalars=scalars), hg.mutations(sdl, custom_scalars=scalars)
    )


# --- sending and judging ---------------------------------------------------------------------


class CapturedErrors(logging.Handler):
    """Keeps the tracebacks the error masker logs, so a finding names its cause."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(logging.Formatter().formatException(record.exc_info))
        self.seen.append(text)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


@dataclass
class Finding:
    role: str
    status: int
    codes: list[str]
    document: str
    detail: str

    def __str__(self) -> str:
        return (
            f"[{self.role}] HTTP {self.status} {self.codes}\n{self.document[:1500]}\n"
            f"{self.detail[-3000:]}"
        )


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    connections_kept: int = 0  # checked out of the pool after the last answer: leaked
    started: float = field(default_factory=time.perf_counter)

    def summary(self) -> str:
        lines = [
            f"requests sent: {self.sent} in {time.perf_counter() - self.started:.1f} s",
            "by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
            "by error code: "
            + (", ".join(f"{c}: {n}" for c, n in self.codes.most_common()) or "none"),
            f"findings: {len(self.findings)}",
            f"connections not returned to the pool: {self.connections_kept}",
        ]
        return "\n".join(lines)


def encode(document: str) -> bytes:
    """JSON with \\u escapes, as a browser sends it: lone surrogates cannot travel as UTF-8."""
    return json.dumps({"query": document}, ensure_ascii=True).encode()


def error_codes(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return []
    return [str((e.get("extensions") or {}).get("code")) for e in body["errors"]]


def verdict(status: int, codes: list[str]) -> str | None:
    """Why the answer breaks the promise, or None."""
    if "INTERNAL_ERROR" in codes:
        return "INTERNAL_ERROR"
    if status >= 500 and not (status == 503 and codes and set(codes) <= UNAVAILABLE_CODES):
        return f"HTTP {status}"
    return None


async def send(
    client: httpx.AsyncClient,
    tally: Tally,
    captured: CapturedErrors,
    role: str,
    token: str | None,
    document: str,
) -> None:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    captured.take()
    tally.sent += 1
    try:
        response = await client.post("/graphql", content=encode(document), headers=headers)
        status, detail = response.status_code, response.text
        try:
            body = response.json()
        except ValueError:
            body = None
    except Exception as exc:  # the app let an exception out: a server would answer 500
        status, body = 500, None
        detail = f"unhandled {exc!r}\n{traceback.format_exc()}"
    codes = error_codes(body)
    tally.statuses[status] += 1
    tally.codes.update(codes)
    broken = verdict(status, codes)
    if broken is not None:
        tally.findings.append(
            Finding(role, status, codes, document, "\n".join(captured.take()) or detail)
        )


# --- a whole run -----------------------------------------------------------------------------


async def _start(url: str, products_per_leaf: int) -> Run:
    config = Settings(database_url=url, access_token_minutes=60 * 24)
    clock = SystemClock()
    engine = create_engine(url, pool_size=5)
    app = create_app(settings=config, clock=clock, engine=engine)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    # no lifespan events in-process: hear commits as serving does (as tests/conftest.py)
    listener = await changes.start_listening(engine)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fuzz", timeout=60
    )
    world = await build_world(engine, config, clock, client, products_per_leaf)
    return Run(engine, client, world, listener)


@dataclass
class Run:
    engine: AsyncEngine
    client: httpx.AsyncClient
    world: World
    listener: Any

    async def close(self) -> None:
        await self.client.aclose()
        if self.listener is not None:
            self.listener.cancel()
        await self.engine.dispose()


def run_fuzz(
    url: str,
    *,
    examples: int,
    hostile: bool,
    products_per_leaf: int,
    refresh_every: int = 50,
    on_progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Send `examples` generated documents, each as a viewer drawn from ROLES, to a fresh app
    on `url` (a migrated, empty database); blocking, with its own event loop. Deterministic:
    the same arguments send the same documents (mutations' effects aside)."""
    sdl = str(schema)
    tally, captured = Tally(), CapturedErrors()
    errors_log = logging.getLogger("zhongtai.errors")
    errors_log.addHandler(captured)
    # a line per request, and a traceback per refused input, would drown the findings
    quiet = [logging.getLogger(n) for n in ("zhongtai.access", "strawberry.execution")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL)
    with cheap_password_hashing(), asyncio.Runner() as runner:
        run = runner.run(_start(url, products_per_leaf))

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(role=st.sampled_from(ROLES), document=documents(sdl, run.world, hostile))
        def one(role: str, document: str) -> None:
            runner.run(send(run.client, tally, captured, role, run.world.tokens[role], document))
            if tally.sent % refresh_every == 0:
                runner.run(refresh_ids(run.engine, run.world))
                if on_progress is not None:
                    on_progress(tally)

        try:
            one()
        finally:
            # every request over: a connection still out was lost to one of them
            tally.connections_kept = run.engine.pool.checkedout()  # type: ignore[attr-defined]
            runner.run(run.close())
            errors_log.removeHandler(captured)
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)
    return tally
