"""Red packets (红包) shared after payment: the packet a customer shares (one per paid
checkout), the grants friends receive by opening it (a platform-funded balance with an
expiry), and what checkouts spent from each grant (so refunds give it back)."""

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import id_column


class RedPacket(Base):
    """What a customer shares after paying a checkout (its payment, the master order, holds
    at most one). Opened by others through its unguessable `token`; `opens` and `given` move
    only under the row's lock, and the CHECKs keep them within the limits fixed at creation."""

    __tablename__ = "red_packets"
    __table_args__ = (
        CheckConstraint("opens >= 0 AND opens <= max_opens", name="opens_within_limit"),
        CheckConstraint("given >= 0 AND given <= budget", name="given_within_budget"),
        Index("ix_red_packets_sharer", "sharer_id", "id"),
    )

    id: Mapped[int] = id_column()
    token: Mapped[str] = mapped_column(String(64), unique=True)
    sharer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    payment_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("payments.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"))  # shared from
    max_opens: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(BigInteger)  # minor units, over every open
    opens: Mapped[int] = mapped_column(Integer, default=0)
    given: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # opens stop here


class RedPacketGrant(Base):
    """What one customer got by opening one packet (at most once): `remaining` is what
    checkouts may still spend until `expires_at`."""

    __tablename__ = "red_packet_grants"
    __table_args__ = (
        UniqueConstraint("packet_id", "customer_id"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_red_packet_grants_customer", "customer_id", "expires_at"),
    )

    id: Mapped[int] = id_column()
    packet_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("red_packets.id"))
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class RedPacketSpend(Base):
    """What one order spent from one grant, and how much of it came back (refunds)."""

    __tablename__ = "red_packet_spends"
    __table_args__ = (
        UniqueConstraint("grant_id", "order_id"),
        CheckConstraint("returned >= 0 AND returned <= amount", name="returned_within_amount"),
        Index("ix_red_packet_spends_order", "order_id"),
    )

    id: Mapped[int] = id_column()
    grant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("red_packet_grants.id"))
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
