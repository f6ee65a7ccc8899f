"""The cart (DOMAIN.md §3): one open cart per customer, guest carts addressed by an unguessable
token; lines of 1..99 units with a `selected` flag; each read re-evaluates availability and
prices the selected, available lines with the shared pricing function."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.sql import any_of
from models.accounts import Address
from models.accounts import Customer
from models.cart import Cart
from models.cart import CartLine
from models.catalog import Category
from models.catalog import Merchant
from models.catalog import Product
from models.catalog import ShippingTemplate
from models.catalog import Sku
from models.catalog import path_ids
from models.coupons import Coupon
from models.coupons import CouponStatus
from models.coupons import CouponTemplate
from models.promotions import Promotion as PromotionRow
from models.promotions import PromotionType
from services import coupons
from services import held_coupons
from services import inventory
from services import orders
from services import pricing
from services import promotions
from services.errors import DomainError
from services.errors import ErrorCode
from services.messages import message

MAX_QUANTITY = 99
MAX_LINES = 100


class LineStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    DELISTED = "DELISTED"
    SKU_DISABLED = "SKU_DISABLED"
    ADD_ON_LOCKED = "ADD_ON_LOCKED"  # an add-on whose offer is not reached (or not running)


_OPEN_CART = (  # built once, as _CART below
    select(Cart, CartLine)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .where(
        Cart.customer_id == bindparam("customer_id"),
        Cart.is_open.is_(True),
        Cart.purpose == "CART",
    )
    .order_by(Cart.id, CartLine.id)
)


async def open_cart_of(
    session: AsyncSession, customer_id: int, channel: str
) -> tuple[Cart, list[CartLine]]:
    """The customer's one open cart, created on first use, and its lines (by id): one
    statement."""
    rows = (await session.execute(_OPEN_CART, {"customer_id": customer_id})).all()
    if rows:
        cart = rows[0][0]  # the oldest, should there ever be two
        return cart, [line for c, line in rows if c is cart and line is not None]
    cart = Cart(
        token=secrets.token_urlsafe(24), customer_id=customer_id, channel=channel, is_open=True
    )
    session.add(cart)
    await session.flush()
    return cart, []


async def new_guest_cart(session: AsyncSession, channel: str) -> Cart:
    cart = Cart(token=secrets.token_urlsafe(24), channel=channel, is_open=True)
    session.add(cart)
    await session.flush()
    return cart


async def cart_for(session: AsyncSession, token: str, customer_id: int | None) -> Cart:
    """A cart by its token. A customer's cart is theirs alone; a guest cart is its token's."""
    cart = await session.scalar(select(Cart).where(Cart.token == token, Cart.is_open.is_(True)))
    if cart is None or (cart.customer_id is not None and cart.customer_id != customer_id):
        raise DomainError(ErrorCode.NOT_FOUND, message("cart.not_found"), "cartId")
    return cart


def _check_quantity(quantity: int, field_name: str) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(
            ErrorCode.INVALID_QUANTITY, message("cart.line_quantity", most=MAX_QUANTITY), field_name
        )


_SKUS_AND_PRODUCTS = (
    select(Sku, Product)
    .outerjoin(Product, Product.id == Sku.product_id)
    .where(any_of(Sku.id, "skus"))
)


async def skus_and_products(
    session: AsyncSession, sku_ids: Collection[int]
) -> tuple[dict[int, Sku], dict[int, Product]]:
    """The SKUs that still exist among `sku_ids`, and their products, each by id: one
    statement."""
    if not sku_ids:
        return {}, {}
    rows = (await session.execute(_SKUS_AND_PRODUCTS, {"skus": list(sku_ids)})).all()
    skus = {sku.id: sku for sku, _ in rows}
    products = {product.id: product for _, product in rows if product is not None}
    return skus, products


async def add_lines(
    session: AsyncSession,
    cart: Cart,
    lines: Sequence[tuple[int, int]],
    now: datetime,
    in_cart: Sequence[CartLine] | None = None,
) -> None:
    """Adding a SKU already in the cart adds to its quantity (still at most 99); add-on lines
    (加价购) are changed through `select_add_ons` only. `in_cart`: the cart's lines, when the
    caller read them with the cart in this transaction."""
    if in_cart is None:
        in_cart = (await session.scalars(select(CartLine).where(CartLine.cart_id == cart.id))).all()
    count = len(in_cart)
    existing = {line.sku_id: line for line in in_cart if not line.add_on_promotion_id}
    skus, products = await skus_and_products(session, {sku_id for sku_id, _ in lines})
    for i, (sku_id, quantity) in enumerate(lines):
        _check_quantity(quantity, f"lines.{i}.quantity")
        sku = skus.get(sku_id)
        product = products.get(sku.product_id) if sku else None
        if sku is None or product is None or not sku.enabled or not product.is_listed_at(now):
            raise DomainError(
                ErrorCode.PRODUCT_UNAVAILABLE, message("cart.not_on_sale"), f"lines.{i}.skuId"
            )
        line = existing.get(sku_id)
        if line is None:
            _check_room(count)
            count += 1
            line = CartLine(cart_id=cart.id, sku_id=sku_id, quantity=0, selected=True)
            session.add(line)
            existing[sku_id] = line
        _check_quantity(line.quantity + quantity, f"lines.{i}.quantity")
        line.quantity += quantity
    cart.updated_at = now
    await session.flush()


def _check_room(lines: int) -> None:
    if lines >= MAX_LINES:
        raise DomainError(
            ErrorCode.INVALID_QUANTITY, message("cart.too_many_lines", most=MAX_LINES), "lines"
        )


async def _line(session: AsyncSession, cart: Cart, line_id: int, field_name: str) -> CartLine:
    line = await session.get(CartLine, line_id)
    if line is None or line.cart_id != cart.id:
        raise DomainError(ErrorCode.NOT_FOUND, message("cart.no_such_line"), field_name)
    return line


async def update_lines(
    session: AsyncSession,
    cart: Cart,
    changes: Sequence[tuple[int, int | None, bool | None]],
    now: datetime,
) -> None:
    for i, (line_id, quantity, selected) in enumerate(changes):
        line = await _line(session, cart, line_id, f"lines.{i}.id")
        if quantity is not None:
            _check_quantity(quantity, f"lines.{i}.quantity")
            if line.add_on_promotion_id:
                await _check_add_on_quantity(session, line, quantity, f"lines.{i}.quantity")
            line.quantity = quantity
        if selected is not None:
            line.selected = selected
    cart.updated_at = now
    await session.flush()


async def remove_lines(
    session: AsyncSession, cart: Cart, line_ids: Sequence[int], now: datetime
) -> None:
    for i, line_id in enumerate(line_ids):
        await session.delete(await _line(session, cart, line_id, f"lineIds.{i}"))
    cart.updated_at = now
    await session.flush()


async def choose_promotion(
    session: AsyncSession,
    cart: Cart,
    line_id: int,
    promotion_id: int,
    item_choices: list[int],
    order_choices: list[int],
) -> None:
    """Keep the shopper's pick among the line's choices; picking an order-level offer is
    stored as 0: the line takes no item promotion and joins that offer."""
    line = await _line(session, cart, line_id, "lineId")
    if promotion_id in item_choices:
        line.promotion_choice = promotion_id
    elif promotion_id in order_choices:
        line.promotion_choice = 0
    else:
        raise DomainError(
            ErrorCode.PROMOTION_NOT_APPLICABLE,
            message("cart.not_a_choice"),
            "promotionId",
        )
    await session.flush()


# --- add-ons (加价购 / 换购) ---------------------------------------------------------------------


def shopper_of(customer: Customer | None) -> pricing.Customer:
    """Who a promotion's audience sees (a guest: a new customer at level 0)."""
    if customer is None:
        return pricing.Customer()
    return pricing.Customer(
        member_level=customer.member_level, is_new=customer.first_paid_at is None
    )


