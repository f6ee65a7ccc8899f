"""CMS pages (DOMAIN.md §8): a page per slug and channel(s), ordered modules with their own
schedules, and a version per save so what was live at any time can be shown."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.clock import utcnow
from models.base import ID_TYPE
from models.base import Base
from models.base import NodeMixin
from models.base import id_column


class Page(NodeMixin, Base):
    __tablename__ = "pages"
    node_type = "Page"
    __table_args__ = (Index("ix_pages_slug", "slug"),)

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty = every channel
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")  # DRAFT | PUBLISHED
    publish_starts_at: Mapped[datetime | None] = mapped_column()
    publish_ends_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PageModule(NodeMixin, Base):
    __tablename__ = "page_modules"
    node_type = "PageModule"
    __table_args__ = (Index("ix_page_modules_page", "page_id", "position"),)

    id: Mapped[int] = id_column()
    page_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("pages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(30))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()


class PageVersion(Base):
    """The page as saved: title, channels, publish window and modules, as JSON."""

    __tablename__ = "page_versions"
    __table_args__ = (Index("ix_page_versions_page", "page_id", "version"),)

    id: Mapped[int] = id_column()
    page_id: Mapped[int] = mapped_column(ID_TYPE, ForeignKey("pages.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
