"""Cart glue: find or create carts (guests by token, customers by account), change lines, and
answer with the cart as the pricing function prices it now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.accounts import Customer
from models.cart import Cart
from models.cart import CartLine
from resolvers.common import MutationResult
from resolvers.common import input_id
from resolvers.common import mutate
from resolvers.context import Context
from services import cart as carts
from services import reorder
from services.cart import LineStatus as LineStatus
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violation
from services.unit_of_work import UnitOfWork


async def view(ctx: Context, cart: Cart, lines: list[Any] | None = None) -> carts.CartView:
    """The cart as priced now. `lines`: its lines as just read with it on this request's
    session, else they are read here, with the customer, in one statement."""

    async def run(session: Any) -> carts.CartView:
        customer_id = ctx.viewer.customer_id
        if lines is None:
            in_cart, customer = await carts.lines_and_customer(session, cart, customer_id)
        else:
            in_cart = lines
            customer = await session.get(Customer, customer_id) if customer_id else None
        found = await carts.evaluate(
            session, cart, ctx.now, ctx.channel.value, customer, lines=in_cart
        )
        if found.facts is not None:  # `sku.product` answers from what the pricing read
            ctx.loaders.known_products(found.facts.products.values(), found.facts.paths)
        return found

    return await ctx.read(run)


async def cart_by_token(ctx: Context, token: str) -> carts.CartView | None:
    try:
        cart, lines, _ = await ctx.read(
            lambda s: carts.cart_with_lines(s, token, ctx.viewer.customer_id)
        )
    except DomainError:
        return None
    return await view(ctx, cart, lines)


async def my_cart(ctx: Context) -> carts.CartView | None:
    """The customer's open cart, created on first use."""
    if ctx.viewer.customer_id is None:
        return None
    customer_id = ctx.viewer.customer_id

    async def opened(session: Any) -> Any:
        # committed under the read lock: sibling fields read through the same session
        return await UnitOfWork(session).run(
            lambda s: carts.open_cart_of(s, customer_id, ctx.channel.value)
        )

    # the lines were read with the cart, in the statement before that (empty) commit
    cart, lines = await ctx.read(opened)
    return await view(ctx, cart, lines)


def _lines(lines: list[Any] | None) -> list[tuple[int, int]]:
    return [
        (input_id(line.sku_id, "Sku", f"lines.{i}.skuId") or 0, line.quantity)
        for i, line in enumerate(lines or [])
    ]


async def _answer(ctx: Context, result: MutationResult[Cart]) -> MutationResult[Any]:
    if result.value is None:
        return MutationResult(None, result.errors, result.error)
    return MutationResult(await view(ctx, result.value), [])


async def cart_create(ctx: Context, lines: list[Any] | None) -> MutationResult[Any]:
    """A guest gets a new cart; a logged-in customer gets their open cart, lines added."""

    async def run(session: Any) -> Cart:
        if ctx.viewer.customer_id:
            cart, in_cart = await carts.open_cart_of(
                session, ctx.viewer.customer_id, ctx.channel.value
            )
        else:
            cart, in_cart = await carts.new_guest_cart(session, ctx.channel.value), []
        await carts.add_lines(session, cart, _lines(lines), ctx.now, in_cart)
        return cart

    return await _answer(ctx, await mutate(ctx, run))


async def _change(ctx: Context, token: str, change: Any) -> MutationResult[Any]:
    async def run(session: Any) -> Cart:
        # the cart with its lines, one statement: a change naming several lines then finds
        # each in the session (`session.get`), not by a statement per line — while `lines`
        # holds them (the session keeps unchanged rows by weak reference only)
        cart, lines, _ = await carts.cart_with_lines(session, token, ctx.viewer.customer_id)
        await change(session, cart, lines)
        return cart

    return await _answer(ctx, await mutate(ctx, run))


async def lines_add(ctx: Context, token: str, lines: list[Any]) -> MutationResult[Any]:
    return await _change(
        ctx,
        token,
        lambda session, cart, in_cart: carts.add_lines(
            session, cart, _lines(lines), ctx.now, in_cart
        ),
    )


