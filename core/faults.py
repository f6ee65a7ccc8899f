"""Faults of the services the API depends on, told apart from bugs.

`is_unavailable` says whether an exception means "the database cannot be reached right now"
(refused or lost connection, connect timeout, server shutting down, pool exhausted): the
request is answered 503 SERVICE_UNAVAILABLE with Retry-After, never masked as an internal
error. `Degradation` tracks an optional dependency (Redis) that the API can do without: it
counts every failure, flips a gauge, logs one line when it goes down and one when it comes
back, and keeps requests off it for a short while instead of paying a failed call each."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import exc as sa

from core import metrics

log = logging.getLogger("zhongtai.faults")

RETRY_AFTER_SECONDS = 5  # what a 503 asks clients to wait: about one connect timeout
# SQLSTATEs of a server that cannot take us: connection exceptions (class 08), too many
# connections, and shutting down / starting up / crashed.
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")


def is_unavailable(error: BaseException) -> bool:
    """True when `error`, or anything it was raised from, is a connection-level fault."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _connection_fault(current):
            return True
        orig = getattr(current, "orig", None)  # what SQLAlchemy wrapped
        current = (
            orig
            if isinstance(orig, BaseException) and id(orig) not in seen
            else current.__cause__ or current.__context__
        )
    return False


def _connection_fault(error: BaseException) -> bool:
    # OSError covers refused/reset connections, unresolvable hosts and (3.11+) TimeoutError,
    # which asyncpg raises when a connect attempt exceeds its timeout.
    if isinstance(error, OSError | sa.TimeoutError):  # sa.TimeoutError: pool checkout
        return True
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


class Degradation:
    """The state of one optional dependency: up, or down since a failure and skipped until
    `retry_seconds` have passed (then one request tries it again)."""

    def __init__(
        self, name: str, retry_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name, self.retry_seconds, self.clock = name, retry_seconds, clock
        self.down_since: float | None = None
        self._retry_at = 0.0

    @property
    def usable(self) -> bool:
        return self.down_since is None or self.clock() >= self._retry_at

    def failed(self, use: str, error: BaseException) -> None:
        metrics.DEPENDENCY_ERRORS.labels(self.name, use).inc()
        self._retry_at = self.clock() + self.retry_seconds
        if self.down_since is None:
            self.down_since = self.clock()
            metrics.DEGRADED.labels(self.name).set(1)
            log.warning(
                "%s unavailable (%s: %s); degraded until it answers again",
                self.name,
                type(error).__name__,
                error,
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning(
                "%s answers again after %.1f s; no longer degraded",
                self.name,
                self.clock() - self.down_since,
            )
            self.down_since = None
            metrics.DEGRADED.labels(self.name).set(0)
