"""The whole schema fuzzed on PostgreSQL (harness.py): generated queries and mutations with
hostile scalars, as a guest, a customer, a merchant's staff and the platform admin, on a world
of demo data. No answer may be a 5xx or carry an INTERNAL_ERROR. A fixed, deterministic
budget keeps it under a minute; `python -m bench.fuzz` runs the long version."""

from __future__ import annotations

import asyncio

import pytest

from core.db import create_engine
from tests.conftest import in_thread
from tests.conftest import truncate_all
from tests.fuzz.harness import run_fuzz

EXAMPLES = 500


async def _empty(url: str) -> None:
    engine = create_engine(url)
    await truncate_all(engine)
    await engine.dispose()


@pytest.mark.pg
def test_no_generated_operation_costs_an_internal_error_or_a_5xx(pg_migrated: str) -> None:
    in_thread(asyncio.run, _empty(pg_migrated))
    tally = in_thread(
        lambda: run_fuzz(pg_migrated, examples=EXAMPLES, hostile=True, products_per_leaf=2)
    )
    print(tally.summary())
    assert not tally.findings, "\n\n".join(map(str, tally.findings[:10]))
    assert tally.connections_kept == 0
