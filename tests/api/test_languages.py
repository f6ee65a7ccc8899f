"""Messages in the shopper's language (issue 19): `Accept-Language` picks zh-CN or en, zh-CN
being the storefront's default and en the admin's; userErrors, cart notices and pricing
explanations come in both, name things instead of showing ids, and no cached answer in one
language reaches a client of the other."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.persisted_queries import digest
from tests.api.test_cart import shop
from tests.api.test_persisted import apq
from tests.api.test_promotions import gift_promotion
from tests.api.test_promotions import live
from tests.api.test_promotions import reduction
from tests.api.test_response_cache import cached_shop
from tests.conftest import Api
from tests.conftest import operation

ZH = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"accept-language": "en-US,en;q=0.9"}
NOTES = "query Notes($id: ID!) { cart(id: $id) { lines { notices } explanations } }"


async def without_language(api: Api, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    """An operation sent with no Accept-Language at all (the test client sends en)."""
    request = api.client.build_request(
        "POST",
        "/graphql",
        json={"query": operation(name), "variables": variables, "operationName": name},
    )
    del request.headers["accept-language"]
    response = await api.client.send(request)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.sqlite_too  # the storefront's cart operations as written
async def test_a_user_error_in_chinese_by_default_and_in_english_on_request(
    api: Api, engine: AsyncEngine
) -> None:
    _, sku_a, _, _ = await shop(api, engine)
    over = {"lines": [{"skuId": sku_a, "quantity": 100}]}

    def error(result: dict[str, Any]) -> dict[str, Any]:
        return result["data"]["cartCreate"]["userErrors"][0]

    default = error(await without_language(api, "CartCreate", over))
    assert default == {
        "field": "lines.0.quantity",
        "code": "INVALID_QUANTITY",
        "message": "每件商品可买1至99件。",
    }
    assert error(await api.op("CartCreate", over, headers=ZH))["message"] == "每件商品可买1至99件。"
    english = error(await api.op("CartCreate", over, headers=EN))
    assert english["message"] == "A line holds 1 to 99 units."
    assert english["code"] == default["code"] and english["field"] == default["field"]
    # q-values decide, not the order; zh-Hans and a bare zh are Chinese; q=0 refuses
    said = {
        "en;q=0.5, zh-CN;q=0.9": "每件商品可买1至99件。",
        "zh-Hans": "每件商品可买1至99件。",
        "fr-FR, en;q=0.1": "A line holds 1 to 99 units.",
        "en;q=0, *": "每件商品可买1至99件。",
        "de": "每件商品可买1至99件。",  # nothing we speak: the channel's default
    }
    for header, text in said.items():
        result = await api.op("CartCreate", over, headers={"accept-language": header})
        assert error(result)["message"] == text, header


async def test_cart_notices_and_explanations_in_both_languages(
    api: Api, engine: AsyncEngine
) -> None:
    _, sku_a, sku_b, _ = await shop(api, engine)  # A 120.00, B 300.00, 10 of each
    await live(api, reduction("满400减30", threshold="400", amount="30"))
    cart_id = (
        await api.ok(
            "CartCreate",
            {"lines": [{"skuId": sku_a, "quantity": 1}, {"skuId": sku_b, "quantity": 12}]},
        )
    )["cartCreate"]["cart"]["id"]

    async def read(headers: dict[str, str]) -> tuple[list[list[str]], list[str]]:
        result = await api.post(NOTES, {"id": cart_id}, headers=headers)
        cart = result["data"]["cart"]
        return [ln["notices"] for ln in cart["lines"]], cart["explanations"]

    # B wants 12 of 10: left out, so 120 is 280 short of 400
    assert await read(EN) == ([[], ["Only 10 left"]], ["Add 280 more for 满400减30"])
    assert await read(ZH) == ([[], ["仅剩10件"]], ["再买280元可享满400减30"])
    lines = (await api.ok("GuestCart", {"id": cart_id}))["cart"]["lines"]
    await api.ok(
        "CartLinesUpdate",
        {"cartId": cart_id, "lines": [{"id": lines[1]["id"], "quantity": 1}]},
    )
    # 120 + 300 = 420 ≥ 400: −30
    assert await read(EN) == ([[], []], ["满400减30 applied: −30"])
    assert await read(ZH) == ([[], []], ["已享满400减30：−30"])


async def test_an_out_of_stock_gift_is_named_not_numbered(api: Api, engine: AsyncEngine) -> None:
    c, sku_a, sku_b, _ = await shop(api, engine)
    gift = gift_promotion("买A赠B", sku_b, 6, scope={"productIds": [c.products["A"]["id"]]})
    await live(api, gift)
    lines = {"lines": [{"skuId": sku_a, "quantity": 2}]}  # 12 gifts wanted, 10 in stock
    cart_id = (await api.ok("CartCreate", lines))["cartCreate"]["cart"]["id"]
    english = await api.post(NOTES, {"id": cart_id}, headers=EN)
    assert english["data"]["cart"]["explanations"] == [
        "Gift Phone B 黑 128GB out of stock (2 not given)"
    ]
    chinese = await api.post(NOTES, {"id": cart_id}, headers=ZH)
    assert chinese["data"]["cart"]["explanations"] == ["赠品Phone B 黑 128GB库存不足（2件未赠送）"]


async def test_staff_get_english_unless_they_ask(api: Api, engine: AsyncEngine) -> None:
    """Admin refusals: English by default; in Chinese their code's general text."""
    await shop(api, engine)
    brand = {"input": {"name": "Apple"}}  # the shop has it already

    async def refusal(headers: dict[str, str] | None) -> dict[str, Any]:
        request = api.client.build_request(
            "POST",
            "/graphql",
            json={"query": operation("BrandCreate"), "variables": brand},
            headers={"authorization": f"Bearer {api.admin_token}", **(headers or {})},
        )
        if headers is None:
            del request.headers["accept-language"]
        result = (await api.client.send(request)).json()
        return result["data"]["brandCreate"]["userErrors"][0]

    default = await refusal(None)
    assert (
        default["code"] == "DUPLICATE_NAME" and default["message"] == (await refusal(EN))["message"]
    )
    assert "Apple" in default["message"]
    assert (await refusal(ZH))["message"] == "名称已被使用。"


@pytest.mark.sqlite_too  # the response cache's own-writes feed differs on SQLite
async def test_cached_answers_are_kept_per_language(api: Api, engine: AsyncEngine) -> None:
    """A zh-CN answer is never served to an en client: the response cache keys on the
    language, and GET answers vary by it (also when sent as an APQ hash)."""
    await cached_shop(api, engine)  # the cache is live
    query = "query Brands { brands { id name } }"

    async def x_cache(params: dict[str, str], headers: dict[str, str]) -> str:
        response = await api.client.get("/graphql", params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert "Accept-Language" in response.headers["vary"]
        assert response.headers["content-language"] == ("en" if headers is EN else "zh-CN")
        return response.headers["x-cache"]

    plain = {"query": query}
    assert [await x_cache(plain, h) for h in (ZH, ZH, EN, EN)] == ["miss", "hit", "miss", "hit"]
    key = digest(query)
    registered = await api.client.post(
        "/graphql",
        json={"query": query, "operationName": "Brands", "extensions": apq(key)},
        headers=ZH,
    )
    assert registered.headers["x-cache"] == "miss"
    as_hash = {"extensions": json.dumps(apq(key)), "operationName": "Brands"}
    assert [await x_cache(as_hash, h) for h in (ZH, EN, EN)] == ["hit", "miss", "hit"]
