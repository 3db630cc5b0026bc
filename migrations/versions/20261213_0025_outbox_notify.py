"""Outbox notify: a statement that inserts outbox messages notifies ``outbox_due`` (delivered at
commit), which the worker's outbox listener turns into a drain

Revision ID: 0025_outbox_notify
Revises: 0024_outbox_drain
Create Date: 2026-12-13 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_outbox_notify"
down_revision: str | None = "0024_outbox_drain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Per statement, with a constant payload: PostgreSQL folds the notifications of one transaction
    # into one, so an order with several messages still wakes the listener once.
    op.execute(
        """
        CREATE FUNCTION outbox_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox_due', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify_due AFTER INSERT ON outbox_messages "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_due()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify_due ON outbox_messages")
    op.execute("DROP FUNCTION outbox_notify_due()")
