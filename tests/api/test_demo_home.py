"""The demo shows the CMS at work: after seed-demo, `page(slug: "home")` is a published page
on every channel whose modules resolve to live products and claimable coupons."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from core.db import create_session_factory
from seed import seed_demo
from tests.conftest import Api

HOME = """{ page(slug: "home") { slug modules { __typename
  ... on BannerCarouselModule { slides { imageUrl } }
  ... on IconGridModule { icons { label link { __typename } } }
  ... on ProductListModule { products { id title } }
  ... on RankingModule { items { rank product { id } } }
  ... on CouponCenterModule { templates { id name } } } } }"""


@pytest.mark.parametrize("channel", ["APP", "H5", "MINI_PROGRAM", "WEB"])
async def test_seeded_home_page_resolves_to_live_products(
    api: Api, engine: AsyncEngine, clock: FixedClock, channel: str
) -> None:
    async with create_session_factory(engine)() as s:
        assert await seed_demo(s, products_per_leaf=3, now=clock.now())
    result = await api.post(HOME, channel=channel)
    assert "errors" not in result, result["errors"]
    modules = {m["__typename"]: m for m in result["data"]["page"]["modules"]}
    assert set(modules) == {
        "BannerCarouselModule",
        "IconGridModule",
        "ProductListModule",
        "CouponCenterModule",
        "RankingModule",
    }
    assert modules["BannerCarouselModule"]["slides"]
    assert len(modules["IconGridModule"]["icons"]) >= 4
    assert modules["ProductListModule"]["products"], "the product list shows live products"
    assert len(modules["CouponCenterModule"]["templates"]) == 2
