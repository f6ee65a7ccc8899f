"""Client operation documents: split a file of operations into one document per operation
(with exactly the fragments it uses, AST unchanged) — what clients send and what the
allow-list registers."""

from __future__ import annotations

from graphql import DocumentNode
from graphql import FragmentDefinitionNode
from graphql import FragmentSpreadNode
from graphql import OperationDefinitionNode
from graphql import parse
from graphql import print_ast
from graphql import visit
from graphql.language import Visitor


def _spreads(node: object) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.add(spread.name.value)

    visit(node, Collect())  # type: ignore[arg-type]
    return names


def split_operations(text: str) -> dict[str, str]:
    """{operation name: printed document of that operation and its fragments}."""
    definitions = parse(text).definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    found: dict[str, str] = {}
    for op in definitions:
        if not isinstance(op, OperationDefinitionNode) or op.name is None:
            continue
        needed: set[str] = set()
        todo = _spreads(op)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo |= _spreads(fragments[name])
        chosen = [op, *(fragments[f] for f in sorted(needed))]
        found[op.name.value] = print_ast(DocumentNode(definitions=tuple(chosen)))
    return found
