"""What the fake providers share: the trades they hold, a switch that takes them down, the
calls they were asked, and the Starlette app the project's HTTP transport is routed to."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Generic
from typing import TypeVar

from starlette.applications import Starlette
from starlette.routing import Route


@dataclass
class FakeTrade:
    """A trade as a fake provider holds it: what was asked, and what it refunded (the
    refund's reference → fen)."""

    out_trade_no: str
    amount: int
    refunds: dict[str, int] = field(default_factory=dict)

    def take_refund(self, reference: str, amount: int) -> bool:
        """Record a refund; the same reference is the same refund. False when the refunds
        would exceed what was paid."""
        if reference not in self.refunds:
            if sum(self.refunds.values()) + amount > self.amount:
                return False
            self.refunds[reference] = amount
        return True


T = TypeVar("T", bound=FakeTrade)


class FakeGateway(Generic[T]):
    def __init__(self, *routes: Route) -> None:
        self.trades: dict[str, T] = {}
        self.down = False  # while set, every call answers 503
        self.calls: list[str] = []
        self.app = Starlette(routes=list(routes))
