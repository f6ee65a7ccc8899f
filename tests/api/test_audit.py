"""The audit log (DOMAIN.md §9): each admin mutation leaves exactly one entry with correct
before/after, in the same transaction; refused mutations leave none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from models import AuditEntry
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api


async def audit_count(engine: AsyncEngine) -> int:
    async with create_session_factory(engine)() as s:
        return await s.scalar(select(func.count()).select_from(AuditEntry)) or 0


async def entries(api: Api) -> list[dict]:
    data = await api.admin("AuditLog", {"first": 100})
    return [e["node"] for e in data["auditLog"]["edges"]]


async def test_product_create_update_delete_each_leave_one_entry(
    api: Api, engine: AsyncEngine
) -> None:
    c = await build_catalog(api)
    before = await audit_count(engine)
    product = await add_product(
        api, c, "p", phone_input(c, "P", "Apple", ["10.00"], code="P"), listed=False
    )
    assert await audit_count(engine) == before + 1
    created = (await entries(api))[0]
    assert created["action"] == "product.create" and created["targetType"] == "Product"
    assert created["targetId"] == product["id"]
    assert created["before"] is None and created["after"]["title"] == "P"
    assert created["after"]["skus"][0]["price"] == 1000
    assert created["actor"]["email"] == "admin@test.example"

    await api.admin("ProductUpdate", {"id": product["id"], "input": {"title": "P2"}})
    assert await audit_count(engine) == before + 2
    updated = (await entries(api))[0]
    assert updated["action"] == "product.update"
    assert (updated["before"]["title"], updated["after"]["title"]) == ("P", "P2")

    delete = "mutation($id: ID!) { productDelete(id: $id) { deletedId userErrors { code } } }"
    result = await api.post(delete, {"id": product["id"]}, token=api.admin_token)
    assert result["data"]["productDelete"]["deletedId"] == product["id"]
    assert await audit_count(engine) == before + 3
    deleted = (await entries(api))[0]
    assert deleted["action"] == "product.delete"
    assert deleted["before"]["title"] == "P2" and deleted["after"] is None
    assert deleted["before"]["skus"][0]["code"] == "P-0"


async def test_refused_mutations_leave_no_entry(api: Api, engine: AsyncEngine) -> None:
    c = await build_catalog(api)
    before = await audit_count(engine)
    result = await api.op("BrandCreate", {"input": {"name": "Apple"}}, token=api.admin_token)
    assert result["data"]["brandCreate"]["userErrors"][0]["code"] == "DUPLICATE_NAME"
    listed = await add_product(api, c, "p", phone_input(c, "P", "Apple", ["1.00"], code="P"))
    after_listing = await audit_count(engine)
    delete = "mutation($id: ID!) { productDelete(id: $id) { deletedId userErrors { code } } }"
    refused = await api.post(delete, {"id": listed["id"]}, token=api.admin_token)
    assert refused["data"]["productDelete"]["userErrors"] == [{"code": "PRODUCT_IN_USE"}]
    assert await audit_count(engine) == after_listing == before + 2  # create + list


async def test_every_catalog_admin_mutation_is_audited(api: Api, engine: AsyncEngine) -> None:
    start = await audit_count(engine)
    c = await build_catalog(api)
    # build_catalog runs: 2 merchants, 1 template, 3 brands, 5 categories, 5 attributes,
    # 3 display categories — one entry each.
    assert await audit_count(engine) - start == 19
    actions = {e["action"] for e in await entries(api)}
    assert actions >= {
        "merchant.create",
        "shipping_template.create",
        "brand.create",
        "category.create",
        "attribute.create",
        "display_category.create",
    }
    assert c.merchant


async def test_audit_log_filters_and_request_id(api: Api) -> None:
    c = await build_catalog(api)
    response = await api.client.post(
        "/graphql",
        headers={"authorization": f"Bearer {api.admin_token}", "x-request-id": "req-audit-1"},
        json={
            "query": 'mutation($id: ID!) { brandUpdate(id: $id, input: {name: "Nike 2"}) '
            "{ brand { id } } }",
            "variables": {"id": c.brands["Nike"]},
        },
    )
    assert response.status_code == 200
    query = (
        "query($t: ID) { auditLog(filter: {targetId: $t}) { totalCount edges { node { "
        "action requestId before after } } } }"
    )
    result = await api.post(query, {"t": c.brands["Nike"]}, token=api.admin_token)
    log = result["data"]["auditLog"]
    assert log["totalCount"] == 2  # created by build_catalog, then renamed
    latest = log["edges"][0]["node"]
    assert latest["requestId"] == "req-audit-1"
    assert (latest["before"]["name"], latest["after"]["name"]) == ("Nike", "Nike 2")


async def test_audit_log_needs_manage_staff(api: Api) -> None:
    result = await api.op("AuditLog", {})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # a guest: log in first


async def test_create_admin_is_idempotent(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    from cli import _create_admin

    path = tmp_path / "admin.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    assert (await _create_admin(url, "Boss@Example.com", "boss-pass-1")).startswith(
        "created admin boss@example.com"
    )
    assert (await _create_admin(url, "boss@example.com", "boss-pass-2")).startswith("updated admin")
    assert (await _create_admin(url, "boss@example.com", "weak")).startswith("refused")


def test_production_refuses_the_default_secret() -> None:
    from app import create_app
    from core.settings import Settings

    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        create_app(settings=Settings(environment="production"))
    create_app(settings=Settings(environment="production", jwt_secret="x" * 40))
