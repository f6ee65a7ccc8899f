"""SQL constructs of our own, compiled per database.

`any_of(column, "ids")` is `column IN (…)` for a list given at execution (`{"ids": [...]}`).
SQLAlchemy's expanding IN renders one parameter per value on every execution, each with its
type cast on PostgreSQL (a third of a listing statement's Python), and a list of another
length is another SQL text, so asyncpg prepares it again. On PostgreSQL this renders
`column = ANY($1::BIGINT[])` instead: one array parameter, one text for every length, compiled
and prepared once. SQLite keeps the expanding IN.

The parameter is named, never given a value here: the statement can be built once and kept,
and a value missing at execution is an error, not a stale value from the cache."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class AnyOf(ColumnElement[bool]):
    """`column` is one of the values of the list parameter `name`."""

    __visit_name__ = "any_of"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition: SQLite must not get `… = 1`
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Any, name: str) -> None:
        # the column expression, not the ORM attribute: its cache key is the column's
        self.column = (
            column.__clause_element__() if hasattr(column, "__clause_element__") else column
        )
        self.name = name

    @property
    def _from_objects(self) -> list[Any]:
        # the column's table joins the FROM list, as with any other condition on it
        return list(self.column._from_objects)


def any_of(column: Any, name: str) -> AnyOf:
    return AnyOf(column, name)


@compiles(AnyOf)
def _expanding_in(element: AnyOf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw))


@compiles(AnyOf, "postgresql")
def _equals_any(element: AnyOf, compiler: Any, **kw: Any) -> str:
    values = bindparam(element.name, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(values), **kw))
