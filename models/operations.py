"""Persisted queries (APQ) and the allow-list of client operations, keyed by SHA-256."""

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import Base


class PersistedQuery(Base):
    __tablename__ = "persisted_queries"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    # registered by `zhongtai persist-operations`: accepted in allow-list mode
    allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
