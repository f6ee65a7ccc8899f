"""One way to answer a mutation: its payload type with the result's value and userErrors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

from resolvers.common import MutationResult
from schema.common import user_errors

P = TypeVar("P")


def payload(cls: Callable[..., P], **value: MutationResult[Any]) -> P:
    """`payload(BrandPayload, brand=r)` is `BrandPayload(brand=r.value,
    user_errors=user_errors(r.errors))`: the one keyword names the field the value goes in."""
    ((field, result),) = value.items()
    return cls(**{field: result.value}, user_errors=user_errors(result.errors))
