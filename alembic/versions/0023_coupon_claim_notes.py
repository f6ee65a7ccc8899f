"""coupon batches noted by id, and flagged only when what a product page shows of them changed

Revision ID: 0023_coupon_claim_notes
Revises: 0022_order_line_facts
Create Date: 2026-11-30

0014 noted every write to `coupon_templates` as the whole table, so each claim (its
`issued_count + 1`) dropped every cached product page, all of which list the batches
claimable there: a coupon-centre rush left the product pages uncached. Now a write notes the
batches it touched by id, with "!" (core/changes.py: the flag table "coupon_templates?") when
a batch was created or deleted, or changed in anything but its issued count, or sold out or
came back: what claimability and a batch's card depend on. A claim that leaves units to
claim is noted by id alone. SQLite serves one process and notes whole tables.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0023_coupon_claim_notes'
down_revision: str | None = '0022_order_line_facts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "insert": "SELECT string_agg(r.id::text || '!', ',') FROM new_rows r",
    "delete": "SELECT string_agg(r.id::text || '!', ',') FROM old_rows r",
    "update": """
        SELECT string_agg(
            n.id::text
            || CASE WHEN (to_jsonb(o) - 'issued_count') = (to_jsonb(n) - 'issued_count')
                     AND (o.issued_count < o.total_quantity)
                         = (n.issued_count < n.total_quantity)
                    THEN '' ELSE '!' END,
            ',')
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE to_jsonb(o) <> to_jsonb(n)""",
}
WHOLE = "SELECT CASE WHEN EXISTS (SELECT 1 FROM {rows}) THEN '*' END"


def _replace(event: str, keys: str) -> None:
    op.execute(f"""
        CREATE OR REPLACE FUNCTION zhongtai_note_coupon_templates_{event}() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM zhongtai_note(TG_TABLE_NAME, ({keys}));
            RETURN NULL;
        END $$""")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event, keys in KEYS.items():
        _replace(event, keys)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event, rows in (("insert", "new_rows"), ("update", "new_rows"), ("delete", "old_rows")):
        _replace(event, WHOLE.format(rows=rows))
