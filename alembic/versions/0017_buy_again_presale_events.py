"""prepared checkouts (buy again), AWAITING_BALANCE orders, the order-event outbox

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30

Carts get a `purpose`: CART (the shopping cart, every existing cart) or CHECKOUT (a checkout
prepared by `orderBuyAgain`, never `me.cart`). Orders may be AWAITING_BALANCE (a presale whose
deposit is paid): presale orders already deposit-paid move there from PENDING_PAYMENT. The
`order_events` outbox carries BALANCE_DUE reminders for the notification side.
"""
from collections.abc import Sequence

import sqlalchemy as sa

import models.base
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD = ('PENDING_PAYMENT', 'PAID', 'PARTIALLY_SHIPPED', 'SHIPPED', 'COMPLETED', 'CANCELLED',
       'REFUNDED')
NEW = ('PENDING_PAYMENT', 'AWAITING_BALANCE', *OLD[1:])

# presale orders whose deposit is in and whose balance is not
_DEPOSIT_PAID = (
    "status = 'PENDING_PAYMENT' AND balance_payment_id IS NOT NULL AND payment_id IN "
    "(SELECT id FROM payments WHERE status = 'PAID')"
)


def _statuses(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _check_statuses(values: tuple[str, ...]) -> None:
    """Enums are VARCHAR with a CHECK: a new value means a new CHECK (SQLite copies the table,
    which would drop PostgreSQL's referencing foreign keys, so only there)."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('orders', schema=None, recreate='always') as batch_op:
            batch_op.drop_constraint(batch_op.f('ck_orders_order_status'), type_='check')
            batch_op.create_check_constraint(batch_op.f('ck_orders_order_status'), _statuses(values))
    else:
        op.drop_constraint(op.f('ck_orders_order_status'), 'orders', type_='check')
        op.create_check_constraint(op.f('ck_orders_order_status'), 'orders', _statuses(values))


def upgrade() -> None:
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=10), server_default='CART',
                                      nullable=False))
    _check_statuses(NEW)
    op.execute(f"UPDATE orders SET status = 'AWAITING_BALANCE' WHERE {_DEPOSIT_PAID}")
    op.create_table('order_events',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('kind', sa.Enum('BALANCE_DUE', name='order_event_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('order_id', ID, nullable=False),
    sa.Column('customer_id', ID, nullable=False),
    sa.Column('merchant_id', ID, nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_order_events_customer_id_customers')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_order_events_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('uq_order_events_kind_order', ['kind', 'order_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index('uq_order_events_kind_order')
    op.drop_table('order_events')
    op.execute("UPDATE orders SET status = 'PENDING_PAYMENT' WHERE status = 'AWAITING_BALANCE'")
    _check_statuses(OLD)
    with op.batch_alter_table('carts', schema=None) as batch_op:
        batch_op.drop_column('purpose')
