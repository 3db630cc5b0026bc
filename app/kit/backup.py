"""Backups of the database and the uploads: ``app backup``, ``app restore`` and the daily task.

One archive, ``nanling-backup-YYYYMMDD-HHMMSS.tar`` (the time in China), holds

- ``database.dump``: ``pg_dump --format=custom`` (compressed), one snapshot of the database;
- ``uploads/…``: every file under ``APP_DATA_DIR/uploads`` (product pictures, case and delivery
  photos) — the only user data the app keeps outside the database. The embedded PostgreSQL's own
  data directory (``pg``), ``celerybeat-schedule`` and the backups themselves are not in it;
- ``backup.json``: when it was made, the Alembic revision, the server version, what it holds;
- ``MANIFEST.sha256``: the SHA-256 of every other member (``sha256sum`` format),

and ``<archive>.sha256`` beside it holds the SHA-256 of the whole file (``sha256sum -c`` reads it).

Consistency: the dump is one snapshot of the database; the uploads are read after it, each file
whole. When the two disagree the database wins: a picture uploaded during the backup may be in the
archive without its row (an unused file), one deleted during it may be missing from it.

The archive is written under a ``.partial`` name and renamed when complete, so a failed or killed
backup never leaves a file that looks like an archive. ``app restore`` checks every checksum before
it changes anything, and refuses a database with tables or an uploads folder with files unless told
to replace them (``--force``).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import Settings
from app.db import create_engine, create_sessionmaker, libpq_conninfo
from app.kit import backup_queries, clock
from app.kit.models import BackupRun
from app.migrate import FOREIGN_TABLES

if TYPE_CHECKING:
    import tarfile  # imported where archives are written or read: the web workers only show the status

log = logging.getLogger(__name__)

ARCHIVE_PREFIX = "nanling-backup"
ARCHIVE_NAME = re.compile(rf"^{ARCHIVE_PREFIX}-(\d{{8}}-\d{{6}})(?:-\d+)?\.tar$")
DUMP_MEMBER = "database.dump"
META_MEMBER = "backup.json"
MANIFEST_MEMBER = "MANIFEST.sha256"
UPLOADS_MEMBER = "uploads"
# kombu's broker tables (a queue, not records): a restored queue would deliver old messages again,
# and a worker started on the target may already have made them. The worker makes them when missing.
BROKER_OBJECTS = (*sorted(FOREIGN_TABLES), "queue_id_sequence", "message_id_sequence")
# The console warns when the newest good backup is older than this: a day, and an hour for the
# daily run's own duration and the beat's timing.
STALE_AFTER = timedelta(hours=25)
# Leftovers of a backup or restore that was killed (a ``.partial`` archive, a staging folder) are
# removed by the retention run once they are this old, so a run in progress is never touched.
LEFTOVER_AGE = timedelta(days=1)
CHUNK = 1 << 20
# Errors of the disk being written while unpacking, not of the archive being read.
UNPACK_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EPERM})


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why (Chinese / English)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    sha256: str
    uploads: int
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class RestoreResult:
    tables: int
    uploads: int
    revision: str
    made_at: str


# ---- PostgreSQL client programs ------------------------------------------------------------------


def _tool_major(path: Path) -> int:
    # An argument list and no shell: the program is one of the PostgreSQL clients found above.
    answer = subprocess.run(  # noqa: S603
        [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.search(r"\s(\d+)(?:\.\d+)?", answer.stdout)
    return int(found.group(1)) if answer.returncode == 0 and found else 0


def _tool_candidates(name: str, settings: Settings) -> Iterator[Path]:
    if settings.pg_bin_dir is not None:
        yield settings.pg_bin_dir / name
    try:
        import pgserver
    except ImportError:
        pass
    else:
        yield Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)


def pg_tool(name: str, settings: Settings, server_major: int) -> Path:
    """``pg_dump`` / ``pg_restore`` of a major version at least the server's: an older one cannot
    dump a newer server (the machine's PostgreSQL 15 tools and the embedded 16 server)."""
    seen: list[str] = []
    for candidate in _tool_candidates(name, settings):
        if candidate.is_file():
            major = _tool_major(candidate)
            if major >= server_major:
                return candidate
            seen.append(f"{candidate} ({major})")
    raise BackupError(
        f"找不到 PostgreSQL {server_major} 或更新版本的 {name}（已找到：{', '.join(seen) or '无'}），"
        f"请设置 PG_BIN_DIR / no {name} of PostgreSQL {server_major} or newer found; set PG_BIN_DIR"
    )


def _libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """The database as a libpq connection string for the client programs, its password in the
    environment (``PGPASSWORD``) rather than on a command line other users can list."""
    parsed = make_url(database_url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    without_password = parsed.set(password=None).render_as_string(hide_password=False)
    return libpq_conninfo(without_password), env


async def _run(argv: Sequence[str], env: dict[str, str], what: str) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False)  # noqa: S603

    answer = await asyncio.to_thread(run)
    if answer.returncode != 0:
        detail = (answer.stderr or answer.stdout).strip()[-1500:]
        raise BackupError(f"{what}（退出码 {answer.returncode}）：{detail}")


# ---- archive -------------------------------------------------------------------------------------


def archive_name(at: datetime, tz: Any) -> str:
    return f"{ARCHIVE_PREFIX}-{at.astimezone(tz):%Y%m%d-%H%M%S}.tar"


def archive_time(name: str, tz: Any) -> datetime | None:
    """When an archive was made, read from its name (the time in ``tz``); None: not an archive."""
    found = ARCHIVE_NAME.match(name)
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=tz)


