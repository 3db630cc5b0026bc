"""SQL of backups: the record of each run (read by the ops console) and what ``app restore`` asks
of the target database before it writes anything."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.kit.models import BackupRun


@dataclass(frozen=True)
class BackupRunRecord:
    started_at: datetime
    finished_at: datetime
    succeeded: bool
    trigger: str
    archive_path: str = ""
    size_bytes: int | None = None
    sha256: str = ""
    error: str = ""


async def record_backup_run(session: AsyncSession, run: BackupRunRecord) -> BackupRun:
    row = BackupRun(
        started_at=run.started_at,
        finished_at=run.finished_at,
        succeeded=run.succeeded,
        trigger=run.trigger,
        archive_path=run.archive_path[:500],
        size_bytes=run.size_bytes,
        sha256=run.sha256,
        error=run.error[:1000],
    )
    session.add(row)
    await session.flush()
    return row


async def latest_backup_run(session: AsyncSession, *, succeeded_only: bool = False) -> BackupRun | None:
    stmt = select(BackupRun).order_by(BackupRun.finished_at.desc(), BackupRun.id.desc()).limit(1)
    if succeeded_only:
        stmt = stmt.where(BackupRun.succeeded.is_(True))
    return (await session.scalars(stmt)).first()


async def public_tables(conn: AsyncConnection, *, ignoring: Collection[str] = ()) -> list[str]:
    """The tables of the ``public`` schema (the app's), but those named in ``ignoring``."""
    rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
    return [name for (name,) in rows if name not in ignoring]


async def server_major_version(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text("SELECT current_setting('server_version_num')::int / 10000")) or 0)


async def drop_public_schema(conn: AsyncConnection) -> None:
    """Every object of the app (tables, types, functions, sequences) goes with its schema; the empty
    schema is made again, owned by the connecting role, for the restore to fill."""
    await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
    await conn.execute(text("CREATE SCHEMA public"))


async def alembic_revision(conn: AsyncConnection) -> str:
    """The schema revision the database is at; "" for a database Alembic never touched."""
    if await conn.scalar(text("SELECT to_regclass('public.alembic_version')")) is None:
        return ""
    return str(await conn.scalar(text("SELECT version_num FROM alembic_version")) or "")