def _over_limit(limit: int, field_name: str) -> DomainError:
    return DomainError(
        ErrorCode.ADD_ON_LIMIT_EXCEEDED,
        f"This offer allows {limit} add-on unit(s) per order.",
        field_name,
    )


async def _check_add_on_quantity(
    session: AsyncSession, line: CartLine, quantity: int, field_name: str
) -> None:
    """An add-on line's units, with the offer's other add-on lines, stay within its limit."""
    promotion = await session.get(PromotionRow, line.add_on_promotion_id)
    if promotion is None or promotion.type != PromotionType.ADD_ON:
        return  # an offer gone: the line is locked out of the totals anyway
    limit = int(promotion.rules.get("limitPerOrder", 1))
    others = await session.scalars(
        select(CartLine.quantity).where(
            CartLine.cart_id == line.cart_id,
            CartLine.add_on_promotion_id == line.add_on_promotion_id,
            CartLine.id != line.id,
        )
    )
    if quantity + sum(others.all()) > limit:
        raise _over_limit(limit, field_name)


async def select_add_ons(
    session: AsyncSession,
    cart: Cart,
    promotion_id: int,
    choices: Sequence[tuple[int, int]],
    customer: Customer | None,
    channel: str,
    now: datetime,
) -> None:
    """The shopper's pick for one add-on offer replaces their earlier pick whole (an empty
    list takes it back): SKUs the offer lists, on sale, within its per-order limit. The
    threshold need not be reached yet: the line waits, locked, and the cart says how much
    more to spend."""
    offer = next(
        (p.rule for p in await promotions.live_promotions(session, now) if p.id == promotion_id),
        None,
    )
    if (
        offer is None
        or offer.kind != PromotionType.ADD_ON
        or not pricing.admits(offer, shopper_of(customer), channel, now)
    ):
        raise DomainError(
            ErrorCode.PROMOTION_NOT_APPLICABLE,
            "This add-on offer is not open to you now.",
            "promotionId",
        )
    offered = dict(offer.add_on_choices)
    picked: dict[int, int] = {}
    for i, (sku_id, quantity) in enumerate(choices):
        if sku_id not in offered or sku_id in picked:
            raise DomainError(
                ErrorCode.PROMOTION_NOT_APPLICABLE,
                "This offer does not list that SKU."
                if sku_id not in offered
                else "Pick each SKU once.",
                f"choices.{i}.skuId",
            )
        _check_quantity(quantity, f"choices.{i}.quantity")
        picked[sku_id] = quantity
    if sum(picked.values()) > offer.add_on_limit:
        raise _over_limit(offer.add_on_limit, "choices")
    facts = await line_facts(session, list(picked))
    for i, sku_id in enumerate(picked):
        sku = facts.skus.get(sku_id)  # an offer may still name a SKU deleted since
        if sku is None or not sku.enabled or not facts.products[sku.product_id].is_listed_at(now):
            raise DomainError(
                ErrorCode.PRODUCT_UNAVAILABLE, "This product is not on sale.", f"choices.{i}.skuId"
            )
    await session.execute(
        delete(CartLine).where(
            CartLine.cart_id == cart.id, CartLine.add_on_promotion_id == promotion_id
        )
    )
    count = await session.scalar(
        select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart.id)
    )
    for sku_id, quantity in picked.items():
        _check_room(count or 0)
        count = (count or 0) + 1
        session.add(
            CartLine(
                cart_id=cart.id,
                sku_id=sku_id,
                quantity=quantity,
                selected=True,
                add_on_promotion_id=promotion_id,
                created_at=now,
            )
        )
    cart.updated_at = now
    await session.flush()


