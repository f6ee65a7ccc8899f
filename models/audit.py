"""The audit log: every admin change, written in the same transaction as the change."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import id_column


class AuditEntry(NodeMixin, Base):
    __tablename__ = "audit_log"
    node_type = "AuditEntry"
    __table_args__ = (
        Index("ix_audit_target", "target_type", "target_id"),
        Index("ix_audit_actor", "actor_id", "created_at"),
        Index("ix_audit_created", "created_at"),
    )

    id: Mapped[int] = id_column()
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)  # staff id
    action: Mapped[str] = mapped_column(String(60))  # e.g. "product.update"
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(ID_TYPE)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
