"""The per-process map of staff token versions (core/access.py): what it trusts, and that a
late report can never undo a newer one."""

from __future__ import annotations

import contextlib
import time

from core.access import StaffAccess
from core.access import Standing


def test_an_older_version_never_replaces_a_newer_one() -> None:
    known = StaffAccess()
    known.heard("7 3 false", hearing=1)  # the deactivation's notification came first
    assert known.learn(7, Standing(2, True), hearing=1) == Standing(3, False)  # a racing read
    assert known.trusted(7, live=True, hearing=1, recheck_seconds=0) == Standing(3, False)
    assert not Standing(3, False).accepts(3)
    assert Standing(3, True).accepts(3) and not Standing(3, True).accepts(2)


def test_while_deaf_an_entry_is_trusted_for_the_recheck_interval_only() -> None:
    known = StaffAccess()
    known.learn(7, Standing(1, True), hearing=1)
    assert known.trusted(7, live=True, hearing=2, recheck_seconds=0) is None  # reconnected
    assert known.trusted(7, live=False, hearing=1, recheck_seconds=60) == Standing(1, True)
    time.sleep(0.002)
    assert known.trusted(7, live=False, hearing=1, recheck_seconds=0.001) is None
    assert known.trusted(8, live=True, hearing=1, recheck_seconds=60) is None  # never read


def test_a_verified_token_kept_for_later_requests_cannot_be_changed_by_one() -> None:
    """Good tokens are verified once and kept; what one request gets back must not be able to
    change what the next one reads (a permission added to a kept list would stick)."""
    from datetime import UTC
    from datetime import datetime

    from core.settings import Settings
    from services.accounts import access_token
    from services.accounts import decode_access_token

    settings = Settings(jwt_secret="unit-test-secret-unit-test-secret-0123")
    now = datetime(2026, 11, 30, tzinfo=UTC)
    token = access_token(settings, "staff:7", now, {"perms": ["VIEW_ORDERS"], "mid": 3})
    first = decode_access_token(settings, token, now)
    assert first is not None
    first["mid"] = None
    with contextlib.suppress(AttributeError):  # kept immutable: nothing to change
        first["perms"].append("MANAGE_STAFF")
    again = decode_access_token(settings, token, now)
    assert again is not None and list(again["perms"]) == ["VIEW_ORDERS"] and again["mid"] == 3