@dataclass
class AddOnChoice:
    sku: Sku
    product: Product
    price: int  # the add-on price
    sellable: int
    selected: int  # units of it in the cart through the offer


@dataclass
class AddOnOffer:
    """An add-on offer as the cart shows it: reached or how much more to spend, and what may
    be picked."""

    rule: pricing.Promotion
    result: pricing.AddOnResult
    choices: list[AddOnChoice]

    @property
    def selected(self) -> int:
        return sum(c.selected for c in self.choices)


def _add_on_offers(
    result: pricing.PricingResult,
    rules: dict[int, pricing.Promotion],
    lines: list[CartLine],
    facts: LineFacts,
    sellable: dict[int, int],
    now: datetime,
) -> list[AddOnOffer]:
    offers = []
    for found in result.add_ons:
        rule = rules[found.promotion_id]
        choices = []
        for sku_id, price in rule.add_on_choices:
            sku = facts.skus.get(sku_id)
            product = facts.products.get(sku.product_id) if sku else None
            if sku is None or product is None:
                continue
            on_sale = sku.enabled and product.is_listed_at(now)
            picked = sum(
                ln.quantity
                for ln in lines
                if ln.add_on_promotion_id == rule.id and ln.sku_id == sku_id
            )
            choices.append(
                AddOnChoice(sku, product, price, sellable.get(sku_id, 0) if on_sale else 0, picked)
            )
        offers.append(AddOnOffer(rule, found, choices))
    return offers


