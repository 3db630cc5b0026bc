"""A function that counts a station's parcels on the shelf in a snapshot of its own, so that a scan-in
locks the station and counts in one statement

A scan-in's last step is the station's turn for its shelf capacity: the station's row locked, then
the parcels on its shelf counted. The count had to be a second statement: a statement that waited
for the lock still reads as of before the wait, so it would miss the parcel the scan before it had
just shelved, and the shelf could hold one more than its capacity. Every scan-in of a station waits
for the one before it from the lock to the commit, so that round trip was paid once per scan in the
queue (issue 15).

A VOLATILE function takes a fresh snapshot for each statement it runs (PostgreSQL's "Function
Volatility Categories", READ COMMITTED), so called on the row the lock returned it sees every scan
committed before the lock was granted, and this transaction's own. PL/pgSQL, never inlined into the
caller's statement.

Revision ID: 0046_station_shelf_count
Revises: 0045_trips_taking_load_index
Create Date: 2026-12-26 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0046_station_shelf_count"
down_revision: str | None = "0045_trips_taking_load_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION station_parcels_on_shelf(station bigint) RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RETURN (SELECT count(*) FROM parcels WHERE station_id = station AND status = 'at_station');
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION station_parcels_on_shelf(bigint)")
