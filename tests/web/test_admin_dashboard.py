"""The ops console's overview (/admin) shows the background backlog: how many outbox messages wait,
how long the oldest has, and a warning once that is longer than OUTBOX_STALL_SECONDS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock, outbox
from app.kit.models import OutboxMessage
from app.web.admin import waited_zh
from tests.web.test_stock_pages import HTML, log_in

NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 16:00 UTC: midnight in China, the date flips


async def message(session: AsyncSession, age_seconds: int, **columns: object) -> None:
    await session.execute(
        insert(OutboxMessage).values(
            task_name="test.console", payload={}, created_at=NOW - timedelta(seconds=age_seconds), **columns
        )
    )


@pytest.fixture
async def admin(client: httpx.AsyncClient, db_session: AsyncSession) -> httpx.AsyncClient:
    # Messages other tests committed to this database are not this test's (rolled back with it).
    await db_session.execute(
        update(OutboxMessage).where(OutboxMessage.processed_at.is_(None)).values(processed_at=NOW)
    )
    await log_in(client, db_session, Role.admin)
    return client


def tile(page: httpx.Response, label: str) -> tuple[str, str]:
    """(the tile's class, its figure) of the overview's tile with this label."""
    found = re.search(
        rf'<li(?: class="(\w+)")?(?: id="[\w-]+")?><span class="stat-num">([^<]*)</span>'
        rf'<span class="stat-label">{label}</span>',
        page.text,
    )
    assert found is not None, f"no tile {label}"
    return found.group(1) or "", found.group(2)


async def test_the_overview_warns_when_background_work_has_stalled(
    admin: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await message(db_session, 12 * 60 + 5, sent_at=NOW - timedelta(minutes=12))
    await message(db_session, 30)
    with clock.pinned(NOW):
        page = await admin.get("/admin", headers=HTML)
    assert page.status_code == 200
    assert 'id="background-stalled"' in page.text and 'class="warn-box"' in page.text
    assert "最早一条未处理的后台消息已等待 12 分钟（超过 5 分钟），共积压 2 条" in page.text
    assert tile(page, "待处理的后台消息") == ("attention", "2")
    assert tile(page, "最早一条已等待") == ("attention", "12 分钟")


async def test_the_overview_shows_a_fresh_backlog_without_a_warning(
    admin: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await message(db_session, 4 * 60)
    await message(db_session, 2 * 86_400, process_attempts=outbox.MAX_PROCESS_ATTEMPTS, last_error="Rejected")
    with clock.pinned(NOW):
        page = await admin.get("/admin", headers=HTML)
    assert page.status_code == 200
    assert "background-stalled" not in page.text and "warn-box" not in page.text
    assert tile(page, "待处理的后台消息") == ("attention", "2")
    assert tile(page, "最早一条已等待") == ("", "4 分钟")
    assert tile(page, "多次失败、待人工处理的后台消息") == ("attention", "1")


async def test_the_overview_with_nothing_waiting(admin: httpx.AsyncClient) -> None:
    with clock.pinned(NOW):
        page = await admin.get("/admin", headers=HTML)
    assert tile(page, "待处理的后台消息") == ("", "0")
    assert "最早一条已等待" not in page.text and "background-stalled" not in page.text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 秒"), (59, "59 秒"), (60, "1 分钟"), (3599, "59 分钟"), (3600, "1 小时"), (3660 + 59, "1 小时 1 分钟"),
     (86_400, "1 天"), (86_400 + 7200 + 59, "1 天 2 小时")],
)
def test_waits_read_as_an_operator_says_them(seconds: int, shown: str) -> None:
    assert waited_zh(seconds) == shown
