"""Accounts (DOMAIN.md §9, issue 3): sign-up, login, token rotation, addresses, throttling,
the guest-cart hand-over, staff permissions and merchant scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from core.settings import Settings
from models import Cart
from models import CartLine
from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.api.staff_data import merchant_staff
from tests.conftest import STAFF_PASSWORD
from tests.conftest import Api
from tests.conftest import make_staff

PASSWORD = "secret-pass-9"


async def register(
    api: Api, phone: str = "13800138000", email: str | None = None, name: str = "小明"
) -> dict:
    data = await api.ok(
        "Register", {"input": {"name": name, "phone": phone, "email": email, "password": PASSWORD}}
    )
    return data["customerRegister"]


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_register_login_me_address_flow(api: Api) -> None:
    registered = await register(api, email="ming@example.com")
    assert registered["customer"]["name"] == "小明" and registered["accessToken"]
    login = await api.ok("Login", {"login": "ming@example.com", "password": PASSWORD})
    token = login["tokenCreate"]["accessToken"]
    by_phone = await api.ok("Login", {"login": "138 0013 8000", "password": PASSWORD})
    assert by_phone["tokenCreate"]["accessToken"]
    first = await api.ok(
        "AddressCreate",
        {
            "input": {
                "name": "小明",
                "phone": "13800138000",
                "province": "上海",
                "city": "上海市",
                "district": "浦东新区",
                "line1": "世纪大道 1 号",
                "postalCode": "200120",
            }
        },
        token=token,
    )
    assert first["addressCreate"]["address"]["isDefault"] is True
    second = await api.ok(
        "AddressCreate",
        {
            "input": {
                "name": "小红",
                "phone": "+8613900139000",
                "province": "北京",
                "city": "北京市",
                "line1": "长安街 1 号",
            }
        },
        token=token,
    )
    assert second["addressCreate"]["address"]["isDefault"] is False
    me = (await api.ok("Me", token=token))["me"]
    assert me["name"] == "小明" and me["memberLevel"] == 0
    assert [a["isDefault"] for a in me["addresses"]] == [True, False]
    assert me["addresses"][1]["phone"] == "13900139000"


async def test_guests_have_no_me_and_cannot_add_addresses(api: Api) -> None:
    assert (await api.ok("Me"))["me"] is None
    result = await api.op("AddressCreate", {"input": {"name": "x"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_refresh_rotates_and_reuse_revokes_the_login(api: Api) -> None:
    registered = await register(api)
    first = registered["refreshToken"]
    assert (await api.ok("TokenRefresh", {"refreshToken": first}))["tokenRefresh"][
        "accessToken"
    ]  # the contract's operation works as written …
    refresh = (
        "mutation($t: String!) { tokenRefresh(refreshToken: $t) { accessToken "
        "refreshToken userErrors { code } } }"
    )
    fresh = await register(api, phone="13900139000")  # … and the rotation hands out a new one
    rotated = (await api.post(refresh, {"t": fresh["refreshToken"]}))["data"]["tokenRefresh"]
    assert rotated["refreshToken"] and rotated["refreshToken"] != fresh["refreshToken"]
    second_use = (await api.post(refresh, {"t": rotated["refreshToken"]}))["data"]["tokenRefresh"]
    assert second_use["userErrors"] == [] and second_use["refreshToken"]
    reuse = (await api.post(refresh, {"t": fresh["refreshToken"]}))["data"]["tokenRefresh"]
    assert reuse["userErrors"] == [{"code": "TOKEN_REUSED"}]
    # The reuse revoked the whole family: the newest token of that login is dead too.
    dead = (await api.post(refresh, {"t": second_use["refreshToken"]}))["data"]["tokenRefresh"]
    assert dead["userErrors"] == [{"code": "INVALID_TOKEN"}]
    again = await api.op("TokenRefresh", {"refreshToken": first})
    assert again["data"]["tokenRefresh"]["userErrors"][0]["code"] == "TOKEN_REUSED"


async def test_refresh_token_rejects_garbage_and_logout_revokes(api: Api) -> None:
    for bad in ["", "abc", "1.wrong", "999.x"]:
        result = await api.op("TokenRefresh", {"refreshToken": bad})
        assert result["data"]["tokenRefresh"]["userErrors"][0]["code"] == "INVALID_TOKEN"
    registered = await register(api)
    revoke = (
        "mutation($t: String!) { tokenRevoke(refreshToken: $t) { revoked userErrors { code } } }"
    )
    assert (await api.post(revoke, {"t": registered["refreshToken"]}))["data"]["tokenRevoke"][
        "revoked"
    ] is True
    result = await api.op("TokenRefresh", {"refreshToken": registered["refreshToken"]})
    assert result["data"]["tokenRefresh"]["userErrors"][0]["code"] == "INVALID_TOKEN"


async def test_expired_access_token_is_refused(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    from app import create_app
    from services.accounts import access_token

    short = Settings(database_url="sqlite+aiosqlite://", access_token_minutes=15)
    token = access_token(short, "customer:1", clock.now())
    app = create_app(settings=short, clock=clock, engine=engine)
    app.state.session_factory = create_session_factory(engine)
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        headers = {"authorization": f"Bearer {token}"}
        ok = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
        assert ok.status_code == 200
        clock.advance(minutes=16)
        expired = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
        assert expired.status_code == 401
        assert expired.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "changes,code,field",
    [
        ({"password": "short1"}, "WEAK_PASSWORD", "password"),
        ({"password": "onlyletters"}, "WEAK_PASSWORD", "password"),
        ({"phone": "12345"}, "INVALID_PHONE", "phone"),
        ({"phone": None, "email": "not-an-email"}, "INVALID_EMAIL", "email"),
        ({"phone": None, "email": None}, "INVALID_INPUT", "phone"),
        ({"name": "  "}, "INVALID_INPUT", "name"),
    ],
)
async def test_registration_rules(api: Api, changes: dict, code: str, field: str) -> None:
    data = {"name": "A", "phone": "13700137000", "email": None, "password": PASSWORD, **changes}
    result = await api.op("Register", {"input": data})
    errors = result["data"]["customerRegister"]["userErrors"]
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in errors
    ]
    assert result["data"]["customerRegister"]["accessToken"] is None


async def test_duplicate_phone_or_email_is_refused(api: Api) -> None:
    await register(api, phone="13800138000", email="a@example.com")
    for phone, email, field in [
        ("13800138000", None, "phone"),
        ("13900139000", "A@Example.com", "email"),
    ]:
        result = await api.op(
            "Register",
            {"input": {"name": "B", "phone": phone, "email": email, "password": PASSWORD}},
        )
        assert result["data"]["customerRegister"]["userErrors"][0] == {
            "field": field,
            "code": "DUPLICATE_ACCOUNT",
            "message": f"An account with this {field} exists.",
        }


async def test_failed_logins_lock_the_account_for_a_while(api: Api, clock: FixedClock) -> None:
    await register(api)
    for _ in range(5):
        wrong = await api.op("Login", {"login": "13800138000", "password": "wrong-pass-1"})
        assert wrong["data"]["tokenCreate"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    locked = await api.op("Login", {"login": "13800138000", "password": PASSWORD})
    error = locked["data"]["tokenCreate"]["userErrors"][0]
    assert error["code"] == "LOGIN_LOCKED" and "15 minute" in error["message"]
    clock.advance(minutes=16)
    assert (await api.ok("Login", {"login": "13800138000", "password": PASSWORD}))["tokenCreate"][
        "accessToken"
    ]


async def test_unknown_login_is_indistinguishable_from_wrong_password(api: Api) -> None:
    result = await api.op("Login", {"login": "nobody@example.com", "password": PASSWORD})
    assert result["data"]["tokenCreate"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def _customer(api: Api, phone: str) -> str:
    return (await register(api, phone=phone))["accessToken"]


ADDRESS = {
    "name": "A",
    "phone": "13800138000",
    "province": "浙江",
    "city": "杭州",
    "line1": "西湖区 1 号",
    "postalCode": "310000",
}


async def test_address_default_rules(api: Api, clock: FixedClock) -> None:
    token = await _customer(api, "13800138000")
    ids = []
    for i in range(3):
        clock.advance(minutes=1)
        created = await api.ok(
            "AddressCreate", {"input": {**ADDRESS, "name": f"A{i}"}}, token=token
        )
        ids.append(created["addressCreate"]["address"]["id"])
    set_default = (
        "mutation($id: ID!) { addressSetDefault(id: $id) { address { id isDefault } "
        "userErrors { code } } }"
    )
    await api.post(set_default, {"id": ids[1]}, token=token)
    me = (await api.ok("Me", token=token))["me"]
    assert (me["addresses"][0]["id"], me["addresses"][0]["isDefault"]) == (ids[1], True)
    assert sum(a["isDefault"] for a in me["addresses"]) == 1
    delete = "mutation($id: ID!) { addressDelete(id: $id) { deletedId userErrors { code } } }"
    await api.post(delete, {"id": ids[1]}, token=token)
    me = (await api.ok("Me", token=token))["me"]
    # The most recently added remaining address became the default.
    assert [(a["id"], a["isDefault"]) for a in me["addresses"]] == [(ids[2], True), (ids[0], False)]


@pytest.mark.parametrize(
    "changes,code,field",
    [
        ({"postalCode": "12345"}, "INVALID_POSTAL_CODE", "postalCode"),
        ({"phone": "555"}, "INVALID_PHONE", "phone"),
        ({"phone": None}, "INVALID_PHONE", "phone"),
        ({"line1": None}, "INVALID_INPUT", "line1"),
    ],
)
async def test_address_validation(api: Api, changes: dict, code: str, field: str) -> None:
    token = await _customer(api, "13800138000")
    result = await api.op("AddressCreate", {"input": {**ADDRESS, **changes}}, token=token)
    errors = result["data"]["addressCreate"]["userErrors"]
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in errors
    ]
    assert (await api.ok("Me", token=token))["me"]["addresses"] == []


async def test_customers_cannot_touch_each_others_addresses(api: Api) -> None:
    alice = await _customer(api, "13800138000")
    bob = await _customer(api, "13900139000")
    address = (await api.ok("AddressCreate", {"input": ADDRESS}, token=alice))["addressCreate"][
        "address"
    ]["id"]
    delete = "mutation($id: ID!) { addressDelete(id: $id) { deletedId userErrors { code } } }"
    result = await api.post(delete, {"id": address}, token=bob)
    assert result["data"]["addressDelete"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert len((await api.ok("Me", token=alice))["me"]["addresses"]) == 1


async def test_customer_token_on_admin_mutation_is_forbidden(api: Api) -> None:
    token = await _customer(api, "13800138000")
    result = await api.op("BrandCreate", {"input": {"name": "Sneaky"}}, token=token)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert result["data"] is None
    brands = await api.post("{ brands { name } }")
    assert brands["data"]["brands"] == []


async def test_merchant_staff_see_and_change_only_their_merchant(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    c = await build_catalog(api)
    mine = await add_product(
        api, c, "mine", phone_input(c, "Mine", "Apple", ["1.00"], code="MINE"), listed=False
    )
    theirs_input = phone_input(c, "Theirs", "Apple", ["1.00"], code="THEIRS")
    theirs_input["merchantId"], theirs_input["shippingTemplateId"] = c.other_merchant, None
    theirs = await add_product(api, c, "theirs", theirs_input, listed=False)
    token = await other_merchant_cataloguer(engine, settings, clock, c)
    listing = await api.ok("AdminProducts", {}, token=token)
    assert [e["node"]["title"] for e in listing["adminProducts"]["edges"]] == ["Theirs"]
    update = await api.op(
        "ProductUpdate", {"id": mine["id"], "input": {"title": "Hacked"}}, token=token
    )
    assert update["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # the policy's owner check
    read = await api.post(
        "query($id: ID!) { product(id: $id) { title } }", {"id": mine["id"]}, token=token
    )
    assert read["data"]["product"] is None  # another merchant's draft stays invisible
    own = await api.op(
        "ProductUpdate", {"id": theirs["id"], "input": {"title": "Ours now"}}, token=token
    )
    assert own["data"]["productUpdate"]["userErrors"] == []
    staff_view = await api.post(
        "query($id: ID!) { product(id: $id) { title } }", {"id": mine["id"]}, token=api.admin_token
    )
    assert staff_view["data"]["product"]["title"] == "Mine"


async def test_merchant_staff_cannot_see_other_merchants_cost_prices(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    c = await build_catalog(api)
    product = await add_product(api, c, "p", phone_input(c, "P", "Apple", ["1.00"], code="P"))
    token = await other_merchant_cataloguer(engine, settings, clock, c)
    query = "query($id: ID!) { product(id: $id) { skus { costPrice { amount } } } }"
    result = await api.post(query, {"id": product["id"]}, token=token)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.sqlite_too  # a contract flow, also on the newcomer's SQLite
async def test_staff_and_roles_as_written(api: Api) -> None:
    role = await api.admin(
        "RoleCreate", {"input": {"name": "Catalog editor", "permissions": ["MANAGE_CATALOG"]}}
    )
    role_data = role["roleCreate"]["role"]
    assert role_data["permissions"] == ["MANAGE_CATALOG"]
    staff = await api.admin(
        "StaffCreate",
        {
            "input": {
                "email": "Editor@Example.com",
                "name": "Editor",
                "password": "editor-pass-1",
                "roleIds": [role_data["id"]],
            }
        },
    )
    assert staff["staffCreate"]["staff"]["email"] == "editor@example.com"
    login = await api.post(
        'mutation { staffTokenCreate(email: "editor@example.com", '
        'password: "editor-pass-1") { accessToken userErrors { code } } }'
    )
    token = login["data"]["staffTokenCreate"]["accessToken"]
    ok = await api.op("BrandCreate", {"input": {"name": "Anta"}}, token=token)
    assert ok["data"]["brandCreate"]["brand"]["name"] == "Anta"
    denied = await api.op(
        "RoleCreate", {"input": {"name": "x", "permissions": ["MANAGE_STAFF"]}}, token=token
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    duplicate = await api.op(
        "StaffCreate",
        {
            "input": {
                "email": "editor@example.com",
                "name": "E2",
                "password": "editor-pass-1",
                "roleIds": [],
            }
        },
        token=api.admin_token,
    )
    assert duplicate["data"]["staffCreate"]["userErrors"][0]["code"] == "DUPLICATE_ACCOUNT"


async def other_merchant_cataloguer(
    engine: AsyncEngine, settings: Settings, clock: FixedClock, c: Catalog
) -> str:
    """A token of staff who manage the catalog of the catalog's other merchant only."""
    _, token = await merchant_staff(
        engine,
        settings,
        clock,
        c.other_merchant,
        email="shop@b.example",
        permissions=["MANAGE_CATALOG"],
    )
    return token


