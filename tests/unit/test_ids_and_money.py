"""Global ids, cursors and money conversions (pure rules)."""

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.ids import InvalidGlobalId
from core.ids import decode_cursor
from core.ids import decode_id
from core.ids import encode_cursor
from core.ids import encode_id
from core.money import InvalidMoney
from core.money import from_minor
from core.money import percent_of
from core.money import to_minor
from services.search import nice_step


@given(st.sampled_from(["Product", "Sku", "Brand"]), st.integers(min_value=1, max_value=2**62))
def test_global_ids_round_trip(type_name: str, pk: int) -> None:
    assert decode_id(encode_id(type_name, pk)) == (type_name, pk)


@given(st.text(max_size=60))
def test_decode_id_never_raises_anything_but_invalid_global_id(raw: str) -> None:
    with contextlib.suppress(InvalidGlobalId):
        decode_id(raw)


@given(st.integers(min_value=0, max_value=10**8))
def test_cursors_round_trip(offset: int) -> None:
    assert decode_cursor(encode_cursor(offset)) == offset


@pytest.mark.parametrize(
    "amount,minor", [("0", 0), ("0.01", 1), ("129.00", 12900), ("129.5", 12950), ("1e2", 10000)]
)
def test_to_minor(amount: str, minor: int) -> None:
    assert to_minor(Decimal(amount)) == minor


@pytest.mark.parametrize("amount", ["-0.01", "0.001", "NaN", "Infinity", "1e13"])
def test_to_minor_refuses(amount: str) -> None:
    with pytest.raises(InvalidMoney):
        to_minor(Decimal(amount))


def test_from_minor_has_two_places() -> None:
    assert str(from_minor(12950)) == "129.50" and str(from_minor(0)) == "0.00"


@pytest.mark.parametrize(
    "minor,percent,expected",
    [
        (1005, Decimal(10), 101),  # 100.5 → 101
        (1004, Decimal(10), 100),
        (999, Decimal("33.3"), 333),
    ],
)
def test_percent_rounds_half_up(minor: int, percent: Decimal, expected: int) -> None:
    assert percent_of(minor, percent) == expected


@pytest.mark.parametrize("span,step", [(1, 100), (999, 200), (100000, 20000), (7001, 2000)])
def test_price_bucket_steps_are_round(span: int, step: int) -> None:
    assert nice_step(span) == step
