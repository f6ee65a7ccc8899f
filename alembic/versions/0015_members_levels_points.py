"""member levels, growth and points (会员中心)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

Admin-defined levels (`member_levels`), one member account per customer (points balance,
growth, a staff override of the level) and the points ledger the balance is the sum of.
Orders record the points spent on them and the discount they gave. Existing orders start at
0 points; existing customers get their account on first use (growth 0).
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'member_levels',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('growth_threshold', sa.BigInteger(), nullable=False),
        sa.Column('benefits', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('rank >= 1', name=op.f('ck_member_levels_rank_positive')),
        sa.CheckConstraint('growth_threshold >= 0',
                           name=op.f('ck_member_levels_threshold_not_negative')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_levels')),
        sa.UniqueConstraint('growth_threshold', name=op.f('uq_member_levels_growth_threshold')),
        sa.UniqueConstraint('name', name=op.f('uq_member_levels_name')),
        sa.UniqueConstraint('rank', name=op.f('uq_member_levels_rank')),
    )
    op.create_table(
        'member_accounts',
        sa.Column('customer_id', ID, nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('growth', sa.BigInteger(), nullable=False),
        sa.Column('override_level_id', ID, nullable=True),
        sa.Column('override_reason', sa.String(length=300), nullable=True),
        sa.Column('override_by', ID, nullable=True),
        sa.Column('override_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('points >= 0', name=op.f('ck_member_accounts_points_not_negative')),
        sa.CheckConstraint('growth >= 0', name=op.f('ck_member_accounts_growth_not_negative')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_member_accounts_customer_id_customers')),
        sa.ForeignKeyConstraint(['override_level_id'], ['member_levels.id'],
                                name=op.f('fk_member_accounts_override_level_id_member_levels')),
        sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_member_accounts')),
    )
    op.create_table(
        'points_entries',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('customer_id', ID, nullable=False),
        sa.Column('kind', sa.Enum('EARN', 'SPEND', 'REFUND', 'CLAWBACK', 'ADJUST',
                                  name='points_kind', native_enum=False, create_constraint=True,
                                  length=20), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('growth', sa.BigInteger(), nullable=False),
        sa.Column('order_id', ID, nullable=True),
        sa.Column('reference', sa.String(length=80), nullable=True),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('actor_id', ID, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_points_entries_customer_id_customers')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_points_entries_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entries')),
        sa.UniqueConstraint('customer_id', 'reference',
                            name=op.f('uq_points_entries_customer_id_reference')),
    )
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.create_index('ix_points_entries_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_points_entries_order', ['order_id'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_used', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('points_discount', sa.BigInteger(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('points_discount')
        batch_op.drop_column('points_used')
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entries_order')
        batch_op.drop_index('ix_points_entries_customer')
    op.drop_table('points_entries')
    op.drop_table('member_accounts')
    op.drop_table('member_levels')