async def test_login_merges_the_guest_cart(api: Api, engine: AsyncEngine) -> None:
    c = await build_catalog(api)
    product = await add_product(
        api, c, "p", phone_input(c, "P", "Apple", ["1.00", "2.00"], code="P")
    )
    detail = await api.ok("ProductDetail", {"id": product["id"]})
    from core.ids import decode_id

    sku_a, sku_b = (decode_id(s["id"])[1] for s in detail["product"]["skus"])
    registered = await register(api)
    customer_id = decode_id(registered["customer"]["id"])[1]
    async with create_session_factory(engine)() as s:
        own = Cart(token="own-cart-token", customer_id=customer_id)
        guest = Cart(token="guest-cart-token")
        s.add_all([own, guest])
        await s.flush()
        s.add_all(
            [
                CartLine(cart_id=own.id, sku_id=sku_a, quantity=60),
                CartLine(cart_id=guest.id, sku_id=sku_a, quantity=50),
                CartLine(cart_id=guest.id, sku_id=sku_b, quantity=2),
            ]
        )
        await s.commit()
    login = (
        "mutation($l: String!, $p: String!, $g: String) { tokenCreate(login: $l, "
        "password: $p, guestCartId: $g) { accessToken userErrors { code } } }"
    )
    result = await api.post(login, {"l": "13800138000", "p": PASSWORD, "g": "guest-cart-token"})
    assert result["data"]["tokenCreate"]["userErrors"] == []
    async with create_session_factory(engine)() as s:
        lines = dict(
            (
                await s.execute(
                    select(CartLine.sku_id, CartLine.quantity)
                    .join(Cart)
                    .where(Cart.token == "own-cart-token")
                )
            ).all()
        )
        assert lines == {sku_a: 99, sku_b: 2}  # 60 + 50 capped at 99; the other line moved
        open_guest = await s.scalar(
            select(func.count())
            .select_from(Cart)
            .where(Cart.token == "guest-cart-token", Cart.is_open.is_(True))
        )
        assert open_guest == 0