def _free_archive_path(out_dir: Path, name: str) -> Path:
    """Two backups in one second (a manual one beside the daily one) get ``-2``, ``-3`` …"""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    stem = name.removesuffix(".tar")
    number = 1
    while path.exists() or path.with_name(path.name + ".partial").exists():
        number += 1
        path = out_dir / f"{stem}-{number}.tar"
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _add_file(tar: tarfile.TarFile, source: Path, member: str) -> str | None:
    """Add one file whole and return its SHA-256; None when it went away meanwhile (an upload
    deleted while the backup ran). The open descriptor keeps the file read the one that was hashed
    even if a new version is renamed over it."""
    import tarfile

    try:
        f = source.open("rb")
    except FileNotFoundError:
        return None
    with f:
        size = os.fstat(f.fileno()).st_size
        digest = hashlib.sha256()
        remaining = size
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            if not chunk:
                raise BackupError(f"文件在备份时变短了 / file shrank while being backed up: {source}")
            digest.update(chunk)
            remaining -= len(chunk)
        f.seek(0)
        info = tarfile.TarInfo(member)
        info.size = size
        info.mtime = int(os.fstat(f.fileno()).st_mtime)
        info.mode = 0o644
        tar.addfile(info, f)
    return digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, data: bytes, member: str) -> str:
    import tarfile

    info = tarfile.TarInfo(member)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def _upload_files(uploads_dir: Path) -> list[Path]:
    if not uploads_dir.is_dir():
        return []
    return sorted(p for p in uploads_dir.rglob("*") if p.is_file() and not p.is_symlink())


def _write_archive(partial: Path, dump: Path, uploads_dir: Path, meta: dict[str, Any]) -> int:
    """The tar at ``partial``, flushed to disk; returns the number of upload files in it."""
    import tarfile

    manifest: dict[str, str] = {}
    with partial.open("wb") as raw:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            dump_sha = _add_file(tar, dump, DUMP_MEMBER)
            if dump_sha is None:
                raise BackupError(f"数据库导出文件不见了 / the database dump is missing: {dump}")
            manifest[DUMP_MEMBER] = dump_sha
            for source in _upload_files(uploads_dir):
                member = f"{UPLOADS_MEMBER}/{source.relative_to(uploads_dir).as_posix()}"
                digest = _add_file(tar, source, member)
                if digest is not None:
                    manifest[member] = digest
            meta = {**meta, "uploads": len(manifest) - 1}
            described = json.dumps(meta, ensure_ascii=False, indent=2).encode()
            manifest[META_MEMBER] = _add_bytes(tar, described, META_MEMBER)
            lines = "".join(f"{digest}  {member}\n" for member, digest in manifest.items())
            _add_bytes(tar, lines.encode(), MANIFEST_MEMBER)
        raw.flush()
        os.fsync(raw.fileno())
    return len(manifest) - 2


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


