"""Settlement API (结算): a merchant's statement for a period (services/settlement.py has the
formula). The CSV export (exports.py) answers the same figures under the same rule."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import settlement as rs
from schema.common import Money
from schema.common import money

if TYPE_CHECKING:
    from schema.catalog import Merchant

MerchantRef = Annotated["Merchant", strawberry.lazy("schema.catalog")]


def _money(name: str, description: str) -> Money:
    def resolve(root: strawberry.Parent[object]) -> Money:
        return money(rs.figures(root)[name])

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(
    description="What the platform owes one merchant for a period: sales by "
    "the day their order was paid, refunds by the day the money went back."
)
class SettlementStatement:
    start: date = strawberry.field(name="from", description="First day (inclusive).")
    end: date = strawberry.field(name="to", description="Last day (inclusive).")
    commission_rate: int = strawberry.field(description="Basis points (500 = 5%).")
    paid_orders: int = strawberry.field(description="Orders paid in the period.")

    @strawberry.field(description="The merchant.")
    async def merchant(self, info: Info) -> MerchantRef:
        return await info.context.loaders.merchant.load(self.merchant_id)  # type: ignore[attr-defined]

    gross_sales: Money = _money("grossSales", "Base price × units of the paid orders' lines.")
    merchant_funded_discounts: Money = _money(
        "merchantFundedDiscounts", "Promotions and coupons the merchant funds."
    )
    platform_funded_discounts: Money = _money(
        "platformFundedDiscounts",
        "Promotions and coupons the platform funds (it pays them to the merchant).",
    )
    shipping: Money = _money("shipping", "Shipping fees of the paid orders.")
    collected: Money = _money("collected", "What customers paid for those orders.")
    refunds: Money = _money("refunds", "Money paid back to customers in the period.")
    refunded_shipping: Money = _money("refundedShipping", "The shipping part of `refunds`.")
    refunded_platform_funded_discounts: Money = _money(
        "refundedPlatformFundedDiscounts",
        "The platform-funded discount on refunded units: no longer owed.",
    )
    platform_owes: Money = _money(
        "platformOwes", "platformFundedDiscounts − refundedPlatformFundedDiscounts."
    )
    commission_base: Money = _money(
        "commissionBase",
        "grossSales − merchantFundedDiscounts "
        "− (refunds − refundedShipping + "
        "refundedPlatformFundedDiscounts); shipping carries none.",
    )
    commission: Money = _money(
        "commission", "commissionBase × commissionRate, rounded half up to the fen."
    )
    net_payable: Money = _money(
        "netPayable",
        "grossSales − merchantFundedDiscounts + "
        "shipping − refunds − refundedPlatformFundedDiscounts − "
        "commission.",
    )


@strawberry.type
class SettlementQuery:
    @strawberry.field(
        description="Days are calendar days in the business time zone; both "
        "ends inclusive. Merchant staff ask for their own merchant only."
    )
    async def settlement_statement(
        self,
        info: Info,
        merchant_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the merchant settled."),
        ],
        from_: Annotated[
            date,
            strawberry.argument(name="from", description="First day of the period (inclusive)."),
        ],
        to: Annotated[date, strawberry.argument(description="Last day of the period (inclusive).")],
    ) -> SettlementStatement:
        return await rs.statement(info.context, merchant_id, from_, to)  # type: ignore[return-value]
