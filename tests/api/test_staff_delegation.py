"""Staff delegation (DOMAIN.md §9, issue "One authorization model"): nobody grants a
permission they do not hold or reaches outside their own merchant, and a change to what a staff
member may do (deactivation, roles, a role's permissions) refuses their access tokens at the
next request — in every process — instead of at the next refresh."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from core import changes
from core.clock import FixedClock
from core.db import create_engine
from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from services.accounts import Permission
from tests.api.staff_data import merchant_staff
from tests.conftest import Api
from tests.conftest import cut_listener
from tests.conftest import make_staff

ALL = [p.value for p in Permission]
PASSWORD = "staff-pass-22"
TOKENS = "accessToken refreshToken userErrors { code }"


def errors_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The refusal: the policy gate's GraphQL error, else the payload's userErrors."""
    if result.get("data") is None:
        return [{"code": e["extensions"]["code"], "field": None} for e in result["errors"]]
    payload = next(iter(result["data"].values()))
    return payload["userErrors"]


async def role(
    api: Api,
    name: str,
    permissions: list[str],
    token: str | None = None,
    merchant: str | None = None,
) -> str:
    data = await api.ok(
        "RoleCreate",
        {"input": {"name": name, "permissions": permissions, "merchantId": merchant}},
        token=token or api.admin_token,
    )
    return str(data["roleCreate"]["role"]["id"])


async def staff(
    api: Api, email: str, roles: list[str], merchant: str | None = None, token: str | None = None
) -> str:
    data = await api.ok(
        "StaffCreate",
        {
            "input": {
                "email": email,
                "name": email.split("@")[0],
                "password": PASSWORD,
                "roleIds": roles,
                "merchantId": merchant,
            }
        },
        token=token or api.admin_token,
    )
    return str(data["staffCreate"]["staff"]["id"])


async def login(api: Api, email: str) -> tuple[str, str]:
    result = await api.post(
        "mutation($e: String!, $p: String!) { staffTokenCreate(email: $e, "
        f"password: $p) {{ {TOKENS} }} }}",
        {"e": email, "p": PASSWORD},
    )
    tokens = result["data"]["staffTokenCreate"]
    assert tokens["userErrors"] == [], tokens
    return tokens["accessToken"], tokens["refreshToken"]


async def refresh(api: Api, refresh_token: str) -> dict[str, Any]:
    result = await api.post(
        f"mutation($r: String!) {{ tokenRefresh(refreshToken: $r) {{ {TOKENS} }} }}",
        {"r": refresh_token},
    )
    return dict(result["data"]["tokenRefresh"])


async def status_with(api: Api, token: str) -> int:
    result = await api.post("{ __typename }", token=token)
    if api.last_status == 401:
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    return api.last_status


async def brand_create(api: Api, name: str, token: str) -> dict[str, Any]:
    return await api.op("BrandCreate", {"input": {"name": name}}, token=token)


async def audit_actions(api: Api) -> list[dict[str, Any]]:
    data = await api.admin("AuditLog", {"first": 50})
    return [e["node"] for e in data["auditLog"]["edges"]]


async def merchants(api: Api) -> tuple[str, str]:
    ids = []
    for name in ("Shop A", "Shop B"):
        data = await api.admin("MerchantCreate", {"input": {"name": name, "selfOperated": False}})
        ids.append(data["merchantCreate"]["merchant"]["id"])
    return ids[0], ids[1]


