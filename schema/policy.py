"""The authorization policy: who may call each root field and mutation, and on what.

One table, `POLICY`, answers "who may do this, to what" for the whole API. `apply_policy`
puts a gate on every root field of the schema from it; a field missing from the table makes
the schema refuse to build, so nothing is ever reachable unguarded.

Actors: a guest (no token), a customer, platform staff (no merchant) and merchant staff (bound
to one merchant). The system actor (the sweeper, `zhongtai` CLI commands) calls services
directly and never goes through this gate. Staff need the rule's permission. Resources carry
an owner, the platform or one merchant (resolvers/ownership.py); a rule's targets name the
arguments that point at owned resources, and merchant staff may only name their own merchant's
(an absent required target means "the platform's" and is refused too). Lists a merchant's
staff read are narrowed to their merchant by the resolvers; the `scope` note says so.

Refusals are GraphQL errors: UNAUTHENTICATED for a guest where a login is needed, FORBIDDEN
for a logged-in actor who may not. Ownership of customers' own things (carts, orders,
addresses, coupons) is checked by the services, which answer only to the owner."""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import Any

from graphql import GraphQLError
from graphql import OperationType
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types import Info

from core.ids import InvalidGlobalId
from core.ids import decode_id
from resolvers.context import Permission
from resolvers.context import Viewer
from resolvers.errors import ApiErrorCode
from resolvers.errors import api_error
from resolvers.ownership import OWNED_TYPES
from resolvers.ownership import owners_of

P = Permission


class Actor(StrEnum):
    GUEST = "guest"
    CUSTOMER = "customer"
    PLATFORM_STAFF = "platform staff"
    MERCHANT_STAFF = "merchant staff"


def actor_of(viewer: Viewer) -> Actor:
    if viewer.is_staff:
        return Actor.MERCHANT_STAFF if viewer.merchant_id is not None else Actor.PLATFORM_STAFF
    return Actor.CUSTOMER if viewer.is_customer else Actor.GUEST


STAFF = frozenset({Actor.PLATFORM_STAFF, Actor.MERCHANT_STAFF})
EVERYONE = frozenset(Actor)


@dataclass(frozen=True)
class Target:
    """An argument (a dotted GraphQL path; lists are walked) holding global ids of `type`."""

    path: str
    type: str
    required: bool = False  # absent = the platform's, which merchant staff may not name

    def values(self, kwargs: dict[str, Any]) -> Iterator[Any]:
        yield from _walk(kwargs, [_snake(part) for part in self.path.split(".")])


@dataclass(frozen=True)
class Rule:
    actors: frozenset[Actor]
    permission: Permission | None = None  # what staff must hold
    targets: tuple[Target, ...] = ()
    scope: str = ""  # what a merchant's staff see of a list, for the reader

    def refusal(self, viewer: Viewer) -> GraphQLError | None:
        actor = actor_of(viewer)
        if actor not in self.actors:
            if actor is Actor.GUEST:
                return api_error(ApiErrorCode.UNAUTHENTICATED, "Log in first.")
            return api_error(ApiErrorCode.FORBIDDEN, f"Not open to {actor.value}.")
        if actor in STAFF and self.permission is not None and not viewer.can(self.permission):
            return api_error(
                ApiErrorCode.FORBIDDEN, f"Requires the {self.permission.value} permission."
            )
        return None

    def describe(self) -> str:
        who = ", ".join(a.value for a in Actor if a in self.actors)
        needs = f" with {self.permission.value}" if self.permission else ""
        return who + needs


# --- rule makers: the vocabulary of the table -----------------------------------------------------


def anyone() -> Rule:
    return Rule(EVERYONE)


def customers() -> Rule:
    """Customers, on their own things."""
    return Rule(frozenset({Actor.CUSTOMER}))


def platform(permission: Permission | None) -> Rule:
    """Platform-wide data: platform staff only."""
    return Rule(frozenset({Actor.PLATFORM_STAFF}), permission)


def staff(permission: Permission | None, *targets: Target, scope: str = "") -> Rule:
    """Platform staff, and merchant staff on their own merchant's resources."""
    return Rule(STAFF, permission, targets, scope)


def customers_or_staff(permission: Permission, *targets: Target, scope: str = "") -> Rule:
    return Rule(frozenset({Actor.CUSTOMER}) | STAFF, permission, targets, scope)


def own(path: str, type_: str) -> Target:
    return Target(path, type_)


def funder(path: str = "input.merchantId") -> Target:
    """The merchant that owns and pays for what is created: merchant staff must name theirs."""
    return Target(path, "Merchant", required=True)


