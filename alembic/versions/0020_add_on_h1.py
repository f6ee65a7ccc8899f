"""add-on purchase (加价购/换购): the ADD_ON promotion type, add-on cart lines

Revision ID: 0020_add_on_h1
Revises: 0019
Create Date: 2026-11-30

A cart line bought through an ADD_ON promotion names it (`add_on_promotion_id`; 0 = an
ordinary line), so the same SKU may sit in a cart once for itself and once as an add-on.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0020_add_on_h1'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_TYPES = ('SINGLE_PRODUCT', 'MULTI_BUY', 'BUNDLE', 'DEPOSIT', 'FULL_REDUCTION', 'SPEND_GIFT', 'GIFT')
NEW_TYPES = (*OLD_TYPES, 'ADD_ON')


def _types(kinds: tuple[str, ...]) -> str:
    return 'type IN (' + ', '.join(f"'{k}'" for k in kinds) + ')'


def upgrade() -> None:
    with op.batch_alter_table('cart_lines') as batch:
        batch.add_column(
            sa.Column('add_on_promotion_id', ID, nullable=False, server_default='0')
        )
        batch.drop_index('ix_cart_lines_cart')
        batch.create_index(
            'ix_cart_lines_cart', ['cart_id', 'sku_id', 'add_on_promotion_id'], unique=True
        )
    with op.batch_alter_table('promotions') as batch:
        batch.drop_constraint(op.f('ck_promotions_promotion_type'), type_='check')
        batch.create_check_constraint(op.f('ck_promotions_promotion_type'), _types(NEW_TYPES))


def downgrade() -> None:
    op.execute("DELETE FROM cart_lines WHERE add_on_promotion_id <> 0")
    with op.batch_alter_table('promotions') as batch:
        batch.drop_constraint(op.f('ck_promotions_promotion_type'), type_='check')
        batch.create_check_constraint(op.f('ck_promotions_promotion_type'), _types(OLD_TYPES))
    with op.batch_alter_table('cart_lines') as batch:
        batch.drop_index('ix_cart_lines_cart')
        batch.create_index('ix_cart_lines_cart', ['cart_id', 'sku_id'], unique=True)
        batch.drop_column('add_on_promotion_id')
