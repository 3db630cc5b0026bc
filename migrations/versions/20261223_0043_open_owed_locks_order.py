"""The open-owed triggers lock the order's row before they read it, so writers of one order's inputs
take turns

Migration 0042's figure is recomputed from the order's rows by whichever statement writes one of its
inputs, but each statement reads the others as of its own snapshot. Two transactions writing
different inputs of one order at once (a hand-written credit state change while another cancels the
order, say) each saw the other's input as it was, and the later commit left a figure that neither
row says. The application's writers all lock the order's row first (approval, the lapse sweep,
cancelling, delivery, payment), so they were already taking turns; now the triggers do it too,
for every writer:

- a wholesale row whose credit state (or order) changes locks its order's row, then reads it;
- an invoice written, moved or removed locks its order's row, then recomputes the figure.

An ``UPDATE`` of ``orders`` holds that row already. PostgreSQL does not lock again a row its
transaction holds as strongly, so the application's paths, which hold the order's row ``FOR
UPDATE``, pay nothing; placing an order does not lock in its wholesale row's trigger (the order is
the transaction's own, unseen by others), and a prepay order's pro-forma locks its new order's row
once (one more WAL record).

A hand-written statement that changes a credit state locks its order's row too, from the trigger,
after its own wholesale row: against an application path on the same order (order's row first,
then the wholesale row) it can be chosen as a deadlock's victim and must be run again. Lock the
order's row first (``SELECT 1 FROM orders WHERE id = … FOR UPDATE``), as the application does. A
failed statement changes nothing; before this revision it could leave a wrong figure.

Revision ID: 0043_open_owed_locks_order
Revises: 0042_wholesale_open_owed
Create Date: 2026-12-23 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0043_open_owed_locks_order"
down_revision: str | None = "0042_wholesale_open_owed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each PL/pgSQL statement below takes its own snapshot (the functions are volatile and the
# transaction is READ COMMITTED), so what is read after the lock includes the commit waited for.
# Without the locks, each function is migration 0042's (what downgrading puts back).


def _wholesale_row_function(*, lock: bool) -> str:
    credit_changed = """
        IF TG_OP = 'UPDATE' AND (OLD.order_id, OLD.credit_state) IS DISTINCT FROM (NEW.order_id, NEW.credit_state) THEN
            PERFORM 1 FROM orders WHERE id = NEW.order_id FOR NO KEY UPDATE;
        END IF;"""
    return f"""
    CREATE OR REPLACE FUNCTION wholesale_orders_open_owed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN{credit_changed if lock else ""}
        NEW.open_owed_minor := wholesale_open_owed(NEW.order_id, NEW.credit_state);
        RETURN NEW;
    END
    $$
    """


def _invoice_function(*, lock: bool) -> str:
    def refresh(row: str) -> str:
        locked = f"PERFORM 1 FROM orders WHERE id = {row}.order_id FOR NO KEY UPDATE;" if lock else ""
        return f"{locked} PERFORM wholesale_open_owed_refresh({row}.order_id);"

    return f"""
    CREATE OR REPLACE FUNCTION wholesale_invoices_open_owed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN {refresh("OLD")} END IF;
        IF TG_OP <> 'DELETE' THEN {refresh("NEW")} END IF;
        RETURN NULL;
    END
    $$
    """


def upgrade() -> None:
    op.execute(_wholesale_row_function(lock=True))
    op.execute(_invoice_function(lock=True))


def downgrade() -> None:
    op.execute(_wholesale_row_function(lock=False))
    op.execute(_invoice_function(lock=False))
