"""PRD delivery trips: wholesale routes (county warehouse to PRD cities, weekdays, cut-off,
vehicle) and their trips (one per route and date, capacity copied, booked counters CHECKed)

Revision ID: 0017_wholesale_trips
Revises: 0013_device_enrolments
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_wholesale_trips"
down_revision: str | None = "0013_device_enrolments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wholesale_routes",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("origin_location_id", sa.BigInteger(), nullable=False),
        sa.Column("cities", sa.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("weekdays", sa.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("cutoff_time", sa.Time(), nullable=False),
        sa.Column("cutoff_days_before", sa.SmallInteger(), nullable=False),
        sa.Column("capacity_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("capacity_cases", sa.Integer(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("capacity_cases > 0", name=op.f("ck_wholesale_routes_capacity_cases_positive")),
        sa.CheckConstraint("capacity_kg > 0", name=op.f("ck_wholesale_routes_capacity_kg_positive")),
        sa.CheckConstraint("cardinality(cities) >= 1", name=op.f("ck_wholesale_routes_has_cities")),
        sa.CheckConstraint(
            "cardinality(weekdays) >= 1 AND weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]",
            name=op.f("ck_wholesale_routes_weekdays_valid"),
        ),
        sa.CheckConstraint(
            "cutoff_days_before BETWEEN 0 AND 6", name=op.f("ck_wholesale_routes_cutoff_days_before_range")
        ),
        sa.ForeignKeyConstraint(
            ["origin_location_id"], ["locations.id"], name=op.f("fk_wholesale_routes_origin_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_routes")),
        sa.UniqueConstraint("code", name=op.f("uq_wholesale_routes_code")),
    )
    op.create_table(
        "wholesale_trips",
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("route_id", sa.BigInteger(), nullable=False),
        sa.Column("departure_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("planned", "loading", "dispatched", "delivered", "cancelled", name="wholesale_trip_status"),
            nullable=False,
        ),
        sa.Column("cutoff_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("capacity_cases", sa.Integer(), nullable=False),
        sa.Column("cold_chain", sa.Boolean(), nullable=False),
        sa.Column("booked_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("booked_cases", sa.Integer(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "booked_cases >= 0 AND booked_cases <= capacity_cases",
            name=op.f("ck_wholesale_trips_booked_cases_within_capacity"),
        ),
        sa.CheckConstraint(
            "booked_kg >= 0 AND booked_kg <= capacity_kg", name=op.f("ck_wholesale_trips_booked_kg_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["wholesale_routes.id"], name=op.f("fk_wholesale_trips_route_id_wholesale_routes")
        ),
        sa.ForeignKeyConstraint(
            ["status_changed_by_id"], ["users.id"], name=op.f("fk_wholesale_trips_status_changed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wholesale_trips")),
        sa.UniqueConstraint("number", name=op.f("uq_wholesale_trips_number")),
        sa.UniqueConstraint("route_id", "departure_date", name="uq_wholesale_trips_route_date"),
    )
    op.create_index(op.f("ix_wholesale_trips_departure_date"), "wholesale_trips", ["departure_date"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wholesale_trips_departure_date"), table_name="wholesale_trips")
    op.drop_table("wholesale_trips")
    op.drop_table("wholesale_routes")
    sa.Enum(name="wholesale_trip_status").drop(op.get_bind(), checkfirst=True)