async def test_staff_login_is_throttled_too(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    await make_staff(engine, settings, clock, email="ops@example.com", permissions=[])
    query = (
        'mutation($p: String!) { staffTokenCreate(email: "ops@example.com", password: $p)'
        " { accessToken userErrors { code } } }"
    )
    for _ in range(5):
        await api.post(query, {"p": "nope-nope-1"})
    locked = await api.post(query, {"p": STAFF_PASSWORD})
    assert locked["data"]["staffTokenCreate"]["userErrors"] == [{"code": "LOGIN_LOCKED"}]
    clock.advance(minutes=16)
    ok = await api.post(query, {"p": STAFF_PASSWORD})
    assert ok["data"]["staffTokenCreate"]["accessToken"]


REFRESH = (
    "mutation($t: String!) { tokenRefresh(refreshToken: $t) { accessToken refreshToken "
    "userErrors { field code message } } }"
)
REVOKE = (
    "mutation($t: String!) { tokenRevoke(refreshToken: $t) { revoked "
    "userErrors { field code message } } }"
)


async def test_a_wrong_secret_neither_revokes_nor_refreshes(api: Api) -> None:
    token = (await register(api))["refreshToken"]
    token_id, _, secret = token.partition(".")
    forged = f"{token_id}.{'A' * len(secret)}"
    unknown = f"{int(token_id) + 1000}.{secret}"
    for mutation, field in ((REVOKE, "tokenRevoke"), (REFRESH, "tokenRefresh")):
        refused = (await api.post(mutation, {"t": forged}))["data"][field]
        # Word for word what an unknown token gets: the answer tells nothing about the id.
        assert refused == (await api.post(mutation, {"t": unknown}))["data"][field]
        assert refused["userErrors"][0]["code"] == "INVALID_TOKEN"
    # Nothing happened to the login: the real token still rotates.
    rotated = (await api.post(REFRESH, {"t": token}))["data"]["tokenRefresh"]
    assert rotated["userErrors"] == [] and rotated["refreshToken"]


async def test_a_spent_token_with_a_wrong_secret_revokes_nothing(api: Api) -> None:
    spent = (await register(api))["refreshToken"]
    current = (await api.post(REFRESH, {"t": spent}))["data"]["tokenRefresh"]["refreshToken"]
    spent_id = spent.partition(".")[0]
    guess = (await api.post(REFRESH, {"t": f"{spent_id}.not-the-secret"}))["data"]["tokenRefresh"]
    assert guess["userErrors"][0]["code"] == "INVALID_TOKEN"  # not TOKEN_REUSED
    assert (await api.post(REVOKE, {"t": f"{spent_id}.not-the-secret"}))["data"]["tokenRevoke"][
        "revoked"
    ] is False
    still = (await api.post(REFRESH, {"t": current}))["data"]["tokenRefresh"]
    assert still["userErrors"] == [] and still["refreshToken"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "abc",
        "1.",
        ".x",
        "1.x.y",
        "-1.x",
        " 1.x",
        "1.x\n",
        "9223372036854775808.x",
        "99999999999999999999999999.x",
        "٣.x",
        "².x",
        "1." + "x" * 200,
    ],
)
async def test_malformed_refresh_tokens_are_user_errors(api: Api, bad: str) -> None:
    for mutation, field in ((REVOKE, "tokenRevoke"), (REFRESH, "tokenRefresh")):
        result = await api.post(mutation, {"t": bad})
        assert "errors" not in result, result  # never INTERNAL_ERROR
        assert result["data"][field]["userErrors"][0]["code"] == "INVALID_TOKEN"
    revoked = await api.post(REVOKE, {"t": bad})
    assert revoked["data"]["tokenRevoke"]["revoked"] is False
