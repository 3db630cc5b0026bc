"""The ops console's overview (/admin) shows the last backup (when, how big, which file) and warns
when backups are on and the newest good one is older than a day, or there is none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.kit import clock
from app.kit.backup_queries import BackupRunRecord, record_backup_run
from tests.web.test_stock_pages import HTML, log_in

# 00:30 on 7 December in China, still 6 December in UTC.
NOW = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
WARNING = re.compile(r'<div class="warn-box" role="status">(.*?)</div>', re.S)


@pytest.fixture
def backups_enabled() -> bool:
    return True


@pytest.fixture
def settings(tmp_path: Path, database_url: str, backups_enabled: bool) -> Settings:
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_storage_url="memory://",
        public_cache_seconds=0,
        backup_enabled=backups_enabled,
    )


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with clock.pinned(NOW):
        yield


async def backed_up(session: AsyncSession, ago: timedelta, *, ok: bool = True, name: str = "") -> None:
    finished = NOW - ago
    await record_backup_run(
        session,
        BackupRunRecord(
            started_at=finished - timedelta(minutes=2),
            finished_at=finished,
            succeeded=ok,
            trigger="scheduled",
            archive_path=f"/srv/nanling/var/backups/{name}" if ok else "",
            size_bytes=3_250_000 if ok else None,
            sha256="ab" * 32 if ok else "",
            error="" if ok else "BackupError: 数据库导出失败 / pg_dump failed（退出码 1）：connection refused",
        ),
    )


async def overview(client: httpx.AsyncClient, session: AsyncSession) -> str:
    await log_in(client, session, Role.admin)
    page = await client.get("/admin", headers=HTML)
    assert page.status_code == 200, page.text
    return page.text


async def test_a_recent_backup_is_shown_without_a_warning(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await backed_up(db_session, timedelta(days=3), name="nanling-backup-20261203-030000.tar")
    await backed_up(db_session, timedelta(hours=21, minutes=30), name="nanling-backup-20261206-030000.tar")
    text = await overview(client, db_session)
    assert "最近一次备份：2026-12-06 03:00 · 3.1 MB" in text
    assert "nanling-backup-20261206-030000.tar" in text and "nanling-backup-20261203" not in text
    assert "（每日自动）" in text and "每日自动备份已启用" in text
    assert WARNING.search(text) is None


async def test_a_backup_older_than_a_day_is_warned_about(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await backed_up(db_session, timedelta(days=2), name="nanling-backup-20261205-003000.tar")
    text = await overview(client, db_session)
    warning = WARNING.search(text)
    assert warning is not None
    assert "最近一次成功的备份已超过一天（2026-12-05 00:30）" in warning.group(1)
    assert "nanling-backup-20261205-003000.tar" in text


async def test_no_backup_at_all_is_warned_about(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    text = await overview(client, db_session)
    warning = WARNING.search(text)
    assert warning is not None and "已启用自动备份，但还没有成功的备份" in warning.group(1)


async def test_a_failed_run_after_the_last_good_one_is_shown(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await backed_up(db_session, timedelta(hours=25, minutes=30), name="nanling-backup-20261205-230000.tar")
    await backed_up(db_session, timedelta(hours=1, minutes=30), ok=False)
    warnings = [w.group(1) for w in WARNING.finditer(await overview(client, db_session))]
    assert len(warnings) == 2
    assert "已超过一天（2026-12-05 23:00）" in warnings[0]
    assert "最近一次备份失败（2026-12-06 23:00）" in warnings[1] and "connection refused" in warnings[1]


@pytest.mark.parametrize("backups_enabled", [False])
async def test_without_scheduled_backups_an_old_one_is_not_a_warning(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    text = await overview(client, db_session)
    assert WARNING.search(text) is None
    assert "还没有备份。自动备份未启用（BACKUP_ENABLED）" in text
    await backed_up(db_session, timedelta(days=30), name="nanling-backup-20261106-003000.tar")
    text = (await client.get("/admin", headers=HTML)).text
    assert WARNING.search(text) is None and "nanling-backup-20261106-003000.tar" in text