# --- evaluation ----------------------------------------------------------------------------------


@dataclass
class LineView:
    line: CartLine
    sku: Sku
    product: Product
    status: LineStatus
    sellable: int
    priced: pricing.Line | None = None


@dataclass
class CouponEntry:
    """A coupon of the customer as this cart sees it: a discount, or why it cannot be used."""

    coupon: Coupon
    template: CouponTemplate
    discount: int = 0
    reason: str | None = None  # OUT_OF_SCOPE | BELOW_THRESHOLD | NOT_YET_VALID | …
    text: str = ""  # a Message once there is a reason
    # LOCKED by an unpaid order of the customer: using it here moves it from that order
    held_by: held_coupons.Holder | None = None


# why a coupon does not apply, for the customer (services/messages.py)
REASON_TEXT = {
    "OUT_OF_SCOPE": message("coupon.out_of_scope"),
    "NO_DISCOUNT": message("coupon.no_discount"),
    "NOT_YET_VALID": message("coupon.not_yet_valid"),
    "EXPIRED": message("coupon.expired"),
    "AUDIENCE": message("coupon.audience"),
}


@dataclass
class CartView:
    cart: Cart
    lines: list[LineView]
    result: pricing.PricingResult
    rules: dict[int, pricing.Promotion] = field(default_factory=dict)
    customer: pricing.Customer = field(default_factory=pricing.Customer)
    coupons: list[CouponEntry] = field(default_factory=list)
    # per SKU [(priority, warehouse, sellable)] as read for this evaluation (plan_stock)
    stock: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    merchants: dict[int, Merchant] = field(default_factory=dict)  # the lines' sellers
    add_on_offers: list[AddOnOffer] = field(default_factory=list)
    # the catalog rows read for this evaluation (their products answer `sku.product`)
    facts: LineFacts | None = None

    def result_of(self, line: CartLine) -> pricing.LineResult:
        return next(r for r in self.result.lines if r.line_id == str(line.id))

    def choices_of(self, item: LineView, channel: str, now: datetime) -> list[int]:
        """Promotions the shopper may pick for a line: its item-level candidates and, when one
        of them cannot combine with order-level offers, the order-level offer it would join
        instead (picking that one means: no item promotion)."""
        result = self.result_of(item.line)
        items = list(result.item_choices)
        if not items or item.priced is None:
            return []
        clash = any(not self.rules[i].combines for i in items)
        orders = [
            r.id
            for r in self.rules.values()
            if r.level == pricing.Level.ORDER
            and clash
            and pricing.applies(r, item.priced, self.customer, channel, now)
        ]
        return items + orders if len(items) + len(orders) > 1 else items


