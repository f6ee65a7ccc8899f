"""Cart API (storefront.graphql CartFields): lines with availability, the promotion applied
and the alternatives, gifts, coupons (filled by the coupons issue) and the cost breakdown —
all numbers straight from the pricing function."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Annotated
from typing import Any

import strawberry
from strawberry.types import Info

from core.ids import encode_id
from resolvers import cart as rcart
from resolvers.cart import LineStatus
from resolvers.common import message
from resolvers.common import say
from resolvers.context import Channel as ChannelEnum
from schema.common import Money
from schema.common import UserError
from schema.common import describe_values
from schema.common import money
from schema.common import said
from schema.common import user_errors
from schema.common import user_errors_field
from schema.coupons import Coupon
from schema.promotions import Promotion

if TYPE_CHECKING:
    from schema.catalog import Channel
    from schema.catalog import Sku
    from schema.orders import Order

SkuRef = Annotated["Sku", strawberry.lazy("schema.catalog")]
ChannelRef = Annotated["Channel", strawberry.lazy("schema.catalog")]
OrderRef = Annotated["Order", strawberry.lazy("schema.orders")]
# A cart is addressed by its token, which is its `id`.
CartToken = Annotated[
    strawberry.ID, strawberry.argument(description="The cart's `id` (its unguessable token).")
]
CartLineStatus = LineStatus
strawberry.enum(
    CartLineStatus, name="CartLineStatus", description="Whether a cart line can be bought now."
)
describe_values(
    CartLineStatus,
    {
        "AVAILABLE": "Can be bought now; counts towards the totals.",
        "INSUFFICIENT_STOCK": "Less stock is sellable than the line's quantity.",
        "DELISTED": "The product is not listed now.",
        "SKU_DISABLED": "The merchant disabled this SKU.",
        "ADD_ON_LOCKED": "An add-on (加价购) whose offer is not reached, or no longer runs: "
        "kept in the cart but out of the totals and the checkout until it is.",
    },
)


@strawberry.type(description="One discount on a line, with its source.")
class CartDiscount:
    amount: Money = strawberry.field(description="The discount (Money in yuan).")
    label: str = strawberry.field(description='Human-readable label, e.g. "满300减30".')
    source_id: strawberry.ID | None = strawberry.field(
        description="Relay global id of the promotion or coupon that gave it; null for points "
        "(积分抵扣)."
    )


def discount_of(amount: int, label: str, source: str, source_id: int) -> CartDiscount:
    """One discount as every price breakdown shows it (cart lines, checkout, order lines)."""
    kind = {"PROMOTION": "Promotion", "COUPON": "Coupon"}.get(source)  # POINTS: no source
    return CartDiscount(
        amount=money(amount),
        label=label,
        source_id=strawberry.ID(encode_id(kind, source_id)) if kind else None,
    )


@strawberry.type(description="A cart line's amounts; all Money in yuan.")
class CartLineCost:
    subtotal: Money = strawberry.field(description="Base amount (unit price × quantity).")
    discounts: list[CartDiscount] = strawberry.field(description="Each discount with its source.")
    total: Money = strawberry.field(description="What the line costs after discounts.")


@strawberry.type(description="A SKU and quantity in a cart.")
class CartLine:
    """Root: (CartView, LineView)."""

    @strawberry.field(description="Relay global id of the line.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("CartLine", self.item.line.id))  # type: ignore[attr-defined]

    @strawberry.field(description="Units, 1..99.")
    def quantity(self) -> int:
        return self.item.line.quantity  # type: ignore[attr-defined]

    @strawberry.field(description="Only selected lines go to checkout.")
    def selected(self) -> bool:
        return self.item.line.selected  # type: ignore[attr-defined]

    @strawberry.field(description="Whether the line can be bought now.")
    def status(self) -> CartLineStatus:
        return self.item.status  # type: ignore[attr-defined]

    @strawberry.field(description="The SKU.")
    def sku(self) -> SkuRef:
        return self.item.sku  # type: ignore[attr-defined]

    @strawberry.field(description="The SKU's base unit price (Money in yuan).")
    def unit_price(self) -> Money:
        return money(self.item.sku.price)  # type: ignore[attr-defined]

    @strawberry.field(description="The line's amounts after its promotions and coupons.")
    def cost(self) -> CartLineCost:
        result = self.view.result_of(self.item.line)  # type: ignore[attr-defined]
        discounts = [
            discount_of(d.amount, d.label, d.source, d.source_id) for d in result.discounts
        ]
        return CartLineCost(
            subtotal=money(result.subtotal),
            discounts=discounts,
            total=money(result.total),
        )

    @strawberry.field(description="The promotion applied to the line (item-level first).")
    async def promotion(self, info: Info) -> Promotion | None:
        result = self.view.result_of(self.item.line)  # type: ignore[attr-defined]
        chosen = result.item_promotion or result.order_promotion
        return await info.context.loaders.promotion.load(chosen) if chosen else None

    @strawberry.field(
        description="Promotions the shopper may switch between for this line "
        "(item-level ones, and the order-level offer they exclude)."
    )
    async def promotion_choices(self, info: Info) -> list[Promotion]:
        ctx = info.context
        ids = self.view.choices_of(self.item, ctx.channel.value, ctx.now)  # type: ignore[attr-defined]
        found = await ctx.loaders.promotion.load_many(ids)
        return [p for p in found if p is not None]

    @strawberry.field(
        description='Human-readable notes, e.g. "2 units over the limit at full price".'
    )
    def notices(self, info: Info) -> list[str]:
        notes: list[str] = list(self.view.result_of(self.item.line).notices)  # type: ignore[attr-defined]
        status = self.item.status  # type: ignore[attr-defined]
        if status == LineStatus.INSUFFICIENT_STOCK:
            notes.append(message("notice.only_left", units=max(0, self.item.sellable)))  # type: ignore[attr-defined]
        elif status not in (LineStatus.AVAILABLE, LineStatus.ADD_ON_LOCKED):
            notes.append(message("notice.unavailable"))
        return said(info, notes)

    @strawberry.field(
        description="The ADD_ON offer (加价购) this line is bought through; null for an "
        "ordinary line. Change it with cartAddOnSelect."
    )
    async def add_on_promotion(self, info: Info) -> Promotion | None:
        promotion_id = self.item.line.add_on_promotion_id  # type: ignore[attr-defined]
        return await info.context.loaders.promotion.load(promotion_id) if promotion_id else None


@strawberry.type(description="A gift SKU a promotion adds to the cart.")
class CartGift:
    quantity: int = strawberry.field(description="Units of the gift.")

    @strawberry.field(description="The gift SKU.")
    async def sku(self, info: Info) -> SkuRef:
        return await info.context.loaders.sku.load(self.sku_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The promotion granting it.")
    async def promotion(self, info: Info) -> Promotion:
        return await info.context.loaders.promotion.load(self.promotion_id)  # type: ignore[attr-defined]


@strawberry.type(description="A SKU an add-on offer sells at its special price.")
class CartAddOnChoice:
    sku: SkuRef = strawberry.field(description="The SKU offered.")
    name: str = strawberry.field(description="The product's title.")
    price: Money = strawberry.field(description="Its normal unit price (Money in yuan).")
    add_on_price: Money = strawberry.field(
        description="Its unit price through the offer (Money in yuan)."
    )
    in_stock: bool = strawberry.field(description="Whether it is on sale with sellable stock now.")
    selected_quantity: int = strawberry.field(description="Units of it in the cart via the offer.")


@strawberry.type(
    description="An add-on offer (加价购/换购) on this cart: spend the threshold on its goods "
    "(after item promotions) and add one of its choices at a special price."
)
class CartAddOnOffer:
    promotion_id: strawberry.Private[int]
    threshold: Money = strawberry.field(description="The spend that opens the offer (yuan).")
    eligible_subtotal: Money = strawberry.field(
        description="What the cart's selected lines in the offer's scope come to after item "
        "promotions (Money in yuan)."
    )
    reached: bool = strawberry.field(description="Whether the threshold is reached.")
    shortfall: Money = strawberry.field(
        description="How much more to spend to reach it (Money in yuan; 0 once reached)."
    )
    limit_per_order: int = strawberry.field(description="Add-on units one order may take.")
    selected_quantity: int = strawberry.field(description="Add-on units picked in this cart.")
    choices: list[CartAddOnChoice] = strawberry.field(description="The SKUs offered.")

    @strawberry.field(description="The ADD_ON promotion.")
    async def promotion(self, info: Info) -> Promotion:
        return await info.context.loaders.promotion.load(self.promotion_id)


def add_on_offer(offer: Any) -> CartAddOnOffer:
    """services.cart.AddOnOffer as the cart shows it."""
    return CartAddOnOffer(
        promotion_id=offer.rule.id,
        threshold=money(offer.result.threshold),
        eligible_subtotal=money(offer.result.subtotal),
        reached=offer.result.reached,
        shortfall=money(offer.result.shortfall),
        limit_per_order=offer.rule.add_on_limit,
        selected_quantity=offer.selected,
        choices=[
            CartAddOnChoice(
                sku=c.sku,
                name=c.product.title,
                price=money(c.sku.price),
                add_on_price=money(c.price),
                in_stock=c.sellable > 0,
                selected_quantity=c.selected,
            )
            for c in offer.choices
        ],
    )


HELD_BY_ORDER = (
    "Set when the coupon is held (LOCKED) by this unpaid order of the customer: using it here "
    "moves it from that order, which is then re-priced without it (a presale order is cancelled "
    "instead). For a platform coupon, the first unpaid order of that checkout."
)


@strawberry.type(description="A coupon of the customer that applies.")
class UsableCoupon:
    coupon: Coupon = strawberry.field(description="The coupon.")
    discount: Money = strawberry.field(description="What it would take off (Money in yuan).")
    recommended: bool = strawberry.field(description="Whether it is in the recommended set.")
    held_by_order: OrderRef | None = strawberry.field(default=None, description=HELD_BY_ORDER)


@strawberry.type(description="A coupon of the customer that does not apply, with why.")
class UnusableCoupon:
    coupon: Coupon = strawberry.field(description="The coupon.")
    reason: str = strawberry.field(description="Why not, for the customer.")
    code: str = strawberry.field(description="Why not, as a stable code.")
    held_by_order: OrderRef | None = strawberry.field(default=None, description=HELD_BY_ORDER)


@strawberry.type(description="The customer's coupons for this cart.")
class CartCoupons:
    usable: list[UsableCoupon] = strawberry.field(
        description="Coupons that apply, with the recommended set marked."
    )
    unusable: list[UnusableCoupon] = strawberry.field(
        description="Coupons that do not apply, each with the reason."
    )


@strawberry.type(description="A cart's totals; all Money in yuan.")
class CartCost:
    subtotal: Money = strawberry.field(description="Base amount before discounts.")
    promotion_discount: Money = strawberry.field(description="Total promotion discount.")
    coupon_discount: Money = strawberry.field(description="Total coupon discount.")
    shipping: Money = strawberry.field(description="Shipping fees.")
    total: Money = strawberry.field(description="What the customer pays.")
    points_discount: Money = strawberry.field(
        default=money(0), description="What points (积分) pay for: at checkout only."
    )
    red_packet_discount: Money = strawberry.field(
        default=money(0), description="What red packets (红包) pay for: at checkout only."
    )


@strawberry.type(
    description="A shopping cart, re-evaluated on every read (availability, promotions, prices)."
)
class Cart:
    """Root: services.cart.CartView."""

    @strawberry.field(description="Unguessable; a guest's only handle on the cart.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.cart.token)  # type: ignore[attr-defined]

    @strawberry.field(description="The channel the cart prices for.")
    def channel(self) -> ChannelRef:
        return ChannelEnum(self.cart.channel)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Every line, unavailable ones too (they are excluded from totals)."
    )
    def lines(self) -> list[CartLine]:
        return [_Line(self, item) for item in self.lines]  # type: ignore[misc]

    @strawberry.field(description="Gift SKUs the promotions add (at price 0).")
    def gifts(self) -> list[CartGift]:
        return self.result.gifts  # type: ignore[attr-defined]

    @strawberry.field(
        description="Add-on offers (加价购/换购) the cart's goods take part in, reached or not, "
        "with their choices."
    )
    def add_on_offers(self) -> list[CartAddOnOffer]:
        return [add_on_offer(o) for o in self.add_on_offers]

    @strawberry.field(
        description="Usable coupons with the recommended set pre-selected; "
        "unusable ones with the reason."
    )
    def coupons(self, info: Info) -> CartCoupons:
        view = self  # the CartView
        applied = set(view.result.coupons_applied)  # type: ignore[attr-defined]
        usable, unusable = [], []
        for entry in view.coupons:
            if entry.reason is None:
                usable.append(
                    UsableCoupon(
                        coupon=entry.coupon,
                        discount=money(entry.discount),
                        recommended=entry.coupon.id in applied,
                        held_by_order=_held_by(entry),
                    )
                )
            else:
                unusable.append(
                    UnusableCoupon(
                        coupon=entry.coupon,
                        reason=say(entry.text, info.context.language),
                        code=entry.reason,
                        held_by_order=_held_by(entry),
                    )
                )
        return CartCoupons(usable=usable, unusable=unusable)

    @strawberry.field(description="Totals over the selected available lines.")
    def cost(self) -> CartCost:
        r = self.result  # type: ignore[attr-defined]
        return CartCost(
            subtotal=money(r.subtotal),
            promotion_discount=money(r.promotion_discount),
            coupon_discount=money(r.coupon_discount),
            shipping=money(r.shipping),
            total=money(r.total),
        )

    @strawberry.field(description='Human-readable notes on the pricing, e.g. "满300减30 applied".')
    def explanations(self, info: Info) -> list[str]:
        return said(info, self.result.explanations)  # type: ignore[attr-defined]


def _held_by(entry: Any) -> Any:
    return entry.held_by.order if entry.held_by else None


class _Line:
    def __init__(self, view: Any, item: Any) -> None:
        self.view, self.item = view, item


@strawberry.input(description="A SKU to add.")
class CartLineInput:
    sku_id: strawberry.ID = strawberry.field(description="Relay global id of the SKU.")
    quantity: int = strawberry.field(default=1, description="Units to add (a line holds 1..99).")


@strawberry.input(description="A change to a cart line; omitted fields keep their value.")
class CartLineUpdateInput:
    id: strawberry.ID = strawberry.field(description="Relay global id of the line.")
    quantity: int | None = strawberry.field(default=None, description="New quantity, 1..99.")
    selected: bool | None = strawberry.field(
        default=None, description="Whether the line goes to checkout."
    )


@strawberry.input(description="An add-on SKU picked and its units.")
class CartAddOnChoiceInput:
    sku_id: strawberry.ID = strawberry.field(
        description="Relay global id of a SKU the offer lists."
    )
    quantity: int = strawberry.field(default=1, description="Units (within the offer's limit).")


@strawberry.input(description="A new cart.")
class CartCreateInput:
    lines: list[CartLineInput] | None = strawberry.field(
        default=None, description="Lines to start with."
    )


@strawberry.type(description="Result of a cart mutation.")
class CartPayload:
    cart: Cart | None = strawberry.field(
        description="The cart after the change; null when refused."
    )
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="An item of the order that is not in the prepared checkout.")
class BuyAgainLeftOut:
    sku: SkuRef | None = strawberry.field(description="The SKU; null when it no longer exists.")
    title: str = strawberry.field(description="The product's title as ordered.")
    quantity: int = strawberry.field(description="Units ordered.")
    reason: CartLineStatus = strawberry.field(description="Why it cannot be bought now.")


@strawberry.type(description="Result of orderBuyAgain.")
class OrderBuyAgainPayload:
    cart: Cart | None = strawberry.field(
        description="The prepared checkout: a cart of its own (not `me.cart`), priced today; "
        "pass its `id` as `CheckoutInput.cartId`. Null when refused or nothing is buyable."
    )
    left_out: list[BuyAgainLeftOut] = strawberry.field(
        description="The order's items left out: delisted, disabled or short of stock now."
    )
    user_errors: list[UserError] = user_errors_field()


def _payload(result: Any) -> CartPayload:
    return CartPayload(cart=result.value, user_errors=user_errors(result.errors))


@strawberry.type
class CartQuery:
    @strawberry.field(description="A cart by its id (guests keep it; customers may use it too).")
    async def cart(
        self,
        info: Info,
        id: CartToken,
    ) -> Cart | None:
        return await rcart.cart_by_token(info.context, id)  # type: ignore[return-value]


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Create a cart, optionally with lines; a guest keeps its id "
        "(unguessable) as the handle."
    )
    async def cart_create(
        self,
        info: Info,
        input: Annotated[
            CartCreateInput, strawberry.argument(description="The lines to start with.")
        ],
    ) -> CartPayload:
        return _payload(await rcart.cart_create(info.context, input.lines))

    @strawberry.mutation(
        description="Add SKUs to a cart; quantities of a SKU already in the cart "
        "add up (1..99 per line)."
    )
    async def cart_lines_add(
        self,
        info: Info,
        cart_id: CartToken,
        lines: Annotated[
            list[CartLineInput], strawberry.argument(description="SKUs and quantities to add.")
        ],
    ) -> CartPayload:
        return _payload(await rcart.lines_add(info.context, cart_id, lines))

    @strawberry.mutation(description="Change the quantity or `selected` flag of cart lines.")
    async def cart_lines_update(
        self,
        info: Info,
        cart_id: CartToken,
        lines: Annotated[
            list[CartLineUpdateInput],
            strawberry.argument(
                description="Lines by id with their new quantity or `selected` flag."
            ),
        ],
    ) -> CartPayload:
        return _payload(await rcart.lines_update(info.context, cart_id, lines))

    @strawberry.mutation(description="Remove lines from a cart.")
    async def cart_lines_remove(
        self,
        info: Info,
        cart_id: CartToken,
        line_ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="Relay global ids of the lines to remove."),
        ],
    ) -> CartPayload:
        return _payload(await rcart.lines_remove(info.context, cart_id, list(line_ids)))

    @strawberry.mutation(description="Switch the line's promotion among its promotionChoices.")
    async def cart_promotion_select(
        self,
        info: Info,
        cart_id: CartToken,
        line_id: Annotated[
            strawberry.ID, strawberry.argument(description="Relay global id of the cart line.")
        ],
        promotion_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Relay global id of one of the line's promotionChoices."
            ),
        ],
    ) -> CartPayload:
        return _payload(await rcart.promotion_select(info.context, cart_id, line_id, promotion_id))

    @strawberry.mutation(
        description="Pick what to buy through an add-on offer (加价购/换购): replaces the "
        "cart's earlier pick for that offer ([] takes it back). The picked SKUs become add-on "
        "lines, priced at the add-on price while the offer's threshold is reached."
    )
    async def cart_add_on_select(
        self,
        info: Info,
        cart_id: CartToken,
        promotion_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the ADD_ON promotion."),
        ],
        choices: Annotated[
            list[CartAddOnChoiceInput],
            strawberry.argument(description="The SKUs and units to buy through the offer."),
        ],
    ) -> CartPayload:
        return _payload(await rcart.add_on_select(info.context, cart_id, promotion_id, choices))

    @strawberry.mutation(
        description="再次购买: put the items of one of the customer's paid orders straight into "
        "a checkout of their own (not the cart) at today's prices; items not buyable now are "
        "left out and listed."
    )
    async def order_buy_again(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Relay global id of the customer's paid order."),
        ],
    ) -> OrderBuyAgainPayload:
        r = await rcart.buy_again(info.context, id)
        found = r.value
        return OrderBuyAgainPayload(
            cart=found.cart if found else None,  # type: ignore[arg-type]
            left_out=[
                BuyAgainLeftOut(
                    sku=item.sku,  # type: ignore[arg-type]
                    title=item.title,
                    quantity=item.quantity,
                    reason=item.reason,
                )
                for item in (found.left_out if found else [])
            ],
            user_errors=user_errors(r.errors),
        )
