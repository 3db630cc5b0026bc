"""The quarterly report pages: admins preview, issue and re-issue; the county official reads the
pages and the downloads but cannot issue (403, nothing written) and sees no phone number; a
download is of an issued version only; bad and future quarters are clear 4xx answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import reports
from app.county.report_models import QuarterlyReport
from app.kit import clock
from tests.county.report_fixtures import FixtureSources
from tests.county.test_reports import admin as admin_principal
from tests.web.test_stock_pages import HTML, field, log_in

AFTER_Q4 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
PAGE = "/admin/county/reports/2026-Q4"


@pytest.fixture(autouse=True)
def after_q4() -> Iterator[None]:
    """Every test at 10:00 China time on 5 January 2027 (sessions are signed in then too)."""
    yield


@pytest.fixture
def sources(app: FastAPI) -> FixtureSources:
    found = FixtureSources()
    app.state.report_sources = found
    return found


async def report_rows(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(QuarterlyReport)) or 0)


async def issue_with_form(client: httpx.AsyncClient, quarter: str = "2026-Q4") -> httpx.Response:
    """Submit the list page's issue form of ``quarter`` with the tokens it was rendered with."""
    page = await client.get("/admin/county/reports", headers=HTML)
    assert page.status_code == 200
    row = f'id="quarter-{quarter}"'
    key = field(page, "idempotency_key", row) if row in page.text else ""
    data = {"csrf_token": field(page, "csrf_token"), "idempotency_key": key, "quarter": quarter}
    return await client.post("/admin/county/reports", data=data, headers=HTML)


