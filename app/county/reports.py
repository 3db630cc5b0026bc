"""The quarterly report (季度报告) of the e-commerce demonstration project: 项目进度, 资金使用 and
项目绩效 for one China-time quarter, issued as a numbered version whose figures are frozen.

How the figures are computed is not this module's business: :func:`build_snapshot` asks a
:class:`ReportSources` for its three sections and stores their answers as one JSON snapshot
(``app.county.report_snapshot``). Everything a reader sees — the page, the XLSX, the PDF — is
rendered from a stored snapshot, so correcting a record later never changes an issued report; a
re-issue is a new version next to the old ones.

Issuing is serialised per quarter (a transaction-scoped advisory lock, and a unique constraint
behind it), so two admins pressing 发布 at once get versions 1 and 2, never two version 1s, and
the later version is always built from the later data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.config import get_settings
from app.county import report_queries
from app.county.report_errors import (
    QuarterInvalid,
    QuarterNotStarted,
    ReportDataInvalid,
    ReportIssueConflict,
    ReportSourcesMissing,
    ReportVersionNotFound,
    StoredReportUnreadable,
)
from app.county.report_models import QuarterlyReport
from app.county.report_snapshot import (
    CHANNEL_ORDER,
    SCHEMA,
    FundRow,
    Performance,
    ProgressRow,
    Snapshot,
    SnapshotInvalid,
    checked,
)
from app.kit import clock

MIN_YEAR, MAX_YEAR = 2000, 2100
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")
# A mainland mobile number anywhere in the report's text: the report goes to the county and must
# carry no one's phone (names are the providers' duty: they report counts, not people).
PHONE_PATTERN = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")


class ReportSources(Protocol):
    """Where a snapshot's three sections come from. ``start`` and ``end`` are the quarter's first
    and last day in China time (``end`` inclusive); each method returns its section in the
    snapshot's shape (money in fen, quantities as decimal strings) — figures, never people.

    - ``progress``: every target with its plan, what was done in the quarter and since the target's
      period began up to ``end``, met or not, and the evidence records of the quarter;
    - ``funds``: every budget line with spending in the quarter and to ``end``;
    - ``performance``: the quarter's sales by channel and the plan's performance figures.
    """

    async def progress(self, session: AsyncSession, start: date, end: date) -> list[ProgressRow]: ...

    async def funds(self, session: AsyncSession, start: date, end: date) -> list[FundRow]: ...

    async def performance(self, session: AsyncSession, start: date, end: date) -> Performance: ...


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @property
    def label(self) -> str:
        """``2026-Q4``: the quarter as the addresses write it."""
        return f"{self.year}-Q{self.quarter}"

    @property
    def label_zh(self) -> str:
        return f"{self.year} 年第 {self.quarter} 季度"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * (self.quarter - 1) + 1, 1)

    @property
    def last_day(self) -> date:
        _, end = clock.quarter_bounds(self.year, self.quarter)
        return clock.local_date(end) - timedelta(days=1)

    def months(self) -> list[str]:
        return [f"{self.year}-{month:02d}" for month in range(3 * self.quarter - 2, 3 * self.quarter + 1)]

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def has_started(self) -> bool:
        return self.first_day <= clock.today()

    def has_ended(self) -> bool:
        return self.last_day < clock.today()


def quarter(year: int, number: int) -> Quarter:
    """A quarter of a plausible year, else :class:`QuarterInvalid` (422)."""
    if not MIN_YEAR <= year <= MAX_YEAR or not 1 <= number <= 4:
        raise QuarterInvalid(detail={"year": year, "quarter": number})
    return Quarter(year, number)


def parse_quarter(text: str) -> Quarter:
    """``"2026-Q4"`` (the page addresses) → the quarter, else :class:`QuarterInvalid`."""
    found = QUARTER_PATTERN.match(text.strip().upper())
    if found is None:
        raise QuarterInvalid(detail={"quarter": text[:20]})
    return quarter(int(found.group(1)), int(found.group(2)))


def current_quarter() -> Quarter:
    return Quarter(*clock.quarter_of(clock.today()))


def started(period: Quarter) -> Quarter:
    """``period`` if it has begun (China time), else :class:`QuarterNotStarted` (409): a report
    of a quarter that has not started would be all zeros and could be mistaken for a real one."""
    if not period.has_started():
        raise QuarterNotStarted(detail={"quarter": period.label, "starts": period.first_day.isoformat()})
    return period


# ---- building and issuing ----------------------------------------------------------------------


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def refuse_personal_data(snapshot: Snapshot) -> None:
    """A phone number in any text of the snapshot (an evidence title, a place) stops the report:
    the county official reads it and must see no one's phone."""
    for path, text in _strings(snapshot):
        if PHONE_PATTERN.search(text):
            raise SnapshotInvalid(f"{path}: contains a phone number")


