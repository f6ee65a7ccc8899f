"""Which queries are public: the same answer for every guest and customer on a channel, so
the response cache may share it between them."""

from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode
from graphql import FragmentDefinitionNode
from graphql import FragmentSpreadNode
from graphql import InlineFragmentNode
from graphql import OperationDefinitionNode
from graphql import SelectionSetNode

from schema.limits import parse_document

# Root fields whose answers are the same for every guest and customer on a channel: catalog,
# navigation and CMS. Anything personal (me, cart, orders, wallet) or staff-only is absent.
PUBLIC_ROOTS = frozenset(
    {
        "displayCategories",
        "displayCategory",
        "products",
        "product",
        "categories",
        "brands",
        "page",
        "__typename",
    }
)


@lru_cache(maxsize=1024)
def is_public_query(query: str, operation: str | None) -> bool:
    """A query (not a mutation) whose root fields are all PUBLIC_ROOTS (asked after the
    cost check, which parsed the document and refused one too large)."""
    document = parse_document(query)
    if document is None:
        return False
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    chosen = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation is None or (d.name is not None and d.name.value == operation))
    ]
    if len(chosen) != 1 or chosen[0].operation.value != "query":
        return False
    roots = _root_fields(chosen[0].selection_set, fragments, set())
    return roots is not None and roots <= PUBLIC_ROOTS


def _root_fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> set[str] | None:
    names: set[str] = set()
    for node in selections.selections:
        if isinstance(node, FieldNode):
            names.add(node.name.value)
            continue
        if isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None or node.name.value in seen:
                return None  # left for validation to refuse
            seen.add(node.name.value)
            inner = _root_fields(fragment.selection_set, fragments, seen)
        else:
            assert isinstance(node, InlineFragmentNode)
            inner = _root_fields(node.selection_set, fragments, seen)
        if inner is None:
            return None
        names |= inner
    return names
