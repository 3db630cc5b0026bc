"""The quarterly report's snapshot: every figure an issued report shows, as plain JSON.

The page, the workbook and the PDF all render from this one dict, never from live tables, so an
issued report reads the same next year as on the day it was issued, whatever is corrected in the
records since. Money is integer fen, quantities are decimal strings (JSON has no exact decimal),
dates are ISO strings in China time, the quarter's ``end`` inclusive.

:func:`checked` is the gate every snapshot passes before it is stored (and when one is read back):
a float, a missing key, a negative count, or a month or evidence date outside the snapshot's own
quarter from a provider is refused there, not discovered when someone opens the report.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypedDict, cast

from app.channels import SalesChannel

SCHEMA = 1
# The channel table's order in the report (the plan reads online first, then the counter).
CHANNEL_ORDER = tuple(
    c.value for c in (SalesChannel.shop, SalesChannel.wholesale, SalesChannel.pos, SalesChannel.crossborder)
)


class QuarterInfo(TypedDict):
    year: int
    quarter: int
    start: str  # first day, China time
    end: str  # last day, inclusive


class BrandInfo(TypedDict):
    county_name: str
    brand_name: str
    service_centre_name: str


class Evidence(TypedDict):
    date: str
    title: str
    place: str
    participants: int | None
    link: str | None


class ProgressRow(TypedDict):
    code: str
    section: str
    title: str
    unit: str
    planned: int
    period_start: str
    period_end: str
    done_quarter: int
    done_to_date: int
    met: bool
    source: Literal["computed", "evidence"]
    evidence: list[Evidence]


class FundRow(TypedDict):
    code: str
    category: str
    title: str
    budget_central_fen: int
    budget_total_fen: int | None
    spent_quarter_fen: int
    spent_to_date_fen: int


class ChannelFigures(TypedDict):
    channel: str
    label: str
    orders: int
    sales_fen: int


class MonthFigures(TypedDict):
    month: str  # "2026-10"
    sales_fen: dict[str, int]  # by channel code


class Performance(TypedDict):
    channels: list[ChannelFigures]
    online_retail_agri_fen: int
    upward_kg: str
    upward_value_fen: int
    parcels_to_stations: int
    villages_served: int
    people_served: int
    crossborder_orders: int
    # Alibaba.com's paid orders in USD cents, reported beside the CNY figures, never added to them
    # (the channel table and the monthly figures hold the CNY channels only).
    crossborder_usd_cents: int
    wholesale_kg: str
    wholesale_fen: int
    monthly: list[MonthFigures]


class Snapshot(TypedDict):
    schema: int
    quarter: QuarterInfo
    brand: BrandInfo
    progress: list[ProgressRow]
    funds: list[FundRow]
    performance: Performance


class SnapshotInvalid(ValueError):
    """A snapshot (or a provider's section of one) that does not have the agreed shape."""


# ---- checking -----------------------------------------------------------------------------------


def _fail(where: str, problem: str) -> SnapshotInvalid:
    return SnapshotInvalid(f"{where}: {problem}")


def _keys(value: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    missing = [key for key in keys if key not in value]
    extra = [key for key in value if key not in keys]
    if missing or extra:
        raise _fail(where, f"missing {missing}, unexpected {extra}")
    return value


def _int(value: Any, where: str, *, nullable: bool = False, minimum: int | None = 0) -> None:
    if value is None and nullable:
        return
    # bool is an int in Python; a True where a count belongs is a provider's mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(where, f"expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise _fail(where, f"expected ≥ {minimum}, got {value}")


def _str(value: Any, where: str, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise _fail(where, f"expected a string, got {value!r}")


def _decimal(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise _fail(where, f"expected a decimal string, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise _fail(where, f"not a decimal: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise _fail(where, f"expected a finite decimal ≥ 0, got {value!r}")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(where, f"expected a list, got {type(value).__name__}")
    return value


def check_progress(rows: Any) -> list[ProgressRow]:
    for i, row in enumerate(_list(rows, "progress")):
        where = f"progress[{i}]"
        _keys(row, tuple(ProgressRow.__annotations__), where)
        for key in ("code", "section", "title", "unit", "period_start", "period_end"):
            _str(row[key], f"{where}.{key}")
        for key in ("planned", "done_to_date"):
            _int(row[key], f"{where}.{key}")
        # A state's net change in the quarter (devices in service, listings online) can be negative.
        _int(row["done_quarter"], f"{where}.done_quarter", minimum=None)
        if not isinstance(row["met"], bool):
            raise _fail(f"{where}.met", "expected true or false")
        if row["source"] not in ("computed", "evidence"):
            raise _fail(f"{where}.source", f"expected computed or evidence, got {row['source']!r}")
        for j, item in enumerate(_list(row["evidence"], f"{where}.evidence")):
            at = f"{where}.evidence[{j}]"
            _keys(item, tuple(Evidence.__annotations__), at)
            for key in ("date", "title", "place"):
                _str(item[key], f"{at}.{key}")
            _int(item["participants"], f"{at}.participants", nullable=True)
            _str(item["link"], f"{at}.link", nullable=True)
    return cast(list[ProgressRow], rows)


def check_funds(rows: Any) -> list[FundRow]:
    for i, row in enumerate(_list(rows, "funds")):
        where = f"funds[{i}]"
        _keys(row, tuple(FundRow.__annotations__), where)
        for key in ("code", "category", "title"):
            _str(row[key], f"{where}.{key}")
        # Spending can be corrected by a negative record, but a line's totals are never below 0.
        for key in ("budget_central_fen", "spent_quarter_fen", "spent_to_date_fen"):
            _int(row[key], f"{where}.{key}")
        _int(row["budget_total_fen"], f"{where}.budget_total_fen", nullable=True)
    return cast(list[FundRow], rows)


def check_performance(section: Any) -> Performance:
    where = "performance"
    _keys(section, tuple(Performance.__annotations__), where)
    for i, item in enumerate(_list(section["channels"], f"{where}.channels")):
        at = f"{where}.channels[{i}]"
        _keys(item, tuple(ChannelFigures.__annotations__), at)
        _str(item["channel"], f"{at}.channel")
        _str(item["label"], f"{at}.label")
        _int(item["orders"], f"{at}.orders")
        # Sales are paid minus refunded: a quarter of refunds for earlier sales can be negative.
        _int(item["sales_fen"], f"{at}.sales_fen", minimum=None)
    for key in ("upward_kg", "wholesale_kg"):
        _decimal(section[key], f"{where}.{key}")
    for key in ("online_retail_agri_fen", "upward_value_fen", "wholesale_fen"):
        _int(section[key], f"{where}.{key}", minimum=None)
    for key in ("parcels_to_stations", "villages_served", "people_served", "crossborder_orders"):
        _int(section[key], f"{where}.{key}")
    for key in ("crossborder_usd_cents",):
        _int(section[key], f"{where}.{key}")
    for i, month in enumerate(_list(section["monthly"], f"{where}.monthly")):
        at = f"{where}.monthly[{i}]"
        _keys(month, tuple(MonthFigures.__annotations__), at)
        _str(month["month"], f"{at}.month")
        if not isinstance(month["sales_fen"], dict):
            raise _fail(f"{at}.sales_fen", "expected an object of channel → fen")
        for channel, fen in month["sales_fen"].items():
            _int(fen, f"{at}.sales_fen.{channel}", minimum=None)
    return cast(Performance, section)


def _iso_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(where, f"expected an ISO date, got {value!r}") from exc


def check_inside_quarter(snapshot: Snapshot) -> None:
    """Every month of the monthly figures and every evidence record's date falls inside the
    snapshot's own quarter (``quarter.start``–``quarter.end``), each month at most once: figures
    of another quarter under this one's heading are a provider's mistake, refused here."""
    first = _iso_date(snapshot["quarter"]["start"], "quarter.start")
    last = _iso_date(snapshot["quarter"]["end"], "quarter.end")
    if last < first:
        raise _fail("quarter", f"ends {last} before it starts {first}")
    seen: set[str] = set()
    for i, month in enumerate(snapshot["performance"]["monthly"]):
        at = f"performance.monthly[{i}].month"
        name = month["month"]
        if len(name) != 7 or name[4] != "-":
            raise _fail(at, f"expected YYYY-MM, got {name!r}")
        day = _iso_date(f"{name}-01", at)
        if not (first.year, first.month) <= (day.year, day.month) <= (last.year, last.month):
            raise _fail(at, f"{name} is outside the quarter {first}–{last}")
        if name in seen:
            raise _fail(at, f"{name} appears twice")
        seen.add(name)
    for i, row in enumerate(snapshot["progress"]):
        for j, item in enumerate(row["evidence"]):
            at = f"progress[{i}].evidence[{j}].date"
            happened = _iso_date(item["date"], at)
            if not first <= happened <= last:
                raise _fail(at, f"{item['date']} is outside the quarter {first}–{last}")


def checked(snapshot: Any) -> Snapshot:
    """``snapshot`` if it has the agreed shape (schema 1), else :class:`SnapshotInvalid`."""
    _keys(snapshot, tuple(Snapshot.__annotations__), "snapshot")
    if snapshot["schema"] != SCHEMA:
        raise _fail("snapshot.schema", f"expected {SCHEMA}, got {snapshot['schema']!r}")
    quarter = _keys(snapshot["quarter"], tuple(QuarterInfo.__annotations__), "quarter")
    _int(quarter["year"], "quarter.year")
    _int(quarter["quarter"], "quarter.quarter", minimum=1)
    _str(quarter["start"], "quarter.start")
    _str(quarter["end"], "quarter.end")
    brand = _keys(snapshot["brand"], tuple(BrandInfo.__annotations__), "brand")
    for key in BrandInfo.__annotations__:
        _str(brand[key], f"brand.{key}")
    check_progress(snapshot["progress"])
    check_funds(snapshot["funds"])
    check_performance(snapshot["performance"])
    check_inside_quarter(cast(Snapshot, snapshot))
    # A last guard against anything JSON would store differently from what we hold (a Decimal, a
    # date object): the stored snapshot must read back equal to this one.
    if json.loads(to_json(cast(Snapshot, snapshot))) != snapshot:
        raise _fail("snapshot", "does not survive a JSON round trip")
    return cast(Snapshot, snapshot)


def to_json(snapshot: Snapshot) -> str:
    """The snapshot as compact JSON text (keys kept in their order, Chinese left readable)."""
    try:
        return json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise SnapshotInvalid(f"snapshot: not JSON-serialisable ({exc})") from exc


def from_json(text: str | bytes) -> Snapshot:
    """A snapshot read back from JSON text, checked."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise SnapshotInvalid(f"snapshot: not JSON ({exc})") from exc
    return checked(raw)
