"""Backups (``app backup`` / ``app restore``, app/kit/backup.py) on real databases: a backup of a
database with the demo data and its pictures, wiped and restored, gives the same rows in every table
and the same bytes in every upload; a non-empty target is refused without ``--force``; a damaged
archive is refused before anything changes; retention keeps what it promises."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from app.cli import cli
from app.config import AppEnv, Settings, get_settings
from app.db import create_engine, create_sessionmaker
from app.demo import seed_demo
from app.kit import backup, clock
from app.kit.backup import (
    ARCHIVE_NAME,
    BackupError,
    BackupResult,
    apply_retention,
    archive_name,
    archives_to_delete,
    restore_backup,
    run_backup,
    verify_archive,
)
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.migrate import alembic_config
from tests.fixtures.database import create_database, drop_database

CHINA = ZoneInfo("Asia/Shanghai")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _row_counts(url: str) -> dict[str, int]:
    """Rows of every table of the public schema, counted exactly."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
        return {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in sorted(tables)}
    finally:
        await conn.close()


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def row_counts(url: str) -> dict[str, int]:
    return asyncio.run(_row_counts(url))


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def settings_for(data_dir: Path, url: str, **kw: object) -> Settings:
    return Settings(app_env=AppEnv.test, app_data_dir=data_dir, database_url=url, **kw)  # type: ignore[arg-type]


@dataclass
class Source:
    settings: Settings
    url: str
    counts: dict[str, int]
    uploads: dict[str, str]
    backup: BackupResult


async def _seed(url: str, uploads_dir: Path) -> None:
    engine = create_engine(url, null_pool=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session, uploads_dir=uploads_dir)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """A database with the demo data and its pictures (plus a case photo in a folder of its own),
    backed up once for the tests of this module."""
    url = create_database("np_backup_src")
    settings = settings_for(tmp_path_factory.mktemp("source") / "data", url)
    asyncio.run(_seed(url, settings.uploads_dir))
    case_photo = settings.uploads_dir / "cases" / "7" / "破损-箱子.jpg"
    case_photo.parent.mkdir(parents=True)
    case_photo.write_bytes(bytes(range(256)) * 40)
    counts = row_counts(url)
    uploads = file_hashes(settings.uploads_dir)
    backup = asyncio.run(run_backup(settings, url, settings.backups_dir, trigger="manual"))
    yield Source(settings, url, counts, uploads, backup)
    drop_database(url)


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = create_database("np_backup_dst", migrate=False)
    yield url
    drop_database(url)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config("")).get_current_head())


def test_the_archive_is_named_in_china_time_with_its_checksum_beside_it(source: Source) -> None:
    archive = source.backup.path
    assert archive.parent == source.settings.app_data_dir / "backups"
    assert ARCHIVE_NAME.match(archive.name)
    made = source.backup.started_at
    assert archive.name == archive_name(made, CHINA)
    assert archive.name.endswith(f"{made.astimezone(CHINA):%Y%m%d-%H%M%S}.tar")
    sidecar = archive.with_name(archive.name + ".sha256").read_text()
    assert sidecar == f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n"
    assert source.backup.sha256 == sidecar.split()[0]
    assert sorted(p.name for p in archive.parent.iterdir()) == [archive.name, archive.name + ".sha256"]  # no leftovers
    assert source.backup.uploads == len(source.uploads) > 10
    assert source.backup.size_bytes == archive.stat().st_size
    meta = verify_archive(archive, source.settings.app_data_dir)
    assert meta["alembic_revision"] == head_revision() and meta["uploads"] == len(source.uploads)


def test_each_backup_is_recorded_for_the_console(source: Source) -> None:
    rows = asyncio.run(_fetch(source.url, "SELECT * FROM backup_runs ORDER BY id LIMIT 1"))
    assert rows[0]["succeeded"] and rows[0]["trigger"] == "manual"
    assert rows[0]["archive_path"] == str(source.backup.path)
    assert rows[0]["size_bytes"] == source.backup.size_bytes and rows[0]["sha256"] == source.backup.sha256