def status_of(
    sku: Sku, product: Product, quantity: int, sellable: int, now: datetime
) -> LineStatus:
    if not sku.enabled:
        return LineStatus.SKU_DISABLED
    if not product.is_listed_at(now):
        return LineStatus.DELISTED
    return LineStatus.INSUFFICIENT_STOCK if sellable < quantity else LineStatus.AVAILABLE


@dataclass
class LineFacts:
    skus: dict[int, Sku] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)  # category id → path
    templates: dict[int, ShippingTemplate] = field(default_factory=dict)
    merchants: dict[int, Merchant] = field(default_factory=dict)
    gift_names: dict[int, str] = field(default_factory=dict)  # gift sku → its name
    sellable: dict[int, int] = field(default_factory=dict)  # every sku read → units to sell

    def line(
        self,
        line_id: str,
        sku_id: int,
        quantity: int,
        unit_price: int,
        available: bool = True,
        add_on: int | None = None,
    ) -> pricing.Line:
        """A line of `quantity` units of a SKU at `unit_price`, as the pricing function sees
        it (catalog facts as they are now)."""
        sku = self.skus[sku_id]
        product = self.products[sku.product_id]
        return pricing.Line(
            id=line_id,
            sku_id=sku.id,
            product_id=product.id,
            merchant_id=product.merchant_id,
            quantity=quantity,
            unit_price=unit_price,
            category_path=path_ids(self.paths.get(product.category_id)),
            brand_id=product.brand_id,
            weight_grams=sku.weight_grams or 0,
            shipping=_shipping_rule(self.templates.get(product.shipping_template_id or 0)),
            title=product.title,
            available=available,
            add_on=add_on,
        )


def gift_name(product: Product, sku: Sku) -> str:
    """What a notice calls a gift SKU: the product's title and the SKU's specs."""
    return f"{product.title} {sku.spec_text}".strip()


_LINE_FACTS = (
    select(
        Sku,
        Product,
        Category.path,
        ShippingTemplate,
        Merchant,
        inventory.sellable_of_sku().label("sellable"),
    )
    .join(Product, Product.id == Sku.product_id)
    .join(Category, Category.id == Product.category_id)
    .outerjoin(ShippingTemplate, ShippingTemplate.id == Product.shipping_template_id)
    .outerjoin(Merchant, Merchant.id == Product.merchant_id)
    .where(any_of(Sku.id, "skus"))
)


async def line_facts(
    session: AsyncSession, sku_ids: list[int], gift_skus: Sequence[int] = ()
) -> LineFacts:
    """Each line's SKU, product, category path, shipping template and merchant, the names
    of the gift SKUs promotions may add (for notices), and every one's units to sell: one
    statement."""
    wanted = sorted(set(sku_ids) | set(gift_skus))
    rows = (await session.execute(_LINE_FACTS, {"skus": wanted})).all() if wanted else []
    facts = LineFacts()
    lines = set(sku_ids)
    for sku, product, path, template, merchant, sellable in rows:
        facts.sellable[sku.id] = int(sellable)
        if sku.id in gift_skus:
            facts.gift_names[sku.id] = gift_name(product, sku)
        if sku.id not in lines:
            continue
        facts.skus[sku.id], facts.products[product.id] = sku, product
        facts.paths[product.category_id] = path
        if template is not None:
            facts.templates[template.id] = template
        if merchant is not None:
            facts.merchants[merchant.id] = merchant
    return facts


# Built once: constructing a statement costs more Python than the answer's round trip.
_CART = (
    select(Cart, CartLine, literal(None))
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .where(Cart.token == bindparam("token"), Cart.is_open.is_(True))
    .order_by(CartLine.id)
)
_CART_WITH_ADDRESS = (
    select(Cart, CartLine, Address)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .outerjoin(
        Address,
        and_(
            Address.id == bindparam("address_id"), Address.customer_id == bindparam("customer_id")
        ),
    )
    .where(Cart.token == bindparam("token"), Cart.is_open.is_(True))
    .order_by(CartLine.id)
)


