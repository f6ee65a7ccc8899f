"""sub-orders paid on their own, discounts by funder, merchant commission

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02

A payment may cover one order only (`order_id`, with the checkout's combined payment in
`combined_payment_id`); an order paid alone holds its units in a reservation of its own
(`own_reservation`). Order lines keep their discount split by funder (merchant / platform);
merchants get a commission rate in basis points. Lines placed before this revision start
with both splits at 0 (their settlement shows no discounts by funder).
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', ID, nullable=True))
        batch_op.add_column(sa.Column('combined_payment_id', ID, nullable=True))
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payments_combined_payment_id_payments'),
                                    'payments', ['combined_payment_id'], ['id'])
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_reservation', sa.String(length=80), nullable=True))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merchant_discount', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('platform_discount', sa.BigInteger(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commission_rate', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.drop_column('commission_rate')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('platform_discount')
        batch_op.drop_column('merchant_discount')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('own_reservation')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payments_combined_payment_id_payments'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))
        batch_op.drop_column('combined_payment_id')
        batch_op.drop_column('order_id')
