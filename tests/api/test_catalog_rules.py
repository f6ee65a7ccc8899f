"""Every catalog rule violation answers with a userErrors entry carrying a stable code, and
writes nothing (DOMAIN.md §1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api


async def refused(api: Api, op: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    result = await api.op(op, variables, token=api.admin_token)
    assert "errors" not in result, result
    payload = next(iter(result["data"].values()))
    assert payload["userErrors"], payload
    return payload["userErrors"]


async def product_count(api: Api) -> int:
    return (await api.admin("AdminProducts", {}))["adminProducts"]["totalCount"]


async def test_duplicate_brand_name_is_refused_case_insensitively(api: Api) -> None:
    await build_catalog(api)
    errors = await refused(api, "BrandCreate", {"input": {"name": "apple"}})
    assert errors == [
        {"field": "name", "code": "DUPLICATE_NAME", "message": "Brand 'apple' already exists."}
    ]


async def test_fifth_category_level_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    level4 = await api.admin(
        "CategoryCreate", {"input": {"name": "L4", "parentId": c.categories["phone"]}}
    )
    # "手机" has no products yet, so it may get a child; the child is level 4.
    assert level4["categoryCreate"]["category"]["level"] == 4
    errors = await refused(
        api,
        "CategoryCreate",
        {"input": {"name": "L5", "parentId": level4["categoryCreate"]["category"]["id"]}},
    )
    assert errors[0]["code"] == "CATEGORY_TOO_DEEP" and errors[0]["field"] == "parentId"


async def test_product_on_non_leaf_category_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["categoryId"] = c.categories["phones"]
    errors = await refused(api, "ProductCreate", {"input": data})
    assert "CATEGORY_NOT_LEAF" in {e["code"] for e in errors}
    assert await product_count(api) == 0


async def test_missing_required_key_attribute_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["attributes"] = [
        a for a in data["attributes"] if a["attributeId"] != c.attributes["model"]
    ]
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors == [
        {
            "field": "attributes",
            "code": "MISSING_REQUIRED_ATTRIBUTE",
            "message": "'型号' (KEY) is required.",
        }
    ]
    assert await product_count(api) == 0


async def test_sku_specs_must_match_sales_attributes(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["skus"][0]["specs"] = data["skus"][0]["specs"][:1]  # storage missing
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "SKU_SPEC_MISMATCH" and errors[0]["field"] == "skus.0.specs"
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["skus"][0]["specs"][0]["value"] = "紫"  # not an option of 颜色
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "INVALID_ATTRIBUTE_VALUE"
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["skus"][0]["specs"].append({"attributeId": c.attributes["size"], "value": "M"})
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "SKU_SPEC_MISMATCH"  # a SALES attribute of another category
    assert await product_count(api) == 0


async def test_duplicate_spec_combination_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00", "2.00"], code="X", colours=("黑", "黑"))
    errors = await refused(api, "ProductCreate", {"input": data})
    assert [e["code"] for e in errors] == ["DUPLICATE_SKU_SPEC"]
    assert errors[0]["field"] == "skus.1.specs"


async def test_duplicate_sku_code_per_merchant_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    await add_product(api, c, "a", phone_input(c, "A", "Apple", ["1.00"], code="SAME"))
    errors = await refused(
        api, "ProductCreate", {"input": phone_input(c, "B", "Apple", ["1.00"], code="SAME")}
    )
    assert errors[0]["code"] == "DUPLICATE_SKU_CODE" and errors[0]["field"] == "skus.0.code"
    # Codes are unique per merchant: another merchant may use the same code.
    other = phone_input(c, "B", "Apple", ["1.00"], code="SAME")
    other["merchantId"], other["shippingTemplateId"] = c.other_merchant, None
    ok = await api.admin("ProductCreate", {"input": other})
    assert ok["productCreate"]["product"]["skus"][0]["code"] == "SAME-0"


async def test_duplicate_sku_code_within_one_product_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00", "2.00"], code="X")
    data["skus"][1]["code"] = data["skus"][0]["code"]
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "DUPLICATE_SKU_CODE"


@pytest.mark.parametrize("price", ["-1.00", "abc", "1.001", "NaN", "Infinity", ""])
async def test_negative_or_non_decimal_price_is_refused(api: Api, price: str) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["skus"][0]["price"] = price
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "INVALID_PRICE" and errors[0]["field"] == "skus.0.price"
    assert await product_count(api) == 0


async def test_market_price_below_price_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["100.00"], code="X")
    data["skus"][0]["marketPrice"] = "99.99"
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0] == {
        "field": "skus.0.marketPrice",
        "code": "INVALID_PRICE",
        "message": "The market (strike-through) price is below the price.",
    }


async def test_several_violations_are_reported_together(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "", "Apple", ["-5"], code="X")
    errors = await refused(api, "ProductCreate", {"input": data})
    assert {(e["field"], e["code"]) for e in errors} >= {
        ("title", "INVALID_INPUT"),
        ("skus.0.price", "INVALID_PRICE"),
    }


async def test_category_with_products_or_children_cannot_be_deleted(api: Api) -> None:
    c = await build_catalog(api)
    await add_product(api, c, "a", phone_input(c, "A", "Apple", ["1.00"], code="A"))
    delete = (
        "mutation($id: ID!) { categoryDelete(id: $id) { deletedId userErrors { field code } } }"
    )
    with_children = await api.post(delete, {"id": c.categories["phones"]}, token=api.admin_token)
    assert with_children["data"]["categoryDelete"]["userErrors"] == [
        {"field": "id", "code": "CATEGORY_HAS_CHILDREN"}
    ]
    with_products = await api.post(delete, {"id": c.categories["phone"]}, token=api.admin_token)
    assert with_products["data"]["categoryDelete"]["userErrors"] == [
        {"field": "id", "code": "CATEGORY_HAS_PRODUCTS"}
    ]
    empty = await api.post(delete, {"id": c.categories["tees"]}, token=api.admin_token)
    assert empty["data"]["categoryDelete"] == {"deletedId": c.categories["tees"], "userErrors": []}
    tree = await api.post("{ categories { name children { name } } }")
    apparel = next(x for x in tree["data"]["categories"] if x["name"] == "服饰")
    assert apparel["children"] == []


async def test_category_holding_products_cannot_get_children(api: Api) -> None:
    c = await build_catalog(api)
    await add_product(api, c, "a", phone_input(c, "A", "Apple", ["1.00"], code="A"))
    errors = await refused(
        api, "CategoryCreate", {"input": {"name": "sub", "parentId": c.categories["phone"]}}
    )
    assert errors[0]["code"] == "CATEGORY_HAS_PRODUCTS"


async def test_category_move_keeps_depth_limit_and_refuses_cycles(api: Api) -> None:
    c = await build_catalog(api)
    move = (
        "mutation($id: ID!, $p: ID) { categoryUpdate(id: $id, input: {parentId: $p}) "
        "{ category { level ancestors { name } } userErrors { code } } }"
    )
    cycle = await api.post(
        move, {"id": c.categories["digital"], "p": c.categories["phone"]}, token=api.admin_token
    )
    assert cycle["data"]["categoryUpdate"]["userErrors"] == [{"code": "CATEGORY_CYCLE"}]
    # digital (3 levels deep) under tees (level 2) would reach level 5.
    deep = await api.post(
        move, {"id": c.categories["digital"], "p": c.categories["tees"]}, token=api.admin_token
    )
    assert deep["data"]["categoryUpdate"]["userErrors"] == [{"code": "CATEGORY_TOO_DEEP"}]
    moved = await api.post(
        move, {"id": c.categories["phones"], "p": c.categories["apparel"]}, token=api.admin_token
    )
    assert moved["data"]["categoryUpdate"]["category"]["level"] == 2
    leaf = await api.post(
        "query($id: ID!) { node(id: $id) { ... on Category { level ancestors { name } } } }",
        {"id": c.categories["phone"]},
    )
    assert leaf["data"]["node"] == {
        "level": 3,
        "ancestors": [{"name": "服饰"}, {"name": "手机通讯"}],
    }


async def test_brand_update_and_delete(api: Api) -> None:
    c = await build_catalog(api)
    await add_product(api, c, "a", phone_input(c, "A", "Apple", ["1.00"], code="A"))
    upd = (
        "mutation($id: ID!, $n: String!) { brandUpdate(id: $id, input: {name: $n}) "
        "{ brand { name } userErrors { code } } }"
    )
    dup = await api.post(upd, {"id": c.brands["Nike"], "n": "APPLE"}, token=api.admin_token)
    assert dup["data"]["brandUpdate"]["userErrors"] == [{"code": "DUPLICATE_NAME"}]
    ok = await api.post(upd, {"id": c.brands["Nike"], "n": "Nike Inc"}, token=api.admin_token)
    assert ok["data"]["brandUpdate"]["brand"]["name"] == "Nike Inc"
    delete = "mutation($id: ID!) { brandDelete(id: $id) { deletedId userErrors { code } } }"
    used = await api.post(delete, {"id": c.brands["Apple"]}, token=api.admin_token)
    assert used["data"]["brandDelete"]["userErrors"] == [{"code": "BRAND_IN_USE"}]
    gone = await api.post(delete, {"id": c.brands["Nike"]}, token=api.admin_token)
    assert gone["data"]["brandDelete"]["deletedId"] == c.brands["Nike"]
    # The APP-only display category mapped Nike; the mapping went with the brand.
    names = [b["name"] for b in (await api.post("{ brands { name } }"))["data"]["brands"]]
    assert names == ["Apple", "华为 Huawei"]


async def test_display_category_update_and_delete(api: Api) -> None:
    c = await build_catalog(api)
    upd = (
        "mutation($id: ID!, $input: DisplayCategoryUpdateInput!) { displayCategoryUpdate("
        "id: $id, input: $input) { displayCategory { name channels } userErrors { code } } }"
    )
    res = await api.post(
        upd,
        {"id": c.display["digital"], "input": {"name": "数码", "channels": ["H5"]}},
        token=api.admin_token,
    )
    assert res["data"]["displayCategoryUpdate"]["displayCategory"] == {
        "name": "数码",
        "channels": ["H5"],
    }
    web = await api.ok("DisplayCategoryTree", channel="WEB")
    assert web["displayCategories"] == []  # the H5-only node and its subtree left WEB
    cycle = await api.post(
        upd,
        {"id": c.display["digital"], "input": {"parentId": c.display["phones"]}},
        token=api.admin_token,
    )
    assert cycle["data"]["displayCategoryUpdate"]["userErrors"] == [{"code": "CATEGORY_CYCLE"}]
    delete = (
        "mutation($id: ID!) { displayCategoryDelete(id: $id) { deletedId userErrors { code } } }"
    )
    parent = await api.post(delete, {"id": c.display["digital"]}, token=api.admin_token)
    assert parent["data"]["displayCategoryDelete"]["userErrors"] == [
        {"code": "CATEGORY_HAS_CHILDREN"}
    ]
    leaf = await api.post(delete, {"id": c.display["phones"]}, token=api.admin_token)
    assert leaf["data"]["displayCategoryDelete"]["deletedId"] == c.display["phones"]


async def test_attribute_rules(api: Api) -> None:
    c = await build_catalog(api)
    inherited_clash = await refused(
        api,
        "AttributeCreate",
        {
            "input": {
                "categoryId": c.categories["phone"],
                "name": "颜色",
                "kind": "SALES",
                "valueType": "OPTIONS",
                "options": ["红"],
            }
        },
    )
    assert inherited_clash[0]["code"] == "DUPLICATE_NAME"
    no_options = await refused(
        api,
        "AttributeCreate",
        {
            "input": {
                "categoryId": c.categories["tees"],
                "name": "版型",
                "kind": "SALES",
                "valueType": "OPTIONS",
                "options": [],
            }
        },
    )
    assert no_options[0]["code"] == "INVALID_INPUT" and no_options[0]["field"] == "options"
    missing = await refused(
        api,
        "AttributeCreate",
        {
            "input": {
                "categoryId": c.brands["Apple"],
                "name": "x",
                "kind": "GENERAL",
                "valueType": "TEXT",
            }
        },
    )
    assert missing[0]["code"] == "INVALID_ID" and missing[0]["field"] == "categoryId"


async def test_shipping_template_rules(api: Api) -> None:
    c = await build_catalog(api)
    flat = await refused(
        api,
        "ShippingTemplateCreate",
        {"input": {"merchantId": c.merchant, "name": "Flat", "kind": "FLAT"}},
    )
    assert flat[0] == {
        "field": "flatFee",
        "code": "INVALID_PRICE",
        "message": "A price is required.",
    }
    piece = await refused(
        api,
        "ShippingTemplateCreate",
        {"input": {"merchantId": c.merchant, "name": "P", "kind": "BY_PIECE", "firstFee": "-1"}},
    )
    assert piece[0]["field"] == "firstFee"


async def test_shipping_template_of_another_merchant_is_refused(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["merchantId"] = c.other_merchant
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "MERCHANT_MISMATCH"


async def test_listing_needs_future_delist_and_schedules_visibility(api: Api, clock) -> None:
    c: Catalog = await build_catalog(api)
    product = await add_product(
        api, c, "a", phone_input(c, "A", "Apple", ["1.00"], code="A"), listed=False
    )
    bad = await refused(
        api,
        "ProductList",
        {"id": product["id"], "listAt": "2026-05-01T00:00:00Z", "delistAt": "2026-04-30T00:00:00Z"},
    )
    assert bad[0]["code"] == "INVALID_SCHEDULE"
    scheduled = await api.admin(
        "ProductList",
        {"id": product["id"], "listAt": "2026-05-01T00:00:00Z", "delistAt": "2026-05-02T00:00:00Z"},
    )
    assert scheduled["productList"]["product"]["status"] == "SCHEDULED"
    assert (await api.ok("ProductDetail", {"id": product["id"]}))["product"] is None
    from datetime import UTC
    from datetime import datetime

    clock.set(datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert (await api.ok("ProductDetail", {"id": product["id"]}))["product"]["title"] == "A"
    clock.set(datetime(2026, 5, 2, 0, tzinfo=UTC))
    assert (await api.ok("ProductDetail", {"id": product["id"]}))["product"] is None
    status = await api.admin("AdminProducts", {"filter": {"status": "DELISTED"}})
    assert status["adminProducts"]["totalCount"] == 1


async def test_unknown_ids_in_input_are_user_errors(api: Api) -> None:
    c = await build_catalog(api)
    data = phone_input(c, "X", "Apple", ["1.00"], code="X")
    data["brandId"] = "QnJhbmQ6OTk5OQ"  # Brand:9999
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0] == {"field": "brandId", "code": "NOT_FOUND", "message": "Brand not found."}
    data["brandId"] = "%%%"
    errors = await refused(api, "ProductCreate", {"input": data})
    assert errors[0]["code"] == "INVALID_ID"