async def test_manage_staff_alone_cannot_mint_an_administrator(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    hr_id, hr = await make_staff(
        engine, settings, clock, email="hr@example.com", permissions=["MANAGE_STAFF"]
    )
    everything = await api.op(
        "RoleCreate", {"input": {"name": "God", "permissions": ALL}}, token=hr
    )
    [error] = errors_of(everything)
    assert error["code"] == "FORBIDDEN" and error["field"] == "permissions"
    assert "MANAGE_CATALOG" in error["message"]
    admin_role = await role(api, "Everything", ALL)
    hired = await api.op(
        "StaffCreate",
        {
            "input": {
                "email": "new@example.com",
                "name": "New",
                "password": PASSWORD,
                "roleIds": [admin_role],
            }
        },
        token=hr,
    )
    assert [(e["code"], e["field"]) for e in errors_of(hired)] == [("FORBIDDEN", "roleIds")]
    promoted = await api.op(
        "StaffUpdate",
        {"id": encode_id("Staff", hr_id), "input": {"roleIds": [admin_role]}},
        token=hr,
    )
    assert errors_of(promoted)[0]["code"] == "FORBIDDEN"
    own = await role(api, "Recruiter", ["MANAGE_STAFF"], token=hr)
    widened = await api.op("RoleUpdate", {"id": own, "input": {"permissions": ALL}}, token=hr)
    assert errors_of(widened)[0]["code"] == "FORBIDDEN"
    # nor may they change someone wider than themselves (narrowing is power over others too)
    narrowed = await api.op(
        "RoleUpdate", {"id": admin_role, "input": {"permissions": ["MANAGE_STAFF"]}}, token=hr
    )
    assert errors_of(narrowed)[0]["code"] == "FORBIDDEN"
    admin_id = (await api.admin("StaffList"))["staff"]["edges"][0]["node"]["id"]
    locked = await api.op("StaffDeactivate", {"id": admin_id}, token=hr)
    assert errors_of(locked)[0]["code"] == "FORBIDDEN"
    # within their own permissions they work as before
    await staff(api, "peer@example.com", [own], token=hr)
    actions = [e["action"] for e in await audit_actions(api)]
    assert actions.count("role.create") == 2 and actions.count("staff.create") == 1
    assert "role.update" not in actions and "staff.deactivate" not in actions


async def test_merchant_staff_stay_inside_their_merchant(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    shop_a, shop_b = await merchants(api)
    _, boss = await merchant_staff(
        engine,
        settings,
        clock,
        shop_a,
        email="boss@a.example",
        permissions=["MANAGE_STAFF", "MANAGE_CATALOG"],
    )
    platform_role = await role(api, "Platform editor", ["MANAGE_CATALOG"])
    other_role = await role(api, "B editor", ["MANAGE_CATALOG"], merchant=shop_b)
    other_staff = await staff(api, "clerk@b.example", [other_role], merchant=shop_b)

    wider = await api.op(
        "RoleCreate", {"input": {"name": "Orders", "permissions": ["MANAGE_ORDERS"]}}, token=boss
    )
    assert errors_of(wider)[0]["code"] == "FORBIDDEN"
    elsewhere = await api.op(
        "RoleCreate",
        {"input": {"name": "x", "permissions": ["MANAGE_CATALOG"], "merchantId": shop_b}},
        token=boss,
    )
    assert errors_of(elsewhere)[0]["code"] == "FORBIDDEN"
    own_role = await role(api, "A editor", ["MANAGE_CATALOG"], token=boss)
    other_shop = await api.op(
        "StaffCreate",
        {
            "input": {
                "email": "spy@b.example",
                "name": "Spy",
                "password": PASSWORD,
                "roleIds": [own_role],
                "merchantId": shop_b,
            }
        },
        token=boss,
    )
    assert errors_of(other_shop)[0]["code"] == "FORBIDDEN"
    for foreign in (platform_role, other_role):  # not theirs to see, so not theirs to give
        given = await api.op(
            "StaffCreate",
            {
                "input": {
                    "email": "x@a.example",
                    "name": "X",
                    "password": PASSWORD,
                    "roleIds": [foreign],
                    "merchantId": shop_a,
                }
            },
            token=boss,
        )
        assert [e["code"] for e in errors_of(given)] == ["FORBIDDEN"]  # the policy's gate
        for name, variables in (
            ("RoleUpdate", {"id": foreign, "input": {"name": "Mine"}}),
            ("RoleDelete", {"id": foreign}),
        ):
            assert errors_of(await api.op(name, variables, token=boss))[0]["code"] == "FORBIDDEN"
    clerk = await staff(api, "clerk@a.example", [own_role], merchant=shop_a, token=boss)
    for name, variables in (
        ("StaffDeactivate", {"id": other_staff}),
        ("StaffUpdate", {"id": other_staff, "input": {"name": "Mine"}}),
    ):
        assert errors_of(await api.op(name, variables, token=boss))[0]["code"] == "FORBIDDEN"

    listed = (await api.ok("StaffList", token=boss))["staff"]
    assert {e["node"]["email"] for e in listed["edges"]} == {"boss@a.example", "clerk@a.example"}
    assert [r["name"] for r in (await api.ok("RoleList", token=boss))["roles"]] == [
        "role-boss@a.example",
        "A editor",
    ]  # the boss's own role is the merchant's too
    everything = (await api.admin("RoleList"))["roles"]
    assert {r["name"]: (r["merchant"] or {}).get("name") for r in everything}[
        "B editor"
    ] == "Shop B"
    # platform staff: a merchant's role is for that merchant's staff only
    cross = await api.op(
        "StaffUpdate", {"id": clerk, "input": {"roleIds": [other_role]}}, token=api.admin_token
    )
    assert errors_of(cross)[0]["code"] == "FORBIDDEN"
    await api.admin("StaffUpdate", {"id": clerk, "input": {"roleIds": [platform_role]}})


async def test_deactivation_locks_out_at_the_next_request(api: Api) -> None:
    editor = await role(api, "Editor", ["MANAGE_CATALOG"])
    member = await staff(api, "ed@example.com", [editor])
    access, refresh_token = await login(api, "ed@example.com")
    assert await status_with(api, access) == 200

    done = await api.admin("StaffDeactivate", {"id": member})
    assert done["staffDeactivate"]["staff"]["isActive"] is False
    assert await status_with(api, access) == 401  # still unexpired, refused all the same
    assert (await refresh(api, refresh_token))["userErrors"] == [{"code": "INVALID_TOKEN"}]
    relogin = await api.post(
        'mutation { staffTokenCreate(email: "ed@example.com", password: '
        f'"{PASSWORD}") {{ {TOKENS} }} }}'
    )
    assert relogin["data"]["staffTokenCreate"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    admin_id = (await api.admin("StaffList"))["staff"]["edges"][0]["node"]["id"]
    itself = await api.op("StaffDeactivate", {"id": admin_id}, token=api.admin_token)
    assert errors_of(itself)[0]["code"] == "FORBIDDEN"

    entry = (await audit_actions(api))[0]
    assert entry["action"] == "staff.deactivate" and entry["targetId"] == member
    assert (entry["before"]["is_active"], entry["after"]["is_active"]) == (True, False)
    # reactivated: a new login works; the old one stays revoked
    await api.admin("StaffActivate", {"id": member})
    assert await status_with(api, (await login(api, "ed@example.com"))[0]) == 200
    assert await status_with(api, access) == 401
    assert (await refresh(api, refresh_token))["userErrors"] == [{"code": "INVALID_TOKEN"}]


async def test_a_removed_role_is_gone_after_refresh(api: Api) -> None:
    editor = await role(api, "Editor", ["MANAGE_CATALOG"])
    reporter = await role(api, "Reporter", ["VIEW_REPORTS"])
    member = await staff(api, "ed@example.com", [editor, reporter])
    access, refresh_token = await login(api, "ed@example.com")
    assert "errors" not in await brand_create(api, "Anta", access)

    updated = await api.admin("StaffUpdate", {"id": member, "input": {"roleIds": [reporter]}})
    assert [r["name"] for r in updated["staffUpdate"]["staff"]["roles"]] == ["Reporter"]
    assert await status_with(api, access) == 401
    fresh = await refresh(api, refresh_token)
    denied = await brand_create(api, "Li-Ning", fresh["accessToken"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    entry = (await audit_actions(api))[0]
    assert entry["action"] == "staff.update"
    editor_pk, reporter_pk = decode_id(editor)[1], decode_id(reporter)[1]
    assert entry["before"]["role_ids"] == [editor_pk, reporter_pk]
    assert entry["after"]["role_ids"] == [reporter_pk]


async def test_narrowing_a_role_reaches_every_holder(api: Api) -> None:
    editor = await role(api, "Editor", ["MANAGE_CATALOG", "VIEW_REPORTS"])
    await staff(api, "ed@example.com", [editor])
    access, refresh_token = await login(api, "ed@example.com")

    await api.admin("RoleUpdate", {"id": editor, "input": {"name": "Catalog editor"}})
    assert await status_with(api, access) == 200  # a new name changes nobody's power

    narrowed = await api.admin(
        "RoleUpdate", {"id": editor, "input": {"permissions": ["VIEW_REPORTS"]}}
    )
    assert narrowed["roleUpdate"]["role"]["permissions"] == ["VIEW_REPORTS"]
    assert await status_with(api, access) == 401
    fresh = await refresh(api, refresh_token)
    denied = await brand_create(api, "Anta", fresh["accessToken"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    entry = (await audit_actions(api))[0]
    assert entry["action"] == "role.update"
    assert entry["before"]["permissions"] == ["MANAGE_CATALOG", "VIEW_REPORTS"]
    assert entry["after"]["permissions"] == ["VIEW_REPORTS"]


async def test_a_role_in_use_is_not_deleted(api: Api) -> None:
    editor = await role(api, "Editor", ["MANAGE_CATALOG"])
    member = await staff(api, "ed@example.com", [editor])
    refused = await api.op("RoleDelete", {"id": editor}, token=api.admin_token)
    assert errors_of(refused)[0]["code"] == "ROLE_IN_USE"
    await api.admin("StaffUpdate", {"id": member, "input": {"roleIds": []}})
    deleted = await api.admin("RoleDelete", {"id": editor})
    assert deleted["roleDelete"]["deletedId"] == editor
    entry = (await audit_actions(api))[0]
    assert (entry["action"], entry["targetId"], entry["after"]) == ("role.delete", editor, None)
    assert entry["before"]["name"] == "Editor"


@pytest.mark.pg
async def test_another_process_refuses_a_deactivated_staff_member(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process; other processes are PostgreSQL's case")
    member = await staff(api, "ed@example.com", [await role(api, "Editor", ["MANAGE_CATALOG"])])
    access, _ = await login(api, "ed@example.com")
    other_engine = create_engine(engine.url.render_as_string(hide_password=False))
    other_app = create_app(settings=settings, clock=clock, engine=other_engine)
    other_app.state.engine = other_engine
    other_app.state.session_factory = create_session_factory(other_engine)
    listener = await changes.start_listening(other_engine)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_app), base_url="http://other"
        ) as client:
            other = Api(client, api.admin_token)
            assert await status_with(other, access) == 200  # learnt once, then kept
            assert other_engine.sync_engine is not engine.sync_engine
            await api.admin("StaffDeactivate", {"id": member})  # through the first process
            for _ in range(200):  # the notification arrives at commit, within milliseconds
                if await status_with(other, access) == 401:
                    break
                await asyncio.sleep(0.01)
            assert other.last_status == 401
            feed = changes.feed_of(other_engine)
            standing = feed.staff_access.trusted(decode_id(member)[1], feed.live, feed.hearing, 0)
            assert standing is not None and not standing.active  # heard, not read again
    finally:
        if listener is not None:
            listener.cancel()
        await other_engine.dispose()


@pytest.mark.pg
async def test_while_deaf_to_other_processes_versions_are_read_again(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL has other processes to hear")
    await staff(api, "ed@example.com", [await role(api, "Editor", ["MANAGE_CATALOG"])])
    access, _ = await login(api, "ed@example.com")
    assert await status_with(api, access) == 200
    settings.staff_recheck_seconds = 0  # while deaf, trust nothing kept
    feed = changes.feed_of(engine)
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        await cut_listener(engine)
        assert not feed.live
        async with other.begin() as conn:  # another process deactivates, unheard
            await conn.execute(
                text(
                    "UPDATE staff SET is_active = false, "
                    "token_version = token_version + 1 WHERE email = :e"
                ),
                {"e": "ed@example.com"},
            )
        assert await status_with(api, access) == 401
    finally:
        await other.dispose()
