"""Accounts: customers and their addresses, staff and roles, refresh tokens, login throttling."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
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
from models.base import NodeMixin
from models.base import id_column


class Customer(NodeMixin, Base):
    __tablename__ = "customers"
    node_type = "Customer"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    member_level: Mapped[int] = mapped_column(Integer, default=0)
    # Set by the orders domain on the first paid order: "new customer" means this is null.
    first_paid_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Address(NodeMixin, Base):
    __tablename__ = "addresses"
    node_type = "Address"
    __table_args__ = (Index("ix_addresses_customer", "customer_id", "created_at"),)

    id: Mapped[int] = id_column()
    customer_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(40))
    line1: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Role(NodeMixin, Base):
    """A set of permissions owned by the platform (merchant_id null) or by one merchant, whose
    staff alone may see, change and assign it. Names are unique within an owner."""

    __tablename__ = "roles"
    node_type = "Role"
    __table_args__ = (UniqueConstraint("merchant_id", "name"),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(60))
    permissions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    merchant_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))


class Staff(NodeMixin, Base):
    __tablename__ = "staff"
    node_type = "Staff"

    id: Mapped[int] = id_column()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    merchant_id: Mapped[int | None] = mapped_column(ID_TYPE, ForeignKey("merchants.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Moves on every change of what the staff member may do (roles, a role's permissions,
    # (de)activation); access tokens carry the version they were issued under ("ver"), and
    # one older than this is refused at the next request (core/access.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ID_TYPE, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class RefreshToken(Base):
    """One row per issued refresh token. Tokens of one login form a family: using a token
    rotates it (marks it used, issues the next); presenting a used one again revokes the family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family"),)

    id: Mapped[int] = id_column()
    family: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(40))  # "customer:12" or "staff:3"
    secret_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class LoginThrottle(Base):
    """Failed logins per key ("login:…" or "ip:…"), shared by every process through the DB."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
