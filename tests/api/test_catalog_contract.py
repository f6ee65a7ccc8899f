"""The catalog operations of storefront.graphql and admin.graphql, run as written, on SQLite
and PostgreSQL, with the answers DOMAIN.md §1 requires."""

from __future__ import annotations

import pytest

from services.search import nice_step
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api

# Also on SQLite: the storefront's browse operations as written: the newcomer's demo runs on SQLite.
pytestmark = pytest.mark.sqlite_too


async def _stocked_catalog(api: Api):
    c = await build_catalog(api)
    await add_product(
        api, c, "iphone", phone_input(c, "iPhone 15", "Apple", ["5999.00", "6999.00"], code="IP15")
    )
    await add_product(
        api,
        c,
        "mate",
        phone_input(
            c, "Mate 60", "华为 Huawei", ["4999.00"], code="M60", colours=("蓝",), port="Lightning"
        ),
    )
    await add_product(
        api,
        c,
        "draft",
        phone_input(c, "Draft Phone", "Apple", ["1.00"], code="DRAFT"),
        listed=False,
    )
    return c


async def test_display_category_tree_is_per_channel(api: Api) -> None:
    c = await build_catalog(api)
    web = await api.ok("DisplayCategoryTree", channel="WEB")
    names = [n["name"] for n in web["displayCategories"]]
    assert names == ["手机数码"]
    assert web["displayCategories"][0]["children"][0]["name"] == "手机"
    app = await api.ok("DisplayCategoryTree", channel="APP")
    assert [n["name"] for n in app["displayCategories"]] == ["APP 专享", "手机数码"]
    assert app["displayCategories"][0]["id"] == c.display["app_only"]


async def test_category_page_lists_only_listed_products_with_cards(api: Api) -> None:
    c = await _stocked_catalog(api)
    data = await api.ok(
        "CategoryPage", {"id": c.display["digital"], "first": 1, "sort": "PRICE_ASC"}
    )
    page = data["displayCategory"]["products"]
    assert page["totalCount"] == 2  # the draft is invisible
    assert page["pageInfo"]["hasNextPage"] is True
    card = page["edges"][0]["node"]
    assert card["title"] == "Mate 60"
    assert card["priceRange"]["min"] == {"amount": "4999.00", "currencyCode": "CNY"}
    assert card["brand"]["name"] == "华为 Huawei"
    assert card["thumbnail"]["url"] == "https://x.example/M60.png"
    assert card["sellableQuantity"] == 0 and card["promotionTags"] == []
    assert card["skus"][0]["specText"] == "蓝 128GB"
    after = await api.ok(
        "CategoryPage",
        {
            "id": c.display["digital"],
            "first": 1,
            "sort": "PRICE_ASC",
            "after": page["pageInfo"]["endCursor"],
        },
    )
    second = after["displayCategory"]["products"]
    assert [e["node"]["title"] for e in second["edges"]] == ["iPhone 15"]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_category_page_filters_by_attribute_and_price(api: Api) -> None:
    c = await _stocked_catalog(api)
    data = await api.ok(
        "CategoryPage",
        {
            "id": c.display["phones"],
            "filter": {"attributes": [{"name": "接口", "values": ["Lightning"]}]},
        },
    )
    assert [e["node"]["title"] for e in data["displayCategory"]["products"]["edges"]] == ["Mate 60"]
    data = await api.ok(
        "CategoryPage",
        {"id": c.display["phones"], "filter": {"priceMin": "5000", "priceMax": "6000.00"}},
    )
    assert [e["node"]["title"] for e in data["displayCategory"]["products"]["edges"]] == [
        "iPhone 15"
    ]