@asynccontextmanager
async def _engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of its own for one step (no pool: these run once, from a command or a task)."""
    engine = create_engine(database_url, null_pool=True)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _database_facts(database_url: str) -> tuple[int, str]:
    """The server's major version and the database's Alembic revision ("" when it has none)."""
    try:
        async with _engine(database_url) as engine, engine.connect() as conn:
            major = await backup_queries.server_major_version(conn)
            revision = await backup_queries.alembic_revision(conn)
    except (OSError, SQLAlchemyError) as exc:
        raise BackupError(f"连不上数据库 / cannot reach the database: {exc}") from exc
    return major, revision


async def create_backup(settings: Settings, database_url: str, out_dir: Path) -> BackupResult:
    """Dump the database and pack it with the uploads into one checksummed archive in ``out_dir``."""
    try:
        return await _create_backup(settings, database_url, out_dir)
    except (OSError, SQLAlchemyError) as exc:  # disk full, no permission, the database gone mid-way
        raise BackupError(f"备份没有写成，未留下备份文件 / backup not written, no archive left: {exc}") from exc


async def _create_backup(settings: Settings, database_url: str, out_dir: Path) -> BackupResult:
    started = clock.now()
    path = await asyncio.to_thread(_free_archive_path, out_dir, archive_name(started, clock.business_tz()))
    partial = path.with_name(path.name + ".partial")
    sidecar = path.with_name(path.name + ".sha256")
    work = out_dir / f".{path.stem}.work"
    try:
        major, revision = await _database_facts(database_url)
        conninfo, env = _libpq_target(database_url)
        dump = work / DUMP_MEMBER
        work.mkdir()
        argv = [str(pg_tool("pg_dump", settings, major)), "--format=custom", f"--file={dump}", f"--dbname={conninfo}"]
        argv += [f"--exclude-table={name}" for name in BROKER_OBJECTS]
        await _run(argv, env, "数据库导出失败 / pg_dump failed")
        meta = {
            "made_at": started.astimezone(clock.business_tz()).isoformat(timespec="seconds"),
            "alembic_revision": revision,
            "server_major_version": major,
            "database": make_url(database_url).database,
        }
        uploads = await asyncio.to_thread(_write_archive, partial, dump, settings.uploads_dir, meta)
        digest = await asyncio.to_thread(file_sha256, partial)
        # The checksum first, the archive's own name last: a file by that name is always complete
        # and always has its .sha256.
        _write_atomically(sidecar, f"{digest}  {path.name}\n".encode())
        partial.replace(path)
    except BaseException:
        sidecar.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        partial.unlink(missing_ok=True)
    return BackupResult(path, path.stat().st_size, digest, uploads, started, clock.now())


@dataclass
class _Staged:
    root: Path
    meta: dict[str, Any] = field(default_factory=dict)
    uploads: int = 0

    @property
    def dump(self) -> Path:
        return self.root / DUMP_MEMBER

    @property
    def uploads_dir(self) -> Path:
        return self.root / UPLOADS_MEMBER


def _corrupt(archive: Path, why: str) -> BackupError:
    return BackupError(f"备份文件校验失败，未做任何改动 / archive failed its checks, nothing changed: {archive}: {why}")


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _check_sidecar(archive: Path) -> None:
    sidecar = archive.with_name(archive.name + ".sha256")
    if not sidecar.is_file():
        log.warning("%s has no .sha256 beside it; checking the manifest inside only", archive)
        return
    expected = sidecar.read_text(encoding="utf-8").split()[0:1]
    if not expected or expected[0].lower() != file_sha256(archive):
        raise _corrupt(archive, "整个文件的 SHA-256 与 .sha256 不符 / SHA-256 of the file differs from its .sha256")


def _extract_verified(archive: Path, staging: Path) -> _Staged:
    """Unpack into ``staging`` hashing every member, then hold them against the manifest: every
    member listed, every checksum equal, nothing extra."""
    import tarfile

    _check_sidecar(archive)
    hashes: dict[str, str] = {}
    manifest_text: str | None = None
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                path = _safe_member(member.name)
                if member.isdir():
                    continue
                if path is None or not member.isfile():
                    raise _corrupt(archive, f"不允许的成员 / unexpected member {member.name!r}")
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has its data
                if member.name == MANIFEST_MEMBER:
                    manifest_text = source.read().decode("utf-8")
                    continue
                target = staging.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                hashes[member.name] = digest.hexdigest()
    except OSError as exc:
        if exc.errno in UNPACK_FAILURES:
            raise BackupError(f"无法解包到 {staging} / cannot unpack into it: {exc}") from exc
        raise _corrupt(archive, f"无法读取 / unreadable: {exc}") from exc
    except (tarfile.TarError, EOFError, UnicodeDecodeError) as exc:
        raise _corrupt(archive, f"无法读取 / unreadable: {exc}") from exc
    if manifest_text is None:
        raise _corrupt(archive, f"缺少 {MANIFEST_MEMBER} / no {MANIFEST_MEMBER}")
    listed: dict[str, str] = {}
    for line in manifest_text.splitlines():
        listed_digest, _, name = line.partition("  ")
        listed[name] = listed_digest
    if listed != hashes:
        differing = sorted(n for n in listed.keys() | hashes.keys() if listed.get(n) != hashes.get(n))
        raise _corrupt(archive, f"校验和不符 / checksums differ: {', '.join(differing[:5])}")
    if DUMP_MEMBER not in hashes or META_MEMBER not in hashes:
        raise _corrupt(archive, "不是本系统的备份 / not a backup of this platform")
    staged = _Staged(staging)
    staged.meta = json.loads((staging / META_MEMBER).read_text(encoding="utf-8"))
    staged.uploads = sum(1 for name in hashes if name.startswith(UPLOADS_MEMBER + "/"))
    return staged


def verify_archive(archive: Path, scratch: Path) -> dict[str, Any]:
    """Check an archive without restoring it; returns its ``backup.json``."""
    staging = scratch / f".verify-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        return _extract_verified(archive, staging).meta
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def _replace_uploads(staged: Path, uploads_dir: Path) -> None:
    """Put the restored uploads in place by renames (same file system: the staging folder is a
    sibling), the old folder removed only once the new one is there."""
    if not staged.is_dir():
        staged.mkdir(parents=True)
    uploads_dir.parent.mkdir(parents=True, exist_ok=True)
    replaced = uploads_dir.with_name(f".{uploads_dir.name}-replaced-{uuid.uuid4().hex[:8]}")
    if uploads_dir.exists():
        uploads_dir.rename(replaced)
    staged.rename(uploads_dir)
    shutil.rmtree(replaced, ignore_errors=True)


async def restore_backup(settings: Settings, database_url: str, archive: Path, *, force: bool) -> RestoreResult:
    """Check ``archive``, then restore its database and uploads into an empty target (or, with
    ``force``, in place of what is there), and bring the schema to this version's head."""
    from alembic.util import CommandError

    try:
        return await _restore_backup(settings, database_url, archive, force=force)
    except (OSError, SQLAlchemyError) as exc:
        raise BackupError(f"恢复中断 / restore stopped: {exc}") from exc
    except CommandError as exc:  # an archive of a newer version than this code
        raise BackupError(
            f"数据已恢复，但无法迁移到本版本的数据库结构 / restored, but cannot migrate to this version: {exc}"
        ) from exc