async def test_a_backup_that_fails_leaves_no_archive_and_is_recorded(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(partial: Path, *args: object) -> int:
        partial.write_bytes(b"half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup, "_write_archive", disk_full)
    out = tmp_path / "backups"
    with pytest.raises(BackupError, match="No space left on device") as failed:
        await run_backup(source.settings, source.url, out, trigger="scheduled")
    assert "no archive left" in str(failed.value)
    assert list(out.iterdir()) == []  # no .partial, no .sha256, no dump left behind
    rows = await _fetch(source.url, "SELECT * FROM backup_runs ORDER BY id DESC LIMIT 1")
    assert not rows[0]["succeeded"] and rows[0]["trigger"] == "scheduled"
    assert "No space left on device" in rows[0]["error"] and rows[0]["archive_path"] == ""


async def test_backup_wipe_restore_gives_the_same_rows_and_files(
    source: Source, empty_database: str, tmp_path: Path
) -> None:
    target = settings_for(tmp_path / "restored", empty_database)
    result = await restore_backup(target, empty_database, source.backup.path, force=False)

    assert await _row_counts(empty_database) == source.counts
    assert sum(source.counts.values()) > 300
    assert file_hashes(target.uploads_dir) == source.uploads
    assert result.revision == head_revision() and result.uploads == len(source.uploads)
    assert [p.name for p in target.app_data_dir.iterdir()] == ["uploads"]  # staging removed

    # The app runs on what was restored: the catalog with its pictures served from the uploads.
    engine = create_engine(empty_database, pool_size=2)
    try:
        app = create_app(target, engine=engine, sessionmaker=create_sessionmaker(engine), task_sender=RecordingSender())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            products = (await client.get("/api/v1/products")).json()
            assert len(products) > 5
            pictures = [image["url"] for product in products for image in product["images"]]
            assert pictures and [(await client.get(url)).status_code for url in pictures] == [200] * len(pictures)
    finally:
        await engine.dispose()


async def test_a_non_empty_database_is_refused_without_force(source: Source, tmp_path: Path) -> None:
    target = settings_for(tmp_path / "fresh", source.url)
    with pytest.raises(BackupError, match="--force") as refused:
        await restore_backup(target, source.url, source.backup.path, force=False)
    assert "张表" in str(refused.value) and "not empty" in str(refused.value)
    assert not target.uploads_dir.exists()


async def test_uploads_that_exist_are_refused_without_force(
    source: Source, empty_database: str, tmp_path: Path
) -> None:
    target = settings_for(tmp_path / "data", empty_database)
    kept = target.uploads_dir / "products" / "1" / "mine.jpg"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"a picture uploaded here")
    with pytest.raises(BackupError, match="--force"):
        await restore_backup(target, empty_database, source.backup.path, force=False)
    assert await _row_counts(empty_database) == {}
    assert kept.read_bytes() == b"a picture uploaded here"


async def test_force_replaces_the_database_and_the_uploads(source: Source, tmp_path: Path) -> None:
    url = await asyncio.to_thread(create_database, "np_backup_force")
    try:
        target = settings_for(tmp_path / "data", url)
        await asyncio.to_thread(_seed_other_rows, url)
        stray = target.uploads_dir / "products" / "99" / "stray.jpg"
        stray.parent.mkdir(parents=True)
        stray.write_bytes(b"not in the backup")

        await restore_backup(target, url, source.backup.path, force=True)

        assert await _row_counts(url) == source.counts
        assert file_hashes(target.uploads_dir) == source.uploads
        assert not stray.exists()
        assert [p.name for p in target.app_data_dir.iterdir()] == ["uploads"]
    finally:
        await asyncio.to_thread(drop_database, url)


def _seed_other_rows(url: str) -> None:
    """A target that differs from the backup: rows of its own, and a table the backup lacks."""

    async def work() -> None:
        conn = await asyncpg.connect(_dsn(url))
        try:
            await conn.execute("INSERT INTO rate_limit_counters (key, window_start, hits) VALUES ('login:x', 0, 3)")
            await conn.execute("CREATE TABLE left_behind (id int)")
        finally:
            await conn.close()

    asyncio.run(work())


def _damaged_copy(archive: Path, folder: Path, *, keep_sidecar: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / archive.name
    shutil.copy(archive, copy)
    if keep_sidecar:
        shutil.copy(archive.with_name(archive.name + ".sha256"), folder)
    data = bytearray(copy.read_bytes())
    data[600] ^= 0xFF  # inside the first member's data (the dump), past its 512-byte tar header
    copy.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("keep_sidecar", [True, False], ids=["with-sha256-file", "manifest-only"])
async def test_a_damaged_archive_is_refused_before_anything_changes(
    source: Source, empty_database: str, tmp_path: Path, keep_sidecar: bool
) -> None:
    damaged = _damaged_copy(source.backup.path, tmp_path / "copies", keep_sidecar=keep_sidecar)
    target = settings_for(tmp_path / "data", empty_database)
    with pytest.raises(BackupError, match="校验失败") as refused:
        await restore_backup(target, empty_database, damaged, force=True)
    assert "nothing changed" in str(refused.value)
    assert await _row_counts(empty_database) == {}
    assert not target.uploads_dir.exists()
    assert list(target.app_data_dir.iterdir()) == []  # the staging folder is gone


async def test_a_truncated_archive_is_refused(source: Source, empty_database: str, tmp_path: Path) -> None:
    cut = tmp_path / source.backup.path.name
    cut.write_bytes(source.backup.path.read_bytes()[: source.backup.size_bytes // 2])
    with pytest.raises(BackupError, match="校验失败"):
        await restore_backup(settings_for(tmp_path / "data", empty_database), empty_database, cut, force=False)
    assert await _row_counts(empty_database) == {}


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_commands_exit_non_zero_with_the_reason(
    source: Source, empty_database: str, cli_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runner = CliRunner()
    cli_env.setenv("DATABASE_URL", source.url)
    refused = runner.invoke(cli, ["restore", str(source.backup.path)])
    assert refused.exit_code == 1
    assert "恢复失败 / restore failed" in refused.output and "--force" in refused.output

    damaged = _damaged_copy(source.backup.path, tmp_path / "copies", keep_sidecar=True)
    cli_env.setenv("DATABASE_URL", empty_database)
    get_settings.cache_clear()
    corrupt = runner.invoke(cli, ["restore", str(damaged)])
    assert corrupt.exit_code == 1 and "SHA-256" in corrupt.output

    restored = runner.invoke(cli, ["restore", str(source.backup.path)])
    assert restored.exit_code == 0, restored.output
    assert f"{len(source.uploads)} upload files" in restored.output

    out = tmp_path / "elsewhere"
    made = runner.invoke(cli, ["backup", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert [p.suffix for p in sorted(out.iterdir())] == [".tar", ".sha256"]


def test_the_daily_task_backs_up_and_applies_retention_only_when_enabled(
    source: Source, cli_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app.worker import configure_celery, daily_backup

    cli_env.setenv("DATABASE_URL", source.url)
    backups = tmp_path / "backups"
    cli_env.setenv("BACKUP_DIR", str(backups))
    assert daily_backup.run() == ""  # BACKUP_ENABLED unset: nothing
    assert not backups.exists()

    cli_env.setenv("BACKUP_ENABLED", "true")
    cli_env.setenv("BACKUP_KEEP_DAILY", "2")
    cli_env.setenv("BACKUP_KEEP_WEEKLY", "0")
    get_settings.cache_clear()
    backups.mkdir()
    for old in ("nanling-backup-20200101-030000.tar", "nanling-backup-20200102-030000.tar"):
        (backups / old).write_bytes(b"old")
        (backups / f"{old}.sha256").write_bytes(b"old")
    made = Path(daily_backup.run())
    assert sorted(p.name for p in backups.iterdir()) == [
        "nanling-backup-20200102-030000.tar",
        "nanling-backup-20200102-030000.tar.sha256",
        made.name,
        f"{made.name}.sha256",
    ]
    rows = asyncio.run(_fetch(source.url, "SELECT trigger FROM backup_runs WHERE succeeded ORDER BY id"))
    assert [r["trigger"] for r in rows][-1] == "scheduled"

    cli_env.setenv("BACKUP_HOUR", "4")
    get_settings.cache_clear()
    schedule = configure_celery(get_settings(), broker="memory://").conf.beat_schedule["daily-backup"]
    assert schedule["task"] == "backup.daily" and schedule["schedule"].hour == {4}


# ---- retention (a pure function) ------------------------------------------------------------------


def at(day: date, hour: int = 3) -> datetime:
    """An instant at ``hour`` China time on ``day``."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


def named(instants: list[datetime]) -> dict[str, datetime]:
    return {archive_name(t, CHINA): t for t in instants}


def test_retention_keeps_the_newest_daily_archives() -> None:
    days = named([at(date(2026, 12, 1) + timedelta(days=i)) for i in range(10)])
    doomed = archives_to_delete(days, keep_daily=7, keep_weekly=0, tz=CHINA)
    assert doomed == sorted(days)[:3]


def test_retention_keeps_one_archive_a_day_the_newest() -> None:
    day = date(2026, 12, 6)
    made = named([at(day, 3), at(day, 11), at(day, 23), at(day - timedelta(days=1), 23)])
    doomed = archives_to_delete(made, keep_daily=2, keep_weekly=0, tz=CHINA)
    assert doomed == [archive_name(at(day, 3), CHINA), archive_name(at(day, 11), CHINA)]


def test_retention_keeps_the_newest_of_each_recent_iso_week() -> None:
    # Daily archives from Monday 2 November to Sunday 6 December 2026 (five ISO weeks, 45 to 49).
    first = date(2026, 11, 2)
    made = named([at(first + timedelta(days=i)) for i in range(35)])
    doomed = archives_to_delete(made, keep_daily=7, keep_weekly=4, tz=CHINA)
    kept = sorted(set(made) - set(doomed))
    last_seven = [archive_name(at(date(2026, 12, d)), CHINA) for d in range(1, 7)]
    last_seven.insert(0, archive_name(at(date(2026, 11, 30)), CHINA))
    sundays = [archive_name(at(date(2026, 11, d)), CHINA) for d in (15, 22, 29)]  # weeks 46, 47, 48
    assert kept == sorted(sundays + last_seven)  # week 49's newest (6 December) is among the last seven
    assert archive_name(at(date(2026, 11, 8)), CHINA) in doomed  # week 45: a fifth week back


def test_retention_days_and_weeks_are_china_time() -> None:
    # 16:30 UTC on Sunday 6 December is 00:30 on Monday 7 December in China: a new day and a new ISO week.
    sunday_night = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # 23:30 Sunday in China
    monday_early = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    made = {"a.tar": sunday_night, "b.tar": monday_early}
    assert archives_to_delete(made, keep_daily=2, keep_weekly=0, tz=CHINA) == []
    assert archives_to_delete(made, keep_daily=1, keep_weekly=1, tz=CHINA) == ["a.tar"]
    assert archives_to_delete(made, keep_daily=1, keep_weekly=2, tz=CHINA) == []  # two ISO weeks
    assert archives_to_delete(made, keep_daily=1, keep_weekly=2, tz=UTC) == ["a.tar"]  # one UTC day


def test_a_pause_in_backups_never_deletes_the_last_good_ones() -> None:
    made = named([at(date(2026, 1, 5)), at(date(2026, 1, 6)), at(date(2026, 6, 1))])
    assert archives_to_delete(made, keep_daily=3, keep_weekly=0, tz=CHINA) == []


def test_apply_retention_deletes_archives_and_checksums_and_old_leftovers(tmp_path: Path) -> None:
    import os
    import time

    names = [archive_name(at(date(2026, 12, d)), CHINA) for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / f"{name}.sha256").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not an archive")
    old_partial = tmp_path / "nanling-backup-20261130-030000.tar.partial"
    old_partial.write_bytes(b"killed")
    os.utime(old_partial, (time.time() - 2 * 86400,) * 2)
    fresh_partial = tmp_path / "nanling-backup-20261206-030000.tar.partial"  # a backup running now
    fresh_partial.write_bytes(b"running")
    with clock.pinned(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)):
        deleted = apply_retention(tmp_path, keep_daily=2, keep_weekly=0)
    assert deleted == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[3:], *(f"{n}.sha256" for n in names[3:]), "notes.txt", fresh_partial.name]
    )
