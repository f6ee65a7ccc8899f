"""precise change notes: the change triggers say which rows a write touched

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

The statement triggers of 0009 said only which table was written, so every write dropped every
cached answer reading that table. These read the statement's transition tables and note
"<table>:<keys>" — the keys the response cache's dependencies use (core/changes.py):

- products by id; SKUs and product attribute values by product; brands by id; categories by
  id and by parent (a move rewrites the path of every category below, so those are noted
  too); page modules by page;
- stock levels by SKU, only when the SKU's sellable units (max(0, on_hand − reserved −
  safety_stock), per warehouse row) moved, with "!" when a row crossed zero (in stock ↔
  out of stock);
- every other public table as a whole ("<table>:*").

Each note is NOTIFYed on `zhongtai_changes` ("<application name> <note>", at commit, to the
other processes) and appended to the transaction-local setting `zhongtai.changes`, which the
writing process reads just before its commit (its own notes). A statement that changed
nothing is noted with no keys and NOTIFYs nothing; more keys than a notification holds make
the note whole. TRUNCATE notes the table whole. SQLite serves one process and needs none.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_TABLES = (
    "attributes", "brands", "categories", "coupon_templates", "display_categories",
    "display_category_brands", "display_category_categories", "merchants", "page_modules",
    "page_versions", "pages", "product_attribute_values", "products", "promotion_scopes",
    "promotions", "shipping_templates", "skus", "stock_levels", "warehouses",
)
# the columns a table's notes are keyed by; a table not here is noted whole
KEYS = {
    "products": ("id",),
    "skus": ("product_id",),
    "product_attribute_values": ("product_id",),
    "brands": ("id",),
    "categories": ("id", "parent_id"),
    "page_modules": ("page_id",),
}
EVENTS = {"INSERT": ("new_rows",), "UPDATE": ("new_rows", "old_rows"), "DELETE": ("old_rows",)}
REFERENCING = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}
UNITS = "greatest(0, {r}.on_hand - {r}.reserved - {r}.safety_stock)"


def _keys_query(table: str, event: str) -> str:
    """A SELECT of the note's keys (text, NULL when no row) from the transition tables."""
    relations = EVENTS[event]
    if table == "stock_levels":
        if event == "UPDATE":
            old, new = (
                f"coalesce({UNITS.format(r='o')}, 0)",
                f"coalesce({UNITS.format(r='n')}, 0)",
            )
            return f"""
                SELECT string_agg(DISTINCT coalesce(n.sku_id, o.sku_id)::text
                                  || CASE WHEN ({old} > 0) <> ({new} > 0) THEN '!' ELSE '' END,
                                  ',')
                FROM new_rows n FULL JOIN old_rows o
                  ON o.sku_id = n.sku_id AND o.warehouse_id = n.warehouse_id
                WHERE {old} <> {new}"""
        units = UNITS.format(r="r")
        return f"""
            SELECT string_agg(DISTINCT r.sku_id::text || '!', ',')
            FROM {relations[0]} r WHERE {units} > 0"""
    columns = KEYS.get(table)
    if columns is None:
        return f"SELECT CASE WHEN EXISTS (SELECT 1 FROM {relations[0]}) THEN '*' END"
    selects = " UNION ".join(f"SELECT {c} AS k FROM {r}" for r in relations for c in columns)
    return f"SELECT string_agg(k::text, ',') FROM ({selects}) s WHERE k IS NOT NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in PUBLIC_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS zhongtai_changes ON {table}")
    op.execute("DROP FUNCTION IF EXISTS zhongtai_notify_change()")
    op.execute("""
        CREATE FUNCTION zhongtai_note(tbl text, keys text) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            note text;
        BEGIN
            keys := coalesce(keys, '');
            IF length(keys) > 7000 THEN  -- a notification holds 8000 bytes
                keys := '*';
            END IF;
            note := tbl || ':' || keys;
            PERFORM set_config('zhongtai.changes',
                               coalesce(current_setting('zhongtai.changes', true), '')
                               || ' ' || note, true);
            IF keys <> '' THEN
                PERFORM pg_notify('zhongtai_changes',
                                  current_setting('application_name') || ' ' || note);
            END IF;
        END $$""")
    op.execute("""
        CREATE FUNCTION zhongtai_note_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM zhongtai_note(TG_TABLE_NAME, '*');
            RETURN NULL;
        END $$""")
    for table in PUBLIC_TABLES:
        for event in EVENTS:
            name = f"zhongtai_note_{table}_{event.lower()}"
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM zhongtai_note(TG_TABLE_NAME, ({_keys_query(table, event)}));
                    RETURN NULL;
                END $$""")
            op.execute(f"""
                CREATE TRIGGER zhongtai_changes_{event.lower()}
                AFTER {event} ON {table} {REFERENCING[event]}
                FOR EACH STATEMENT EXECUTE FUNCTION {name}()""")
        op.execute(f"""
            CREATE TRIGGER zhongtai_changes_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION zhongtai_note_truncate()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in PUBLIC_TABLES:
        for event in (*EVENTS, "TRUNCATE"):
            op.execute(f"DROP TRIGGER zhongtai_changes_{event.lower()} ON {table}")
        for event in EVENTS:
            op.execute(f"DROP FUNCTION zhongtai_note_{table}_{event.lower()}()")
    op.execute("DROP FUNCTION zhongtai_note_truncate()")
    op.execute("DROP FUNCTION zhongtai_note(text, text)")
    op.execute("""
        CREATE FUNCTION zhongtai_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('zhongtai_changes',
                              current_setting('application_name') || ' ' || TG_TABLE_NAME);
            RETURN NULL;
        END $$""")
    for table in PUBLIC_TABLES:
        op.execute(f"""
            CREATE TRIGGER zhongtai_changes
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION zhongtai_notify_change()""")
