"""Public-query classification (schema/public.py): only queries whose every root field is a
shared catalog/CMS field may be served to everyone from the response cache."""

from __future__ import annotations

import pytest

from schema import schema
from schema.public import PUBLIC_ROOTS
from schema.public import is_public_query


def test_every_public_root_is_a_query_field() -> None:
    query = schema._schema.query_type
    assert query is not None
    fields = set(query.fields) | {"__typename"}
    assert fields >= PUBLIC_ROOTS, PUBLIC_ROOTS - fields


@pytest.mark.parametrize(
    ("query", "operation", "public"),
    [
        ("{ brands { name } }", None, True),
        ("query A { products(first: 1) { edges { node { id } } } }", "A", True),
        ("{ ...F } fragment F on Query { brands { name } }", None, True),
        ("{ ... on Query { brands { name } } }", None, True),
        ("{ brands { name } me { id } }", None, False),
        ("{ ...F } fragment F on Query { me { id } }", None, False),
        ("mutation { logout }", None, False),
        ("query A { brands { name } } query B { me { id } }", "B", False),
        ("query A { brands { name } } query B { me { id } }", None, False),
        ("{ ...Missing }", None, False),
        ("{ brands {", None, False),
    ],
)
def test_classification(query: str, operation: str | None, public: bool) -> None:
    assert is_public_query(query, operation) is public
