"""The edge pass over inputs (schema/input_hygiene.py): which characters, lengths and amounts
it refuses, where it looks, and that every String input of the schema has a limit."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_named_type
from graphql import is_input_object_type
from graphql import is_list_type
from graphql import is_object_type
from sqlalchemy import ColumnElement
from sqlalchemy import String

from models import Address
from models import Payment
from schema import schema
from schema.input_hygiene import INPUT_LIMITS
from schema.input_hygiene import InputRefused
from schema.input_hygiene import check_inputs
from schema.input_hygiene import limit_of

GRAPHQL = schema._schema
ADDRESS = "mutation($input: AddressInput!) { addressCreate(input: $input) { address { id } } }"
CHECKOUT = (
    "mutation($input: CheckoutInput!, $key: String!) { checkoutComplete(input: $input, "
    "idempotencyKey: $key) { payment { id } } }"
)
SEARCH = "query($q: String!) { products(query: $q) { totalCount } }"


def refusal(
    query: str, variables: dict[str, Any] | None = None, operation: str | None = None
) -> InputRefused | None:
    try:
        check_inputs(GRAPHQL, query, operation, variables)
    except InputRefused as refused:
        return refused
    return None


def string_inputs() -> list[tuple[str, str, bool]]:
    """(owner, name, is a list) of every String-typed input field and argument."""
    found = []
    for type_ in GRAPHQL.type_map.values():
        if type_.name.startswith("__"):
            continue
        if is_input_object_type(type_):
            found += [
                (type_.name, name, is_list_type(_bare(f.type)))
                for name, f in type_.fields.items()
                if get_named_type(f.type).name == "String"
            ]
        elif is_object_type(type_):
            found += [
                (f"{type_.name}.{field}", name, is_list_type(_bare(a.type)))
                for field, definition in type_.fields.items()
                for name, a in definition.args.items()
                if get_named_type(a.type).name == "String"
            ]
    return found


def _bare(type_: Any) -> Any:
    return getattr(type_, "of_type", type_) if type(type_).__name__ == "GraphQLNonNull" else type_


def test_every_string_input_has_a_limit() -> None:
    """A new String input field must say how long it may be (its column's length when it is
    stored): add it to INPUT_LIMITS."""
    missing = [
        f"{owner}.{name}" for owner, name, _ in string_inputs() if limit_of(owner, name) is None
    ]
    assert missing == []


def test_every_limit_names_a_string_input() -> None:
    inputs = {(owner, name): is_list for owner, name, is_list in string_inputs()}
    assert sorted(set(INPUT_LIMITS) - set(inputs)) == []
    # lists are bounded in items, single strings are not
    wrong = [key for key, limit in INPUT_LIMITS.items() if (limit.items is not None) != inputs[key]]
    assert wrong == []


def _length(column: ColumnElement[Any]) -> int | None:
    assert isinstance(column.type, String)
    return column.type.length


def test_stored_fields_take_their_column_length() -> None:
    assert INPUT_LIMITS[("AddressInput", "line1")].chars == _length(Address.__table__.c.line1)
    assert (
        INPUT_LIMITS[("Mutation.paymentConfirm", "transactionId")].chars
        == _length(Payment.__table__.c.transaction_id)
        == 100
    )


@pytest.mark.parametrize(
    "character",
    [
        "\x00",
        "\x01",
        "\x08",
        "\x0b",
        "\x0c",
        "\x1b",
        "\x1f",
        "\x7f",
        "\x85",
        "\x9b",
        "\ud800",
        "\udfff",
    ],
)
def test_control_characters_and_lone_surrogates_are_refused(character: str) -> None:
    refused = refusal(SEARCH, {"q": f"phone{character}"})
    assert refused is not None and refused.path == "q"
    assert f"U+{ord(character):04X}" in str(refused)


@pytest.mark.parametrize(
    "text", ["a\tb", "line\nline", "a\r\nb", "苹果 📱", "é", "\u200d", "\u00a0", "\ufeff"]
)
def test_ordinary_text_passes(text: str) -> None:
    assert refusal(SEARCH, {"q": text}) is None


def test_the_path_names_the_nested_input() -> None:
    refused = refusal(
        CHECKOUT,
        {
            "input": {"cartId": "c", "addressId": "a", "couponIds": ["x", "y\x00"], "note": "ok"},
            "key": "k",
        },
    )
    assert refused is not None and refused.path == "input.couponIds.1"
    refused = refusal(ADDRESS, {"input": {"line1": "x" * 201}})
    assert refused is not None and (refused.path, refused.limit) == ("input.line1", 200)
    assert refusal(ADDRESS, {"input": {"line1": "x" * 200}}) is None


def test_literals_defaults_and_fragments_are_checked() -> None:
    assert refusal('{ page(slug: "a\\u0000") { id } }').path == "slug"  # type: ignore[union-attr]
    default = 'query($q: String = "a\\u0007") { products(query: $q) { totalCount } }'
    assert refusal(default).path == "q"  # type: ignore[union-attr]
    nested = 'query { displayCategories { products(after: "x\\u0000") { totalCount } } }'
    assert refusal(nested).path == "after"  # type: ignore[union-attr]
    fragment = 'query { ...F } fragment F on Query { products(query: "%s") { totalCount } }' % (
        "q" * 201
    )
    refused = refusal(fragment)
    assert refused is not None and (refused.path, refused.limit) == ("query", 200)


def test_a_variable_takes_the_limit_of_where_it_is_used() -> None:
    inline = "mutation($l: String!) { addressCreate(input: {line1: $l}) { address { id } } }"
    assert refusal(inline, {"l": "x" * 201}).limit == 200  # type: ignore[union-attr]
    assert refusal(inline, {"l": "x" * 200}) is None
    tags = (
        'mutation($t: [String!]) { productCreate(input: {title: "t", brandId: "b", '
        'categoryId: "c", merchantId: "m", tags: $t}) { product { id } } }'
    )
    assert refusal(tags, {"t": ["x"] * 21}).limit == 20  # type: ignore[union-attr]
    assert refusal(tags, {"t": ["x" * 41]}).path == "t.0"  # type: ignore[union-attr]
    assert refusal(tags, {"t": ["x"] * 20}) is None


def test_unmapped_scalars_have_their_own_bounds() -> None:
    product = "query($id: ID!) { product(id: $id) { id } }"
    assert refusal(product, {"id": "x" * 1000}) is None  # malformed: INVALID_ID later
    assert refusal(product, {"id": "x" * 1001}).limit == 1000  # type: ignore[union-attr]


PAY = (
    'mutation($a: Decimal!) { paymentConfirm(paymentId: "p", transactionId: "t", '
    "amount: $a) { payment { id } } }"
)


@pytest.mark.parametrize("amount", ["1e1001", "1e900000", "-1e999999999", "1e-1001", "1" * 101])
def test_amounts_that_break_decimal_arithmetic_are_refused(amount: Any) -> None:
    refused = refusal(PAY, {"a": amount})
    assert refused is not None and refused.path == "a"
    literal = f'{{ products(filter: {{priceMin: "{amount}"}}) {{ totalCount }} }}'
    assert refusal(literal) is not None


@pytest.mark.parametrize(
    "amount",
    [
        "1e30",
        "1e1000",
        1e30,
        10**20,
        "999999999999999.99",
        "0",
        "0E-3000",
        "NaN",
        "sNaN",
        "abc",
        "1.001",
        129,
        12.5,
    ],
)
def test_other_amounts_are_left_to_the_services(amount: Any) -> None:
    """They answer a user error on the field (INVALID_PRICE, PAYMENT_AMOUNT_MISMATCH)."""
    assert refusal(PAY, {"a": amount}) is None


def test_to_minor_refuses_huge_amounts_without_arithmetic() -> None:
    import time
    from decimal import Decimal

    from core.money import InvalidMoney
    from core.money import to_minor

    started = time.perf_counter()
    for amount in ("1e30", "1e999999", "1e900000", "10000000000.01"):
        with pytest.raises(InvalidMoney, match="too large"):
            to_minor(Decimal(amount))
    assert time.perf_counter() - started < 0.1  # int(Decimal("1e900000")) took 48 s
    assert to_minor(Decimal("10000000000.00")) == 10**12


def test_values_that_do_not_fit_their_type_are_left_to_coercion() -> None:
    assert refusal(ADDRESS, {"input": {"unknown": "\x00", "line1": 5}}) is None
    assert refusal(SEARCH, {"q": ["a"], "other": "\x00"}) is None
    assert refusal("{ brands { name }", {}) is None  # a syntax error: execution reports it


def test_sku_specs_joined_stay_within_their_columns() -> None:
    """Each spec value may be 200 characters, but spec_key and spec_text (String(400)) hold
    them all joined: three long ones are a user error, not a PostgreSQL overflow."""
    from decimal import Decimal

    from models.catalog import Attribute
    from models.catalog import AttributeKind
    from models.catalog import AttributeValueType
    from services.errors import Violations
    from services.products import SkuDraft
    from services.products import _check_sku

    sales = [
        Attribute(
            id=i,
            name=f"a{i}",
            kind=AttributeKind.SALES,
            value_type=AttributeValueType.TEXT,
            options=[],
        )
        for i in (1, 2, 3)
    ]
    for value, expected in (("v" * 130, 0), ("v" * 140, 1)):
        v = Violations()
        draft = SkuDraft(specs=[(a.id, value) for a in sales], code="C", price=Decimal(1))
        _check_sku(v, draft, sales, "skus.0")
        assert [(x.code, x.field) for x in v.items] == [
            ("INVALID_ATTRIBUTE_VALUE", "skus.0.specs")
        ] * expected
