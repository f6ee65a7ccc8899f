"""The audit log (DOMAIN.md §9): who changed what, with before/after, in the change's own
transaction. Snapshots are the row's columns as JSON (secrets left out), plus SKUs for
products and role ids for staff, so a reviewer sees the whole object as it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Staff
from models.accounts import StaffRole
from models.audit import AuditEntry
from models.base import Base
from models.catalog import Product
from models.catalog import Sku
from services.ownership import audit_entries_about

SECRET_COLUMNS = {"password_hash", "secret_hash"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def columns_of(obj: Base) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in SECRET_COLUMNS
    }


async def snapshot(session: AsyncSession, obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    if isinstance(obj, tuple | list):
        if all(isinstance(item, str) for item in obj):  # e.g. generated codes: never log them
            return {"count": len(obj)}
        return {"items": [await snapshot(session, item) for item in obj]}  # e.g. a transfer
    if isinstance(obj, int | str | bool):
        return {"result": obj}
    data = columns_of(obj)
    if isinstance(obj, Product):
        skus = (
            await session.scalars(
                select(Sku).where(Sku.product_id == obj.id).order_by(Sku.position, Sku.id)
            )
        ).all()
        data["skus"] = [columns_of(s) for s in skus]
    if isinstance(obj, Staff):  # what a staff member may do is their roles
        data["role_ids"] = sorted(
            (
                await session.scalars(select(StaffRole.role_id).where(StaffRole.staff_id == obj.id))
            ).all()
        )
    return data


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    request_id: str | None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        request_id=request_id,
    )
    session.add(entry)
    await session.flush()
    return entry


# --- reading the log -----------------------------------------------------------------------------

NEWEST_FIRST = [AuditEntry.id.desc()]


@dataclass(frozen=True)
class EntryFilter:
    actor_id: int | None = None
    target: tuple[str, int] | None = None  # (node type, id)
    target_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def entries_seen_by(merchant_id: int | None, wanted: EntryFilter) -> Select[AuditEntry]:
    """Platform staff read every entry; merchant staff (`merchant_id`) only those about their
    merchant's resources: other parties' before/after may hold cost prices and stock."""
    stmt = select(AuditEntry)
    if merchant_id is not None:
        stmt = stmt.where(audit_entries_about(merchant_id))
    if wanted.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == wanted.actor_id)
    if wanted.target is not None:
        kind, pk = wanted.target
        stmt = stmt.where(AuditEntry.target_type == kind, AuditEntry.target_id == pk)
    if wanted.target_type:
        stmt = stmt.where(AuditEntry.target_type == wanted.target_type)
    if wanted.since:
        stmt = stmt.where(AuditEntry.created_at >= wanted.since)
    if wanted.until:
        stmt = stmt.where(AuditEntry.created_at < wanted.until)
    return stmt
