"""The per-request context: one AsyncSession, the clock's "now" for the whole request, the
viewer, the sales channel, the language of messages, and lazily created dataloaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from services.accounts import Permission
from services.members import PointsRules
from services.messages import Language

if TYPE_CHECKING:  # resolvers.loaders imports this module
    from resolvers.loaders import Loaders

T = TypeVar("T")


class Channel(StrEnum):
    APP = "APP"
    H5 = "H5"
    MINI_PROGRAM = "MINI_PROGRAM"
    WEB = "WEB"


@dataclass(frozen=True)
class Viewer:
    """Who is asking, from the access token: a customer, a staff member (with the permissions
    and merchant the token carries) or an anonymous guest."""

    staff_id: int | None = None
    permissions: frozenset[Permission] = frozenset()
    merchant_id: int | None = None
    customer_id: int | None = None
    token_version: int = 0  # of a staff token: refused once the staff member's moved on

    @property
    def is_staff(self) -> bool:
        return self.staff_id is not None

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None

    def owns_merchant(self, merchant_id: int | None) -> bool:
        """Platform staff see every merchant; merchant staff only their own."""
        return self.is_staff and (self.merchant_id is None or self.merchant_id == merchant_id)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Viewer()


@dataclass
class Context:
    session: AsyncSession
    now: datetime
    viewer: Viewer
    channel: Channel
    settings: Settings
    request_id: str
    client: str = "unknown"  # the caller's address, for login throttling
    # what messages are said in (Accept-Language; web/language.py)
    language: Language = Language.ZH_CN
    extra: dict[str, Any] = field(default_factory=dict)
    # For the response cache: a moment at which the answer changes by itself (a window
    # kept in JSON the schedule query cannot see), or False when it depends on data the
    # cache does not watch (orders, rolling time).
    answer_expires: datetime | None = None
    answer_cacheable: bool = True
    # time.monotonic() past which a query's execution stops (schema/execution.py)
    deadline: float | None = None
    # Each mutation root field's outcome (value, or the exception it raised) by response
    # key: when the planned path gives up on a payload, the normal path answers the same
    # operation again from these and never mutates twice (schema/policy.py).
    mutation_outcomes: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _settled: bool = False  # execution is over: no read may touch the session any more

    def changes_at(self, moment: datetime | None) -> None:
        """The answer being built changes by itself at `moment` (ignored if past)."""
        if (
            moment is not None
            and moment > self.now
            and (self.answer_expires is None or moment < self.answer_expires)
        ):
            self.answer_expires = moment

    def not_cacheable(self) -> None:
        self.answer_cacheable = False

    @property
    def points_rules(self) -> PointsRules:
        """The platform's points (积分) settings, as the services take them."""
        return PointsRules.of(self.settings)

    async def read(self, run: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read on the request's session. Loaders dispatch concurrently but an
        AsyncSession allows one operation at a time, so reads queue on a lock.

        A read is never cut off half-way: when a non-null field fails, graphql-core cancels
        its siblings, and a statement cancelled in flight leaves the connection busy ("another
        operation is in progress") for the next read, the request's close (a 500) and the
        pool (a connection left idle in transaction). The read finishes, then the
        cancellation goes on."""
        async with self._lock:
            if self._settled:
                raise RequestFinished()
            task = asyncio.ensure_future(run(self.session))
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                await _finish(task)
                raise

    async def settle(self) -> None:
        """Once execution is over, wait for the read in flight and refuse any later one, so
        the session can be closed. A dataloader's batch runs in a task of its own: when the
        field that asked is cancelled, the batch goes on, and would otherwise read on the
        session while it is closed, or after (a connection the pool never gets back)."""
        self._settled = True
        async with self._lock:
            pass

    @cached_property
    def loaders(self) -> Loaders:
        from resolvers.loaders import Loaders

        return Loaders(self)


class RequestFinished(RuntimeError):
    """A read asked for after the request's execution was over (an orphaned loader batch)."""

    def __init__(self) -> None:
        super().__init__("The request is over: its session takes no more reads.")


async def _finish(task: asyncio.Future[Any]) -> None:
    """Wait for `task` however often the waiter is cancelled meanwhile; its outcome is the
    cancelled caller's no more (retrieved, so it is not reported as never retrieved)."""
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([task])
    if not task.cancelled():
        task.exception()
