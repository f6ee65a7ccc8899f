"""The client teams' documents (tests/contract, verbatim copies of the shared contract): the
schema accepts each whole document exactly as written, and every operation in them is sent
by at least one API test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse
from graphql import validate

from schema import schema
from tests.contract import DOCUMENTS
from tests.contract import operation_names

API_TESTS = Path(__file__).resolve().parent.parent / "api"


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_whole_document_validates_against_the_schema(document: str) -> None:
    errors = validate(schema._schema, parse(DOCUMENTS[document]))
    assert errors == [], [e.message for e in errors]


def _sent_by_tests() -> set[str]:
    """Operation names passed to api.op / api.ok / api.admin (or the catalog helper
    `create(api, …)`) in the API tests."""
    pattern = re.compile(r"(?:api\.(?:op|ok|admin)\(|create\(\s*api,)\s*\"(\w+)\"")
    return {
        name
        for path in API_TESTS.glob("*.py")
        for name in pattern.findall(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_every_operation_is_exercised(document: str) -> None:
    missing = sorted(set(operation_names(document)) - _sent_by_tests())
    assert missing == [], f"operations no API test sends: {missing}"
