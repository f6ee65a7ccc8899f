"""parcels (第二次拆单): SKU transport class, template parcel limits, planned parcels

Revision ID: 0019
Revises: 0017
Create Date: 2026-11-30

SKUs get a transport class (GENERAL for every existing SKU); shipping templates an optional
per-parcel weight and volume limit. Orders paid from now on get their parcels planned at
payment (`parcels`, `parcel_lines`); orders paid before have none.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0019'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('skus') as batch:
        batch.add_column(
            sa.Column('transport_class', sa.String(20), nullable=False, server_default='GENERAL')
        )
    with op.batch_alter_table('shipping_templates') as batch:
        batch.add_column(sa.Column('max_parcel_weight_grams', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('max_parcel_volume_cm3', sa.Integer(), nullable=True))
    op.create_table(
        'parcels',
        sa.Column('id', ID, primary_key=True, autoincrement=True),
        sa.Column('order_id', ID, sa.ForeignKey('orders.id'), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('warehouse_id', ID, sa.ForeignKey('warehouses.id'), nullable=False),
        sa.Column('transport_class', sa.String(20), nullable=False),
        sa.Column('weight_grams', sa.BigInteger(), nullable=False),
        sa.Column('volume_cm3', sa.BigInteger(), nullable=False),
        sa.Column('shipment_id', ID, sa.ForeignKey('shipments.id'), nullable=True),
        sa.UniqueConstraint('order_id', 'number'),
    )
    op.create_index('ix_parcels_order_id', 'parcels', ['order_id'])
    op.create_table(
        'parcel_lines',
        sa.Column('id', ID, primary_key=True, autoincrement=True),
        sa.Column('parcel_id', ID, sa.ForeignKey('parcels.id'), nullable=False),
        sa.Column('order_line_id', ID, sa.ForeignKey('order_lines.id'), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
    )
    op.create_index('ix_parcel_lines_parcel_id', 'parcel_lines', ['parcel_id'])


def downgrade() -> None:
    op.drop_index('ix_parcel_lines_parcel_id', table_name='parcel_lines')
    op.drop_table('parcel_lines')
    op.drop_index('ix_parcels_order_id', table_name='parcels')
    op.drop_table('parcels')
    with op.batch_alter_table('shipping_templates') as batch:
        batch.drop_column('max_parcel_volume_cm3')
        batch.drop_column('max_parcel_weight_grams')
    with op.batch_alter_table('skus') as batch:
        batch.drop_column('transport_class')