async def build_snapshot(session: AsyncSession, year: int, number: int, sources: ReportSources) -> Snapshot:
    """The quarter's figures as a checked snapshot, read now from ``sources``; names from the
    settings at build time. Refuses a quarter that has not started, and a provider's answer out of
    shape or carrying a phone number (:class:`ReportDataInvalid`)."""
    period = started(quarter(year, number))
    start, end = period.first_day, period.last_day
    settings = get_settings()
    snapshot: Snapshot = {
        "schema": SCHEMA,
        "quarter": {"year": period.year, "quarter": period.quarter, "start": start.isoformat(), "end": end.isoformat()},
        "brand": {
            "county_name": settings.county_name,
            "brand_name": settings.brand_name,
            "service_centre_name": settings.service_centre_name,
        },
        "progress": await sources.progress(session, start, end),
        "funds": await sources.funds(session, start, end),
        "performance": await sources.performance(session, start, end),
    }
    try:
        checked(snapshot)
        refuse_personal_data(snapshot)
    except SnapshotInvalid as exc:
        raise ReportDataInvalid(detail=str(exc)) from exc
    return snapshot


def issuer_name(actor: Principal) -> str:
    return (actor.display_name or actor.username)[:100]


async def issue_report(
    session: AsyncSession, year: int, number: int, actor: Principal, *, sources: ReportSources
) -> QuarterlyReport:
    """Issue the quarter's report: the next version (1 for the first), its snapshot built now,
    with who issued it. Flushes; the caller commits.

    The quarter's advisory lock is taken *before* the figures are read and held until commit, so
    of two issues at once the second waits, numbers its version after the first's and reads data
    at least as new: the highest version is always the latest figures. The unique (year, quarter,
    version) constraint stands behind the lock (a writer that skipped it gets a 409, not a
    duplicate)."""
    period = started(quarter(year, number))
    await report_queries.lock_quarter(session, period.year, period.quarter)
    snapshot = await build_snapshot(session, period.year, period.quarter, sources)
    version = await report_queries.latest_version(session, period.year, period.quarter) + 1
    report = QuarterlyReport(
        year=period.year,
        quarter=period.quarter,
        version=version,
        snapshot=dict(snapshot),
        issued_by_user_id=actor.user_id,
        issued_by_name=issuer_name(actor),
        issued_at=clock.now(),
    )
    session.add(report)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ReportIssueConflict(detail={"quarter": period.label, "version": version}) from exc
    return report


# ---- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedVersion:
    version: int
    issued_by_name: str
    issued_at: datetime


@dataclass(frozen=True)
class ReportView:
    """What a reader opens: a stored version's snapshot, or (``version is None``) a live preview
    built now and stored nowhere."""

    period: Quarter
    snapshot: Snapshot
    version: int | None
    issued_by_name: str
    issued_at: datetime | None
    versions: list[IssuedVersion]

    @property
    def is_preview(self) -> bool:
        return self.version is None

    @property
    def latest_version(self) -> int | None:
        return self.versions[0].version if self.versions else None


async def issued_versions(session: AsyncSession, period: Quarter) -> list[IssuedVersion]:
    rows = await report_queries.versions_of(session, period.year, period.quarter)
    return [IssuedVersion(row.version, row.issued_by_name, row.issued_at) for row in rows]


