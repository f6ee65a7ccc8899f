"""order lines record what pricing knew of their product when placed

Revision ID: 0022_order_line_facts
Revises: 0021_red_packets
Create Date: 2026-12-01

`order_lines.placed_facts` (JSON): category path, brand, weight, shipping template and
red-packet terms at checkout, so that an unpaid order a coupon leaves is re-priced as it was
placed (services/held_coupons.py). NULL for gifts and for lines placed before: such an order
is cancelled rather than re-priced when its coupon moves.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0022_order_line_facts'
down_revision: str | None = '0021_red_packets'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('placed_facts', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('placed_facts')
