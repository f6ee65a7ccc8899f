"""Every type, field, argument of a root field and enum value of the API is described, so client
developers (mobile, H5, mini-program, admin SPA) can read the API in GraphiQL. Values of enums
defined outside schema/ get theirs through schema.common.describe_values."""

from __future__ import annotations

import re

from graphql import GraphQLEnumType
from graphql import GraphQLInputObjectType
from graphql import GraphQLInterfaceType
from graphql import GraphQLObjectType
from graphql import GraphQLScalarType
from graphql import GraphQLSchema
from graphql import GraphQLUnionType
from graphql import specified_scalar_types

from schema import schema
from schema.common import page_size


def undescribed(gql: GraphQLSchema) -> set[str]:
    """Coordinates ("Type", "Type.field", "Query.field(arg:)", "Enum.VALUE") lacking a
    description; introspection types and the built-in scalars are left out."""
    missing: set[str] = set()
    roots = {t.name for t in (gql.query_type, gql.mutation_type, gql.subscription_type) if t}
    for name, gtype in gql.type_map.items():
        if name.startswith("__") or name in specified_scalar_types:
            continue
        if not (gtype.description or "").strip():
            missing.add(name)
        if isinstance(gtype, (GraphQLObjectType, GraphQLInterfaceType)):
            for fname, field in gtype.fields.items():
                if not (field.description or "").strip():
                    missing.add(f"{name}.{fname}")
                if name in roots:
                    for aname, arg in field.args.items():
                        if not (arg.description or "").strip():
                            missing.add(f"{name}.{fname}({aname}:)")
        elif isinstance(gtype, GraphQLInputObjectType):
            for fname, ifield in gtype.fields.items():
                if not (ifield.description or "").strip():
                    missing.add(f"{name}.{fname}")
        elif isinstance(gtype, GraphQLEnumType):
            for vname, value in gtype.values.items():
                if not (value.description or "").strip():
                    missing.add(f"{name}.{vname}")
        else:
            assert isinstance(gtype, (GraphQLScalarType, GraphQLUnionType)), gtype
    return missing


def test_everything_in_the_schema_is_described() -> None:
    missing = sorted(undescribed(schema._schema))
    assert not missing, (
        f"{len(missing)} schema elements lack a description (add `description=`, or "
        f"describe_values for the values of an enum wrapped with strawberry.enum): {missing}"
    )


def test_each_connections_first_argument_states_its_real_default() -> None:
    """`RelayWindow(n)` writes the default page size into `first`'s description; the size
    served comes from PAGE_SIZES (page_size). The two must say the same."""
    checked = 0
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            first = field.args.get("first")
            stated = re.search(r"\(default (\d+)\)", (first.description or "") if first else "")
            if stated:
                checked += 1
                assert int(stated.group(1)) == page_size(type_.name, name), (type_.name, name)
    assert checked >= 14
