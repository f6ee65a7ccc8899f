"""The fast plain-field execution path answers exactly as graphql-core's generic path does,
including null propagation and error locations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import strawberry

from schema.execution import FastLeafExecutionContext


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


ROWS = [ItemRow("a", None, Colour.RED, TagRow("t"), TagRow("r")),
        ItemRow(None, "n", Colour.RED, None, TagRow("r")),  # non-null name is null
        ItemRow("c", None, Colour.RED, TagRow(None), TagRow("r")),  # nullable tag, null label
        ItemRow("d", None, Colour.RED, None, None)]  # non-null object is null


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ROWS  # type: ignore[return-value]


QUERY = "{ items { name note colour upper tag { label } requiredTag { label } } }"


def _run(execution_context_class: type | None) -> dict:
    kwargs = {"execution_context_class": execution_context_class} if execution_context_class \
        else {}
    result = strawberry.Schema(query=Query, **kwargs).execute_sync(QUERY)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


def test_fast_path_matches_graphql_core() -> None:
    generic = _run(None)
    fast = _run(FastLeafExecutionContext)
    assert fast == generic
    assert fast["data"]["items"][0] == {"name": "a", "note": None, "colour": "RED", "upper": "A",
                                        "tag": {"label": "t"}, "requiredTag": {"label": "r"}}
    assert fast["data"]["items"][1] is None and fast["data"]["items"][3] is None
    assert fast["data"]["items"][2]["tag"] is None
    assert ("Cannot return null for non-nullable field Item.name.", ("items", 1, "name")) \
        in fast["errors"]
