"""The client teams' operations, copied verbatim from the shared contract, and a helper that
picks one named operation plus exactly the fragments it uses (unchanged AST)."""

from functools import cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

HERE = Path(__file__).parent
DOCUMENTS = {name: (HERE / f"{name}.graphql").read_text(encoding="utf-8")
             for name in ("storefront", "admin")}


@cache
def _parsed(name: str) -> DocumentNode:
    return parse(DOCUMENTS[name])


def _spreads(node: object) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.add(spread.name.value)

    visit(node, Collect())  # type: ignore[arg-type]
    return names


def operation_names(document: str) -> list[str]:
    return [d.name.value for d in _parsed(document).definitions
            if isinstance(d, OperationDefinitionNode) and d.name]


@cache
def operation(name: str) -> str:
    """The text of operation `name` with the fragments it needs, from whichever document."""
    for document in DOCUMENTS:
        defs = _parsed(document).definitions
        ops = [d for d in defs if isinstance(d, OperationDefinitionNode) and d.name
               and d.name.value == name]
        if not ops:
            continue
        fragments = {d.name.value: d for d in defs if isinstance(d, FragmentDefinitionNode)}
        needed: set[str] = set()
        todo = _spreads(ops[0])
        while todo:
            fragment = todo.pop()
            if fragment not in needed:
                needed.add(fragment)
                todo |= _spreads(fragments[fragment])
        chosen = [ops[0], *(fragments[f] for f in sorted(needed))]
        return print_ast(DocumentNode(definitions=tuple(chosen)))
    raise KeyError(f"no operation {name!r} in the contract documents")
