"""The shape of the API: root Query and Mutation merged from every domain, and the executable
schema with its extensions (parse and validation caches, error masking)."""

from typing import Any

import strawberry
from strawberry.extensions import ParserCache
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.base import get_object_definition

from schema.accounts import AccountsMutation
from schema.accounts import AccountsQuery
from schema.cart import CartMutation
from schema.cart import CartQuery
from schema.catalog import CatalogMutation
from schema.catalog import CatalogQuery
from schema.cms import MODULE_TYPES
from schema.cms import CmsMutation
from schema.cms import CmsQuery
from schema.coupons import CouponsMutation
from schema.coupons import CouponsQuery
from schema.errors import MaskUnexpectedErrors
from schema.errors import ZhongtaiSchema
from schema.execution import DeadlineExecutionContext
from schema.execution import SettleReads
from schema.inventory import InventoryMutation
from schema.inventory import InventoryQuery
from schema.inventory import Warehouse
from schema.members import MembersMutation
from schema.members import MembersQuery
from schema.orders import OrdersMutation
from schema.orders import OrdersQuery
from schema.payments import PaymentsMutation
from schema.policy import apply_policy
from schema.promotions import PromotionsMutation
from schema.promotions import PromotionsQuery
from schema.purchasing import PurchasingMutation
from schema.purchasing import PurchasingQuery
from schema.red_packets import RedPacketsMutation
from schema.reports import ReportsMutation
from schema.reports import ReportsQuery
from schema.scalars import SCALAR_OVERRIDES
from schema.settlement import SettlementQuery

Query = merge_types(
    "Query",
    (
        CatalogQuery,
        AccountsQuery,
        InventoryQuery,
        PurchasingQuery,
        PromotionsQuery,
        CartQuery,
        CouponsQuery,
        CmsQuery,
        OrdersQuery,
        ReportsQuery,
        SettlementQuery,
        MembersQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        CatalogMutation,
        AccountsMutation,
        InventoryMutation,
        PurchasingMutation,
        PromotionsMutation,
        CartMutation,
        CouponsMutation,
        CmsMutation,
        OrdersMutation,
        PaymentsMutation,
        MembersMutation,
        ReportsMutation,
        RedPacketsMutation,
    ),
)
# merge_types takes no description; these are what GraphiQL shows for the two roots.
get_object_definition(
    Query, strict=True
).description = "Reads: storefront browsing (public), the customer's own data and admin queries."
get_object_definition(
    Mutation, strict=True
).description = "Changes; business-rule failures come back as userErrors in each payload."
# Every root field answers to the one authorization table (schema/policy.py).
POLICY_COVERAGE = apply_policy(Query, Mutation)


def build_schema(tracing: bool = False) -> strawberry.Schema:
    """`tracing`: OpenTelemetry spans per operation and resolver (needs the `otel` extra)."""
    extensions: list[Any] = [
        ParserCache(maxsize=1024),
        ValidationCache(maxsize=1024),
        MaskUnexpectedErrors,
        SettleReads,
    ]
    if tracing:
        try:
            from strawberry.extensions.tracing import OpenTelemetryExtension
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError("OTEL_TRACING needs the otel extra: pip install '.[otel]'") from exc
        extensions.append(OpenTelemetryExtension)
    return ZhongtaiSchema(  # logs errors as schema/errors.py says
        query=Query,
        mutation=Mutation,
        types=[Warehouse, *MODULE_TYPES],
        scalar_overrides=SCALAR_OVERRIDES,
        # Parsing and validating the same operation text on every request is pure waste:
        # both results are cached by the query text.
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=DeadlineExecutionContext,
    )


schema = build_schema()