async def lines_update(ctx: Context, token: str, lines: list[Any]) -> MutationResult[Any]:
    async def change(session: Any, cart: Cart, _held: list[CartLine]) -> Any:
        # Decoded inside the mutation, so a malformed id is a user error, not a 500.
        changes = [
            (input_id(line.id, "CartLine", f"lines.{i}.id") or 0, line.quantity, line.selected)
            for i, line in enumerate(lines)
        ]
        return await carts.update_lines(session, cart, changes, ctx.now)

    return await _change(ctx, token, change)


async def lines_remove(ctx: Context, token: str, line_ids: list[str]) -> MutationResult[Any]:
    async def change(session: Any, cart: Cart, _held: list[CartLine]) -> Any:
        ids = [input_id(g, "CartLine", f"lineIds.{i}") or 0 for i, g in enumerate(line_ids)]
        return await carts.remove_lines(session, cart, ids, ctx.now)

    return await _change(ctx, token, change)


async def promotion_select(
    ctx: Context, token: str, line_global_id: str, promotion_global_id: str
) -> MutationResult[Any]:
    async def change(session: Any, cart: Cart, lines: list[CartLine]) -> None:
        line_id = input_id(line_global_id, "CartLine", "lineId") or 0
        promotion_id = input_id(promotion_global_id, "Promotion", "promotionId") or 0
        customer = (
            await session.get(Customer, ctx.viewer.customer_id) if ctx.viewer.customer_id else None
        )
        current = await carts.evaluate(
            session, cart, ctx.now, ctx.channel.value, customer, lines=lines
        )
        item = next((i for i in current.lines if i.line.id == line_id), None)
        if item is None:
            raise DomainError(ErrorCode.NOT_FOUND, "No such line in this cart.", "lineId")
        items = current.result_of(item.line).item_choices
        orders = [c for c in current.choices_of(item, ctx.channel.value, ctx.now) if c not in items]
        await carts.choose_promotion(session, cart, line_id, promotion_id, items, orders)

    return await _change(ctx, token, change)


async def add_on_select(
    ctx: Context, token: str, promotion_global_id: str, choices: list[Any]
) -> MutationResult[Any]:
    async def change(session: Any, cart: Cart, _held: list[CartLine]) -> None:
        promotion_id = input_id(promotion_global_id, "Promotion", "promotionId") or 0
        picked = [
            (input_id(c.sku_id, "Sku", f"choices.{i}.skuId") or 0, c.quantity)
            for i, c in enumerate(choices)
        ]
        customer = (
            await session.get(Customer, ctx.viewer.customer_id) if ctx.viewer.customer_id else None
        )
        await carts.select_add_ons(
            session, cart, promotion_id, picked, customer, ctx.channel.value, ctx.now
        )

    return await _change(ctx, token, change)


@dataclass
class BuyAgain:
    cart: carts.CartView | None
    left_out: list[reorder.LeftOut]


async def buy_again(ctx: Context, order_global_id: str) -> MutationResult[BuyAgain]:
    """再次购买: a paid order of the customer's own, into a prepared checkout (a cart of its
    own, never the shopping cart), at today's prices; what cannot be bought now is listed."""
    customer_id = ctx.viewer.customer_id or 0

    async def run(session: Any) -> reorder.Prepared:
        order_id = input_id(order_global_id, "Order", "id") or 0
        return await reorder.buy_again(session, customer_id, order_id, ctx.now, ctx.channel.value)

    done = await mutate(ctx, run)
    if done.value is None:
        return MutationResult(None, done.errors, done.error)
    left_out = done.value.left_out
    if done.value.cart is None:
        nothing = Violation(
            ErrorCode.EMPTY_CHECKOUT, "Nothing of this order can be bought now.", "id"
        )
        return MutationResult(BuyAgain(None, left_out), [nothing])
    return MutationResult(BuyAgain(await view(ctx, done.value.cart), left_out), [])
