"""staff delegation: roles owned by a merchant (or the platform), staff token versions

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30

Roles get an owner (`merchant_id`, null = platform) and names unique per owner. Staff get a
`token_version` that moves whenever what they may do changes; on PostgreSQL a row trigger
NOTIFYs `zhongtai_staff` with "<id> <version> <active>" at commit, so every API process refuses
the older access tokens at their next request (core/access.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merchant_id', ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_roles_merchant_id_merchants'), 'merchants',
                                    ['merchant_id'], ['id'])
        batch_op.drop_constraint('uq_roles_name', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_roles_merchant_id_name'),
                                          ['merchant_id', 'name'])
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0',
                                      nullable=False))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION zhongtai_notify_staff_access() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('zhongtai_staff',
                              NEW.id || ' ' || NEW.token_version || ' '
                              || CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER zhongtai_staff_access
        AFTER UPDATE OF token_version, is_active ON staff
        FOR EACH ROW WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version
                           OR OLD.is_active IS DISTINCT FROM NEW.is_active)
        EXECUTE FUNCTION zhongtai_notify_staff_access()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER zhongtai_staff_access ON staff")
        op.execute("DROP FUNCTION zhongtai_notify_staff_access()")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('token_version')
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_roles_merchant_id_name'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_roles_name'), ['name'])
        batch_op.drop_constraint(batch_op.f('fk_roles_merchant_id_merchants'),
                                 type_='foreignkey')
        batch_op.drop_column('merchant_id')
