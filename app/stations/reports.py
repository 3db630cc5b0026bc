"""The monthly village-station report (村站月报): logistics, upstream, people served, the plan's
demonstration criteria and the subsidy statement, per station, as data and as an XLSX sheet.

Month boundaries are China time (Asia/Shanghai): a parcel scanned in at 00:30 on the 1st belongs
to that month although it is still the previous month in UTC.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.money import round_minor
from app.kit.phones import normalise_cn_phone
from app.stations import repository
from app.stations.models import CaseKind

CHINA = clock.business_tz()

# 始兴县电子商务进农村示范工作实施方案: a demonstration station has at least 5 助农/兴农 cases,
# serves at least 100 people in its village and has at least 10 便民 cases.
MIN_ASSIST_FARMER_CASES = 5
MIN_PEOPLE_SERVED = 100
MIN_CONVENIENCE_CASES = 10

SHEET_TITLE = "村站月报"
KG_FORMAT = "0.000"
YUAN_FORMAT = '"¥"#,##0.00'


@dataclass(frozen=True)
class SubsidyRates:
    per_parcel_in_minor: int
    per_upstream_kg_minor: int

    @classmethod
    def from_settings(cls) -> SubsidyRates:
        settings = get_settings()
        return cls(settings.subsidy_per_parcel_in_minor, settings.subsidy_per_upstream_kg_minor)


@dataclass(frozen=True)
class StationMonth:
    """One station's month. ``people_served`` and the ``*_cases`` counts are for the month; the
    ``total_*`` figures are cumulative up to the end of the month and decide the criteria."""

    station_id: int
    code: str
    name: str
    township: str
    is_demonstration: bool
    year: int
    month: int
    parcels_in: int
    handed_over: int
    returned: int
    upstream_kg: Decimal
    upstream_value_minor: int
    people_served: int
    assist_farmer_cases: int
    convenience_cases: int
    total_assist_farmer_cases: int
    total_people_served: int
    total_convenience_cases: int
    subsidy_parcels_minor: int
    subsidy_upstream_minor: int
    currency: str = "CNY"
    # Cash handed back at the station in the month (approved after-sales claims of orders paid
    # there in cash, ``app.claims``): the till paid it out, so the month's cash shows it.
    cash_refunds: int = 0
    cash_refunded_minor: int = 0

    @property
    def cases_by_kind(self) -> dict[CaseKind, int]:
        return {CaseKind.assist_farmer: self.assist_farmer_cases, CaseKind.convenience: self.convenience_cases}

    @property
    def assist_farmer_met(self) -> bool:
        return self.total_assist_farmer_cases >= MIN_ASSIST_FARMER_CASES

    @property
    def people_met(self) -> bool:
        return self.total_people_served >= MIN_PEOPLE_SERVED

    @property
    def convenience_met(self) -> bool:
        return self.total_convenience_cases >= MIN_CONVENIENCE_CASES

    @property
    def criteria_met(self) -> bool:
        return meets_criteria(self.total_assist_farmer_cases, self.total_people_served, self.total_convenience_cases)

    @property
    def subsidy_minor(self) -> int:
        return self.subsidy_parcels_minor + self.subsidy_upstream_minor


def meets_criteria(assist_farmer_cases: int, people_served: int, convenience_cases: int) -> bool:
    """The plan's demonstration criteria, on cumulative figures."""
    return (
        assist_farmer_cases >= MIN_ASSIST_FARMER_CASES
        and people_served >= MIN_PEOPLE_SERVED
        and convenience_cases >= MIN_CONVENIENCE_CASES
    )


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next) in China time."""
    if not (2000 <= year <= 2100) or not (1 <= month <= 12):
        raise InvalidInput("年份须在 2000–2100 之间，月份须在 1–12 之间", detail={"year": year, "month": month})
    return clock.month_bounds(year, month)


def subsidy(parcels_in: int, upstream_kg: Decimal, rates: SubsidyRates) -> tuple[int, int]:
    """(parcel part, upstream part) in fen: the kg part is the month's kg × rate rounded half-up to
    the fen once, not per consignment, so splitting a delivery never changes the amount."""
    return parcels_in * rates.per_parcel_in_minor, round_minor(upstream_kg * rates.per_upstream_kg_minor)


def _person(phone: str) -> str:
    # Phones are stored E.164 by the forms that collect them; an older raw supplier phone still
    # counts as the same person once normalised.
    try:
        return normalise_cn_phone(phone)
    except ValueError:
        return phone.strip()


def _people(pairs: list[tuple[int, str]]) -> dict[int, int]:
    people: dict[int, set[str]] = defaultdict(set)
    for station_id, phone in pairs:
        people[station_id].add(_person(phone))
    return {station_id: len(phones) for station_id, phones in people.items()}


async def station_month_report(
    session: AsyncSession, year: int, month: int, *, rates: SubsidyRates | None = None
) -> list[StationMonth]:
    """Every station's figures for one month, ordered by station code.

    In the month (China time): parcels scanned in (``arrived_at``), handed over
    (``handed_over_at``), returned (``returned_at``); kg and value of upstream consignments; the
    distinct people served — by phone, across the contact phones of orders handed over at the
    station, the growers of its consignments and the people of its service cases; cases by kind.

    Demonstration criteria (≥ 5 助农 cases, ≥ 100 people served, ≥ 10 便民 cases) are judged on
    cumulative figures: everything the station recorded since it opened up to the end of the
    month, so a station that met them in spring still shows them met in autumn, and nothing
    recorded after the month changes an earlier month's report.

    Subsidy: parcels in × ``SUBSIDY_PER_PARCEL_IN_MINOR`` + upstream kg ×
    ``SUBSIDY_PER_UPSTREAM_KG_MINOR``, the kg part rounded half-up to the fen once per station.
    """
    rates = rates or SubsidyRates.from_settings()
    start, end = month_bounds(year, month)
    stations = await repository.all_stations(session)
    parcels = await repository.parcel_counts(session, start, end)
    upstream = await repository.upstream_totals(session, start, end)
    month_cases = await repository.case_counts(session, start, end)
    all_cases = await repository.case_counts(session, None, end)
    month_people = _people(await repository.served_phones(session, start, end))
    all_people = _people(await repository.served_phones(session, None, end))
    cash_refunds = await repository.cash_refund_totals(session, start, end)
    report = []
    for station in stations:
        parcels_in, handed_over, returned = parcels.get(station.id, (0, 0, 0))
        kg, value = upstream.get(station.id, (Decimal("0.000"), 0))
        for_parcels, for_upstream = subsidy(parcels_in, kg, rates)
        report.append(
            StationMonth(
                station_id=station.id,
                code=station.code,
                name=station.name,
                township=station.township,
                is_demonstration=station.is_demonstration,
                year=year,
                month=month,
                parcels_in=parcels_in,
                handed_over=handed_over,
                returned=returned,
                upstream_kg=kg,
                upstream_value_minor=value,
                people_served=month_people.get(station.id, 0),
                assist_farmer_cases=month_cases.get((station.id, CaseKind.assist_farmer), 0),
                convenience_cases=month_cases.get((station.id, CaseKind.convenience), 0),
                total_assist_farmer_cases=all_cases.get((station.id, CaseKind.assist_farmer), 0),
                total_people_served=all_people.get(station.id, 0),
                total_convenience_cases=all_cases.get((station.id, CaseKind.convenience), 0),
                subsidy_parcels_minor=for_parcels,
                subsidy_upstream_minor=for_upstream,
                cash_refunds=cash_refunds.get(station.id, (0, 0))[0],
                cash_refunded_minor=cash_refunds.get(station.id, (0, 0))[1],
            )
        )
    return report


async def demonstration_stations_meeting_criteria(session: AsyncSession, until: datetime) -> list[int]:
    """Ids of the demonstration stations that meet the criteria on everything recorded before
    ``until``: the monthly report's cumulative figures (same cases, same people served), at any
    instant rather than a month's end — the county's targets register counts these."""
    stations = await repository.all_stations(session)
    cases = await repository.case_counts(session, None, until)
    people = _people(await repository.served_phones(session, None, until))
    return [
        s.id
        for s in stations
        if s.is_demonstration
        and meets_criteria(
            cases.get((s.id, CaseKind.assist_farmer), 0),
            people.get(s.id, 0),
            cases.get((s.id, CaseKind.convenience), 0),
        )
    ]


# ---- XLSX ---------------------------------------------------------------------------------------

HEADERS = [
    "站点编码",
    "站点名称",
    "乡镇",
    "示范站",
    "到站包裹",
    "已取件",
    "退回",
    "上行重量（千克）",
    "上行货值（元）",
    "本月服务人数",
    "本月助农案例",
    "本月便民案例",
    f"累计助农案例（≥{MIN_ASSIST_FARMER_CASES}）",
    "助农达标",
    f"累计服务人数（≥{MIN_PEOPLE_SERVED}）",
    "服务人数达标",
    f"累计便民案例（≥{MIN_CONVENIENCE_CASES}）",
    "便民达标",
    "示范标准全部达标",
    "补贴（元）",
    "理赔现金退款（笔）",
    "理赔现金退款（元）",
]
KG_COLUMNS = {8}
YUAN_COLUMNS = {9, 20, 22}
WIDTHS = [12, 18, 10, 8, 10, 8, 8, 16, 14, 12, 12, 12, 18, 10, 18, 12, 18, 10, 16, 12, 14, 14]


def _yuan(minor: int) -> Decimal:
    return Decimal(minor) / 100


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _row(item: StationMonth) -> list[object]:
    return [
        item.code,
        item.name,
        item.township,
        _yes(item.is_demonstration),
        item.parcels_in,
        item.handed_over,
        item.returned,
        item.upstream_kg,
        _yuan(item.upstream_value_minor),
        item.people_served,
        item.assist_farmer_cases,
        item.convenience_cases,
        item.total_assist_farmer_cases,
        _yes(item.assist_farmer_met),
        item.total_people_served,
        _yes(item.people_met),
        item.total_convenience_cases,
        _yes(item.convenience_met),
        _yes(item.criteria_met),
        _yuan(item.subsidy_minor),
        item.cash_refunds,
        _yuan(item.cash_refunded_minor),
    ]


def _totals(report: list[StationMonth]) -> list[object]:
    """Sums of the month's figures. People are summed per station: someone served at two stations
    counts at each, as each station's own figure does."""
    return [
        "合计",
        f"{len(report)} 个村站",
        None,
        sum(1 for r in report if r.is_demonstration),
        sum(r.parcels_in for r in report),
        sum(r.handed_over for r in report),
        sum(r.returned for r in report),
        sum((r.upstream_kg for r in report), start=Decimal("0.000")),
        _yuan(sum(r.upstream_value_minor for r in report)),
        sum(r.people_served for r in report),
        sum(r.assist_farmer_cases for r in report),
        sum(r.convenience_cases for r in report),
        sum(r.total_assist_farmer_cases for r in report),
        sum(1 for r in report if r.assist_farmer_met),
        sum(r.total_people_served for r in report),
        sum(1 for r in report if r.people_met),
        sum(r.total_convenience_cases for r in report),
        sum(1 for r in report if r.convenience_met),
        sum(1 for r in report if r.criteria_met),
        _yuan(sum(r.subsidy_minor for r in report)),
        sum(r.cash_refunds for r in report),
        _yuan(sum(r.cash_refunded_minor for r in report)),
    ]


def xlsx(report: list[StationMonth]) -> bytes:
    """One sheet 村站月报: a Chinese header row, one row per station, a totals row (合计; its 示范站
    and 达标 cells count the stations that are / meet it). Numbers are stored as numbers: kg with
    three decimals, money in yuan formatted ¥ with two decimals."""
    # Imported here: a web worker that never writes a workbook does not carry openpyxl (~7 MB).
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    sheet.append(HEADERS)
    for item in report:
        sheet.append(_row(item))
    sheet.append(_totals(report))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor="E8F0E0")
    last = sheet.max_row
    for cell in sheet[last]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2, max_row=last):
        for cell in row:
            if cell.column in KG_COLUMNS:
                cell.number_format = KG_FORMAT
            elif cell.column in YUAN_COLUMNS:
                cell.number_format = YUAN_FORMAT
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"
    if report:
        book.properties.title = f"村站月报 {report[0].year}-{report[0].month:02d}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
