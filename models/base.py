"""Declarative base, constraint naming, and a timezone-safe datetime column type."""

from datetime import UTC
from datetime import datetime
from enum import StrEnum
from typing import Any
from typing import ClassVar

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import TypeDecorator
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.ids import encode_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns timezone-aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: all times are UTC and timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(cls: type[StrEnum], name: str) -> SAEnum:
    """Enums are stored as VARCHAR with a CHECK, so adding a value never needs an ALTER TYPE
    on PostgreSQL."""
    return SAEnum(cls, name=name, native_enum=False, create_constraint=True, length=20)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def id_column() -> Mapped[int]:
    # BIGINT on PostgreSQL; INTEGER on SQLite so it aliases ROWID and autoincrements.
    return mapped_column(ID_TYPE, primary_key=True, autoincrement=True)


ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class NodeMixin:
    """Objects exposed as Relay nodes: `global_id` is their opaque API id."""

    node_type: ClassVar[str]
    id: Any

    @property
    def global_id(self) -> str:
        return encode_id(self.node_type, self.id)
