"""The quarterly report from the platform's own records (``PlatformSources``, the app's wiring):
its performance section equals the hand-computed dashboard fixture (``tests/county/fixture.py``) for
the quarter, cross-border stays in USD beside the CNY figures, every target and budget line of the
register is in it, and an issued version keeps its figures after the records are corrected."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import performance, reports
from app.county.models import BudgetLine, Target
from app.county.report_models import QuarterlyReport
from app.county.report_sources import PlatformSources
from app.kit import clock
from tests.county.fixture import build, refund
from tests.county.test_reports import admin as admin_principal
from tests.web.test_stock_pages import HTML, log_in

# 16:00 UTC on Sunday 6 December: Monday 7 December in China, inside 2026-Q4.
MONDAY_MIDNIGHT = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


async def test_the_quarter_from_the_records_equals_the_hand_computed_fixture(db_session: AsyncSession) -> None:
    made = await build(db_session)
    with clock.pinned(MONDAY_MIDNIGHT):
        snapshot = await reports.build_snapshot(db_session, 2026, 4, PlatformSources())
        quarter = await performance.performance(db_session, date(2026, 10, 1), date(2026, 12, 31), live=True)

    section = snapshot["performance"]
    # The fixture's two days plus shop F (¥30.00 paid on 4 December): A, B less its refund, D, F.
    assert {c["channel"]: (c["orders"], c["sales_fen"]) for c in section["channels"]} == {
        "shop": (4, 10_000 + 15_000 + 8_000 + 3_000),
        "wholesale": (1, made.wholesale_net_minor),
        "pos": (2, 1_200 + 2_000),
    }
    # Cross-border: its orders and its USD beside the CNY figures, in no CNY total.
    assert (section["crossborder_orders"], section["crossborder_usd_cents"]) == (2, 5_000 + 7_000)
    assert section["online_retail_agri_fen"] == 36_000 + made.wholesale_net_minor
    # Upward: the fixture's lots and consignment (65 kg, ¥373.40), plus what the builders' stock
    # lots received at the database's clock add when the suite runs inside 2026-Q4.
    assert (section["upward_kg"], section["upward_value_fen"]) == (str(quarter.upward_kg), quarter.upward_value_minor)
    assert quarter.upward_kg >= Decimal("65.000") and quarter.upward_value_minor >= 12_340 + 25_000
    assert (section["wholesale_kg"], section["wholesale_fen"]) == ("20.000", 37_000)
    assert section["parcels_to_stations"] == 2
    assert (section["villages_served"], section["people_served"]) == (1, 2)
    assert [m["month"] for m in section["monthly"]] == ["2026-10", "2026-11", "2026-12"]
    assert section["monthly"][2]["sales_fen"] == {"shop": 36_000, "wholesale": 37_000, "pos": 3_200}
    assert section["monthly"][0]["sales_fen"] == {"shop": 0, "wholesale": 0, "pos": 0}

    targets = await db_session.scalar(select(func.count()).select_from(Target))
    lines = await db_session.scalar(select(func.count()).select_from(BudgetLine))
    assert len(snapshot["progress"]) == targets and targets and targets >= 16
    assert len(snapshot["funds"]) == lines and lines and lines >= 18


async def test_an_issued_report_keeps_its_figures_after_a_correction(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    made = await build(db_session)
    actor = await admin_principal(db_session)
    assert isinstance(app.state.report_sources, PlatformSources)  # the app's own wiring
    with clock.pinned(MONDAY_MIDNIGHT):
        first = await reports.issue_report(db_session, 2026, 4, actor, sources=app.state.report_sources)
        await refund(db_session, made.order_a, 10_000)  # A refunded in full afterwards
        second = await reports.issue_report(db_session, 2026, 4, actor, sources=app.state.report_sources)
    await db_session.commit()

    def shop(report: QuarterlyReport) -> tuple[int, int]:
        found = next(c for c in report.snapshot["performance"]["channels"] if c["channel"] == "shop")
        return found["orders"], found["sales_fen"]

    assert (first.version, second.version) == (1, 2)
    assert shop(first) == (4, 36_000)
    # A's payment still happened on its day; its refund takes the ¥100.00 back off that day.
    assert shop(second) == (4, 26_000)

    await log_in(client, db_session, Role.admin)
    page_v1 = await client.get("/admin/county/reports/2026-Q4?version=1", headers=HTML)
    page_v2 = await client.get("/admin/county/reports/2026-Q4", headers=HTML)
    assert page_v1.status_code == page_v2.status_code == 200
    assert "¥360.00" in page_v1.text and "¥260.00" not in page_v1.text
    assert "¥260.00" in page_v2.text
