"""supply: what each supplier grows (supplier_products) and grower exceptions recorded on lots

Revision ID: 0013_supplier_growers
Revises: 0013_login_codes
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_supplier_growers'
down_revision: str | None = '0013_login_codes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lots received before this revision from a supplier not registered for the product: the trace
# page stops calling that supplier the producer, and the console shows why.
LEGACY_EXCEPTION = '升级前收货：供应商未登记为该商品的生产者'


def upgrade() -> None:
    op.create_table(
        'supplier_products',
        sa.Column('supplier_id', sa.BigInteger(), nullable=False),
        sa.Column('product_id', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(
            ['product_id'], ['products.id'], name=op.f('fk_supplier_products_product_id_products'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['supplier_id'],
            ['suppliers.id'],
            name=op.f('fk_supplier_products_supplier_id_suppliers'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('supplier_id', 'product_id', name=op.f('pk_supplier_products')),
    )
    op.create_index(op.f('ix_supplier_products_product_id'), 'supplier_products', ['product_id'], unique=False)
    op.add_column('lots', sa.Column('grower_exception_reason', sa.String(length=200), nullable=True))
    op.add_column('lots', sa.Column('grower_exception_by_id', sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f('fk_lots_grower_exception_by_id_users'), 'lots', 'users', ['grower_exception_by_id'], ['id']
    )
    op.create_check_constraint(
        op.f('ck_lots_grower_exception_reason'),
        'lots',
        "grower_exception_reason IS NULL OR btrim(grower_exception_reason) <> ''",
    )
    # A product's usual supplier grows it; a household that brought a product to its village
    # station grew it (the station registers households at the door).
    op.execute(
        "INSERT INTO supplier_products (supplier_id, product_id) "
        "SELECT supplier_id, id FROM products WHERE supplier_id IS NOT NULL ON CONFLICT DO NOTHING"
    )
    op.execute(
        "INSERT INTO supplier_products (supplier_id, product_id) "
        "SELECT DISTINCT l.supplier_id, v.product_id FROM lots l "
        "JOIN variants v ON v.id = l.variant_id JOIN suppliers s ON s.id = l.supplier_id "
        "WHERE l.origin = 'upstream' AND s.kind = 'household' ON CONFLICT DO NOTHING"
    )
    op.execute(
        sa.text(
            "UPDATE lots l SET grower_exception_reason = :reason, grower_exception_by_id = l.received_by_id "
            "FROM variants v WHERE v.id = l.variant_id AND NOT EXISTS ("
            "SELECT 1 FROM supplier_products sp WHERE sp.supplier_id = l.supplier_id AND sp.product_id = v.product_id)"
        ).bindparams(reason=LEGACY_EXCEPTION)
    )


def downgrade() -> None:
    op.drop_constraint(op.f('ck_lots_grower_exception_reason'), 'lots', type_='check')
    op.drop_constraint(op.f('fk_lots_grower_exception_by_id_users'), 'lots', type_='foreignkey')
    op.drop_column('lots', 'grower_exception_by_id')
    op.drop_column('lots', 'grower_exception_reason')
    op.drop_index(op.f('ix_supplier_products_product_id'), table_name='supplier_products')
    op.drop_table('supplier_products')
