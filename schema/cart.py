"""Cart API (storefront.graphql CartFields): lines with availability, the promotion applied
and the alternatives, gifts, coupons (filled by the coupons issue) and the cost breakdown —
all numbers straight from the pricing function."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from core.ids import encode_id
from resolvers import cart as rcart
from resolvers.context import Channel as ChannelEnum
from schema.common import Money, UserError, money, user_errors
from schema.coupons import Coupon
from schema.promotions import Promotion
from services.cart import LineStatus

if TYPE_CHECKING:
    from schema.catalog import Channel, Sku

SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
CartLineStatus = strawberry.enum(LineStatus, name="CartLineStatus")


@strawberry.type
class CartDiscount:
    amount: Money
    label: str
    source_id: strawberry.ID | None


def discount_of(amount: int, label: str, source: str, source_id: int) -> CartDiscount:
    """One discount as every price breakdown shows it (cart lines, checkout, order lines)."""
    kind = "Promotion" if source == "PROMOTION" else "Coupon"
    return CartDiscount(amount=money(amount), label=label,  # type: ignore[arg-type]
                        source_id=strawberry.ID(encode_id(kind, source_id)))


@strawberry.type
class CartLineCost:
    subtotal: Money
    discounts: list[CartDiscount]
    total: Money


@strawberry.type
class CartLine:
    """Root: (CartView, LineView)."""

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("CartLine", self.item.line.id))  # type: ignore[attr-defined]

    @strawberry.field
    def quantity(self) -> int:
        return self.item.line.quantity  # type: ignore[attr-defined]

    @strawberry.field
    def selected(self) -> bool:
        return self.item.line.selected  # type: ignore[attr-defined]

    @strawberry.field
    def status(self) -> CartLineStatus:  # type: ignore[valid-type]
        return self.item.status  # type: ignore[attr-defined]

    @strawberry.field
    def sku(self) -> SkuRef:
        return self.item.sku  # type: ignore[attr-defined]

    @strawberry.field
    def unit_price(self) -> Money:
        return money(self.item.sku.price)  # type: ignore[attr-defined,return-value]

    @strawberry.field
    def cost(self) -> CartLineCost:
        result = self.view.result_of(self.item.line)  # type: ignore[attr-defined]
        discounts = [discount_of(d.amount, d.label, d.source, d.source_id)
                     for d in result.discounts]
        return CartLineCost(subtotal=money(result.subtotal), discounts=discounts,  # type: ignore[arg-type]
                            total=money(result.total))  # type: ignore[arg-type]

    @strawberry.field(description="The promotion applied to the line (item-level first).")
    async def promotion(self, info: Info) -> Promotion | None:
        result = self.view.result_of(self.item.line)  # type: ignore[attr-defined]
        chosen = result.item_promotion or result.order_promotion
        return await info.context.loaders.promotion.load(chosen) if chosen else None

    @strawberry.field(description="Promotions the shopper may switch between for this line "
                      "(item-level ones, and the order-level offer they exclude).")
    async def promotion_choices(self, info: Info) -> list[Promotion]:
        ctx = info.context
        ids = self.view.choices_of(self.item, ctx.channel.value, ctx.now)  # type: ignore[attr-defined]
        found = await ctx.loaders.promotion.load_many(ids)
        return [p for p in found if p is not None]

    @strawberry.field
    def notices(self) -> list[str]:
        notes = list(self.view.result_of(self.item.line).notices)  # type: ignore[attr-defined]
        status = self.item.status  # type: ignore[attr-defined]
        if status == LineStatus.INSUFFICIENT_STOCK:
            notes.append(f"Only {max(0, self.item.sellable)} left")  # type: ignore[attr-defined]
        elif status != LineStatus.AVAILABLE:
            notes.append("No longer available")
        return notes


@strawberry.type
class CartGift:
    quantity: int

    @strawberry.field
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def promotion(self, info: Info) -> Promotion:
        return await info.context.loaders.promotion.load(self.promotion_id)  # type: ignore[attr-defined]


@strawberry.type
class UsableCoupon:
    coupon: Coupon
    discount: Money
    recommended: bool


@strawberry.type
class UnusableCoupon:
    coupon: Coupon
    reason: str
    code: str


@strawberry.type
class CartCoupons:
    usable: list[UsableCoupon]
    unusable: list[UnusableCoupon]


@strawberry.type
class CartCost:
    subtotal: Money
    promotion_discount: Money
    coupon_discount: Money
    shipping: Money
    total: Money


@strawberry.type
class Cart:
    """Root: services.cart.CartView."""

    @strawberry.field(description="Unguessable; a guest's only handle on the cart.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.cart.token)  # type: ignore[attr-defined]

    @strawberry.field
    def channel(self) -> ChannelRef:
        return ChannelEnum(self.cart.channel)  # type: ignore[attr-defined]

    @strawberry.field
    def lines(self) -> list[CartLine]:
        return [_Line(self, item) for item in self.lines]  # type: ignore[attr-defined,misc]

    @strawberry.field
    def gifts(self) -> list[CartGift]:
        return self.result.gifts  # type: ignore[attr-defined]

    @strawberry.field(description="Usable coupons with the recommended set pre-selected; "
                      "unusable ones with the reason.")
    def coupons(self) -> CartCoupons:
        view = self  # the CartView
        applied = set(view.result.coupons_applied)  # type: ignore[attr-defined]
        usable, unusable = [], []
        for entry in view.coupons:
            if entry.reason is None:
                usable.append(UsableCoupon(coupon=entry.coupon, discount=money(entry.discount),  # type: ignore[arg-type]
                                           recommended=entry.coupon.id in applied))
            else:
                unusable.append(UnusableCoupon(coupon=entry.coupon, reason=entry.text,
                                               code=entry.reason))
        return CartCoupons(usable=usable, unusable=unusable)

    @strawberry.field
    def cost(self) -> CartCost:
        r = self.result  # type: ignore[attr-defined]
        return CartCost(subtotal=money(r.subtotal),  # type: ignore[arg-type]
                        promotion_discount=money(r.promotion_discount),  # type: ignore[arg-type]
                        coupon_discount=money(r.coupon_discount),  # type: ignore[arg-type]
                        shipping=money(r.shipping), total=money(r.total))  # type: ignore[arg-type]

    @strawberry.field
    def explanations(self) -> list[str]:
        return self.result.explanations  # type: ignore[attr-defined]


class _Line:
    def __init__(self, view: Any, item: Any) -> None:
        self.view, self.item = view, item


@strawberry.input
class CartLineInput:
    sku_id: strawberry.ID
    quantity: int = 1


@strawberry.input
class CartLineUpdateInput:
    id: strawberry.ID
    quantity: int | None = None
    selected: bool | None = None


@strawberry.input
class CartCreateInput:
    lines: list[CartLineInput] | None = None


@strawberry.type
class CartPayload:
    cart: Cart | None
    user_errors: list[UserError]


def _payload(result: Any) -> CartPayload:
    return CartPayload(cart=result.value, user_errors=user_errors(result.errors))


@strawberry.type
class CartQuery:
    @strawberry.field(description="A cart by its id (guests keep it; customers may use it too).")
    async def cart(self, info: Info, id: strawberry.ID) -> Cart | None:
        return await rcart.cart_by_token(info.context, id)  # type: ignore[return-value]


@strawberry.type
class CartMutation:
    @strawberry.mutation
    async def cart_create(self, info: Info, input: CartCreateInput) -> CartPayload:
        return _payload(await rcart.cart_create(info.context, input.lines))

    @strawberry.mutation
    async def cart_lines_add(self, info: Info, cart_id: strawberry.ID,
                             lines: list[CartLineInput]) -> CartPayload:
        return _payload(await rcart.lines_add(info.context, cart_id, lines))

    @strawberry.mutation
    async def cart_lines_update(self, info: Info, cart_id: strawberry.ID,
                                lines: list[CartLineUpdateInput]) -> CartPayload:
        return _payload(await rcart.lines_update(info.context, cart_id, lines))

    @strawberry.mutation
    async def cart_lines_remove(self, info: Info, cart_id: strawberry.ID,
                                line_ids: list[strawberry.ID]) -> CartPayload:
        return _payload(await rcart.lines_remove(info.context, cart_id, list(line_ids)))

    @strawberry.mutation(description="Switch the line's promotion among its promotionChoices.")
    async def cart_promotion_select(self, info: Info, cart_id: strawberry.ID,
                                    line_id: strawberry.ID,
                                    promotion_id: strawberry.ID) -> CartPayload:
        return _payload(await rcart.promotion_select(info.context, cart_id, line_id,
                                                     promotion_id))
