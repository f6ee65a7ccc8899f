"""The per-process map of staff token versions (core/access.py): what it trusts, and that a
late report can never undo a newer one."""

from __future__ import annotations

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