async def stored_report(session: AsyncSession, period: Quarter, version: int | None = None) -> ReportView | None:
    """An issued version (``None``: the latest) as a view, or ``None`` when the quarter has no
    issued report; a version number the quarter does not have is :class:`ReportVersionNotFound`."""
    row = await report_queries.report_version(session, period.year, period.quarter, version)
    if row is None:
        if version is not None:
            raise ReportVersionNotFound(detail={"quarter": period.label, "version": version})
        return None
    try:
        snapshot = checked(row.snapshot)
    except SnapshotInvalid as exc:
        raise StoredReportUnreadable(
            detail={"quarter": period.label, "version": row.version, "problem": str(exc)}
        ) from exc
    return ReportView(
        period=period,
        snapshot=snapshot,
        version=row.version,
        issued_by_name=row.issued_by_name,
        issued_at=row.issued_at,
        versions=await issued_versions(session, period),
    )


async def open_report(
    session: AsyncSession, period: Quarter, version: int | None, sources: ReportSources | None
) -> ReportView:
    """The page's report: the asked-for or latest issued version, else a live preview of a
    quarter that has started (needs ``sources``: :class:`ReportSourcesMissing` without them)."""
    found = await stored_report(session, period, version)
    if found is not None:
        return found
    started(period)
    if sources is None:
        raise ReportSourcesMissing()
    snapshot = await build_snapshot(session, period.year, period.quarter, sources)
    return ReportView(period, snapshot, None, "", None, [])


async def downloadable(session: AsyncSession, period: Quarter, version: int | None) -> ReportView:
    """The issued version a download renders. Downloads are of issued reports only: a file that
    leaves the console must say which version it is, and a preview is no version."""
    found = await stored_report(session, period, version)
    if found is None:
        raise ReportVersionNotFound("该季度还没有发布的报告，请先发布再下载", detail={"quarter": period.label})
    return found


@dataclass(frozen=True)
class QuarterLine:
    period: Quarter
    versions: int
    latest_version: int | None
    issued_by_name: str
    issued_at: datetime | None
    is_current: bool


async def quarter_list(session: AsyncSession, *, back: int = 7) -> list[QuarterLine]:
    """The current quarter and the ``back`` before it, plus every earlier quarter with an issued
    report, newest first, each with its issued versions."""
    issued = {(row.year, row.quarter): row for row in await report_queries.issued_quarters(session)}
    current = current_quarter()
    shown: list[Quarter] = [current]
    for _ in range(back):
        shown.append(shown[-1].previous())
    shown += [Quarter(y, q) for (y, q) in issued if Quarter(y, q) not in shown and Quarter(y, q) < current]
    shown = sorted(set(shown), key=lambda p: (p.year, p.quarter), reverse=True)
    lines = []
    for period in shown:
        row = issued.get((period.year, period.quarter))
        lines.append(
            QuarterLine(
                period=period,
                versions=row.versions if row else 0,
                latest_version=row.version if row else None,
                issued_by_name=row.issued_by_name if row else "",
                issued_at=row.issued_at if row else None,
                is_current=period == current,
            )
        )
    return lines


# ---- figures every rendering shows the same way ------------------------------------------------


def fund_totals(snapshot: Snapshot) -> dict[str, int]:
    """Sums of the funds table (a line without a total budget adds its central funds)."""
    rows = snapshot["funds"]
    return {
        "budget_central_fen": sum(r["budget_central_fen"] for r in rows),
        "budget_total_fen": sum(
            r["budget_total_fen"] if r["budget_total_fen"] is not None else r["budget_central_fen"] for r in rows
        ),
        "spent_quarter_fen": sum(r["spent_quarter_fen"] for r in rows),
        "spent_to_date_fen": sum(r["spent_to_date_fen"] for r in rows),
    }


def channel_totals(snapshot: Snapshot) -> dict[str, int]:
    channels = snapshot["performance"]["channels"]
    return {"orders": sum(c["orders"] for c in channels), "sales_fen": sum(c["sales_fen"] for c in channels)}


