"""CMS pages (DOMAIN.md §8, issue 8) through the operations as written: a home page with every
module type, on two channels and at three moments; delisting; constant SQL per page size;
validation naming the module and field; previews; ETag revalidation."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.ids import encode_id
from tests.api.catalog_data import Catalog
from tests.api.test_batching import seed_listing
from tests.api.test_cart import shop
from tests.api.test_coupons import create_template
from tests.api.test_coupons import template
from tests.conftest import Api
from tests.conftest import forget_kept_reads

SLIDE = {"startsAt": "2026-04-12T00:00:00Z", "endsAt": "2026-04-14T00:00:00Z"}


def home_modules(c: Catalog, coupon: str) -> list[dict[str, Any]]:
    a, b = c.products["A"]["id"], c.products["B"]["id"]
    return [
        {
            "bannerCarousel": {
                "slides": [
                    {
                        "imageUrl": "https://x.example/always.png",
                        "link": {"type": "PRODUCT", "targetId": a},
                    },
                    {
                        "imageUrl": "https://x.example/sale.png",
                        "link": {"type": "URL", "url": "https://x.example/s"},
                        **SLIDE,
                    },
                ]
            }
        },
        {
            "iconGrid": {
                "icons": [
                    {
                        "label": "手机",
                        "iconUrl": "https://x.example/i.png",
                        "link": {"type": "DISPLAY_CATEGORY", "targetId": c.display["phones"]},
                    }
                ]
            }
        },
        {"productList": {"title": "精选", "productIds": [b, a]}},
        {"productList": {"title": "苹果", "rule": {"brandId": c.brands["Apple"], "limit": 5}}},
        {"categoryNav": {"displayCategoryId": c.display["digital"]}},
        {"ranking": {"title": "热卖", "days": 7, "limit": 10}},
        {"couponCenter": {"templateIds": [coupon]}},
        {"richText": {"html": "<p>欢迎</p><script>x()</script>"}},
    ]


async def make_home(
    api: Api, engine: AsyncEngine, channels: list[str] | None = None
) -> tuple[Catalog, str]:
    c, *_ = await shop(api, engine)
    coupon = await create_template(api, template("领券"))
    created = await api.admin(
        "PageCreate",
        {
            "input": {
                "slug": "home",
                "title": "首页",
                "channels": channels or ["APP"],
                "modules": home_modules(c, coupon),
            }
        },
    )
    page = created["pageCreate"]["page"]
    assert page["status"] == "DRAFT"
    published = await api.admin("PagePublish", {"id": page["id"]})
    assert published["pagePublish"]["page"]["status"] == "PUBLISHED"
    return c, page["id"]


async def test_home_page_with_every_module_type(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    c, _ = await make_home(api, engine)
    app = (await api.ok("Page", {"slug": "home"}, channel="APP"))["page"]
    kinds = [m["__typename"] for m in app["modules"]]
    assert kinds == [
        "BannerCarouselModule",
        "IconGridModule",
        "ProductListModule",
        "ProductListModule",
        "CategoryNavModule",
        "RankingModule",
        "CouponCenterModule",
        "RichTextModule",
    ]
    banner, icons, picked, by_rule, nav, ranking, center, rich = app["modules"]
    assert [s["imageUrl"] for s in banner["slides"]] == ["https://x.example/always.png"]
    assert banner["slides"][0]["link"] == {
        "type": "PRODUCT",
        "targetId": c.products["A"]["id"],
        "url": None,
    }
    assert icons["icons"][0]["link"]["targetId"] == c.display["phones"]
    assert [p["title"] for p in picked["products"]] == ["Phone B", "Phone A"]  # module order
    assert picked["products"][0]["priceRange"]["min"]["amount"] == "300.00"
    assert picked["products"][0]["sellableQuantity"] == 10
    assert [p["title"] for p in by_rule["products"]] == ["Phone A"]
    assert [x["name"] for x in nav["categories"]] == ["手机"]
    assert ranking["items"] == []  # no orders yet: empty, never an error
    assert [t["name"] for t in center["templates"]] == ["领券"]
    assert rich["html"] == "<p>欢迎</p>"
    # another channel does not get this page
    assert (await api.ok("Page", {"slug": "home"}, channel="H5"))["page"] is None
    # the sale slide shows only inside its own schedule
    for moment, slides in [
        (datetime(2026, 4, 11, tzinfo=UTC), 1),
        (datetime(2026, 4, 13, tzinfo=UTC), 2),
        (datetime(2026, 4, 14, tzinfo=UTC), 1),
    ]:
        clock.set(moment)
        page = (await api.ok("Page", {"slug": "home"}, channel="APP"))["page"]
        assert len(page["modules"][0]["slides"]) == slides, moment


async def test_same_slug_on_another_channel(api: Api, engine: AsyncEngine) -> None:
    c, _ = await make_home(api, engine, ["APP"])
    clash = await api.op(
        "PageCreate",
        {"input": {"slug": "home", "title": "x", "channels": ["APP", "H5"], "modules": []}},
        token=api.admin_token,
    )
    assert clash["data"]["pageCreate"]["userErrors"][0]["code"] == "DUPLICATE_NAME"
    h5 = await api.admin(
        "PageCreate",
        {
            "input": {
                "slug": "home",
                "title": "H5 首页",
                "channels": ["H5"],
                "modules": [{"richText": {"html": "<p>h5</p>"}}],
            }
        },
    )
    await api.admin("PagePublish", {"id": h5["pageCreate"]["page"]["id"]})
    assert (await api.ok("Page", {"slug": "home"}, channel="H5"))["page"]["title"] == "H5 首页"
    assert (await api.ok("Page", {"slug": "home"}, channel="APP"))["page"]["title"] == "首页"
    assert c.products


async def test_delisting_removes_a_product_from_every_module(api: Api, engine: AsyncEngine) -> None:
    c, _ = await make_home(api, engine)
    await api.admin("ProductDelist", {"id": c.products["A"]["id"]})
    page = (await api.ok("Page", {"slug": "home"}, channel="APP"))["page"]
    lists = [m for m in page["modules"] if m["__typename"] == "ProductListModule"]
    assert [p["title"] for p in lists[0]["products"]] == ["Phone B"]
    assert lists[1]["products"] == []


async def test_preview_shows_drafts_at_any_time(api: Api, engine: AsyncEngine) -> None:
    c, *_ = await shop(api, engine)
    modules = home_modules(c, await create_template(api, template()))[:1]
    draft = (
        await api.admin(
            "PageCreate", {"input": {"slug": "sale", "title": "大促", "modules": modules}}
        )
    )["pageCreate"]["page"]
    assert (await api.ok("Page", {"slug": "sale"}))["page"] is None  # a draft is not public
    during = await api.admin("PagePreview", {"id": draft["id"], "at": "2026-04-13T00:00:00Z"})
    assert [m["__typename"] for m in during["pagePreview"]["modules"]] == ["BannerCarouselModule"]
    guest = await api.op("PagePreview", {"id": draft["id"], "at": "2026-04-13T00:00:00Z"})
    assert guest["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # a guest: log in first


async def test_page_statements_do_not_grow_with_products(api: Api, engine: AsyncEngine) -> None:
    node = encode_id("DisplayCategory", await seed_listing(engine, 50))
    counts = []
    for size in (5, 50):
        ids = [encode_id("Product", i) for i in range(1, size + 1)]
        modules = (
            [{"productList": {"title": f"m{i}", "productIds": ids}} for i in range(4)]
            + [
                {
                    "productList": {
                        "title": f"r{i}",
                        "rule": {"displayCategoryId": node, "limit": size},
                    }
                }
                for i in range(3)
            ]
            + [
                {"bannerCarousel": {"slides": [{"imageUrl": "https://x.example/b.png"}]}},
                {"ranking": {"title": "rank"}},
                {"richText": {"html": "<p>x</p>"}},
            ]
        )
        page = (
            await api.admin(
                "PageCreate", {"input": {"slug": f"p{size}", "title": "p", "modules": modules}}
            )
        )["pageCreate"]["page"]
        await api.admin("PagePublish", {"id": page["id"]})
        forget_kept_reads(engine)  # count cold: the running promotions read included
        result = await api.op("Page", {"slug": f"p{size}"})
        assert "errors" not in result, result
        lists = [m for m in result["data"]["page"]["modules"] if "products" in m]
        assert all(len(m["products"]) == size for m in lists)
        counts.append(result["extensions"]["sqlStatements"])
    # page, modules, picked products, display tree, 3 rule searches, SKUs, brands, promotions,
    # the ranking's best sellers
    assert counts[0] == counts[1] <= 11, counts


BAD = [
    ({"bannerCarousel": {"slides": []}}, "INVALID_INPUT", "modules.0.bannerCarousel.slides"),
    (
        {"bannerCarousel": {"slides": [{"imageUrl": "ftp://x"}]}},
        "INVALID_URL",
        "modules.0.bannerCarousel.slides.0.imageUrl",
    ),
    (
        {
            "bannerCarousel": {
                "slides": [{"imageUrl": "https://x.example/a.png", "link": {"type": "URL"}}]
            }
        },
        "INVALID_URL",
        "modules.0.bannerCarousel.slides.0.link.url",
    ),
    (
        {
            "bannerCarousel": {
                "slides": [
                    {
                        "imageUrl": "https://x.example/a.png",
                        "startsAt": "2026-04-14T00:00:00Z",
                        "endsAt": "2026-04-12T00:00:00Z",
                    }
                ]
            }
        },
        "INVALID_SCHEDULE",
        "modules.0.bannerCarousel.slides.0.endsAt",
    ),
    ({"iconGrid": {"icons": []}}, "INVALID_INPUT", "modules.0.iconGrid.icons"),
    (
        {"iconGrid": {"icons": [{"label": "x", "link": {"type": "PRODUCT", "targetId": "BRAND"}}]}},
        "INVALID_ID",
        "modules.0.iconGrid.icons.0.link.targetId",
    ),
    (
        {"productList": {"title": "x", "productIds": ["UHJvZHVjdDo5OTk5"]}},
        "NOT_FOUND",
        "modules.0.productList.productIds.0",
    ),
    (
        {"productList": {"title": "x", "productIds": ["BRAND"]}},
        "INVALID_ID",
        "modules.0.productList.productIds.0",
    ),
    (
        {"productList": {"title": "x", "rule": {"brandId": "BRAND", "limit": 51}}},
        "INVALID_INPUT",
        "modules.0.productList.rule.limit",
    ),
    (
        {"productList": {"title": "x", "rule": {"limit": 5}}},
        "INVALID_INPUT",
        "modules.0.productList.rule",
    ),
    ({"productList": {"title": "x"}}, "INVALID_INPUT", "modules.0.productList"),
    (
        {"categoryNav": {"displayCategoryId": "BRAND"}},
        "INVALID_ID",
        "modules.0.categoryNav.displayCategoryId",
    ),
    ({"ranking": {"days": 365}}, "INVALID_INPUT", "modules.0.ranking.days"),
    ({"couponCenter": {"templateIds": []}}, "INVALID_INPUT", "modules.0.couponCenter.templateIds"),
    ({"richText": {"html": "<script>only()</script>"}}, "INVALID_INPUT", "modules.0.richText.html"),
]


@pytest.mark.parametrize("module,code,field", BAD, ids=[b[2] for b in BAD])
async def test_bad_module_configurations(
    api: Api, engine: AsyncEngine, module: dict[str, Any], code: str, field: str
) -> None:
    c, *_ = await shop(api, engine)
    text = str(module).replace("BRAND", c.brands["Apple"])
    good = {"richText": {"html": "<p>ok</p>"}}
    result = await api.op(
        "PageCreate",
        {"input": {"slug": "bad", "title": "bad", "modules": [eval(text), good]}},
        token=api.admin_token,
    )
    errors = result["data"]["pageCreate"]["userErrors"]
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in errors
    ], errors
    listing = await api.post("{ pages { totalCount } }", token=api.admin_token)
    assert listing["data"]["pages"]["totalCount"] == 0  # nothing saved


def test_at_least_twelve_bad_configurations() -> None:
    assert len(BAD) >= 12


async def test_get_answers_carry_an_etag(api: Api, engine: AsyncEngine) -> None:
    c, _ = await make_home(api, engine)
    query = 'query { page(slug: "home") { title modules { __typename id } } }'
    first = await api.client.get("/graphql", params={"query": query}, headers={"x-channel": "APP"})
    etag = first.headers["etag"]
    again = await api.client.get(
        "/graphql", params={"query": query}, headers={"x-channel": "APP", "if-none-match": etag}
    )
    assert again.status_code == 304
    await api.admin("ProductDelist", {"id": c.products["A"]["id"]})
    cards = (
        'query { page(slug: "home") { modules { ... on ProductListModule { products { id } } } } }'
    )
    before = await api.client.get("/graphql", params={"query": cards}, headers={"x-channel": "APP"})
    await api.admin("ProductDelist", {"id": c.products["B"]["id"]})
    after = await api.client.get(
        "/graphql",
        params={"query": cards},
        headers={"x-channel": "APP", "if-none-match": before.headers["etag"]},
    )
    assert after.status_code == 200  # a product it shows changed: a new answer
    assert after.headers["etag"] != before.headers["etag"]


async def test_update_replaces_modules_and_versions_grow(api: Api, engine: AsyncEngine) -> None:
    c, page_id = await make_home(api, engine)
    update = (
        "mutation($id: ID!, $input: PageInput!) { pageUpdate(id: $id, input: $input) "
        "{ page { version modules { __typename } } userErrors { code } } }"
    )
    result = await api.post(
        update,
        {
            "id": page_id,
            "input": {
                "slug": "home",
                "title": "首页",
                "channels": ["APP"],
                "modules": [{"richText": {"html": "<p>only</p>"}}],
            },
        },
        token=api.admin_token,
    )
    page = result["data"]["pageUpdate"]["page"]
    assert page["modules"] == [{"__typename": "RichTextModule"}]
    assert page["version"] == 3  # created, published, updated
    versions = await api.post(
        "query($id: ID!) { pageVersions(id: $id) { version savedAt snapshot } }",
        {"id": page_id},
        token=api.admin_token,
    )
    history = versions["data"]["pageVersions"]
    assert [v["version"] for v in history] == [3, 2, 1]
    assert history[1]["snapshot"]["status"] == "PUBLISHED"
    assert len(history[1]["snapshot"]["modules"]) == 8  # what was live before the update
    assert history[0]["snapshot"]["modules"][0]["type"] == "RICH_TEXT"
    assert c.products