async def cart_with_lines(
    session: AsyncSession, token: str, customer_id: int | None, address_id: int | None = None
) -> tuple[Cart, list[CartLine], Address | None]:
    """`cart_for` and the cart's lines in one statement — and, for a checkout, the
    customer's address `address_id` (None when it is not theirs) riding along in it."""
    stmt: Select[Cart, CartLine, Any]  # the address column: Address, or a NULL literal
    if address_id is not None and customer_id is not None:
        stmt = _CART_WITH_ADDRESS
        params = {"token": token, "address_id": address_id, "customer_id": customer_id}
    else:
        stmt, params = _CART, {"token": token}
    rows = (await session.execute(stmt, params)).all()
    if not rows or (rows[0][0].customer_id is not None and rows[0][0].customer_id != customer_id):
        raise DomainError(ErrorCode.NOT_FOUND, message("cart.not_found"), "cartId")
    return rows[0][0], [line for _, line, _ in rows if line is not None], rows[0][2]


_LINES_AND_CUSTOMER = (
    select(CartLine, Customer)
    .select_from(Cart)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .outerjoin(Customer, Customer.id == bindparam("customer_id"))
    .where(Cart.id == bindparam("cart_id"))
    .order_by(CartLine.id)
)


async def lines_and_customer(
    session: AsyncSession, cart: Cart, customer_id: int | None
) -> tuple[list[CartLine], Customer | None]:
    """The cart's lines (by id) and the customer viewing it (None for a guest, or when the
    account is gone), in one statement: what `evaluate` reads first."""
    rows = (
        await session.execute(_LINES_AND_CUSTOMER, {"cart_id": cart.id, "customer_id": customer_id})
    ).all()
    if not rows:  # the cart's row is gone: no lines, and the customer on their own
        customer = await session.get(Customer, customer_id) if customer_id else None
        return [], customer
    return [line for line, _ in rows if line is not None], rows[0][1]


