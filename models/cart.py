"""Carts: one open shopping cart per customer; guests address theirs by an unguessable token.
A CHECKOUT cart holds a checkout prepared outside the shopping cart (再次购买, buy again): it
is never the customer's `me.cart`, never takes a guest cart's lines at login, and checks
out like any cart by its token."""

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import id_column


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (Index("ix_carts_customer", "customer_id", "is_open"),)

    id: Mapped[int] = id_column()
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the guest's handle
    customer_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20), default="WEB")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # CART: the shopping cart; CHECKOUT: a prepared checkout (at most one open per customer)
    purpose: Mapped[str] = mapped_column(String(10), default="CART", server_default="CART")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        CheckConstraint("quantity BETWEEN 1 AND 99", name="quantity_range"),
        Index("ix_cart_lines_cart", "cart_id", "sku_id", "add_on_promotion_id", unique=True),
    )

    id: Mapped[int] = id_column()
    cart_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("carts.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("skus.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    selected: Mapped[bool] = mapped_column(Boolean, default=True)
    # The ITEM promotion the shopper picked for this line (0 = none); null = the default.
    promotion_choice: Mapped[int | None] = mapped_column(Integer)
    # The ADD_ON promotion (加价购) this line is bought through; 0 = an ordinary line. The
    # same SKU may be in a cart once for itself and once as an add-on.
    add_on_promotion_id: Mapped[int] = mapped_column(ID_TYPE, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