async def test_search_text_facets_and_sort(api: Api) -> None:
    c = await _stocked_catalog(api)
    data = await api.ok("Search", {"query": "iphone"})
    result = data["products"]
    assert [e["node"]["title"] for e in result["edges"]] == ["iPhone 15"]
    assert result["facets"]["brands"] == [
        {"brand": {"id": c.brands["Apple"], "name": "Apple"}, "count": 1}
    ]
    everything = (await api.ok("Search", {"query": ""}))["products"]
    assert everything["totalCount"] == 2
    brand_counts = {f["brand"]["name"]: f["count"] for f in everything["facets"]["brands"]}
    assert brand_counts == {"Apple": 1, "华为 Huawei": 1}
    attributes = {
        f["name"]: {v["value"]: v["count"] for v in f["values"]}
        for f in everything["facets"]["attributes"]
    }
    assert attributes["颜色"] == {"黑": 1, "白": 1, "蓝": 1}
    assert attributes["接口"] == {"USB-C": 1, "Lightning": 1}
    assert sum(b["count"] for b in everything["facets"]["priceBuckets"]) == 2
    # each price in a bucket of one round width from a round base (services/search.py)
    prices = sorted(
        round(float(e["node"]["priceRange"]["min"]["amount"]) * 100) for e in everything["edges"]
    )
    step = nice_step(prices[-1] - prices[0] // 100 * 100 + 1)
    base = prices[0] // step * step
    expected: dict[int, int] = {}
    for price in prices:
        expected[(price - base) // step] = expected.get((price - base) // step, 0) + 1
    assert [
        (round(float(b["min"]["amount"]) * 100), round(float(b["max"]["amount"]) * 100), b["count"])
        for b in everything["facets"]["priceBuckets"]
    ] == [(base + i * step, base + (i + 1) * step - 1, n) for i, n in sorted(expected.items())]
    # Brand facets ignore the brand filter, so the shopper still sees the other brand's count.
    filtered = (await api.ok("Search", {"query": "", "filter": {"brandIds": [c.brands["Apple"]]}}))[
        "products"
    ]
    assert filtered["totalCount"] == 1
    assert len(filtered["facets"]["brands"]) == 2


async def test_search_by_brand_name_and_subtitle(api: Api) -> None:
    await _stocked_catalog(api)
    by_brand = await api.ok("Search", {"query": "华为"})
    assert [e["node"]["title"] for e in by_brand["products"]["edges"]] == ["Mate 60"]
    nothing = await api.ok("Search", {"query": "iphone 华为"})
    assert nothing["products"]["totalCount"] == 0  # every word must match somewhere


async def test_product_detail(api: Api) -> None:
    c = await _stocked_catalog(api)
    data = await api.ok("ProductDetail", {"id": c.products["iphone"]["id"]})
    p = data["product"]
    assert p["category"]["name"] == "手机"
    assert [a["name"] for a in p["category"]["ancestors"]] == ["数码", "手机通讯"]
    assert {(a["name"], a["kind"], tuple(a["values"])) for a in p["attributes"]} == {
        ("型号", "KEY", ("iPhone 15",)),
        ("接口", "GENERAL", ("USB-C",)),
    }
    assert p["salesAttributes"][0]["name"] == "颜色"
    assert [v["value"] for v in p["salesAttributes"][0]["values"]] == ["黑", "白"]
    assert p["salesAttributes"][0]["values"][0]["imageUrl"] == "https://x.example/IP15-0.png"
    assert [s["code"] for s in p["skus"]] == ["IP15-0", "IP15-1"]
    assert p["skus"][1]["specs"] == [
        {"name": "颜色", "value": "白"},
        {"name": "存储", "value": "128GB"},
    ]
    assert p["skus"][0]["marketPrice"]["amount"] == "6099.00"
    assert p["descriptionHtml"] == "<p>mobile</p>"  # the script tag was sanitized away
    assert p["afterSales"] == "7天无理由"
    assert p["promotions"] == [] and p["claimableCoupons"] == []


async def test_draft_product_is_hidden_from_storefront_but_not_staff(api: Api) -> None:
    c = await _stocked_catalog(api)
    draft_id = c.products["draft"]["id"]
    assert (await api.ok("ProductDetail", {"id": draft_id}))["product"] is None
    staff = await api.op("RefreshNodes", {"ids": [draft_id]}, token=api.admin_token)
    assert staff["data"]["nodes"][0]["title"] == "Draft Phone"


async def test_refresh_nodes(api: Api) -> None:
    c = await _stocked_catalog(api)
    detail = await api.ok("ProductDetail", {"id": c.products["iphone"]["id"]})
    sku_id = detail["product"]["skus"][0]["id"]
    data = await api.ok(
        "RefreshNodes", {"ids": [c.products["iphone"]["id"], sku_id, c.products["draft"]["id"]]}
    )
    assert data["nodes"][0] == {
        "id": c.products["iphone"]["id"],
        "title": "iPhone 15",
        "sellableQuantity": 0,
    }
    assert data["nodes"][1] == {"id": sku_id, "price": {"amount": "5999.00"}}
    assert data["nodes"][2] is None


async def test_admin_products_shows_staff_fields(api: Api) -> None:
    c = await _stocked_catalog(api)
    data = await api.admin("AdminProducts", {"filter": {"status": "DRAFT"}})
    nodes = [e["node"] for e in data["adminProducts"]["edges"]]
    assert [n["title"] for n in nodes] == ["Draft Phone"]
    assert nodes[0]["merchant"]["name"] == "自营 Self"
    assert nodes[0]["skus"][0]["costPrice"] == {"amount": "1.00"}
    assert nodes[0]["skus"][0]["stockLevels"] == []
    assert data["adminProducts"]["totalCount"] == 1
    everything = await api.admin("AdminProducts", {})
    assert everything["adminProducts"]["totalCount"] == 3
    assert c.products


async def test_admin_operations_refuse_customers_and_guests(api: Api) -> None:
    c = await build_catalog(api)
    result = await api.op("BrandCreate", {"input": {"name": "Sneaky"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # a guest: log in first
    result = await api.op("AdminProducts", {}, token="not-a-real-token")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    brands = await api.post("{ brands { name } }")
    assert "Sneaky" not in [b["name"] for b in brands["data"]["brands"]]
    cost = await api.post(
        "query($id: ID!) { product(id: $id) { skus { costPrice { amount } } } }",
        {"id": c.brands["Apple"]},
    )
    assert cost["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_cost_price_is_staff_only(api: Api) -> None:
    c = await _stocked_catalog(api)
    query = "query($id: ID!) { product(id: $id) { skus { costPrice { amount } } } }"
    guest = await api.post(query, {"id": c.products["iphone"]["id"]})
    assert guest["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff = await api.post(query, {"id": c.products["iphone"]["id"]}, token=api.admin_token)
    assert staff["data"]["product"]["skus"][0]["costPrice"] == {"amount": "1.00"}


async def test_product_update_changes_fields_and_keeps_sku_ids(api: Api) -> None:
    c = await _stocked_catalog(api)
    pid = c.products["iphone"]["id"]
    before = (await api.ok("ProductDetail", {"id": pid}))["product"]
    await api.admin("ProductUpdate", {"id": pid, "input": {"title": "iPhone 15 Pro"}})
    after = (await api.ok("ProductDetail", {"id": pid}))["product"]
    assert after["title"] == "iPhone 15 Pro"
    assert [s["id"] for s in after["skus"]] == [s["id"] for s in before["skus"]]
    # Replacing the SKU list: the kept SKU keeps its id, the dropped one is disabled.
    kept = before["skus"][0]
    await api.admin(
        "ProductUpdate",
        {
            "id": pid,
            "input": {
                "skus": [
                    {
                        "id": kept["id"],
                        "code": "IP15-0",
                        "price": "5899.00",
                        "specs": [
                            {"attributeId": c.attributes["colour"], "value": "黑"},
                            {"attributeId": c.attributes["storage"], "value": "128GB"},
                        ],
                    }
                ]
            },
        },
    )
    final = (await api.ok("ProductDetail", {"id": pid}))["product"]
    assert [(s["id"], s["price"]["amount"]) for s in final["skus"]] == [(kept["id"], "5899.00")]
    assert final["priceRange"]["max"]["amount"] == "5899.00"


async def test_product_list_and_delist_lifecycle(api: Api) -> None:
    c = await _stocked_catalog(api)
    pid = c.products["iphone"]["id"]
    delisted = await api.admin("ProductDelist", {"id": pid})
    assert delisted["productDelist"]["product"]["status"] == "DELISTED"
    assert (await api.ok("ProductDetail", {"id": pid}))["product"] is None
    again = await api.op("ProductDelist", {"id": pid}, token=api.admin_token)
    assert again["data"]["productDelist"]["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    listed = await api.admin("ProductList", {"id": pid})
    assert listed["productList"]["product"]["status"] == "LISTED"
    assert (await api.ok("ProductDetail", {"id": pid}))["product"]["title"] == "iPhone 15"