def progress_summary(snapshot: Snapshot) -> dict[str, int]:
    rows = snapshot["progress"]
    return {"targets": len(rows), "met": sum(1 for r in rows if r["met"])}


def budget_of(row: FundRow) -> int:
    """The budget a line's spending is measured against: its total, else its central funds."""
    return row["budget_total_fen"] if row["budget_total_fen"] is not None else row["budget_central_fen"]


def percent(done: int, planned: int) -> str:
    """``done`` of ``planned`` as a whole percent for tables (``—`` without a plan)."""
    if planned <= 0:
        return "—"
    return f"{(Decimal(done) * 100 / planned).quantize(Decimal(1))}%"


def yuan(fen: int) -> Decimal:
    """Fen as yuan for the workbook's numeric cells (exact: two decimals)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def kg(text: str) -> Decimal:
    return Decimal(text)


SOURCE_ZH = {"computed": "系统记录", "evidence": "佐证材料"}


def _channel_order(snapshot: Snapshot) -> list[str]:
    """Channels of the channel table, then any only the monthly figures name, in the platform's
    channel order."""
    seen: list[str] = [c["channel"] for c in snapshot["performance"]["channels"]]
    for month in snapshot["performance"]["monthly"]:
        seen += [channel for channel in month["sales_fen"] if channel not in seen]
    return sorted(seen, key=lambda c: (CHANNEL_ORDER.index(c) if c in CHANNEL_ORDER else len(CHANNEL_ORDER), c))


def issued_line(view: ReportView) -> str:
    if view.version is None:
        return "未发布（预览）：数字随数据变化，以发布版本为准"
    at = view.issued_at.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M") if view.issued_at else ""
    return f"第 {view.version} 版 · 发布人 {view.issued_by_name} · 发布时间 {at}（北京时间）"


def header_lines(view: ReportView) -> list[str]:
    snapshot = view.snapshot
    brand, quarter = snapshot["brand"], snapshot["quarter"]
    return [
        f"{brand['county_name']}电子商务进农村综合示范项目 季度报告",
        f"{brand['service_centre_name']} · {brand['brand_name']}",
        f"{quarter['year']} 年第 {quarter['quarter']} 季度（{quarter['start']} 至 {quarter['end']}）",
        issued_line(view),
    ]


def evidence_text(row: ProgressRow) -> str:
    items = []
    for item in row["evidence"]:
        text = f"{item['date']} {item['title']}"
        if item["place"]:
            text += f"（{item['place']}）"
        if item["participants"] is not None:
            text += f" {item['participants']} 人"
        if item["link"]:
            text += f" {item['link']}"
        items.append(text)
    return "\n".join(items)


def performance_rows(snapshot: Snapshot) -> list[tuple[str, Any, str]]:
    """(指标, value, kind) of the plan's performance figures, kind ``fen`` / ``usd`` (cents) / ``kg`` /
    ``count``:
    the page, the workbook and the PDF list the same figures in this order."""
    section = snapshot["performance"]
    return [
        ("农产品网络零售额", section["online_retail_agri_fen"], "fen"),
        ("农产品上行重量（千克）", section["upward_kg"], "kg"),
        ("农产品上行货值", section["upward_value_fen"], "fen"),
        ("下行包裹到站数", section["parcels_to_stations"], "count"),
        ("服务行政村数", section["villages_served"], "count"),
        ("服务人数（按电话去重）", section["people_served"], "count"),
        ("跨境电商订单数", section["crossborder_orders"], "count"),
        ("跨境电商销售额（美元）", section["crossborder_usd_cents"], "usd"),
        ("销往珠三角批发重量（千克）", section["wholesale_kg"], "kg"),
        ("销往珠三角批发金额", section["wholesale_fen"], "fen"),
    ]


def month_channels(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(channel, label) of the monthly table's columns, in the channel order."""
    labels = {c["channel"]: c["label"] for c in snapshot["performance"]["channels"]}
    return [(channel, labels.get(channel, channel)) for channel in _channel_order(snapshot)]
