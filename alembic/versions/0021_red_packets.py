"""red packets (红包): packets shared after payment, grants, spends; product flags

Revision ID: 0021_red_packets
Revises: 0020_add_on_h1
Create Date: 2026-11-30

Products get `red_packets_usable` (false for every existing product: the platform opts
products in) and a per-unit cap; orders a `red_packet_discount` (0 for orders before).
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0021_red_packets'
down_revision: str | None = '0020_add_on_h1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('red_packets_usable', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('red_packet_cap', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('red_packet_discount', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    op.create_table(
        'red_packets',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('sharer_id', ID, nullable=False),
        sa.Column('payment_id', ID, nullable=False),
        sa.Column('order_id', ID, nullable=False),
        sa.Column('max_opens', sa.Integer(), nullable=False),
        sa.Column('budget', sa.BigInteger(), nullable=False),
        sa.Column('opens', sa.Integer(), nullable=False),
        sa.Column('given', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('opens >= 0 AND opens <= max_opens',
                           name=op.f('ck_red_packets_opens_within_limit')),
        sa.CheckConstraint('given >= 0 AND given <= budget',
                           name=op.f('ck_red_packets_given_within_budget')),
        sa.ForeignKeyConstraint(['sharer_id'], ['customers.id'],
                                name=op.f('fk_red_packets_sharer_id_customers')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'],
                                name=op.f('fk_red_packets_payment_id_payments')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_red_packets_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packets')),
        sa.UniqueConstraint('token', name=op.f('uq_red_packets_token')),
        sa.UniqueConstraint('payment_id', name=op.f('uq_red_packets_payment_id')),
    )
    with op.batch_alter_table('red_packets') as batch:
        batch.create_index('ix_red_packets_sharer', ['sharer_id', 'id'], unique=False)
    op.create_table(
        'red_packet_grants',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('packet_id', ID, nullable=False),
        sa.Column('customer_id', ID, nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('remaining', sa.BigInteger(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('remaining >= 0 AND remaining <= amount',
                           name=op.f('ck_red_packet_grants_remaining_within_amount')),
        sa.ForeignKeyConstraint(['packet_id'], ['red_packets.id'],
                                name=op.f('fk_red_packet_grants_packet_id_red_packets')),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_red_packet_grants_customer_id_customers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet_grants')),
        sa.UniqueConstraint('packet_id', 'customer_id',
                            name=op.f('uq_red_packet_grants_packet_id_customer_id')),
    )
    with op.batch_alter_table('red_packet_grants') as batch:
        batch.create_index('ix_red_packet_grants_customer', ['customer_id', 'expires_at'],
                           unique=False)
    op.create_table(
        'red_packet_spends',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('grant_id', ID, nullable=False),
        sa.Column('order_id', ID, nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('returned', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('returned >= 0 AND returned <= amount',
                           name=op.f('ck_red_packet_spends_returned_within_amount')),
        sa.ForeignKeyConstraint(['grant_id'], ['red_packet_grants.id'],
                                name=op.f('fk_red_packet_spends_grant_id_red_packet_grants')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_red_packet_spends_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_red_packet_spends')),
        sa.UniqueConstraint('grant_id', 'order_id',
                            name=op.f('uq_red_packet_spends_grant_id_order_id')),
    )
    with op.batch_alter_table('red_packet_spends') as batch:
        batch.create_index('ix_red_packet_spends_order', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_table('red_packet_spends')
    op.drop_table('red_packet_grants')
    op.drop_table('red_packets')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('red_packet_discount')
    with op.batch_alter_table('products') as batch:
        batch.drop_column('red_packet_cap')
        batch.drop_column('red_packets_usable')
