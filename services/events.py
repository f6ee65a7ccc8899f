"""In-process domain events, delivered after the transaction that raised them commits (and
dropped if it rolls back), so subscribers never act on changes that did not happen. For cache
invalidation, low-stock alerts and the like; subscribers must be quick and must not raise."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger("zhongtai.events")
PENDING = "zhongtai_pending_events"


@dataclass(frozen=True)
class DomainEvent:
    name: str  # e.g. "stock.changed"
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> Callable[[], None]:
    """Register a handler; returns a function that unsubscribes it."""
    _handlers[name].append(handler)
    return lambda: _handlers[name].remove(handler)


def emit(session: AsyncSession | Session, name: str, **data: Any) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    sync.info.setdefault(PENDING, []).append(DomainEvent(name, data))


def _deliver(session: Session) -> None:
    for domain_event in session.info.pop(PENDING, []):
        for handler in list(_handlers.get(domain_event.name, ())):
            try:
                handler(domain_event)
            except Exception:  # a broken subscriber must not break the request
                log.exception("event handler failed for %s", domain_event.name)


def _discard(session: Session) -> None:
    session.info.pop(PENDING, None)


event.listen(Session, "after_commit", _deliver)
event.listen(Session, "after_soft_rollback", lambda session, _tx: _discard(session))