async def evaluate(
    session: AsyncSession,
    cart: Cart,
    now: datetime,
    channel: str,
    customer: Customer | None,
    coupon_ids: Sequence[int] | None = None,
    lines: list[CartLine] | None = None,
    plan_stock: bool = False,
) -> CartView:
    """Re-read every line (availability, stock, live promotions) and price the cart with
    the recommended coupons, or with `coupon_ids` when the shopper chose. `plan_stock`: also
    each SKU's units by warehouse (`CartView.stock`), which a checkout reserves from."""
    if lines is None:
        lines = list(
            (
                await session.scalars(
                    select(CartLine).where(CartLine.cart_id == cart.id).order_by(CartLine.id)
                )
            ).all()
        )
    rules = [p.rule for p in await promotions.live_promotions(session, now)]
    gift_skus = sorted(
        {g.sku_id for r in rules for g in r.gifts}
        | {g.sku_id for r in rules for t in r.tiers for g in t.gifts}
    )
    add_on_skus = {s for r in rules for s, _ in r.add_on_choices}
    facts = await line_facts(session, sorted({ln.sku_id for ln in lines} | add_on_skus), gift_skus)
    skus, products = facts.skus, facts.products
    # Units to sell come with the lines' facts; a checkout also reads them warehouse by
    # warehouse (one statement more), to plan its reservation from.
    sellable = facts.sellable
    stock = (
        await inventory.candidates(session, sorted(set(skus) | set(gift_skus)))
        if plan_stock
        else {}
    )
    views, priced = [], []
    for line in lines:
        sku = skus[line.sku_id]
        product = products[sku.product_id]
        status = status_of(sku, product, line.quantity, sellable.get(sku.id, 0), now)
        priced.append(
            facts.line(
                str(line.id),
                sku.id,
                line.quantity,
                sku.price,
                available=status == LineStatus.AVAILABLE and line.selected,
                add_on=line.add_on_promotion_id or None,
            )
        )
        views.append(LineView(line, sku, product, status, sellable.get(sku.id, 0), priced[-1]))
    limited = any(r.per_customer_limit for r in rules)  # else what was bought is moot
    who = shopper_of(customer)
    if customer is not None and limited:
        who = replace(who, bought=await orders.units_bought(session, customer.id))
    choices = {
        str(line.id): line.promotion_choice for line in lines if line.promotion_choice is not None
    }
    wallet = await _wallet(session, customer, who, now)
    usable = [coupons.as_rule(e.coupon, e.template) for e in wallet if e.reason is None]
    result = pricing.price(
        pricing.PricingInput(
            lines=priced,
            promotions=rules,
            customer=who,
            channel=channel,
            now=now,
            choices=choices,
            gift_stock={s: sellable.get(s, 0) for s in gift_skus},
            gift_names=facts.gift_names,
            coupons=usable,
            coupon_ids=coupon_ids,
        )
    )
    options = {o.coupon_id: o for o in result.coupon_options}
    for entry in wallet:
        option = options.get(entry.coupon.id)
        if entry.reason is None and option is not None:
            entry.discount, entry.reason = option.discount, option.reason
            if option.reason == "BELOW_THRESHOLD":
                entry.text = message(
                    "coupon.below_threshold", amount=pricing.yuan(option.shortfall)
                )
        if entry.reason and not entry.text:
            entry.text = REASON_TEXT.get(entry.reason, entry.reason)
    for item in views:  # an add-on short of its offer's threshold waits outside the totals
        line_in = item.priced
        if (
            line_in is not None
            and line_in.add_on
            and line_in.available
            and not result_of(result, item).available
        ):
            item.status = LineStatus.ADD_ON_LOCKED
    by_id = {r.id: r for r in rules}
    offers = _add_on_offers(result, by_id, lines, facts, sellable, now)
    return CartView(cart, views, result, by_id, who, wallet, stock, facts.merchants, offers, facts)


def result_of(result: pricing.PricingResult, item: LineView) -> pricing.LineResult:
    return next(r for r in result.lines if r.line_id == str(item.line.id))


_WALLET = (
    select(Coupon, CouponTemplate)
    .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
    .where(
        Coupon.customer_id == bindparam("customer"),
        Coupon.status.in_([CouponStatus.AVAILABLE, CouponStatus.LOCKED]),
    )
    .order_by(Coupon.valid_until, Coupon.id)
)


async def _wallet(
    session: AsyncSession, customer: Customer | None, who: pricing.Customer, now: datetime
) -> list[CouponEntry]:
    """The customer's AVAILABLE coupons and those held by their unpaid orders (they follow
    the customer: services/held_coupons.py); those outside their validity or audience are
    listed with the reason, the rest are priced."""
    if customer is None:
        return []
    rows = (await session.execute(_WALLET, {"customer": customer.id})).all()
    locked = [c for c, _ in rows if c.status == CouponStatus.LOCKED]
    holders = await held_coupons.holders(session, customer.id, locked, now) if locked else {}
    entries = []
    for coupon, template in rows:
        if coupon.status == CouponStatus.LOCKED and coupon.id not in holders:
            continue  # in an order being paid, or a presale's paid deposit: it stays there
        entry = CouponEntry(coupon, template, held_by=holders.get(coupon.id))
        if coupon.valid_from > now:
            entry.reason = "NOT_YET_VALID"
        elif coupon.valid_until <= now:
            entry.reason = "EXPIRED"
        elif not pricing.Audience(template.audience, template.min_member_level).admits(who):
            entry.reason = "AUDIENCE"
        entries.append(entry)
    return entries


def _shipping_rule(template: ShippingTemplate | None) -> pricing.ShippingRule | None:
    if template is None:
        return None
    return pricing.ShippingRule(
        template.id,
        template.kind,
        template.first_fee,
        template.additional_fee,
        template.flat_fee,
        template.free_over,
    )
