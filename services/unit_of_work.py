"""The unit of work: one business operation, one transaction.

`UnitOfWork(session).run(work)` commits when `work` succeeds; on a rule violation
(`DomainError`) it rolls everything back, so a refused operation never leaves a partial write;
a deadlock, a serialization failure or a lock wait past LOCK_TIMEOUT (a crowd on one hot row)
is tried again after a short random pause, and when it persists the caller is asked to try
again later (`TRY_AGAIN`, a user error, not a 5xx). An admin change names its `Audit`: the
entry is written inside the same transaction, so it commits and rolls back with the change.

Services take a session and never commit; whoever starts an operation (a GraphQL mutation
through resolvers/common.py, a payment notification, the sweeper, the CLI) runs it here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from models.base import Base
from services import audit
from services.errors import DomainError
from services.errors import ErrorCode
from services.errors import Violation

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

# serialization failure, deadlock, lock wait past LOCK_TIMEOUT: nothing was wrong with the work
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}
BUSY = "Many people are changing the same things right now; please try again in a moment."


class TryAgain(DomainError):
    """The database stayed too busy for every attempt."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.TRY_AGAIN, BUSY)


@dataclass(frozen=True)
class Retry:
    """How often lock trouble is tried again: the n-th pause (n from 0) is random in
    [0, backoff · 2ⁿ] seconds, so a crowd spreads out instead of colliding again."""

    attempts: int = 3
    backoff: float = 0.05
    # A unique-key clash tried again too: for an idempotent operation it means a racing twin
    # won, and the next attempt finds its row. Persisting, it is a bug and is raised.
    unique_conflicts: bool = False


REQUEST = Retry()  # a client waits: few, longer pauses
BACKGROUND = Retry(attempts=5, backoff=0.02)  # the sweeper, provider notifications


@dataclass(frozen=True)
class Audit:
    """An admin change to log (DOMAIN.md §9): who, the action, the model it changes and, unless
    it creates, the target's id, so `before` is captured before the work runs."""

    actor_id: int | None
    action: str
    model: type[Base]
    target_id: int | None = None
    request_id: str | None = None
    # What to snapshot as "before" when it is not the target row itself (e.g. stock levels).
    before: Callable[[AsyncSession], Awaitable[Any]] | None = None
    # The changed row inside what the work returns, when it returns more than the row.
    subject: Callable[[Any], Any] | None = None


@dataclass
class Outcome(Generic[T]):
    """What a mutation answers: the value, or the violations that refused it."""

    value: T | None
    errors: list[Violation]
    error: DomainError | None = None  # the refusal itself, for payloads that show more

    @classmethod
    def refused(cls, error: DomainError) -> Outcome[T]:
        return cls(None, error.violations, error)


class UnitOfWork:
    """Owns the transaction of `session`: the work it runs never commits or rolls back."""

    def __init__(
        self,
        session: AsyncSession,
        retry: Retry = REQUEST,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.session, self.retry, self._sleep = session, retry, sleep

    async def run(self, work: Work[T], audit: Audit | None = None) -> T:
        """`work`'s result, committed; raises its DomainError (rolled back) or TryAgain."""
        for attempt in range(self.retry.attempts):
            try:
                return await self._once(work, audit)
            except DBAPIError as error:
                if not self._retryable(error):
                    raise
                if attempt + 1 == self.retry.attempts:
                    if isinstance(error, IntegrityError):
                        raise
                    break
            await self._sleep(random.uniform(0, self.retry.backoff * 2**attempt))
        raise TryAgain()

    async def outcome(self, work: Work[T], audit: Audit | None = None) -> Outcome[T]:
        """As `run`, with a refusal answered as violations rather than raised."""
        try:
            return Outcome(await self.run(work, audit), [])
        except DomainError as error:
            return Outcome.refused(error)

    async def _once(self, work: Work[T], change: Audit | None) -> T:
        session = self.session
        try:
            before = await _before(session, change)
            value = await work(session)
            if change is not None:
                await _record(session, change, before, value)
            await session.commit()
            return value
        except BaseException:  # a violation, a database error or a cancellation: nothing stays
            await session.rollback()
            raise

    def _retryable(self, error: DBAPIError) -> bool:
        if isinstance(error, IntegrityError):
            return self.retry.unique_conflicts
        return is_retryable(error)


def is_retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


async def in_new_session(
    factory: async_sessionmaker[AsyncSession], work: Work[T], retry: Retry = BACKGROUND
) -> T:
    """Run `work` as a unit of work on a session of its own (jobs outside a request)."""
    async with factory() as session:
        return await UnitOfWork(session, retry).run(work)


async def _before(session: AsyncSession, change: Audit | None) -> dict[str, Any] | None:
    if change is None or change.target_id is None:
        return None
    target = (
        await change.before(session)
        if change.before
        else await session.get(change.model, change.target_id)
    )
    return await audit.snapshot(session, target)


async def _record(
    session: AsyncSession, change: Audit, before: dict[str, Any] | None, value: Any
) -> None:
    subject = change.subject(value) if change.subject else value
    target_id = change.target_id if change.target_id is not None else getattr(subject, "id", None)
    deleted = change.action.endswith(".delete")
    await audit.record(
        session,
        actor_id=change.actor_id,
        action=change.action,
        target_type=change.model.node_type,  # type: ignore[attr-defined]
        target_id=target_id,
        before=before,
        after=None if deleted else await audit.snapshot(session, subject),
        request_id=change.request_id,
    )
