"""The client teams' operations, copied verbatim from the shared contract, and a helper that
picks one named operation plus exactly the fragments it uses (unchanged AST) — the same text
`zhongtai persist-operations` registers for the allow-list."""

from functools import cache
from pathlib import Path

from graphql import OperationDefinitionNode
from graphql import parse

from schema.documents import split_operations

HERE = Path(__file__).parent
DOCUMENTS = {
    name: (HERE / f"{name}.graphql").read_text(encoding="utf-8") for name in ("storefront", "admin")
}


def operation_names(document: str) -> list[str]:
    return [
        d.name.value
        for d in parse(DOCUMENTS[document]).definitions
        if isinstance(d, OperationDefinitionNode) and d.name
    ]


@cache
def _all() -> dict[str, str]:
    found: dict[str, str] = {}
    for text in DOCUMENTS.values():
        found.update(split_operations(text))
    return found


def operation(name: str) -> str:
    """The text of operation `name` with the fragments it needs, from whichever document."""
    try:
        return _all()[name]
    except KeyError:
        raise KeyError(f"no operation {name!r} in the contract documents") from None