async def _restore_backup(settings: Settings, database_url: str, archive: Path, *, force: bool) -> RestoreResult:
    from app.migrate import upgrade_to_head

    if not await asyncio.to_thread(archive.is_file):
        raise BackupError(f"找不到备份文件 / no such archive: {archive}")
    # Beside the uploads folder (one file system), so that the restored one is put in place by a rename.
    staging = settings.app_data_dir / f".restore-{uuid.uuid4().hex}"
    await asyncio.to_thread(staging.mkdir, parents=True)
    try:
        staged = await asyncio.to_thread(_extract_verified, archive, staging)
        async with _engine(database_url) as engine:
            async with engine.connect() as conn:
                tables = await backup_queries.public_tables(conn, ignoring=BROKER_OBJECTS)
                major = await backup_queries.server_major_version(conn)
            has_uploads = _holds_files(settings.uploads_dir)
            if (tables or has_uploads) and not force:
                found = []
                if tables:
                    found.append(f"数据库有 {len(tables)} 张表 / the database has {len(tables)} tables")
                if has_uploads:
                    found.append(f"{settings.uploads_dir} 里有文件 / holds files")
                raise BackupError(
                    "目标不是空的，未做任何改动；确认要覆盖请加 --force / the target is not empty, nothing "
                    f"changed; add --force to replace it: {'; '.join(found)}"
                )
            if force:
                async with engine.begin() as conn:
                    await backup_queries.drop_public_schema(conn)
        conninfo, env = _libpq_target(database_url)
        argv = [
            str(pg_tool("pg_restore", settings, major)),
            "--no-owner",  # the target's role owns everything (a server's user is not the embedded "postgres")
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(staged.dump),
        ]
        rolled_back = (
            "数据库恢复失败，已回滚：数据库现在是空的 / pg_restore failed, rolled back: the database is now empty"
            if force
            else "数据库恢复失败，已回滚，数据库未改动 / pg_restore failed and was rolled back, nothing changed"
        )
        await _run(argv, env, rolled_back)
        await asyncio.to_thread(_replace_uploads, staged.uploads_dir, settings.uploads_dir)
        await asyncio.to_thread(upgrade_to_head, database_url)
        async with _engine(database_url) as engine, engine.connect() as conn:
            restored = await backup_queries.public_tables(conn, ignoring=BROKER_OBJECTS)
            revision = await backup_queries.alembic_revision(conn)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(len(restored), staged.uploads, revision, str(staged.meta.get("made_at", "")))


