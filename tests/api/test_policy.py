"""The authorization policy, walked whole: every root query field and mutation of the schema is
in the table (schema/policy.py), and each is called as a guest, a customer, platform staff
without and with the rule's permission, merchant staff on their own merchant's resources and
merchant staff on another merchant's, refused or let through exactly as the table says.

The calls are generated from the schema: required arguments get minimal values of their type,
and every argument the rule names as a target is pointed at a real resource of merchant A
("mine") or merchant B ("theirs"). The gate runs before the resolver, so "let through" means no
FORBIDDEN/UNAUTHENTICATED at that field (the resolver may still refuse bad input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLEnumType
from graphql import GraphQLField
from graphql import GraphQLInputObjectType
from graphql import GraphQLInputType
from graphql import GraphQLList
from graphql import GraphQLNonNull
from graphql import GraphQLScalarType
from graphql import get_named_type
from graphql import is_leaf_type
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_session_factory
from core.ids import decode_id
from core.ids import encode_id
from core.settings import Settings
from models import Order
from models import Product
from models import Role
from models import ShippingTemplate
from models.orders import OrderLine
from models.orders import Refund
from models.orders import RefundLine
from schema import schema
from schema.policy import POLICY
from schema.policy import Actor
from schema.policy import Rule
from services.accounts import Permission
from tests.api.checkout_data import open_shop
from tests.api.checkout_data import pay
from tests.api.checkout_data import place
from tests.api.checkout_data import shopper
from tests.api.test_coupons import template
from tests.api.test_promotions import reduction
from tests.conftest import Api
from tests.conftest import FixedClock
from tests.conftest import make_staff

GQL = schema._schema
SCALARS: dict[str, Any] = {
    "ID": "x",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1.00",
    "DateTime": "2026-04-10T08:00:00Z",
    "Date": "2026-04-10",
    "JSON": {},
}
REFUSALS = {"FORBIDDEN", "UNAUTHENTICATED"}


def root_fields() -> dict[str, tuple[str, GraphQLField]]:
    assert GQL.query_type is not None and GQL.mutation_type is not None
    found = {name: ("query", f) for name, f in GQL.query_type.fields.items()}
    found.update({name: ("mutation", f) for name, f in GQL.mutation_type.fields.items()})
    return found


def test_the_policy_names_every_root_field_and_nothing_else() -> None:
    assert set(POLICY) == set(root_fields())


# --- generating a call -------------------------------------------------------------------------


def minimal(type_: GraphQLInputType) -> Any:
    """The smallest value GraphQL accepts for a type: required input fields only."""
    if isinstance(type_, GraphQLNonNull):
        return minimal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [minimal(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return SCALARS[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    if _one_of(type_):  # exactly one key: the first
        first, chosen = next(iter(type_.fields.items()))
        return {first: minimal(chosen.type)}
    return {
        name: minimal(f.type)
        for name, f in type_.fields.items()
        if isinstance(f.type, GraphQLNonNull) and not _has_default(f)
    }


def _one_of(type_: GraphQLInputObjectType) -> bool:
    definition = (type_.extensions or {}).get("strawberry-definition")
    directives = getattr(definition, "directives", ()) or ()
    return bool(type_.is_one_of) or any(type(d).__name__ == "OneOf" for d in directives)


def _has_default(f: Any) -> bool:
    from graphql.pyutils import Undefined

    return f.default_value is not Undefined


def point_at(values: dict[str, Any], field: GraphQLField, path: str, global_id: str) -> None:
    """Put `global_id` at a dotted path of the arguments, making what lies between."""
    head, *rest = path.split(".")
    arg_type = field.args[head].type
    if not rest:
        values[head] = _fill(arg_type, global_id)
        return
    if values.get(head) is None:
        values[head] = minimal(arg_type)
    _descend(values[head], _unwrap(arg_type), rest, global_id)


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _fill(type_: Any, global_id: str) -> Any:
    inner = _unwrap(type_)
    return [global_id] if isinstance(inner, GraphQLList) else global_id


def _descend(value: Any, type_: Any, parts: list[str], global_id: str) -> None:
    if isinstance(type_, GraphQLList):
        if not value:
            value.append(minimal(type_.of_type))
        for item in value:
            _descend(item, _unwrap(type_.of_type), parts, global_id)
        return
    head, *rest = parts
    field_type = type_.fields[head].type
    if _one_of(type_) and head not in value:  # one key only: the latest target's
        value.clear()
    if not rest:
        value[head] = _fill(field_type, global_id)
        return
    if value.get(head) is None:
        value[head] = minimal(field_type)
    _descend(value[head], _unwrap(field_type), rest, global_id)


def document(kind: str, name: str, field: GraphQLField, values: dict[str, Any]) -> str:
    given = [a for a in field.args if a in values]
    header = ", ".join(f"${a}: {field.args[a].type}" for a in given)
    args = ", ".join(f"{a}: ${a}" for a in given)
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return (
        f"{kind}{f'({header})' if header else ''} "
        f"{{ {name}{f'({args})' if args else ''}{selection} }}"
    )


# --- the world: two merchants with one of everything --------------------------------------------


@dataclass
class World:
    ids: dict[str, tuple[str, str]]  # node type → (merchant A's, merchant B's)
    customer: str
    merchant_a: int
    merchant_b: int


async def build_world(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> World:
    shop = await open_shop(api, engine, two_merchants=True)
    ids: dict[str, tuple[str, str]] = {
        "Merchant": (shop.merchant, shop.other_merchant),
        "Sku": (shop.sku_a, shop.sku_c),
        "Warehouse": (shop.warehouse, shop.warehouse_c),
    }
    for key, created in (
        ("Promotion", "promotionCreate"),
        ("CouponTemplate", "couponTemplateCreate"),
    ):
        pair = []
        for merchant in (shop.merchant, shop.other_merchant):
            if key == "Promotion":
                data = await api.admin(
                    "PromotionCreate", {"input": reduction(f"p{merchant}", merchantId=merchant)}
                )
            else:
                data = await api.admin(
                    "CouponTemplateCreate", {"input": template(f"t{merchant}", merchantId=merchant)}
                )
            pair.append(
                data[created]["promotion" if key == "Promotion" else "couponTemplate"]["id"]
            )
        ids[key] = (pair[0], pair[1])
    await api.admin(
        "ShippingTemplateCreate",
        {
            "input": {
                "merchantId": shop.other_merchant,
                "name": "B",
                "kind": "FLAT",
                "flatFee": "0.00",
            }
        },
    )
    await supply_side(api, shop, ids)
    who = await shopper(api, "13900000001", [(shop.sku_a, 1), (shop.sku_c, 1)])
    await pay(api, who, await place(api, who))
    a, b = decode_id(shop.merchant)[1], decode_id(shop.other_merchant)[1]
    staff = [
        await make_staff(
            engine, settings, clock, email=f"clerk{m}@policy.example", permissions=[], merchant_id=m
        )
        for m in (a, b)
    ]
    ids["Staff"] = (encode_id("Staff", staff[0][0]), encode_id("Staff", staff[1][0]))
    async with create_session_factory(engine)() as s:
        for model in (Product, ShippingTemplate, Order, Role):
            ids[model.node_type] = (await _first_of(s, model, a), await _first_of(s, model, b))
        refunds = []
        for owner in (a, b):
            order = await s.scalar(select(Order).where(Order.merchant_id == owner))
            assert order is not None
            line = await s.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
            assert line is not None
            refund = Refund(order_id=order.id, amount=1, reason="test")
            s.add(refund)
            await s.flush()
            s.add(RefundLine(refund_id=refund.id, order_line_id=line.id, quantity=1, amount=1))
            refunds.append(encode_id("Refund", refund.id))
        ids["Refund"] = (refunds[0], refunds[1])
        await s.commit()
    return World(ids, who.token, a, b)


async def supply_side(api: Api, shop: Any, ids: dict[str, tuple[str, str]]) -> None:
    """A supplier, a submitted purchase order and a counting stocktake of each merchant."""
    made: dict[str, list[str]] = {"Supplier": [], "PurchaseOrder": [], "Stocktake": []}
    for merchant, warehouse, sku in (
        (shop.merchant, shop.warehouse, shop.sku_a),
        (shop.other_merchant, shop.warehouse_c, shop.sku_c),
    ):
        supplier = (
            await api.admin("SupplierCreate", {"input": {"name": "S", "merchantId": merchant}})
        )["supplierCreate"]["supplier"]["id"]
        line = {"skuId": sku, "quantity": 5, "unitCost": "1.00"}
        order = (
            await api.admin(
                "PurchaseOrderCreate",
                {"input": {"supplierId": supplier, "warehouseId": warehouse, "lines": [line]}},
            )
        )["purchaseOrderCreate"]["purchaseOrder"]["id"]
        await api.admin("PurchaseOrderSubmit", {"id": order})
        take = (
            await api.admin("StocktakeStart", {"input": {"warehouseId": warehouse, "reason": "P"}})
        )["stocktakeStart"]["stocktake"]["id"]
        for key, value in (("Supplier", supplier), ("PurchaseOrder", order), ("Stocktake", take)):
            made[key].append(value)
    for key, (mine, theirs) in made.items():
        ids[key] = (mine, theirs)


async def _first_of(session: Any, model: Any, merchant_id: int) -> str:
    pk = await session.scalar(
        select(model.id).where(model.merchant_id == merchant_id).order_by(model.id)
    )
    assert pk is not None, f"the world has no {model.__name__} of merchant {merchant_id}"
    return encode_id(model.node_type, pk)


# --- the walk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    label: str
    actor: Actor
    token: str | None
    holds_permission: bool
    owner: int  # 0 = A's resources, 1 = B's


def expected_refusal(rule: Rule, caller: Caller) -> str | None:
    """What the table says this caller gets: None (let through) or the refusal code."""
    if caller.actor not in rule.actors:
        return "UNAUTHENTICATED" if caller.actor is Actor.GUEST else "FORBIDDEN"
    staff = caller.actor in (Actor.PLATFORM_STAFF, Actor.MERCHANT_STAFF)
    if staff and rule.permission is not None and not caller.holds_permission:
        return "FORBIDDEN"
    if caller.actor is Actor.MERCHANT_STAFF and caller.owner == 1 and rule.targets:
        return "FORBIDDEN"
    return None


async def callers_for(
    rule: Rule,
    world: World,
    engine: AsyncEngine,
    settings: Settings,
    clock: FixedClock,
    tokens: dict[str, str],
) -> list[Caller]:
    """The six callers of the issue, the staff holding exactly what the case needs."""
    everything = [p.value for p in Permission]
    without = [p for p in everything if rule.permission is None or p != rule.permission.value]

    async def token(key: str, permissions: list[str], merchant: int | None) -> str:
        if key not in tokens:
            _, tokens[key] = await make_staff(
                engine,
                settings,
                clock,
                email=f"{key.lower()}@policy.example",
                permissions=permissions,
                merchant_id=merchant,
            )
        return tokens[key]

    missing = f"platform-without-{rule.permission.value if rule.permission else 'none'}"
    return [
        Caller("guest", Actor.GUEST, None, False, 0),
        Caller("customer", Actor.CUSTOMER, world.customer, False, 0),
        Caller(
            "platform staff without it",
            Actor.PLATFORM_STAFF,
            await token(missing, without, None),
            rule.permission is None,
            0,
        ),
        Caller(
            "platform staff with it",
            Actor.PLATFORM_STAFF,
            await token("platform-all", everything, None),
            True,
            0,
        ),
        Caller(
            "merchant staff, own resource",
            Actor.MERCHANT_STAFF,
            await token("merchant-a", everything, world.merchant_a),
            True,
            0,
        ),
        Caller(
            "merchant staff, another merchant's",
            Actor.MERCHANT_STAFF,
            await token("merchant-a", everything, world.merchant_a),
            True,
            1,
        ),
    ]


def call_for(name: str, rule: Rule, world: World, owner: int) -> tuple[str, dict[str, Any]]:
    kind, field = root_fields()[name]
    values = {
        a: minimal(arg.type)
        for a, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and not _has_default(arg)
    }
    for target in rule.targets:
        point_at(values, field, target.path, world.ids[target.type][owner])
    return document(kind, name, field, values), values


def refusal_at(result: dict[str, Any], name: str) -> str | None:
    for error in result.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code in REFUSALS and error.get("path") == [name]:
            return str(code)
        assert code not in REFUSALS, f"{name}: {code} away from the field: {error}"
        assert code != "GRAPHQL_VALIDATION_FAILED", f"{name}: the generated call is wrong: {error}"
        assert code != "INTERNAL_ERROR", f"{name}: {error}"
    return None


async def test_every_root_field_answers_to_the_policy(
    api: Api, engine: AsyncEngine, settings: Settings, clock: FixedClock
) -> None:
    world = await build_world(api, engine, settings, clock)
    tokens: dict[str, str] = {}
    wrong: list[str] = []
    for name in sorted(POLICY):
        rule = POLICY[name]
        for caller in await callers_for(rule, world, engine, settings, clock, tokens):
            text, variables = call_for(name, rule, world, caller.owner)
            result = await api.post(text, variables, token=caller.token)
            got, want = refusal_at(result, name), expected_refusal(rule, caller)
            if got != want:
                wrong.append(
                    f"{name} as {caller.label}: got {got or 'through'}, "
                    f"the table says {want or 'through'}"
                )
            if got is not None:  # a refusal carries no data
                assert (result.get("data") or {}).get(name) is None, (name, caller, result)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(
    "name", ["productUpdate", "promotionCreate", "couponTemplateVoid", "refundApprove", "stockMove"]
)
def test_generated_calls_point_every_target_at_the_chosen_merchant(name: str) -> None:
    rule = POLICY[name]
    ids = {
        t: (f"{t}-A", f"{t}-B")
        for t in (
            "Product",
            "Merchant",
            "Sku",
            "Promotion",
            "CouponTemplate",
            "Refund",
            "Warehouse",
            "ShippingTemplate",
        )
    }
    world = World(ids, "", 1, 2)
    _, values = call_for(name, rule, world, 1)
    flat = repr(values)
    assert "-A'" not in flat and all(f"{t.type}-B" in flat for t in rule.targets)


def test_the_readme_shows_the_policy_table_as_the_code_has_it() -> None:
    from pathlib import Path

    from schema.policy import policy_markdown

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- policy:start -->\n")[1].split("<!-- policy:end -->")[0]
    assert shown == policy_markdown(), "run `python -m schema.policy` and paste it into README"
