"""change notifications: PostgreSQL tells every process when public data was written

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

Statement triggers on the tables public (browse) answers read NOTIFY `zhongtai_changes` with
"<the writer's application name> <table>" (each API engine sets its own, so a process skips
the notifications of its own writes, which it has counted already). Notifications are
delivered at commit, so each API process drops cached answers when another's write becomes
visible. SQLite serves one process and needs
none. A table added later that public answers read needs the trigger too (a test checks).
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_TABLES = (
    "attributes", "brands", "categories", "coupon_templates", "display_categories",
    "display_category_brands", "display_category_categories", "merchants", "page_modules",
    "page_versions", "pages", "product_attribute_values", "products", "promotion_scopes",
    "promotions", "shipping_templates", "skus", "stock_levels", "warehouses",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in PUBLIC_TABLES:
        op.execute(f"DROP TRIGGER zhongtai_changes ON {table}")
    op.execute("DROP FUNCTION zhongtai_notify_change()")
