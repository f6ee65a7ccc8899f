"""Which staff access tokens are still good, known without a database read per request.

Staff rows carry a `token_version` that moves whenever what the staff member may do changes
(roles, a role's permissions, deactivation); access tokens carry the version they were issued
under. Each process keeps staff id → (version, active), learnt once from the database and then
told of every change:

- by its own commits: writers put the new versions in `session.info[PENDING]`, and the
  session's after-commit hook moves this process's map (so the very next request sees it);
- by other processes' commits: on PostgreSQL a row trigger on `staff` (migration 0011)
  NOTIFYs CHANNEL, and `core.changes.listen` hands the payload to `heard`.

An entry is trusted while the listener that could have told of a change has been connected
since the entry was learnt (same `hearing`). While no listener is live (PostgreSQL link lost,
or a SQLite file shared by workers) it is trusted for `recheck_seconds` only: revocation then
takes at most that long, at the price of one read per staff member per interval.
Versions only grow, so of two reports the higher version wins: a read that raced a commit
can never undo what the commit's notification said.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "zhongtai_staff"
PENDING = "zhongtai_staff_access"  # session.info key: {staff id: (version, active)}


@dataclass(frozen=True)
class Standing:
    """A staff member's current token version and whether they may use the API at all."""

    version: int
    active: bool

    def accepts(self, token_version: int) -> bool:
        return self.active and token_version >= self.version


@dataclass(frozen=True)
class _Entry:
    standing: Standing
    hearing: int  # the listener connection it was learnt under
    learnt_at: float  # time.monotonic()


class StaffAccess:
    def __init__(self) -> None:
        self._known: dict[int, _Entry] = {}

    def trusted(
        self, staff_id: int, live: bool, hearing: int, recheck_seconds: float
    ) -> Standing | None:
        """The standing to judge a token by; None when it must be read again."""
        entry = self._known.get(staff_id)
        if entry is None:
            return None
        if live and entry.hearing == hearing:
            return entry.standing
        if time.monotonic() - entry.learnt_at < recheck_seconds:
            return entry.standing
        return None

    def learn(self, staff_id: int, standing: Standing, hearing: int) -> Standing:
        """Record what was read or heard; an older version never replaces a newer one."""
        entry = self._known.get(staff_id)
        if entry is not None and entry.standing.version > standing.version:
            standing = entry.standing
        self._known[staff_id] = _Entry(standing, hearing, time.monotonic())
        return standing

    def heard(self, payload: str, hearing: int) -> None:
        """A committed change notified by PostgreSQL: "<id> <version> <true|false>"."""
        raw_id, raw_version, raw_active = [*payload.split(), "", "", ""][:3]
        if raw_id.isdigit() and raw_version.isdigit():
            self.learn(
                int(raw_id), Standing(int(raw_version), raw_active in ("true", "t")), hearing
            )

    def forget(self) -> None:
        self._known.clear()


def pending(session: Any) -> dict[int, Standing]:
    """Where a transaction notes the standings it changed, to be applied at its commit."""
    found: dict[int, Standing] = session.info.setdefault(PENDING, {})
    return found


def _committed(session: Session) -> None:
    changed = session.info.pop(PENDING, None)
    if not changed:
        return
    from core.changes import feed_of  # core.changes holds one StaffAccess per engine

    feed = feed_of(session.get_bind())
    for staff_id, standing in changed.items():
        feed.staff_access.learn(staff_id, standing, feed.hearing)


def _rolled_back(session: Session) -> None:
    session.info.pop(PENDING, None)


event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_rollback", _rolled_back)
