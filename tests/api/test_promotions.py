"""Promotions through GraphQL (DOMAIN.md §4, issue 5): the hard conflict rule (same level,
overlapping window, channels, audience and at least one shared SKU), validation, lifecycle and
what storefronts show."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FixedClock
from tests.api.catalog_data import Catalog
from tests.api.catalog_data import add_product
from tests.api.catalog_data import build_catalog
from tests.api.catalog_data import phone_input
from tests.conftest import Api

APRIL = ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z")


async def catalog(api: Api) -> Catalog:
    c = await build_catalog(api)
    await add_product(api, c, "A", phone_input(c, "Phone A", "Apple", ["500.00"], code="A"))
    await add_product(api, c, "B", phone_input(c, "Phone B", "华为 Huawei", ["300.00"], code="B"))
    return c


def reduction(
    name: str,
    *,
    amount: str = "20",
    threshold: str = "400",
    window: tuple[str, str] = APRIL,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "FULL_REDUCTION",
        "startsAt": window[0],
        "endsAt": window[1],
        "rules": {"fullReduction": {"tiers": [{"threshold": threshold, "amount": amount}]}},
        **extra,
    }


def gift_promotion(name: str, sku: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """赠品 in April: `quantity` of `sku` given with each unit in scope."""
    return {
        "name": name,
        "type": "GIFT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "rules": {"gift": {"gifts": [{"skuId": sku, "quantity": quantity}]}},
        **extra,
    }


async def create(api: Api, data: dict[str, Any]) -> dict[str, Any]:
    result = await api.op("PromotionCreate", {"input": data}, token=api.admin_token)
    assert "errors" not in result, result
    return result["data"]["promotionCreate"]


async def live(api: Api, data: dict[str, Any]) -> str:
    created = await create(api, data)
    assert created["userErrors"] == [], created
    activated = await api.admin("PromotionActivate", {"id": created["promotion"]["id"]})
    return activated["promotionActivate"]["promotion"]["id"]


async def test_seed_example_over_400_minus_50_on_a_is_refused(api: Api) -> None:
    c = await catalog(api)
    a = {"productIds": [c.products["A"]["id"]]}
    april = await live(api, reduction("April: over 400 −20", scope=a))
    refused = await create(api, reduction("April: over 400 −50", amount="50", scope=a))
    assert refused["promotion"] is None
    assert refused["userErrors"][0]["code"] == "PROMOTION_CONFLICT"
    assert "April: over 400 −20" in refused["userErrors"][0]["message"]
    assert refused["conflicts"] == [
        {
            "promotion": {"id": april, "name": "April: over 400 −20"},
            "products": [{"id": c.products["A"]["id"], "title": "Phone A"}],
        }
    ]
    listing = await api.post("{ promotions { totalCount } }", token=api.admin_token)
    assert listing["data"]["promotions"]["totalCount"] == 1  # nothing was saved


@pytest.mark.parametrize(
    "existing,new,conflict",
    [
        # category scope (手机 holds A) against a product scope on A
        ({"scope": {"categoryIds": ["phone"]}}, {"scope": {"productIds": ["A"]}}, True),
        # parent category (数码) includes its descendants
        ({"scope": {"categoryIds": ["digital"]}}, {"scope": {"productIds": ["B"]}}, True),
        # the excluded product does not count as shared
        (
            {"scope": {"categoryIds": ["phone"], "excludedProductIds": ["A"]}},
            {"scope": {"productIds": ["A"]}},
            False,
        ),
        ({"scope": {"brandIds": ["Apple"]}}, {"scope": {"productIds": ["A"]}}, True),
        ({"scope": {"brandIds": ["Apple"]}}, {"scope": {"productIds": ["B"]}}, False),
        ({"channels": ["APP"]}, {"channels": ["H5", "WEB"]}, False),
        ({"channels": []}, {"channels": ["APP"]}, True),
        ({"channels": ["APP", "H5"]}, {"channels": ["H5"]}, True),
        (
            {"audience": {"kind": "NEW_CUSTOMERS"}},
            {"audience": {"kind": "MIN_MEMBER_LEVEL", "minMemberLevel": 3}},
            False,
        ),
        ({"audience": {"kind": "ALL"}}, {"audience": {"kind": "NEW_CUSTOMERS"}}, True),
        (
            {"audience": {"kind": "MIN_MEMBER_LEVEL", "minMemberLevel": 1}},
            {"audience": {"kind": "MIN_MEMBER_LEVEL", "minMemberLevel": 5}},
            True,
        ),
        # windows that only touch do not overlap; one second of overlap does
        ({}, {"window": ("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z")}, False),
        ({}, {"window": ("2026-04-30T23:59:59Z", "2026-06-01T00:00:00Z")}, True),
        ({}, {"window": ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")}, False),
    ],
)
async def test_conflict_rule(
    api: Api, existing: dict[str, Any], new: dict[str, Any], conflict: bool
) -> None:
    c = await catalog(api)

    def resolve(spec: dict[str, Any]) -> dict[str, Any]:
        spec = dict(spec)
        window = spec.pop("window", APRIL)
        scope = spec.pop("scope", {})
        ids = {
            "categoryIds": c.categories,
            "productIds": {k: v["id"] for k, v in c.products.items()},
            "excludedProductIds": {k: v["id"] for k, v in c.products.items()},
            "brandIds": c.brands,
        }
        spec["scope"] = {key: [ids[key][x] for x in values] for key, values in scope.items()}
        return {**spec, "window": window}

    await live(api, reduction("existing", **resolve(existing)))
    preview = await api.admin("PromotionConflicts", {"input": reduction("new", **resolve(new))})
    assert bool(preview["promotionConflicts"]) is conflict
    created = await create(api, reduction("new", **resolve(new)))
    assert (created["promotion"] is None) is conflict


async def test_different_levels_never_conflict(api: Api) -> None:
    c = await catalog(api)
    a = {"productIds": [c.products["A"]["id"]]}
    await live(api, reduction("满减", scope=a))
    direct = {
        "name": "直降",
        "type": "SINGLE_PRODUCT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "scope": a,
        "rules": {"singleProduct": {"specialPrice": "450.00"}},
    }
    assert (await create(api, direct))["userErrors"] == []


async def test_drafts_and_cancelled_promotions_do_not_block(api: Api) -> None:
    c = await catalog(api)
    a = {"productIds": [c.products["A"]["id"]]}
    draft = await create(api, reduction("draft", scope=a))
    cancelled = await live(api, reduction("cancelled", scope=a, amount="30"))
    await api.admin("PromotionCancel", {"id": cancelled})
    second = await create(api, reduction("second", scope=a, amount="50"))
    assert second["userErrors"] == []
    # Activation checks again: two drafts on A cannot both go live.
    first = await api.admin("PromotionActivate", {"id": draft["promotion"]["id"]})
    assert first["promotionActivate"]["promotion"]["status"] == "ACTIVE"
    clash = await api.op(
        "PromotionActivate", {"id": second["promotion"]["id"]}, token=api.admin_token
    )
    payload = clash["data"]["promotionActivate"]
    assert payload["userErrors"][0]["code"] == "PROMOTION_CONFLICT"
    assert payload["conflicts"][0]["promotion"]["id"] == draft["promotion"]["id"]
    assert payload["conflicts"][0]["products"] == [{"id": c.products["A"]["id"]}]


@pytest.mark.parametrize(
    "rules,type_,code,field",
    [
        (
            {
                "fullReduction": {
                    "tiers": [
                        {"threshold": "300", "amount": "30"},
                        {"threshold": "300", "amount": "60"},
                    ]
                }
            },
            "FULL_REDUCTION",
            "INVALID_RULE",
            "rules.tiers.1.threshold",
        ),
        (
            {"fullReduction": {"tiers": [{"threshold": "300", "amount": "300"}]}},
            "FULL_REDUCTION",
            "INVALID_RULE",
            "rules.tiers.0.amount",
        ),
        (
            {"fullReduction": {"every": {"step": "100", "amount": "100"}}},
            "FULL_REDUCTION",
            "INVALID_RULE",
            "rules.every.amount",
        ),
        (
            {"singleProduct": {"percentOff": "100"}},
            "SINGLE_PRODUCT",
            "INVALID_RULE",
            "rules.percentOff",
        ),
        (
            {"singleProduct": {"percentOff": "0"}},
            "SINGLE_PRODUCT",
            "INVALID_RULE",
            "rules.percentOff",
        ),
        ({"singleProduct": {}}, "SINGLE_PRODUCT", "INVALID_RULE", "rules"),
        (
            {"multiBuy": {"fromNthUnit": 1, "percentOff": "50"}},
            "MULTI_BUY",
            "INVALID_RULE",
            "rules.fromNthUnit",
        ),
        (
            {"bundle": {"skus": [{"skuId": "SKU_A", "quantity": 1}], "price": "10"}},
            "BUNDLE",
            "INVALID_RULE",
            "rules.skus",
        ),
        (
            {
                "deposit": {
                    "deposit": "50",
                    "depositWorth": "100",
                    "balanceStartsAt": "2026-04-15T00:00:00Z",
                    "balanceEndsAt": "2026-05-15T00:00:00Z",
                }
            },
            "DEPOSIT",
            "INVALID_SCHEDULE",
            "rules.balanceStartsAt",
        ),
        (
            {
                "deposit": {
                    "deposit": "50",
                    "depositWorth": "40",
                    "balanceStartsAt": "2026-05-02T00:00:00Z",
                    "balanceEndsAt": "2026-05-15T00:00:00Z",
                }
            },
            "DEPOSIT",
            "INVALID_RULE",
            "rules.depositWorth",
        ),
        (
            {"gift": {"gifts": [{"skuId": "U2t1Ojk5OTk", "quantity": 1}]}},
            "GIFT",
            "NOT_FOUND",
            "scope.skuIds",
        ),
        (
            {"fullReduction": {"tiers": [{"threshold": "300", "amount": "30"}]}},
            "SPEND_GIFT",
            "INVALID_RULE",
            "rules",
        ),
    ],
)
async def test_rule_validation(
    api: Api, rules: dict[str, Any], type_: str, code: str, field: str
) -> None:
    c = await catalog(api)
    detail = await api.ok("ProductDetail", {"id": c.products["A"]["id"]})
    sku_a = detail["product"]["skus"][0]["id"]
    text = str(rules).replace("SKU_A", sku_a)
    data = {
        "name": "x",
        "type": type_,
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "rules": eval(text),
    }
    result = await create(api, data)
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in result["userErrors"]
    ], result
    assert result["promotion"] is None


async def test_window_must_be_valid(api: Api) -> None:
    await catalog(api)
    result = await create(api, reduction("x", window=(APRIL[1], APRIL[0])))
    assert result["userErrors"][0] == {
        "field": "endsAt",
        "code": "INVALID_SCHEDULE",
        "message": "endsAt must be after startsAt.",
    }


async def test_status_follows_the_clock(api: Api, clock: FixedClock) -> None:
    await catalog(api)
    future = ("2026-04-20T00:00:00Z", "2026-04-25T00:00:00Z")
    pid = await live(api, reduction("later", window=future))
    status = "query($id: ID!) { node(id: $id) { ... on Promotion { status tag } } }"

    async def now_status() -> str:
        return (await api.post(status, {"id": pid}))["data"]["node"]["status"]

    assert await now_status() == "SCHEDULED"
    clock.set(datetime(2026, 4, 21, tzinfo=UTC))
    assert await now_status() == "ACTIVE"
    clock.set(datetime(2026, 4, 25, tzinfo=UTC))
    assert await now_status() == "ENDED"
    cancel = await api.op("PromotionCancel", {"id": pid}, token=api.admin_token)
    assert cancel["data"]["promotionCancel"]["userErrors"][0]["code"] == "INVALID_STATUS_TRANSITION"


async def test_update_while_scheduled_but_not_while_active(api: Api, clock: FixedClock) -> None:
    await catalog(api)
    future = ("2026-04-20T00:00:00Z", "2026-04-25T00:00:00Z")
    pid = await live(api, reduction("later", window=future))
    update = (
        "mutation($id: ID!, $input: PromotionInput!) { promotionUpdate(id: $id, "
        "input: $input) { promotion { name } userErrors { code } } }"
    )
    ok = await api.post(
        update, {"id": pid, "input": reduction("renamed", window=future)}, token=api.admin_token
    )
    assert ok["data"]["promotionUpdate"]["promotion"]["name"] == "renamed"
    clock.set(datetime(2026, 4, 21, tzinfo=UTC))
    refused = await api.post(
        update, {"id": pid, "input": reduction("again", window=future)}, token=api.admin_token
    )
    assert refused["data"]["promotionUpdate"]["userErrors"] == [
        {"code": "INVALID_STATUS_TRANSITION"}
    ]


async def test_storefront_sees_running_promotions(api: Api) -> None:
    c = await catalog(api)
    pid = await live(
        api,
        reduction(
            "满减", threshold="300", amount="30", scope={"productIds": [c.products["A"]["id"]]}
        ),
    )
    direct = {
        "name": "直降",
        "type": "SINGLE_PRODUCT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "scope": {"productIds": [c.products["A"]["id"]]},
        "rules": {"singleProduct": {"specialPrice": "450.00"}},
    }
    await live(api, direct)
    detail = (await api.ok("ProductDetail", {"id": c.products["A"]["id"]}))["product"]
    assert detail["promotionTags"] == ["直降", "满300减30"]
    assert [p["tag"] for p in detail["promotions"]] == ["满300减30", "直降"]
    assert detail["priceRange"]["min"]["amount"] == "450.00"
    other = (await api.ok("ProductDetail", {"id": c.products["B"]["id"]}))["product"]
    assert other["promotionTags"] == [] and other["promotions"] == []
    await api.admin("PromotionCancel", {"id": pid})
    detail = (await api.ok("ProductDetail", {"id": c.products["A"]["id"]}))["product"]
    assert detail["promotionTags"] == ["直降"]


async def test_promotion_admin_needs_the_permission(api: Api) -> None:
    await catalog(api)
    result = await api.op("PromotionCreate", {"input": reduction("x")})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # a guest: log in first


async def test_conflict_preview_beside_other_fields_leaves_their_reads_alone(api: Api) -> None:
    """Found by the schema fuzzer: the preview rolled the whole session back while sibling
    fields of the same query were reading through it ("another operation is in progress",
    a 500). The draft is undone in its own savepoint now."""
    c = await catalog(api)
    pid = c.products["A"]["id"]
    siblings = " ".join(f'p{i}: product(id: "{pid}") {{ title promotionTags }}' for i in range(6))
    for rules in (
        '{ bundle: { price: "0", skus: [] } }',  # invalid: no conflicts to show
        '{ singleProduct: { specialPrice: "450.00" } }',
    ):
        query = f"""{{ {siblings}
          promotionConflicts(input: {{ name: "x", type: SINGLE_PRODUCT,
            startsAt: "{APRIL[0]}", endsAt: "{APRIL[1]}", rules: {rules},
            scope: {{ productIds: ["{pid}"] }} }}) {{ promotion {{ id }} }}
          promotions {{ totalCount }} }}"""
        result = await api.post(query, token=api.admin_token)
        assert "errors" not in result, result["errors"]
        assert result["data"]["p5"]["title"] == "Phone A"


async def test_running_promotions_are_frozen_rules_every_request_shares(
    api: Api, engine: AsyncEngine, clock: FixedClock
) -> None:
    """The running promotions are kept for every request as immutable pricing rules, never
    ORM rows: what one request tried to change cannot reach another's prices, and the kept
    rules are the ones the stored rows convert to."""
    from dataclasses import FrozenInstanceError

    from core import changes
    from core.db import create_session_factory
    from models.promotions import Promotion
    from services import promotions

    c = await catalog(api)
    flash = {
        "name": "秒杀",
        "type": "SINGLE_PRODUCT",
        "startsAt": APRIL[0],
        "endsAt": APRIL[1],
        "scope": {"productIds": [c.products["A"]["id"]]},
        "rules": {"singleProduct": {"percentOff": "10", "promotionStock": 5}},
    }
    await live(api, flash)
    await live(api, reduction("满减", threshold="300", amount="30"))
    listener = await changes.start_listening(engine)
    factory = create_session_factory(engine)
    now = datetime(2026, 4, 15, tzinfo=UTC)
    try:
        async with factory() as first:
            seen = await promotions.live_promotions(first, now)
            for running in seen:
                assert not isinstance(running, Promotion)
                with pytest.raises(FrozenInstanceError):
                    running.stock_sold = 5  # type: ignore[misc]
                with pytest.raises(FrozenInstanceError):
                    running.rule.promotion_stock_left = 0  # type: ignore[misc]
                with pytest.raises(AttributeError):  # frozensets: no add
                    running.rule.scope.product_ids.add(0)  # type: ignore[attr-defined]
            assert isinstance(seen[0].channels, tuple) and isinstance(seen[1].rule.tiers, tuple)
        async with factory() as second:
            again = await promotions.live_promotions(second, now)
            if changes.feed_of(engine).live:
                assert all(a is b for a, b in zip(again, seen, strict=True))  # kept: shared
            stored = (await second.scalars(select(Promotion).order_by(Promotion.id))).all()
            assert [p.rule for p in again] == [promotions.as_rule(row) for row in stored]
        detail = (await api.ok("ProductDetail", {"id": c.products["A"]["id"]}))["product"]
        assert detail["priceRange"]["min"]["amount"] == "450.00"
        assert [p["tag"] for p in detail["promotions"]] == ["限时秒杀", "满300减30"]
    finally:
        if listener is not None:
            listener.cancel()