# ---- runs, retention, status ---------------------------------------------------------------------


async def _record(database_url: str, run: backup_queries.BackupRunRecord) -> None:
    async with _engine(database_url) as engine, create_sessionmaker(engine)() as session, session.begin():
        await backup_queries.record_backup_run(session, run)


async def run_backup(settings: Settings, database_url: str, out_dir: Path, *, trigger: str) -> BackupResult:
    """:func:`create_backup` with its outcome recorded in ``backup_runs`` (for the ops console). A
    failure to record is logged and does not undo a good archive; a failed backup is recorded too
    (when the database answers) and raised."""
    started = clock.now()
    try:
        result = await create_backup(settings, database_url, out_dir)
    except Exception as exc:
        run = backup_queries.BackupRunRecord(started, clock.now(), False, trigger, error=f"{type(exc).__name__}: {exc}")
        try:
            await _record(database_url, run)
        except Exception as record_exc:
            log.warning("could not record the failed backup in backup_runs: %s", record_exc)
        raise
    run = backup_queries.BackupRunRecord(
        result.started_at, result.finished_at, True, trigger, str(result.path), result.size_bytes, result.sha256
    )
    try:
        await _record(database_url, run)
    except Exception as exc:
        log.warning("backup %s written but not recorded in backup_runs: %s", result.path, exc)
    return result


def archives_to_delete(made: dict[str, datetime], *, keep_daily: int, keep_weekly: int, tz: Any) -> list[str]:
    """Retention: keep the newest archive of each of the ``keep_daily`` most recent days that have
    one, and the newest of each of the ``keep_weekly`` most recent ISO weeks that have one (days and
    weeks in ``tz``, China time); the rest go. Counting days and weeks that have an archive, not
    calendar days, means a pause in backups never deletes the last good ones."""
    newest_of_day: dict[Any, str] = {}
    newest_of_week: dict[Any, str] = {}
    for name in sorted(made, key=lambda n: (made[n], n), reverse=True):
        local = made[name].astimezone(tz).date()
        newest_of_day.setdefault(local, name)
        newest_of_week.setdefault(local.isocalendar()[:2], name)
    keep = {newest_of_day[day] for day in sorted(newest_of_day, reverse=True)[:keep_daily]}
    keep |= {newest_of_week[week] for week in sorted(newest_of_week, reverse=True)[:keep_weekly]}
    return sorted(name for name in made if name not in keep)


def apply_retention(backups_dir: Path, *, keep_daily: int, keep_weekly: int) -> list[str]:
    """Delete the archives (and their ``.sha256``) retention does not keep, and leftovers of killed
    runs older than a day; returns the archives deleted."""
    if not backups_dir.is_dir():
        return []
    tz = clock.business_tz()
    made = {p.name: t for p in backups_dir.iterdir() if (t := archive_time(p.name, tz)) is not None}
    doomed = archives_to_delete(made, keep_daily=keep_daily, keep_weekly=keep_weekly, tz=tz)
    for name in doomed:
        (backups_dir / name).unlink(missing_ok=True)
        (backups_dir / f"{name}.sha256").unlink(missing_ok=True)
    cutoff = time.time() - LEFTOVER_AGE.total_seconds()
    for leftover in backups_dir.iterdir():
        name = leftover.name
        killed_run = name.endswith(".partial") or (name.startswith(".") and name.endswith(".work"))
        if killed_run and leftover.stat().st_mtime < cutoff:
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
    return doomed


@dataclass(frozen=True)
class BackupStatus:
    """What the ops console shows: the newest good backup, a newer failed run, and whether to warn."""

    enabled: bool
    last: BackupRun | None
    failed_since: BackupRun | None
    stale: bool

    @property
    def file_name(self) -> str:
        return Path(self.last.archive_path).name if self.last is not None else ""


async def backup_status(session: AsyncSession, settings: Settings) -> BackupStatus:
    last = await backup_queries.latest_backup_run(session, succeeded_only=True)
    newest = await backup_queries.latest_backup_run(session)
    failed = newest if newest is not None and not newest.succeeded else None
    stale = settings.backup_enabled and (last is None or clock.now() - last.finished_at > STALE_AFTER)
    return BackupStatus(settings.backup_enabled, last, failed, stale)