MINE = "their merchant's only"
# What a promotion's input names that merchant staff must own: its scope and rule SKUs.
PROMOTION_TARGETS = (
    own("input.scope.skuIds", "Sku"),
    own("input.scope.productIds", "Product"),
    own("input.scope.excludedProductIds", "Product"),
    own("input.rules.bundle.skus.skuId", "Sku"),
    own("input.rules.gift.gifts.skuId", "Sku"),
    own("input.rules.spendGift.tiers.gifts.skuId", "Sku"),
    own("input.rules.addOn.choices.skuId", "Sku"),
)

POLICY: dict[str, Rule] = {
    # --- storefront reads: public, answering only what the caller may see -----------------
    "displayCategories": anyone(),
    "displayCategory": anyone(),
    "products": anyone(),
    "product": anyone(),
    "node": anyone(),  # each type's own visibility applies (null otherwise)
    "nodes": anyone(),
    "categories": anyone(),
    "brands": anyone(),
    "page": anyone(),
    "couponTemplates": anyone(),  # claimable batches; staff with MANAGE_COUPONS see theirs
    "cart": anyone(),  # a guest's cart by its id; a customer's answers to them only
    "me": anyone(),  # null for guests and staff
    "order": customers_or_staff(P.MANAGE_ORDERS, own("id", "Order")),
    # --- accounts -------------------------------------------------------------------------
    "customerRegister": anyone(),
    "tokenCreate": anyone(),
    "staffTokenCreate": anyone(),
    "tokenRefresh": anyone(),  # the refresh token's secret is the credential
    "tokenRevoke": anyone(),
    "addressCreate": customers(),
    "addressUpdate": customers(),
    "addressSetDefault": customers(),
    "addressDelete": customers(),
    "auditLog": staff(
        P.MANAGE_STAFF,
        own("filter.actorId", "Staff"),
        scope="entries about their merchant's resources only",
    ),
    # delegation: nobody grants what they do not hold (services/accounts.py checks the
    # permissions); merchant staff manage their merchant's staff and roles only
    "staff": staff(P.MANAGE_STAFF, scope=MINE),
    "roles": staff(P.MANAGE_STAFF, scope=MINE),
    "staffCreate": staff(P.MANAGE_STAFF, funder(), own("input.roleIds", "Role")),
    "staffUpdate": staff(P.MANAGE_STAFF, own("id", "Staff"), own("input.roleIds", "Role")),
    "staffDeactivate": staff(P.MANAGE_STAFF, own("id", "Staff")),
    "staffActivate": staff(P.MANAGE_STAFF, own("id", "Staff")),
    "roleCreate": staff(P.MANAGE_STAFF, own("input.merchantId", "Merchant")),
    "roleUpdate": staff(P.MANAGE_STAFF, own("id", "Role")),
    "roleDelete": staff(P.MANAGE_STAFF, own("id", "Role")),
    # --- catalog: platform-wide data ----------------------------------------------------------
    "brandCreate": platform(P.MANAGE_CATALOG),
    "brandUpdate": platform(P.MANAGE_CATALOG),
    "brandDelete": platform(P.MANAGE_CATALOG),
    "categoryCreate": platform(P.MANAGE_CATALOG),
    "categoryUpdate": platform(P.MANAGE_CATALOG),
    "categoryDelete": platform(P.MANAGE_CATALOG),
    "attributeCreate": platform(P.MANAGE_CATALOG),
    "displayCategoryCreate": platform(P.MANAGE_CATALOG),
    "displayCategoryUpdate": platform(P.MANAGE_CATALOG),
    "displayCategoryDelete": platform(P.MANAGE_CATALOG),
    "merchantCreate": platform(P.MANAGE_CATALOG),
    "merchantUpdate": platform(P.MANAGE_CATALOG),  # the commission rate is the platform's
    "merchants": staff(None, scope="their own merchant only"),
    # --- catalog: a merchant's products -------------------------------------------------------
    "adminProducts": staff(P.MANAGE_CATALOG, own("filter.merchantId", "Merchant"), scope=MINE),
    "shippingTemplateCreate": staff(P.MANAGE_CATALOG, funder()),
    "productCreate": staff(
        P.MANAGE_CATALOG, funder(), own("input.shippingTemplateId", "ShippingTemplate")
    ),
    "productUpdate": staff(
        P.MANAGE_CATALOG, own("id", "Product"), own("input.shippingTemplateId", "ShippingTemplate")
    ),
    "productList": staff(P.MANAGE_CATALOG, own("id", "Product")),
    "productDelist": staff(P.MANAGE_CATALOG, own("id", "Product")),
    "productDelete": staff(P.MANAGE_CATALOG, own("id", "Product")),
    # --- inventory ----------------------------------------------------------------------------
    "warehouses": staff(P.MANAGE_INVENTORY, scope=MINE),
    "stockLevels": staff(
        P.MANAGE_INVENTORY,
        own("filter.skuId", "Sku"),
        own("filter.warehouseId", "Warehouse"),
        scope=MINE,
    ),
    "stockMovements": staff(
        P.MANAGE_INVENTORY,
        own("filter.skuId", "Sku"),
        own("filter.warehouseId", "Warehouse"),
        scope=MINE,
    ),
    "warehouseCreate": staff(P.MANAGE_INVENTORY, own("input.merchantId", "Merchant")),
    "warehouseUpdate": staff(P.MANAGE_INVENTORY, own("id", "Warehouse")),
    "stockMove": staff(
        P.MANAGE_INVENTORY, own("input.skuId", "Sku"), own("input.warehouseId", "Warehouse")
    ),
    "stockTransfer": staff(
        P.MANAGE_INVENTORY,
        own("input.skuId", "Sku"),
        own("input.fromWarehouseId", "Warehouse"),
        own("input.toWarehouseId", "Warehouse"),
    ),
    # --- purchasing and stocktakes (services/purchasing.py, services/stocktake.py) ---------
    "suppliers": staff(P.MANAGE_INVENTORY, scope=MINE),
    "supplierCreate": staff(P.MANAGE_INVENTORY, own("input.merchantId", "Merchant")),
    "supplierUpdate": staff(P.MANAGE_INVENTORY, own("id", "Supplier")),
    "purchaseOrders": staff(
        P.MANAGE_INVENTORY,
        own("filter.warehouseId", "Warehouse"),
        own("filter.supplierId", "Supplier"),
        scope=MINE,
    ),
    "purchaseOrderCreate": staff(
        P.MANAGE_INVENTORY,
        own("input.supplierId", "Supplier"),
        own("input.warehouseId", "Warehouse"),
        own("input.lines.skuId", "Sku"),
    ),
    "purchaseOrderUpdate": staff(
        P.MANAGE_INVENTORY,
        own("id", "PurchaseOrder"),
        own("input.supplierId", "Supplier"),
        own("input.warehouseId", "Warehouse"),
        own("input.lines.skuId", "Sku"),
    ),
    "purchaseOrderSubmit": staff(P.MANAGE_INVENTORY, own("id", "PurchaseOrder")),
    "purchaseOrderReceive": staff(
        P.MANAGE_INVENTORY, own("id", "PurchaseOrder"), own("input.lines.skuId", "Sku")
    ),
    "purchaseOrderClose": staff(P.MANAGE_INVENTORY, own("id", "PurchaseOrder")),
    "stocktakes": staff(P.MANAGE_INVENTORY, own("filter.warehouseId", "Warehouse"), scope=MINE),
    "stocktakeStart": staff(P.MANAGE_INVENTORY, own("input.warehouseId", "Warehouse")),
    "stocktakeCount": staff(P.MANAGE_INVENTORY, own("id", "Stocktake"), own("counts.skuId", "Sku")),
    "stocktakeSubmit": staff(P.MANAGE_INVENTORY, own("id", "Stocktake")),
    # approved by a second staff member: services/stocktake.py refuses whoever started or counted
    "stocktakeApprove": staff(P.MANAGE_INVENTORY, own("id", "Stocktake")),
    "stocktakeCancel": staff(P.MANAGE_INVENTORY, own("id", "Stocktake")),
    # --- promotions: owned and funded by one party ----------------------------------------
    "promotionConflicts": staff(P.MANAGE_PROMOTIONS, funder()),
    "promotion": staff(P.MANAGE_PROMOTIONS, own("id", "Promotion")),
    "promotions": staff(P.MANAGE_PROMOTIONS, scope=MINE),
    "promotionCreate": staff(
        P.MANAGE_PROMOTIONS,
        funder(),
        *PROMOTION_TARGETS,
    ),
    "promotionUpdate": staff(
        P.MANAGE_PROMOTIONS,
        own("id", "Promotion"),
        funder(),
        *PROMOTION_TARGETS,
    ),
    "promotionActivate": staff(P.MANAGE_PROMOTIONS, own("id", "Promotion")),
    "promotionCancel": staff(P.MANAGE_PROMOTIONS, own("id", "Promotion")),
    # --- coupons: issued and paid for by one party ------------------------------------------
    "couponTemplate": staff(P.MANAGE_COUPONS, own("id", "CouponTemplate")),
    "couponTemplateCreate": staff(
        P.MANAGE_COUPONS,
        funder(),
        own("input.scope.skuIds", "Sku"),
        own("input.scope.productIds", "Product"),
        own("input.scope.excludedProductIds", "Product"),
    ),
    "couponTemplateUpdate": staff(
        P.MANAGE_COUPONS,
        own("id", "CouponTemplate"),
        funder(),
        own("input.scope.skuIds", "Sku"),
        own("input.scope.productIds", "Product"),
        own("input.scope.excludedProductIds", "Product"),
    ),
    "couponTemplateVoid": staff(P.MANAGE_COUPONS, own("id", "CouponTemplate")),
    "couponIssue": staff(P.MANAGE_COUPONS, own("templateId", "CouponTemplate")),
    "couponCodesGenerate": staff(P.MANAGE_COUPONS, own("templateId", "CouponTemplate")),
    "couponClaim": customers(),
    "couponRedeemCode": customers(),
    # --- cart (a guest owns theirs by its id) --------------------------------------------------
    "cartCreate": anyone(),
    "cartLinesAdd": anyone(),
    "cartLinesUpdate": anyone(),
    "cartLinesRemove": anyone(),
    "cartAddOnSelect": anyone(),
    "cartPromotionSelect": anyone(),
    # --- CMS: platform pages ------------------------------------------------------------------
    "pages": platform(P.MANAGE_CMS),
    "pagePreview": platform(P.MANAGE_CMS),
    "pageVersions": platform(P.MANAGE_CMS),
    "pageCreate": platform(P.MANAGE_CMS),
    "pageUpdate": platform(P.MANAGE_CMS),
    "pagePublish": platform(P.MANAGE_CMS),
    "pageUnpublish": platform(P.MANAGE_CMS),
    "pageDelete": platform(P.MANAGE_CMS),
    # --- checkout and orders -----------------------------------------------------------------
    "checkoutPreview": customers(),
    "checkoutComplete": customers(),
    "paymentConfirm": customers(),
    "orderPaymentStart": customers(),  # their own unpaid sub-order (the service checks)
    "paymentStart": customers(),
    "orderConfirmReceipt": customers(),
    "orderRefundRequest": customers(),
    "orderBuyAgain": customers(),  # their own paid order (the service checks)
    "orderCancel": customers_or_staff(P.MANAGE_ORDERS, own("id", "Order")),
    "adminOrders": staff(P.MANAGE_ORDERS, own("filter.merchantId", "Merchant"), scope=MINE),
    "orderShip": staff(
        P.MANAGE_ORDERS, own("input.orderId", "Order"), own("input.warehouseId", "Warehouse")
    ),
    "orderParcelShip": staff(P.MANAGE_ORDERS, own("input.orderId", "Order")),
    "refundApprove": staff(P.MANAGE_ORDERS, own("id", "Refund")),
    "refundReject": staff(P.MANAGE_ORDERS, own("id", "Refund")),
    # A payment can span several merchants' orders: only the platform records money for it.
    "paymentRecordOffline": platform(P.MANAGE_ORDERS),
    # --- member center: platform-wide levels; customers' standing (MANAGE_CUSTOMERS) ----------
    "memberLevels": anyone(),
    "memberLevelCreate": platform(P.MANAGE_CUSTOMERS),
    "memberLevelUpdate": platform(P.MANAGE_CUSTOMERS),
    "memberLevelDelete": platform(P.MANAGE_CUSTOMERS),
    "customerLevelOverride": platform(P.MANAGE_CUSTOMERS),
    "customerPointsAdjust": platform(P.MANAGE_CUSTOMERS),
    # --- red packets: a customer shares their own paid order's packet (the service answers
    # NOT_FOUND for anyone else's) and opens others' by an unguessable token ------------------
    "redPacketShare": customers(),
    "redPacketOpen": customers(),
    # --- reports ------------------------------------------------------------------------------
    "salesReport": staff(P.VIEW_REPORTS, own("merchantId", "Merchant"), scope=MINE),
    # the CSV export (exports.py) applies this same rule
    "settlementStatement": staff(P.VIEW_REPORTS, own("merchantId", "Merchant"), scope=MINE),
    # signs a CSV download; the export's own rule (above) is applied too, now and at download
    "exportLinkCreate": staff(
        None,
        own("input.merchantId", "Merchant"),
        own("input.skuId", "Sku"),
        own("input.warehouseId", "Warehouse"),
        scope=MINE,
    ),
}


