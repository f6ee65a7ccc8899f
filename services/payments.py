"""Payment providers behind one small interface. The built-in TEST provider trusts the
confirmation it is given (a real provider would verify a signed notification) and records
refunds with a made-up reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from services.errors import DomainError, ErrorCode


class PaymentProvider(Protocol):
    name: str

    def verify(self, transaction_id: str, amount: int) -> bool:
        """Is this notification genuine? (signatures, amounts, the provider's own records)"""

    def refund(self, transaction_id: str, amount: int, reference: str) -> str:
        """Pay `amount` back for a transaction; returns the provider's refund reference."""


@dataclass
class TestProvider:
    """Confirms by mutation; remembers the refunds it was asked for (tests look at them)."""

    name: str = "TEST"
    refunds: list[tuple[str, int, str]] = field(default_factory=list)

    def verify(self, transaction_id: str, amount: int) -> bool:
        return bool(transaction_id.strip()) and amount >= 0

    def refund(self, transaction_id: str, amount: int, reference: str) -> str:
        self.refunds.append((transaction_id, amount, reference))
        return f"test-refund:{reference}"


PROVIDERS: dict[str, PaymentProvider] = {"TEST": TestProvider()}


def provider(name: str) -> PaymentProvider:
    found = PROVIDERS.get(name)
    if found is None:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Unknown payment provider {name}.",
                          "provider")
    return found
