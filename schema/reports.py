"""Reports API (admin.graphql SalesReport): per-day GMV, paid orders, units and average order
value; top products; promotion statistics."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import reports as rr
from schema.common import Money, money

if TYPE_CHECKING:
    from schema.catalog import Product

ProductRef = Annotated["Product", strawberry.lazy("schema.catalog")]


@strawberry.type
class SalesDay:
    date: date
    paid_orders: int
    units: int

    @strawberry.field(description="Σ payable of the orders paid that day.")
    def gmv(self) -> Money:
        return money(self.gmv)  # type: ignore[return-value]

    @strawberry.field
    def average_order_value(self) -> Money:
        return money(self.average_order_value)  # type: ignore[return-value]

    @strawberry.field(description="Refunded so far on those orders (not netted from GMV).")
    def refunded(self) -> Money:
        return money(self.refunded)  # type: ignore[return-value]


@strawberry.type
class TopProduct:
    product: ProductRef | None
    units: int
    gmv: Money


@strawberry.type
class SalesReport:
    @strawberry.field
    def days(self) -> list[SalesDay]:
        return self.days

    @strawberry.field
    def gmv(self) -> Money:
        return money(sum(d.gmv for d in self.days))  # type: ignore[attr-defined,return-value]

    @strawberry.field
    def paid_orders(self) -> int:
        return sum(d.paid_orders for d in self.days)  # type: ignore[attr-defined]

    @strawberry.field
    async def top_products(self, info: Info, limit: int = 10) -> list[TopProduct]:
        found = await rr.top_products(info.context, self, limit)  # type: ignore[arg-type]
        return [TopProduct(product=product, units=top.units, gmv=money(top.gmv))  # type: ignore[arg-type]
                for product, top in found]


@strawberry.type
class PromotionStats:
    orders: int

    @strawberry.field
    def discount_cost(self) -> Money:
        return money(self.discount_cost)  # type: ignore[return-value]

    @strawberry.field
    def order_gmv(self) -> Money:
        return money(self.order_gmv)  # type: ignore[return-value]


@strawberry.type
class ReportsQuery:
    @strawberry.field(description="Days are "
                      "calendar days in the business time zone; both ends inclusive. Merchant "
                      "staff get their merchant's figures.")
    async def sales_report(self, info: Info, from_: Annotated[date, strawberry.argument(
                           name="from")], to: date,
                           merchant_id: strawberry.ID | None = None) -> SalesReport:
        return await rr.sales_report(info.context, from_, to, merchant_id)  # type: ignore[return-value]

