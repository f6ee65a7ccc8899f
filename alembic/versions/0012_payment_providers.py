"""payment providers: trades opened at Alipay / WeChat Pay, the refund ledger, one payment per
provider transaction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

`payments (provider, transaction_id)` becomes unique: one provider transaction can no longer
mark several payments paid. (Rows that already share a transaction id must be resolved by hand
before upgrading; the TEST provider is the only one that could have written them.)
"""
from collections.abc import Sequence

import sqlalchemy as sa

import models.base

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'payment_trades',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('payment_id', ID, nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('out_trade_no', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum('OPEN', 'PAID', 'CLOSED', name='trade_status',
                                    native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'],
                                name=op.f('fk_payment_trades_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_trades')),
        sa.UniqueConstraint('out_trade_no', name=op.f('uq_payment_trades_out_trade_no')),
        sa.UniqueConstraint('payment_id', 'provider', 'channel',
                            name=op.f('uq_payment_trades_payment_id_provider_channel')),
    )
    op.create_index(op.f('ix_payment_trades_payment_id'), 'payment_trades', ['payment_id'])
    op.create_table(
        'provider_refunds',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('payment_id', ID, nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('transaction_id', sa.String(length=100), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.Enum('PENDING', 'SUCCEEDED', 'FAILED',
                                    name='provider_refund_status', native_enum=False,
                                    create_constraint=True, length=20), nullable=False),
        sa.Column('provider_refund_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'],
                                name=op.f('fk_provider_refunds_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_refunds')),
        sa.UniqueConstraint('provider', 'reference',
                            name=op.f('uq_provider_refunds_provider_reference')),
    )
    op.create_index(op.f('ix_provider_refunds_payment_id'), 'provider_refunds', ['payment_id'])
    op.create_index('ix_provider_refunds_transaction', 'provider_refunds',
                    ['provider', 'transaction_id'])
    op.create_index('uq_payments_provider_transaction', 'payments',
                    ['provider', 'transaction_id'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_payments_provider_transaction', table_name='payments')
    op.drop_index('ix_provider_refunds_transaction', table_name='provider_refunds')
    op.drop_index(op.f('ix_provider_refunds_payment_id'), table_name='provider_refunds')
    op.drop_table('provider_refunds')
    op.drop_index(op.f('ix_payment_trades_payment_id'), table_name='payment_trades')
    op.drop_table('payment_trades')
