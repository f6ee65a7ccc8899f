"""The fast plain-field execution path answers exactly as graphql-core's generic path does,
including null propagation and error locations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Any

import strawberry

from schema.execution import FastLeafExecutionContext, timed_out


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


def _run(execution_context_class: type | None) -> dict:
    kwargs: dict[str, Any] = (
        {"execution_context_class": execution_context_class} if execution_context_class else {}
    )
    result = strawberry.Schema(query=Query, **kwargs).execute_sync(QUERY)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_fast_path_matches_graphql_core() -> None:
    generic = _run(None)
    fast = _run(FastLeafExecutionContext)
    assert fast == generic
    assert fast["data"]["items"][0] == {
        "name": "a",
        "note": None,
        "colour": "RED",
        "upper": "A",
        "tag": {"label": "t"},
        "requiredTag": {"label": "r"},
    }
    assert fast["data"]["items"][1] is None and fast["data"]["items"][3] is None
    assert fast["data"]["items"][2]["tag"] is None
    assert ("Cannot return null for non-nullable field Item.name.", ("items", 1, "name")) in fast[
        "errors"
    ]


@strawberry.type
class Busy:
    @strawberry.field
    def work(self) -> int:
        deadline = time.perf_counter() + 0.002  # 2 ms of CPU: the event loop is held
        while time.perf_counter() < deadline:
            pass
        return 1

    label: str | None = "x"


@strawberry.type
class BusyQuery:
    @strawberry.field
    def busy(self) -> list[Busy | None]:
        return [Busy() for _ in range(500)]  # 1 s of work in all


def test_a_query_past_its_deadline_stops_between_fields() -> None:
    schema = strawberry.Schema(query=BusyQuery, execution_context_class=FastLeafExecutionContext)
    started = time.perf_counter()
    result = schema.execute_sync(
        "{ busy { work label } }", context_value=SimpleNamespace(deadline=time.monotonic() + 0.1)
    )
    elapsed = time.perf_counter() - started
    # One error for the whole operation, not one per nullable item; no partial data.
    assert result.data is None and timed_out(result.errors) and len(result.errors or ()) == 1
    assert (result.errors or [])[0].extensions == {"code": "TIMEOUT"}
    # stopped within CHECK_EVERY fields (≤ 64 × 2 ms) of the deadline, not after 1 s
    assert elapsed < 0.1 + 0.3, elapsed


def test_no_deadline_no_stop() -> None:
    schema = strawberry.Schema(query=BusyQuery, execution_context_class=FastLeafExecutionContext)
    result = schema.execute_sync("{ busy { label } }", context_value=SimpleNamespace(deadline=None))
    assert result.errors is None and len((result.data or {})["busy"]) == 500