class PolicyGate(FieldExtension):
    """Runs a root field's rule before its resolver."""

    def __init__(self, field_name: str, rule: Rule) -> None:
        self.field_name, self.rule = field_name, rule

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        refusal = self.rule.refusal(info.context.viewer)
        if refusal is not None:
            raise refusal
        # a sync root field keeps no outcome: a mutation is planned only when it is async
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if info.operation.operation != OperationType.MUTATION:
            return await self._gated(next_, source, info, kwargs)
        # A mutation runs once per request: asked again (the planned path gave up on its
        # payload and the normal path answers), its field gives what it gave the first time.
        outcomes = info.context.mutation_outcomes
        key = info.path.key
        if key in outcomes:
            succeeded, outcome = outcomes[key]
            if succeeded:
                return outcome
            raise outcome
        try:
            value = await self._gated(next_, source, info, kwargs)
        except Exception as error:
            outcomes[key] = (False, error)
            raise
        outcomes[key] = (True, value)
        return value

    async def _gated(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, kwargs: dict[str, Any]
    ) -> Any:
        viewer: Viewer = info.context.viewer
        refusal = self.rule.refusal(viewer)
        if refusal is not None:
            raise refusal
        if viewer.merchant_id is not None and self.rule.targets:
            await _check_targets(info.context, self.rule.targets, kwargs)
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


