"""A plan (schema/plans.py) answers exactly as graphql-core does when nothing goes wrong, and
gives up (the normal path then answers) on anything that would make an error: nulls for
non-null fields, however deep. Both paths stop at the request's deadline."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace

import pytest
import strawberry

from schema.execution import CHECK_EVERY
from schema.execution import DeadlineExceeded
from schema.execution import DeadlineExecutionContext
from schema.execution import timed_out
from schema.plans import Abandon
from schema.plans import Plans


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Tag:
    label: str


@strawberry.type
class Item:
    name: str
    note: str | None
    colour: Colour
    tag: Tag | None
    required_tag: Tag

    @strawberry.field
    def upper(self) -> str:
        return self.name.upper()


@dataclass
class ItemRow:
    name: str | None
    note: str | None
    colour: Colour
    tag: object | None
    required_tag: object | None


@dataclass
class TagRow:
    label: str | None


ROWS = [
    ItemRow("a", None, Colour.RED, TagRow("t"), TagRow("r")),
    ItemRow(None, "n", Colour.RED, None, TagRow("r")),  # non-null name is null
    ItemRow("c", None, Colour.RED, TagRow(None), TagRow("r")),  # nullable tag, null label
    ItemRow("d", None, Colour.RED, None, None),
]  # non-null object is null


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ROWS  # type: ignore[return-value]


QUERY = "{ items { name note colour upper tag { label } requiredTag { label } } }"


CLEAN = "{ items { name note colour upper tag { label } requiredTag { label } } }"


def _planned(schema: strawberry.Schema, query: str, context: object = None) -> object:
    plan = Plans(schema._schema).get(query, None)
    assert plan is not None
    return asyncio.run(plan.run(context, None))


def test_a_plan_answers_as_graphql_core() -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=DeadlineExecutionContext)
    ROWS[:] = [ItemRow("a", None, Colour.RED, TagRow("t"), TagRow("r"))] * 3
    try:
        expected = schema.execute_sync(CLEAN)
        assert expected.errors is None
        assert _planned(schema, CLEAN) == expected.data
        assert expected.data == {
            "items": [
                {
                    "name": "a",
                    "note": None,
                    "colour": "RED",
                    "upper": "A",
                    "tag": {"label": "t"},
                    "requiredTag": {"label": "r"},
                }
            ]
            * 3
        }
    finally:
        ROWS[:] = BAD_ROWS


BAD_ROWS = list(ROWS)


@pytest.mark.parametrize("row", range(1, 4))
def test_a_plan_gives_up_where_graphql_core_makes_an_error(row: int) -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=DeadlineExecutionContext)
    ROWS[:] = [BAD_ROWS[0], BAD_ROWS[row]]
    try:
        assert schema.execute_sync(QUERY).errors
        with pytest.raises(Abandon):
            _planned(schema, QUERY)
    finally:
        ROWS[:] = BAD_ROWS


# The request deadline the Busy fields are measured against, and how many `work` fields ran
# after it had passed: the tests count work done late, not seconds, so a loaded machine (a
# slower field) cannot fail them.
LATE = {"deadline": float("inf"), "fields": 0}


@strawberry.type
class Busy:
    @strawberry.field
    def work(self) -> int:
        deadline = time.perf_counter() + 0.002  # 2 ms of CPU: the event loop is held
        while time.perf_counter() < deadline:
            pass
        if time.monotonic() > LATE["deadline"]:
            LATE["fields"] += 1
        return 1

    label: str | None = "x"


@strawberry.type
class BusyQuery:
    @strawberry.field
    def busy(self) -> list[Busy | None]:
        return [Busy() for _ in range(500)]  # 1 s of work in all


def _deadline_in(seconds: float) -> SimpleNamespace:
    LATE["deadline"], LATE["fields"] = time.monotonic() + seconds, 0
    return SimpleNamespace(deadline=LATE["deadline"])


def test_a_query_past_its_deadline_stops_between_fields() -> None:
    schema = strawberry.Schema(query=BusyQuery, execution_context_class=DeadlineExecutionContext)
    result = schema.execute_sync("{ busy { work label } }", context_value=_deadline_in(0.1))
    # One error for the whole operation, not one per nullable item; no partial data.
    assert result.data is None and timed_out(result.errors) and len(result.errors or ()) == 1
    assert (result.errors or [])[0].extensions == {"code": "TIMEOUT"}
    # stopped within CHECK_EVERY fields of the deadline, not after all 500 items
    assert LATE["fields"] <= CHECK_EVERY, LATE


def test_a_plan_stops_at_the_deadline_too() -> None:
    schema = strawberry.Schema(query=BusyQuery)
    with pytest.raises(DeadlineExceeded):
        _planned(schema, "{ busy { work label } }", _deadline_in(0.1))
    assert LATE["fields"] <= CHECK_EVERY, LATE


def test_no_deadline_no_stop() -> None:
    schema = strawberry.Schema(query=BusyQuery, execution_context_class=DeadlineExecutionContext)
    result = schema.execute_sync("{ busy { label } }", context_value=SimpleNamespace(deadline=None))
    assert result.errors is None and len((result.data or {})["busy"]) == 500
