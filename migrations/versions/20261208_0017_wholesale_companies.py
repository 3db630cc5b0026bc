"""wholesale companies: payment terms, delivery days and addresses, fapiao details, owners,
colleague invitations, the company audit trail and company API keys

Revision ID: 0016_wholesale_companies
Revises: 0017_wholesale_trips
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_wholesale_companies"
down_revision: str | None = "0016_wholesale_trips"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

payment_terms = postgresql.ENUM("prepay", "net_15", "net_30", name="payment_terms", create_type=False)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE token_kind ADD VALUE IF NOT EXISTS 'company_api'")
    payment_terms.create(op.get_bind(), checkfirst=True)
    op.add_column(
        "buyer_companies",
        sa.Column("payment_terms", payment_terms, nullable=False, server_default="net_30"),
    )
    # Existing companies keep their days as the nearest terms the centre now offers.
    op.execute(
        "UPDATE buyer_companies SET payment_terms = CASE WHEN payment_terms_days <= 0 THEN 'prepay'::payment_terms "
        "WHEN payment_terms_days <= 15 THEN 'net_15'::payment_terms ELSE 'net_30'::payment_terms END"
    )
    op.execute(
        "UPDATE buyer_companies SET payment_terms_days = CASE payment_terms WHEN 'prepay' THEN 0 "
        "WHEN 'net_15' THEN 15 ELSE 30 END"
    )
    op.alter_column("buyer_companies", "payment_terms", server_default=None)
    op.add_column(
        "buyer_companies",
        sa.Column(
            "delivery_weekdays",
            postgresql.ARRAY(sa.SmallInteger()),
            nullable=False,
            server_default=sa.text("'{}'::smallint[]"),
        ),
    )
    op.add_column("buyer_companies", sa.Column("status_reason", sa.String(length=300), nullable=True))
    op.add_column("buyer_companies", sa.Column("fapiao_title", sa.String(length=200), nullable=True))
    op.add_column("buyer_companies", sa.Column("fapiao_tax_number", sa.String(length=20), nullable=True))
    op.add_column("buyer_companies", sa.Column("fapiao_address_phone", sa.String(length=300), nullable=True))
    op.add_column("buyer_companies", sa.Column("fapiao_bank_account", sa.String(length=300), nullable=True))

    op.add_column("users", sa.Column("is_company_owner", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.create_check_constraint(op.f("ck_users_owner_is_buyer"), "users", "NOT is_company_owner OR role = 'buyer'")
    # The first buyer of each company is its owner.
    op.execute(
        "UPDATE users SET is_company_owner = true WHERE id IN "
        "(SELECT min(id) FROM users WHERE role = 'buyer' GROUP BY company_id)"
    )

    op.add_column("api_tokens", sa.Column("company_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_tokens_company_id_buyer_companies"), "api_tokens", "buyer_companies", ["company_id"], ["id"]
    )
    op.create_index(op.f("ix_api_tokens_company_id"), "api_tokens", ["company_id"], unique=False)
    op.create_check_constraint(
        op.f("ck_api_tokens_company_key_has_company"), "api_tokens", "(kind = 'company_api') = (company_id IS NOT NULL)"
    )

    op.create_table(
        "company_delivery_addresses",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("city", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("receiving_from", sa.Time(), nullable=False),
        sa.Column("receiving_until", sa.Time(), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "receiving_from < receiving_until", name=op.f("ck_company_delivery_addresses_receiving_hours_order")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["buyer_companies.id"],
            name=op.f("fk_company_delivery_addresses_company_id_buyer_companies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_delivery_addresses")),
        sa.UniqueConstraint("company_id", "address", name=op.f("uq_company_delivery_addresses_company_address")),
    )
    
    op.create_table(
        "company_events",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_company_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_company_events_company_id_buyer_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_events")),
    )
    op.create_index("ix_company_events_company_created", "company_events", ["company_id", "created_at"], unique=False)

    op.create_table(
        "company_invitations",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("invited_by_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["buyer_companies.id"], name=op.f("fk_company_invitations_company_id_buyer_companies")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"], name=op.f("fk_company_invitations_invited_by_id_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_company_invitations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_company_invitations_token_hash")),
    )
    op.create_index(op.f("ix_company_invitations_company_id"), "company_invitations", ["company_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_company_invitations_company_id"), table_name="company_invitations")
    op.drop_table("company_invitations")
    op.drop_index("ix_company_events_company_created", table_name="company_events")
    op.drop_table("company_events")
    op.drop_table("company_delivery_addresses")
    # Without company_id a company key would read as a person's token: the keys go.
    op.execute("DELETE FROM api_tokens WHERE kind = 'company_api'")
    op.drop_constraint(op.f("ck_api_tokens_company_key_has_company"), "api_tokens", type_="check")
    op.drop_index(op.f("ix_api_tokens_company_id"), table_name="api_tokens")
    op.drop_constraint(op.f("fk_api_tokens_company_id_buyer_companies"), "api_tokens", type_="foreignkey")
    op.drop_column("api_tokens", "company_id")
    op.drop_constraint(op.f("ck_users_owner_is_buyer"), "users", type_="check")
    op.drop_column("users", "is_company_owner")
    for column in (
        "fapiao_bank_account",
        "fapiao_address_phone",
        "fapiao_tax_number",
        "fapiao_title",
        "status_reason",
        "delivery_weekdays",
        "payment_terms",
    ):
        op.drop_column("buyer_companies", column)
    payment_terms.drop(op.get_bind(), checkfirst=True)
    # PostgreSQL cannot drop an enum value: 'company_api' stays in token_kind, unused.
