"""The quarterly report's rules: the snapshot built from the sources for China-time quarters,
issued versions frozen, a re-issue numbered after the last even when two happen at once, a quarter
that has not started refused, and no phone number ever stored."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import cast

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.access import Principal
from app.accounts.models import Role, User
from app.county import reports
from app.county.report_errors import QuarterInvalid, QuarterNotStarted, ReportDataInvalid, ReportVersionNotFound
from app.county.report_models import QuarterlyReport
from app.county.report_snapshot import SnapshotInvalid, checked, from_json, to_json
from app.kit import clock
from tests.county.report_fixtures import FixtureSources
from tests.fixtures.builders import make_user

# 10:00 in China on 5 January 2027: 2026-Q4 is over, 2027-Q1 has begun.
AFTER_Q4 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)


def as_principal(user: User) -> Principal:
    return Principal(
        user_id=user.id, username=user.username, role=user.role, scopes=frozenset({"admin"}), via="session",
        display_name=user.display_name,
    )  # fmt: skip


async def admin(session: AsyncSession) -> Principal:
    return as_principal(await make_user(session, Role.admin, display_name="中心管理员 陈"))


async def stored(session: AsyncSession, year: int, quarter: int) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(QuarterlyReport.version, QuarterlyReport.issued_by_name)
        .where(QuarterlyReport.year == year, QuarterlyReport.quarter == quarter)
        .order_by(QuarterlyReport.version)
    )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def test_the_snapshot_is_the_sources_answers_for_the_china_quarter(db_session: AsyncSession) -> None:
    sources = FixtureSources()
    with clock.pinned(AFTER_Q4):
        snapshot = await reports.build_snapshot(db_session, 2026, 4, sources)

    assert snapshot["schema"] == 1
    assert snapshot["quarter"] == {"year": 2026, "quarter": 4, "start": "2026-10-01", "end": "2026-12-31"}
    assert snapshot["brand"] == {
        "county_name": "始兴县", "brand_name": "南岭明珠", "service_centre_name": "始兴县农村电子商务公共服务中心",
    }  # fmt: skip
    assert snapshot["progress"] == sources.progress_answer
    assert snapshot["funds"] == sources.funds_answer
    assert snapshot["performance"] == sources.performance_answer
    # Each provider asked once, with the quarter's first and last China day.
    quarter = (date(2026, 10, 1), date(2026, 12, 31))
    assert sources.asked == [(section, *quarter) for section in ("progress", "funds", "performance")]
    assert from_json(to_json(snapshot)) == snapshot


async def test_issuing_stores_version_1_with_the_issuer(db_session: AsyncSession) -> None:
    actor = await admin(db_session)
    with clock.pinned(AFTER_Q4):
        report = await reports.issue_report(db_session, 2026, 4, actor, sources=FixtureSources())

    assert (report.year, report.quarter, report.version) == (2026, 4, 1)
    assert report.issued_by_user_id == actor.user_id
    assert report.issued_by_name == "中心管理员 陈"
    assert report.issued_at == AFTER_Q4
    assert await stored(db_session, 2026, 4) == [(1, "中心管理员 陈")]


async def test_an_issued_report_does_not_change_when_the_data_is_corrected(db_session: AsyncSession) -> None:
    actor = await admin(db_session)
    sources = FixtureSources()
    with clock.pinned(AFTER_Q4):
        await reports.issue_report(db_session, 2026, 4, actor, sources=sources)
        before = await reports.stored_report(db_session, reports.Quarter(2026, 4))
        # A correction afterwards: a late refund, one more event recorded, a voucher fixed.
        sources.performance_answer["channels"][0]["sales_fen"] -= 5_000
        sources.progress_answer[1]["done_to_date"] = 30
        sources.progress_answer[1]["met"] = True
        sources.funds_answer[0]["spent_to_date_fen"] = 1
        db_session.expunge_all()
        after = await reports.stored_report(db_session, reports.Quarter(2026, 4))
        latest_preview = await reports.build_snapshot(db_session, 2026, 4, sources)

    assert before is not None and after is not None
    assert after.snapshot == before.snapshot
    assert after.snapshot["performance"]["channels"][0]["sales_fen"] == 8_765_432
    assert after.snapshot["progress"][1]["done_to_date"] == 21 and after.snapshot["progress"][1]["met"] is False
    assert after.snapshot["funds"][0]["spent_to_date_fen"] == 98_765_43
    assert latest_preview["performance"]["channels"][0]["sales_fen"] == 8_760_432  # the data did change


async def test_a_reissue_is_version_2_and_version_1_stays(db_session: AsyncSession) -> None:
    actor = await admin(db_session)
    sources = FixtureSources()
    with clock.pinned(AFTER_Q4):
        await reports.issue_report(db_session, 2026, 4, actor, sources=sources)
        sources.performance_answer["people_served"] = 2500
        second = await reports.issue_report(db_session, 2026, 4, actor, sources=sources)
        latest = await reports.stored_report(db_session, reports.Quarter(2026, 4))
        first = await reports.stored_report(db_session, reports.Quarter(2026, 4), 1)
        with pytest.raises(ReportVersionNotFound):
            await reports.stored_report(db_session, reports.Quarter(2026, 4), 3)

    assert second.version == 2
    assert latest is not None and latest.version == 2 and latest.snapshot["performance"]["people_served"] == 2500
    assert first is not None and first.version == 1 and first.snapshot["performance"]["people_served"] == 2468
    assert [v.version for v in latest.versions] == [2, 1]
    assert await stored(db_session, 2026, 4) == [(1, "中心管理员 陈"), (2, "中心管理员 陈")]


async def test_the_table_refuses_a_second_row_of_the_same_version(db_session: AsyncSession) -> None:
    """Behind the lock: a writer that skipped it still cannot store two version 1s."""
    values = {"year": 2026, "quarter": 3, "version": 1, "snapshot": {}, "issued_by_name": "x"}
    await db_session.execute(insert(QuarterlyReport).values(**values))
    with pytest.raises(IntegrityError):
        async with db_session.begin_nested():
            await db_session.execute(insert(QuarterlyReport).values(**values))


class SlowSources(FixtureSources):
    """Answers after a pause, so two issues overlap for certain."""

    async def performance(self, session, start, end):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        return await super().performance(session, start, end)


async def test_two_issues_at_once_get_versions_1_and_2(committed_engine: AsyncEngine) -> None:
    makers = async_sessionmaker(committed_engine, expire_on_commit=False)
    async with makers() as session:
        user = await make_user(session, Role.admin, display_name="并发测试")
        await session.commit()
    actor = as_principal(user)
    year, quarter = 2035, 1

    async def issue() -> int:
        async with makers() as session:
            report = await reports.issue_report(session, year, quarter, actor, sources=SlowSources())
            await session.commit()
            return report.version

    try:
        with clock.pinned(datetime(2035, 3, 1, tzinfo=UTC)):
            versions = await asyncio.gather(issue(), issue(), issue())
        async with makers() as session:
            rows = await stored(session, year, quarter)
    finally:
        async with makers() as session:
            await session.execute(delete(QuarterlyReport).where(QuarterlyReport.year == year))
            await session.execute(delete(User).where(User.id == user.id))
            await session.commit()

    assert sorted(versions) == [1, 2, 3]
    assert [version for version, _ in rows] == [1, 2, 3]


@pytest.mark.parametrize(
    ("instant", "started"),
    [
        (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), False),  # 23:59 on 31 December in China
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), True),  # midnight in China: 2027-Q1 has begun
    ],
)
async def test_a_quarter_that_has_not_started_is_refused(
    db_session: AsyncSession, instant: datetime, started: bool
) -> None:
    actor = await admin(db_session)
    with clock.pinned(instant):
        if started:
            report = await reports.issue_report(db_session, 2027, 1, actor, sources=FixtureSources())
            assert report.version == 1
        else:
            with pytest.raises(QuarterNotStarted) as refused:
                await reports.issue_report(db_session, 2027, 1, actor, sources=FixtureSources())
            assert refused.value.status_code == 409 and refused.value.code == "report_quarter_not_started"
            assert await db_session.scalar(select(func.count()).select_from(QuarterlyReport)) == 0


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "26-Q1", "2026Q1", "1999-Q1", "2026-Q1; drop", ""])
def test_a_malformed_quarter_is_a_422(text: str) -> None:
    with pytest.raises(QuarterInvalid) as refused:
        reports.parse_quarter(text)
    assert refused.value.status_code == 422


def test_quarters_read_as_written() -> None:
    period = reports.parse_quarter("2026-q4")
    assert period == reports.Quarter(2026, 4)
    assert (period.first_day, period.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period.months() == ["2026-10", "2026-11", "2026-12"]
    assert reports.Quarter(2027, 1).previous() == period
    assert reports.parse_quarter("2028-Q1").last_day == date(2028, 3, 31)


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "138-1234-5678"])
async def test_a_phone_number_in_the_sources_stops_the_report(db_session: AsyncSession, phone: str) -> None:
    actor = await admin(db_session)
    sources = FixtureSources()
    sources.progress_answer[0]["evidence"][0]["title"] = f"直播培训（联系人电话 {phone}）"
    with clock.pinned(AFTER_Q4), pytest.raises(ReportDataInvalid) as refused:
        await reports.issue_report(db_session, 2026, 4, actor, sources=sources)
    assert "progress[0].evidence[0].title" in str(refused.value.detail)
    assert await stored(db_session, 2026, 4) == []


async def test_the_stored_snapshot_holds_figures_not_people(db_session: AsyncSession) -> None:
    actor = await admin(db_session)
    with clock.pinned(AFTER_Q4):
        report = await reports.issue_report(db_session, 2026, 4, actor, sources=FixtureSources())
    text = json.dumps(report.snapshot, ensure_ascii=False)
    assert reports.PHONE_PATTERN.search(text) is None
    assert "中心管理员" not in text  # the issuer is on the row, not inside the figures
    for key in ("name", "phone", "contact", "customer", "address"):
        assert f'"{key}"' not in text


@pytest.mark.parametrize(
    ("section", "change", "problem"),
    [
        ("performance", {"upward_kg": 12.5}, "performance.upward_kg: expected a decimal string"),
        ("performance", {"people_served": -1}, "performance.people_served: expected ≥ 0"),
        ("funds", {"spent_quarter_fen": 10.5}, "funds[0].spent_quarter_fen: expected an integer"),
        ("progress", {"met": "yes"}, "progress[0].met: expected true or false"),
        ("progress", {"source": "guess"}, "progress[0].source"),
        ("progress", {"contact_phone": "x"}, "unexpected ['contact_phone']"),
    ],
)
async def test_a_provider_answer_out_of_shape_is_refused(
    db_session: AsyncSession, section: str, change: dict[str, object], problem: str
) -> None:
    sources = FixtureSources()
    target = {
        "performance": sources.performance_answer,
        "funds": sources.funds_answer[0],
        "progress": sources.progress_answer[0],
    }[section]
    cast(dict[str, object], target).update(change)
    with clock.pinned(AFTER_Q4), pytest.raises(ReportDataInvalid) as refused:
        await reports.build_snapshot(db_session, 2026, 4, sources)
    assert problem in str(refused.value.detail)


def test_checked_refuses_another_schema() -> None:
    with pytest.raises(SnapshotInvalid):
        checked({"schema": 2, "quarter": {}, "brand": {}, "progress": [], "funds": [], "performance": {}})


async def test_the_fixture_sources_answer_the_quarter_asked(db_session: AsyncSession) -> None:
    with clock.pinned(AFTER_Q4):
        snapshot = await reports.build_snapshot(db_session, 2026, 3, FixtureSources())
    assert [m["month"] for m in snapshot["performance"]["monthly"]] == ["2026-07", "2026-08", "2026-09"]
    dates = [item["date"] for row in snapshot["progress"] for item in row["evidence"]]
    assert dates == ["2026-07-12", "2026-08-03"]


def inside_check_snapshot(**performance: object) -> dict[str, object]:
    snapshot = json.loads(
        json.dumps(
            {
                "schema": 1,
                "quarter": {"year": 2026, "quarter": 4, "start": "2026-10-01", "end": "2026-12-31"},
                "brand": {"county_name": "县", "brand_name": "牌", "service_centre_name": "中心"},
                "progress": FixtureSources().progress_answer,
                "funds": FixtureSources().funds_answer,
                "performance": {**FixtureSources().performance_answer, **performance},
            }
        )
    )
    assert isinstance(snapshot, dict)
    return snapshot


@pytest.mark.parametrize(
    ("month", "evidence", "problem"),
    [
        ("2026-09", "2026-10-12", "performance.monthly[0].month: 2026-09 is outside the quarter"),
        ("2027-01", "2026-10-12", "performance.monthly[0].month: 2027-01 is outside the quarter"),
        ("2026-11", "2026-10-12", "performance.monthly[1].month: 2026-11 appears twice"),
        ("2026/10", "2026-10-12", "expected YYYY-MM"),
        ("2026-10", "2026-09-30", "progress[0].evidence[0].date: 2026-09-30 is outside the quarter"),
        ("2026-10", "2027-01-01", "progress[0].evidence[0].date: 2027-01-01 is outside the quarter"),
        ("2026-10", "2026-10-32", "expected an ISO date"),
    ],
)
def test_a_snapshot_holding_a_month_or_evidence_outside_its_quarter_is_refused(
    month: str, evidence: str, problem: str
) -> None:
    snapshot = inside_check_snapshot()
    monthly = snapshot["performance"]["monthly"]  # type: ignore[index]
    monthly[0]["month"] = month
    snapshot["progress"][0]["evidence"][0]["date"] = evidence  # type: ignore[index]
    with pytest.raises(SnapshotInvalid) as refused:
        checked(snapshot)
    assert problem in str(refused.value)


def test_the_quarters_first_and_last_days_and_months_are_inside_it() -> None:
    snapshot = inside_check_snapshot()
    snapshot["progress"][0]["evidence"][0]["date"] = "2026-10-01"  # type: ignore[index]
    snapshot["progress"][0]["evidence"][1]["date"] = "2026-12-31"  # type: ignore[index]
    assert checked(snapshot) == snapshot
