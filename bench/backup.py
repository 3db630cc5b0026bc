"""Issue 16: backup and restore time for a database of at least 1,000,000 stock ledger rows.

An embedded PostgreSQL of its own (as ``app serve`` without ``DATABASE_URL``), migrated, with the
demo data and its pictures, and ``LEDGER_ROWS`` ledger rows added in one ``generate_series``
statement: adjustments of +1 / -1 in pairs on the demo lots (their own variant and location, so
every foreign key holds and the on-hand figures the ledger rebuilds do not change). Then
``run_backup`` (what ``app backup`` runs) and ``restore_backup`` into a new empty database on the
same server (what ``app restore`` runs), each timed, with the archive's size and a row count check.

Not in the default ``python -m bench`` list (about half a minute, most of it filling the database,
for figures that change only with the backup code); run it with ``python -m bench backup``.
The ledger rows repeat a few values, so they compress better than real ones: read the archive size
as a lower bound.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url, text

from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker, start_embedded_postgres, stop_embedded_postgres
from app.demo import seed_demo
from app.kit.backup import restore_backup, run_backup
from app.migrate import upgrade_to_head

LEDGER_ROWS = 1_000_000

FILL_LEDGER = text(
    """
    WITH lot AS (
        SELECT id, variant_id, received_location_id, (row_number() OVER (ORDER BY id)) - 1 AS i FROM lots
    ), lots_count AS (SELECT count(*) AS n FROM lots)
    INSERT INTO stock_ledger
        (created_at, kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
         reason, document_type, document_ref)
    SELECT now() - make_interval(secs => g), 'adjustment'::ledger_kind,
           lot.variant_id, lot.received_location_id, lot.id,
           CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END, 0,
           'bench: recount', 'bench', 'BENCH-' || (g / 2)
    FROM generate_series(0, :rows - 1) AS g
    JOIN lot ON lot.i = (g / 2) % (SELECT n FROM lots_count)
    """
)


async def _scalar(url: str, sql: str, *, autocommit: bool = False) -> int:
    """One statement on a connection of its own; ``autocommit`` for those outside a transaction."""
    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            if autocommit:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(text(sql))
            return int(result.scalar() or 0) if result.returns_rows else 0
    finally:
        await engine.dispose()


async def _prepare(url: str, settings: Settings) -> float:
    engine = create_engine(url, null_pool=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session, uploads_dir=settings.uploads_dir)
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(FILL_LEDGER, {"rows": LEDGER_ROWS})
    finally:
        await engine.dispose()
    await _scalar(url, "VACUUM ANALYZE stock_ledger", autocommit=True)
    return time.perf_counter() - started


async def _create_database(url: str, name: str) -> str:
    await _scalar(url, f'CREATE DATABASE "{name}"', autocommit=True)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def run(root: Path) -> None:
    settings = Settings(app_env=AppEnv.demo, app_data_dir=root / "data")
    url = start_embedded_postgres(settings.app_data_dir / "pg")
    upgrade_to_head(url)
    fill_seconds = asyncio.run(_prepare(url, settings))
    rows = asyncio.run(_scalar(url, "SELECT count(*) FROM stock_ledger"))
    size = asyncio.run(_scalar(url, "SELECT pg_database_size(current_database())"))
    print(f"database: {rows:,} stock ledger rows, {size / 2**20:.0f} MiB (filled in {fill_seconds:.1f} s)")

    started = time.perf_counter()
    backup = asyncio.run(run_backup(settings, url, settings.backups_dir, trigger="manual"))
    backup_seconds = time.perf_counter() - started
    print(
        f"backup   {backup_seconds:6.1f} s   archive {backup.size_bytes / 2**20:.1f} MiB "
        f"({backup.uploads} upload files)  {backup.path.name}"
    )

    target_url = asyncio.run(_create_database(url, "nanling_restored"))
    target = Settings(app_env=AppEnv.demo, app_data_dir=root / "restored")
    started = time.perf_counter()
    restored = asyncio.run(restore_backup(target, target_url, backup.path, force=False))
    restore_seconds = time.perf_counter() - started
    restored_rows = asyncio.run(_scalar(target_url, "SELECT count(*) FROM stock_ledger"))
    print(
        f"restore  {restore_seconds:6.1f} s   {restored.tables} tables, {restored_rows:,} ledger rows "
        f"({'same' if restored_rows == rows else 'DIFFERENT'}), {restored.uploads} upload files"
    )


def main() -> None:
    print("Backup and restore (embedded PostgreSQL 16, pg_dump --format=custom)")
    with tempfile.TemporaryDirectory(prefix="np-bench-backup-") as tmp:
        try:
            run(Path(tmp))
        finally:
            stop_embedded_postgres()


if __name__ == "__main__":
    main()