async def test_a_double_click_issues_one_version(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    await log_in(client, db_session, Role.admin)
    page = await client.get(PAGE, headers=HTML)
    key = field(page, "idempotency_key")
    data = {"csrf_token": field(page, "csrf_token"), "idempotency_key": key, "quarter": "2026-Q4"}
    first = await client.post("/admin/county/reports", data=data, headers=HTML)
    again = await client.post("/admin/county/reports", data=data, headers=HTML)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert "version=1" in first.headers["location"]
    assert await report_rows(db_session) == 1
    # A form rendered afterwards carries a new key: that is a deliberate re-issue.
    assert (await issue_with_form(client)).headers["location"].startswith(f"{PAGE}?version=2&")


async def test_an_admin_previews_then_issues_then_reissues(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    await log_in(client, db_session, Role.admin)
    preview = await client.get(PAGE, headers=HTML)
    assert preview.status_code == 200
    assert "未发布 · 预览" in preview.text and 'id="preview-warning"' in preview.text
    assert ".xlsx" not in preview.text and ".pdf" not in preview.text  # nothing to download yet
    assert "发布本报告" in preview.text

    issued = await issue_with_form(client)
    assert issued.status_code == 303
    assert issued.headers["location"].startswith("/admin/county/reports/2026-Q4?version=1&notice=")
    page = await client.get(issued.headers["location"], headers=HTML)
    assert "已发布 2026 年第 4 季度报告第 1 版" in page.text
    assert "第 1 版（最新）" in page.text and "未发布" not in page.text
    assert "/admin/county/reports/2026-Q4.xlsx?version=1" in page.text
    assert "重新发布（第 2 版）" in page.text

    sources.performance_answer["channels"][0]["sales_fen"] = 9_111_111
    again = await issue_with_form(client)
    assert again.headers["location"].startswith("/admin/county/reports/2026-Q4?version=2&")
    latest = await client.get(PAGE, headers=HTML)
    older = await client.get(f"{PAGE}?version=1", headers=HTML)
    listing = await client.get("/admin/county/reports", headers=HTML)

    assert "第 2 版（最新）" in latest.text and "¥91,111.11" in latest.text
    assert "这是第 1 版，不是最新版本" in older.text and "¥87,654.32" in older.text and "¥91,111.11" not in older.text
    row = listing.text[listing.text.index('id="quarter-2026-Q4"') :]
    assert "2 个版本" in row[:1500] and "第 2 版 · " in row[:1500]
    assert await report_rows(db_session) == 2


async def test_the_official_reads_everything_and_issues_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    await reports.issue_report(db_session, 2026, 4, await admin_principal(db_session), sources=sources)
    await log_in(client, db_session, Role.county_official)
    listing = await client.get("/admin/county/reports", headers=HTML)
    page = await client.get(PAGE, headers=HTML)
    preview = await client.get("/admin/county/reports/2026-Q3", headers=HTML)
    xlsx = await client.get(f"{PAGE}.xlsx")
    pdf = await client.get(f"{PAGE}.pdf?version=1")
    refused = await client.post(
        "/admin/county/reports", data={"csrf_token": field(listing, "csrf_token"), "quarter": "2026-Q3"}, headers=HTML
    )
    refused_json = await client.post(
        "/admin/county/reports", data={"csrf_token": field(listing, "csrf_token"), "quarter": "2026-Q4"}
    )

    for shown in (listing, page, preview):
        assert shown.status_code == 200
        assert "<form method=\"post\" action=\"/admin/county/reports\"" not in shown.text  # no issue button
        assert reports.PHONE_PATTERN.search(shown.text) is None
    assert "第 1 版（最新）" in page.text and "未发布 · 预览" in preview.text
    assert 'href="/admin/county/reports"' in listing.text  # the nav shows the official the reports
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert xlsx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "quarterly-report-2026-Q4-v1.xlsx" in xlsx.headers["content-disposition"]
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert refused.status_code == 403 and refused_json.status_code == 403
    assert refused_json.json()["error"] == "role_not_allowed"
    assert await report_rows(db_session) == 1  # only the admin's


@pytest.mark.parametrize("role", [Role.warehouse, Role.customer, Role.store_manager, Role.station_operator])
async def test_other_roles_do_not_read_reports(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources, role: Role
) -> None:
    await log_in(client, db_session, role)
    for path in ("/admin/county/reports", PAGE, f"{PAGE}.xlsx", f"{PAGE}.pdf"):
        assert (await client.get(path)).status_code == 403, path


async def test_nobody_signed_in_is_sent_to_log_in(client: httpx.AsyncClient, sources: FixtureSources) -> None:
    assert (await client.get(PAGE)).status_code == 401


async def test_a_download_needs_an_issued_version(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    await log_in(client, db_session, Role.admin)
    none_yet = await client.get(f"{PAGE}.pdf")
    await issue_with_form(client)
    missing_version = await client.get(f"{PAGE}.xlsx?version=2")
    bad_version = await client.get(f"{PAGE}.xlsx?version=0")
    assert none_yet.status_code == 404 and none_yet.json()["error"] == "report_version_not_found"
    assert missing_version.status_code == 404 and missing_version.json()["error"] == "report_version_not_found"
    assert bad_version.status_code == 422


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/admin/county/reports/2027-Q2", 409, "report_quarter_not_started"),
        ("/admin/county/reports/2027-Q5", 422, "report_quarter_invalid"),
        ("/admin/county/reports/abc.pdf", 422, "report_quarter_invalid"),
        ("/admin/county/reports/2026-Q4?version=3", 404, "report_version_not_found"),
    ],
)
async def test_bad_quarters_are_clear_answers(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources, path: str, status: int, code: str
) -> None:
    await log_in(client, db_session, Role.admin)
    answer = await client.get(path)
    assert answer.status_code == status and answer.json()["error"] == code


async def test_issuing_a_future_quarter_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    await log_in(client, db_session, Role.admin)
    refused = await issue_with_form(client, "2027-Q2")
    assert refused.status_code == 409 and "该季度尚未开始" in refused.text
    assert await report_rows(db_session) == 0


async def test_without_data_sources_issued_reports_still_open(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """An app given no providers: a preview or an issue says so (503) and changes nothing."""
    app.state.report_sources = None
    await log_in(client, db_session, Role.admin)
    await reports.issue_report(db_session, 2026, 3, await admin_principal(db_session), sources=FixtureSources())
    preview = await client.get(PAGE)
    refused = await issue_with_form(client)
    issued = await client.get("/admin/county/reports/2026-Q3", headers=HTML)
    download = await client.get("/admin/county/reports/2026-Q3.pdf")
    assert preview.status_code == 503 and preview.json()["error"] == "report_sources_missing"
    assert refused.status_code == 503
    assert issued.status_code == 200 and "第 1 版（最新）" in issued.text
    assert download.status_code == 200
    assert await report_rows(db_session) == 1


async def test_the_list_shows_recent_quarters_in_china_time(
    client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources
) -> None:
    # 00:30 on 1 January 2027 in China (still 31 December in UTC): the current quarter is 2027-Q1.
    with clock.pinned(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)):
        await log_in(client, db_session, Role.admin)
        listing = await client.get("/admin/county/reports", headers=HTML)
    quarters = re.findall(r'id="quarter-(\d{4}-Q\d)"', listing.text)
    assert quarters == ["2027-Q1", "2026-Q4", "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2"]
    current = listing.text[listing.text.index('id="quarter-2027-Q1"') :][:800]
    assert "本季度" in current


async def test_a_stored_report_that_no_longer_reads_is_a_coded_error(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """A stored snapshot changed by hand (or of a shape no longer accepted) is shown to nobody, the
    page and downloads answering the error's own code, never a bare internal error."""
    await log_in(client, db_session, Role.admin)
    await reports.issue_report(db_session, 2026, 3, await admin_principal(db_session), sources=FixtureSources())
    stored = await db_session.scalar(select(QuarterlyReport))
    assert stored is not None
    stored.snapshot = {**stored.snapshot, "performance": "edited by hand"}
    await db_session.flush()
    for path in ("/admin/county/reports/2026-Q3", "/admin/county/reports/2026-Q3.pdf"):
        answer = await client.get(path)
        assert answer.status_code == 500 and answer.json()["error"] == "stored_report_unreadable", answer.text
