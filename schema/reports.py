"""Reports API (admin.graphql SalesReport): per-day GMV, paid orders, units and average order
value; top products; promotion statistics."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import reports as rr
from schema.common import Money
from schema.common import UserError
from schema.common import money
from schema.common import user_errors_field
from schema.payloads import payload
from schema.policy import POLICY

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


@strawberry.enum(description="What a CSV download holds (exports.py serves it).")
class ExportKind(Enum):
    ORDERS = strawberry.enum_value("orders", description="Orders created in the range.")
    SALES = strawberry.enum_value("sales", description="The sales report's days.")
    STOCK_LEDGER = strawberry.enum_value("stock-ledger", description="Stock movements.")
    SETTLEMENT = strawberry.enum_value("settlement", description="A merchant's statement.")


@strawberry.input(description="The download to sign: the same parameters the CSV URL takes.")
class ExportLinkInput:
    kind: ExportKind = strawberry.field(description="Which export.")
    from_: date = strawberry.field(name="from", description="First day (inclusive).")
    to: date = strawberry.field(description="Last day (inclusive), at most 366 days on.")
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="One merchant (ORDERS, SALES; required for SETTLEMENT); merchant staff "
        "always get their own.",
    )
    sku_id: strawberry.ID | None = strawberry.field(
        default=None, description="STOCK_LEDGER: one SKU."
    )
    warehouse_id: strawberry.ID | None = strawberry.field(
        default=None, description="STOCK_LEDGER: one warehouse."
    )
    status: str | None = strawberry.field(
        default=None,
        description="ORDERS: an OrderStatus; STOCK_LEDGER: a movement type.",
    )


@strawberry.type(description="A signed CSV download, for a browser to follow.")
class ExportLink:
    url: str = strawberry.field(
        description="Path and query on this API's origin; it works without an Authorization "
        "header, for this download only, until `expiresAt`."
    )
    expires_at: datetime = strawberry.field(description="When the link stops working.")


@strawberry.type(description="Result of exportLinkCreate.")
class ExportLinkPayload:
    link: ExportLink | None = strawberry.field(description="The link; null when refused.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type
class ReportsMutation:
    @strawberry.mutation(
        description="Sign a CSV download (orders, sales, stock ledger, settlement) for a browser "
        "link, which cannot send an Authorization header. The export's own rule applies now "
        "and again when the link is followed; each download is audited."
    )
    async def export_link_create(
        self,
        info: Info,
        input: Annotated[ExportLinkInput, strawberry.argument(description="The download to sign.")],
    ) -> ExportLinkPayload:
        kind = rr.EXPORT_KINDS[str(input.kind.value)]
        refusal = POLICY[kind.policy].refusal(info.context.viewer)
        if refusal is not None:
            raise refusal
        asked = {
            "from": input.from_.isoformat(),
            "to": input.to.isoformat(),
            "merchantId": input.merchant_id,
            "skuId": input.sku_id,
            "warehouseId": input.warehouse_id,
            kind.status_param: input.status,
        }
        r = rr.export_link(info.context, kind, asked)
        return payload(ExportLinkPayload, link=r)
