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


@strawberry.type(description="One day of a sales report.")
class SalesDay:
    date: date = strawberry.field(description="The day.")
    paid_orders: int = strawberry.field(description="Orders paid that day.")
    units: int = strawberry.field(description="Units in those orders.")

    @strawberry.field(description="Σ payable of the orders paid that day.")
    def gmv(self) -> Money:
        return money(self.gmv)

    @strawberry.field(description="GMV ÷ paid orders (Money in yuan).")
    def average_order_value(self) -> Money:
        return money(self.average_order_value)

    @strawberry.field(description="Refunded so far on those orders (not netted from GMV).")
    def refunded(self) -> Money:
        return money(self.refunded)


@strawberry.type(description="A best-selling product of a report.")
class TopProduct:
    product: ProductRef | None = strawberry.field(description="The product sold.")
    units: int = strawberry.field(description="Units sold, net of the units refunded since.")
    gmv: Money = strawberry.field(
        description="Payable of the lines sold (Money in yuan); refunds are not deducted."
    )


@strawberry.type(description="Sales over a date range (staff with VIEW_REPORTS).")
class SalesReport:
    @strawberry.field(description="Figures per day.")
    def days(self) -> list[SalesDay]:
        return self.days

    @strawberry.field(
        description="Σ payable of paid orders (Money in yuan); refunds are not deducted."
    )
    def gmv(self) -> Money:
        return money(sum(d.gmv for d in self.days))

    @strawberry.field(description="Orders paid in the range.")
    def paid_orders(self) -> int:
        return sum(d.paid_orders for d in self.days)

    @strawberry.field(description="Best-selling products.")
    async def top_products(self, info: Info, limit: int = 10) -> list[TopProduct]:
        found = await rr.top_products(info.context, self, limit)  # type: ignore[arg-type]
        return [
            TopProduct(product=product, units=top.units, gmv=money(top.gmv))
            for product, top in found
        ]


@strawberry.type(description="Statistics of a promotion.")
class PromotionStats:
    orders: int = strawberry.field(description="Paid orders it applied to.")

    @strawberry.field(description="Total discount it gave (Money in yuan).")
    def discount_cost(self) -> Money:
        return money(self.discount_cost)

    @strawberry.field(description="Payable of those orders (Money in yuan).")
    def order_gmv(self) -> Money:
        return money(self.order_gmv)


@strawberry.type
class ReportsQuery:
    @strawberry.field(
        description="Days are "
        "calendar days in the business time zone; both ends inclusive. Merchant "
        "staff get their merchant's figures."
    )
    async def sales_report(
        self,
        info: Info,
        from_: Annotated[
            date,
            strawberry.argument(name="from", description="First day of the range (inclusive)."),
        ],
        to: Annotated[date, strawberry.argument(description="Last day of the range (inclusive).")],
        merchant_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Relay global id of one merchant; omitted = the platform "
                "(merchant staff get their own)."
            ),
        ] = None,
    ) -> SalesReport:
        return await rr.sales_report(info.context, from_, to, merchant_id)  # type: ignore[return-value]
