"""Farm-stay and picking events (农旅活动) sold as tickets: events, slots (each owns a capacity),
tickets, the check-in log; ``delivery_method 'none'`` for ticket orders; the plan's 农旅结合活动
target computed from attended events (``agritourism_events``) instead of evidence entries

Revision ID: 0039_events
Revises: 0038_presales
Create Date: 2026-12-20 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039_events"
down_revision: str | None = "0038_presales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE delivery_method ADD VALUE IF NOT EXISTS 'none'")
        # A fresh install has it from 0032 (which inserts the register from app.county.plan_2021).
        op.execute("ALTER TYPE county_target_metric ADD VALUE IF NOT EXISTS 'agritourism_events'")
    op.create_table(
        "farm_events",
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("meeting_station_id", sa.BigInteger(), nullable=False),
        sa.Column("adult_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("child_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("cancel_hours_before", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f("ck_farm_events_status_known")),
        sa.CheckConstraint(
            "adult_price_minor >= 0 AND child_price_minor >= 0", name=op.f("ck_farm_events_prices_not_negative")
        ),
        sa.CheckConstraint("cancel_hours_before >= 0", name=op.f("ck_farm_events_cancel_hours_not_negative")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_farm_events_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["meeting_station_id"], ["stations.id"], name=op.f("fk_farm_events_meeting_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farm_events")),
    )
    op.create_index(op.f("ix_farm_events_meeting_station_id"), "farm_events", ["meeting_station_id"], unique=False)
    op.create_table(
        "farm_event_slots",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_farm_event_slots_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["capacity_id"], ["capacities.id"], name=op.f("fk_farm_event_slots_capacity_id_capacities")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["farm_events.id"], name=op.f("fk_farm_event_slots_event_id_farm_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farm_event_slots")),
        sa.UniqueConstraint("capacity_id", name=op.f("uq_farm_event_slots_capacity_id")),
    )
    op.create_index(op.f("ix_farm_event_slots_event_id"), "farm_event_slots", ["event_id"], unique=False)
    op.create_table(
        "farm_event_tickets",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("slot_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("order_line_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by_id", sa.BigInteger(), nullable=True),
        sa.Column("checked_in_device", sa.String(length=60), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("kind IN ('adult', 'child')", name=op.f("ck_farm_event_tickets_kind_known")),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"], ["users.id"], name=op.f("fk_farm_event_tickets_checked_in_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["farm_events.id"], name=op.f("fk_farm_event_tickets_event_id_farm_events")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_farm_event_tickets_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_farm_event_tickets_order_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["farm_event_slots.id"], name=op.f("fk_farm_event_tickets_slot_id_farm_event_slots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farm_event_tickets")),
        sa.UniqueConstraint("token", name=op.f("uq_farm_event_tickets_token")),
    )
    op.create_index(op.f("ix_farm_event_tickets_event_id"), "farm_event_tickets", ["event_id"], unique=False)
    op.create_index(op.f("ix_farm_event_tickets_order_id"), "farm_event_tickets", ["order_id"], unique=False)
    op.create_index(op.f("ix_farm_event_tickets_slot_id"), "farm_event_tickets", ["slot_id"], unique=False)
    op.create_table(
        "farm_event_checkins",
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("token", sa.String(length=60), nullable=False),
        sa.Column("device_id", sa.String(length=60), nullable=False),
        sa.Column("client_id", sa.String(length=60), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("operator_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("message_zh", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "outcome IN ('counted', 'duplicate', 'refused')", name=op.f("ck_farm_event_checkins_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["farm_events.id"], name=op.f("fk_farm_event_checkins_event_id_farm_events")
        ),
        sa.ForeignKeyConstraint(["operator_id"], ["users.id"], name=op.f("fk_farm_event_checkins_operator_id_users")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["farm_event_tickets.id"], name=op.f("fk_farm_event_checkins_ticket_id_farm_event_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_farm_event_checkins")),
        sa.UniqueConstraint("device_id", "client_id", name=op.f("uq_farm_event_checkins_device_client_once")),
    )
    op.create_index(
        "ix_farm_event_checkins_duplicates",
        "farm_event_checkins",
        ["event_id"],
        unique=False,
        postgresql_where=sa.text("outcome = 'duplicate'"),
    )
    op.create_index(op.f("ix_farm_event_checkins_event_id"), "farm_event_checkins", ["event_id"], unique=False)
    op.create_index(op.f("ix_farm_event_checkins_ticket_id"), "farm_event_checkins", ["ticket_id"], unique=False)
    # A register made before this revision counted 农旅结合活动 from evidence entries: from now on
    # the platform counts the events it ran (entries already recorded stay, unread by the target).
    op.execute(
        "UPDATE county_targets SET metric = 'agritourism_events', evidence_kind = NULL"
        " WHERE code = 'agritourism' AND evidence_kind = 'agritourism'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE county_targets SET metric = NULL, evidence_kind = 'agritourism'"
        " WHERE code = 'agritourism' AND metric = 'agritourism_events'"
    )
    op.drop_index(op.f("ix_farm_event_checkins_ticket_id"), table_name="farm_event_checkins")
    op.drop_index(op.f("ix_farm_event_checkins_event_id"), table_name="farm_event_checkins")
    op.drop_index(
        "ix_farm_event_checkins_duplicates",
        table_name="farm_event_checkins",
        postgresql_where=sa.text("outcome = 'duplicate'"),
    )
    op.drop_table("farm_event_checkins")
    op.drop_index(op.f("ix_farm_event_tickets_slot_id"), table_name="farm_event_tickets")
    op.drop_index(op.f("ix_farm_event_tickets_order_id"), table_name="farm_event_tickets")
    op.drop_index(op.f("ix_farm_event_tickets_event_id"), table_name="farm_event_tickets")
    op.drop_table("farm_event_tickets")
    op.drop_index(op.f("ix_farm_event_slots_event_id"), table_name="farm_event_slots")
    op.drop_table("farm_event_slots")
    op.drop_index(op.f("ix_farm_events_meeting_station_id"), table_name="farm_events")
    op.drop_table("farm_events")
    # Enum values added by upgrade stay (PostgreSQL cannot drop an enum value).
