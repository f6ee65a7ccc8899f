"""`any_of`: one array parameter on PostgreSQL (one SQL text for any number of ids), the
expanding IN on SQLite; built once, a value is always given at execution."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import StatementError

from core.sql import any_of
from models import Sku

STATEMENT = select(Sku.id).where(any_of(Sku.product_id, "ids")).order_by(Sku.id)


def test_postgresql_gets_one_array_parameter() -> None:
    sql = str(STATEMENT.compile(dialect=postgresql.asyncpg.dialect()))
    assert "skus.product_id = ANY ($1::BIGINT[])" in sql


def test_sqlite_keeps_the_expanding_in_and_answers_any_length() -> None:
    engine = create_engine("sqlite://")
    Sku.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for ids in ([], [1], [1, 2, 3]):
            assert conn.execute(STATEMENT, {"ids": ids}).all() == []
        sql = str(STATEMENT.compile(dialect=engine.dialect))
        assert "IN (__[POSTCOMPILE_ids])" in sql and "= 1" not in sql


def test_a_missing_list_is_an_error_not_a_cached_value() -> None:
    engine = create_engine("sqlite://")
    Sku.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        conn.execute(STATEMENT, {"ids": [1]})
        with pytest.raises(StatementError):
            conn.execute(STATEMENT)


def test_the_cache_key_tells_columns_and_names_apart() -> None:
    def key(column: object, name: str) -> object:
        return select(Sku.id).where(any_of(column, name))._generate_cache_key()

    assert key(Sku.product_id, "ids") == key(Sku.product_id, "ids")
    assert key(Sku.product_id, "ids") != key(Sku.id, "ids")
    assert key(Sku.product_id, "ids") != key(Sku.product_id, "other")


def test_a_table_named_only_in_the_condition_is_still_selected_from() -> None:
    from sqlalchemy import literal

    sql = str(
        select(literal(1))
        .where(any_of(Sku.id, "ids"))
        .compile(dialect=postgresql.asyncpg.dialect())
    )
    assert "FROM skus" in sql
