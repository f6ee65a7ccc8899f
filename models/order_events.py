"""The order-event outbox: what the notification side (SMS, app push, WeChat templates)
subscribes to. A row is written in the transaction that makes the event true, so an event is
never told for a change that rolled back; readers follow the increasing `id`
(services/order_events.py), and on PostgreSQL each commit also NOTIFYs
`services.order_events.CHANNEL`."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import enum_column
from models.base import id_column


class OrderEventKind(StrEnum):
    BALANCE_DUE = "BALANCE_DUE"  # a presale's balance window opened: remind the customer


class OrderEvent(Base):
    __tablename__ = "order_events"
    # one event of a kind per order: a sweep racing another publishes it once
    __table_args__ = (Index("uq_order_events_kind_order", "kind", "order_id", unique=True),)

    id: Mapped[int] = id_column()
    kind: Mapped[OrderEventKind] = mapped_column(enum_column(OrderEventKind, "order_event_kind"))
    order_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("orders.id"))
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    merchant_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