async def _check_targets(ctx: Any, targets: tuple[Target, ...], kwargs: dict[str, Any]) -> None:
    """Merchant staff name only their own merchant's resources (one query per type)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for target in targets:
        values = [v for v in target.values(kwargs) if v is not None]
        if target.required and not values:
            raise _not_yours(target)
        for value in values:
            pk = _pk_of(value, target.type)
            if pk is not None:
                wanted[target.type].add(pk)
    for type_name, pks in wanted.items():
        owners = await owners_of(ctx, type_name, pks)
        if any(owners.get(pk) != ctx.viewer.merchant_id for pk in pks):
            raise _not_yours(next(t for t in targets if t.type == type_name))


def _pk_of(global_id: Any, type_name: str) -> int | None:
    """The row a global id names; a malformed one is left to the resolver to refuse."""
    try:
        kind, pk = decode_id(str(global_id))
    except InvalidGlobalId:
        return None
    return pk if kind == type_name else None


def _not_yours(target: Target) -> Exception:
    return api_error(
        ApiErrorCode.FORBIDDEN, f"`{target.path}` must name a {target.type} of your own merchant."
    )


def _walk(value: Any, parts: list[str]) -> Iterator[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, parts)
        return
    if not parts:
        yield value
        return
    head, rest = parts[0], parts[1:]
    child = value.get(head) if isinstance(value, dict) else getattr(value, head, None)
    if child is not None and not _unset(child):
        yield from _walk(child, rest)


def _unset(value: Any) -> bool:
    from strawberry import UNSET

    return value is UNSET


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class Coverage:
    """What apply_policy found, for the tests and the README."""

    guarded: dict[str, Rule] = field(default_factory=dict)


def apply_policy(*root_types: Any) -> Coverage:
    """Gate every field of the root types by its rule; refuse to build with one missing."""
    coverage = Coverage()
    for root in root_types:
        for strawberry_field in root.__strawberry_definition__.fields:
            name = strawberry_field.graphql_name or _camel(strawberry_field.python_name)
            rule = POLICY.get(name)
            if rule is None:
                raise RuntimeError(
                    f"{name} is not in the authorization policy "
                    "(schema/policy.py POLICY): add its rule."
                )
            for target in rule.targets:
                if target.type not in OWNED_TYPES:
                    raise RuntimeError(f"{name}: {target.type} has no owner column.")
            if rule.targets and not strawberry_field.is_async:
                # owners are looked up in the database: only resolve_async checks targets
                raise RuntimeError(f"{name} names owned targets: its resolver must be async.")
            gates = [e for e in strawberry_field.extensions if isinstance(e, PolicyGate)]
            if not gates:
                strawberry_field.extensions.insert(0, PolicyGate(name, rule))
            coverage.guarded[name] = rule
    return coverage


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# --- the table as the README shows it ---------------------------------------------------------


def policy_markdown() -> str:
    """The README's permission table, made from POLICY (a test keeps the two equal)."""
    rows = [
        "| field | who may call | merchant staff name only their own | merchant staff see |",
        "|---|---|---|---|",
    ]
    for name in sorted(POLICY):
        rule = POLICY[name]
        targets = ", ".join(
            f"`{t.path}`" + (" (required)" if t.required else "") for t in rule.targets
        )
        rows.append(f"| `{name}` | {rule.describe()} | {targets} | {rule.scope} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m schema.policy: print the README table
    print(policy_markdown(), end="")
