"""The one clock of business dates.

Instants are stored in UTC, but every *business date* — "today", the date inside a document
number (``NP261205…``, ``LT261205-…``), a default harvest date, cut-offs, report months and
quarters — is the date in the county's time zone (``Asia/Shanghai``, settable as
``BUSINESS_TIMEZONE``). From 16:00 to 24:00 UTC the UTC date is already "yesterday" in China, so
``date.today()`` on a UTC server gives the wrong business day; nothing outside this module should
ask the system for the date.

Tests pin the clock with :func:`pinned` (the hours either side of midnight China time included),
so the suite gives the same answer at any hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# Set only by tests (``pinned``); production code never writes it.
_pinned_at: datetime | None = None


@lru_cache(maxsize=1)
def business_tz() -> ZoneInfo:
    from app.config import get_settings

    return ZoneInfo(get_settings().business_timezone)


def now() -> datetime:
    """The current instant, timezone-aware in UTC (the pinned one in tests that pin it)."""
    return _pinned_at if _pinned_at is not None else datetime.now(UTC)


def local_now() -> datetime:
    """The current instant in business time (China time)."""
    return now().astimezone(business_tz())


def today() -> date:
    """Today's business date: the date in China, whatever the server's time zone."""
    return local_now().date()


def local_date(instant: datetime) -> date:
    """The business date of an instant (a naive value is taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(business_tz()).date()


def start_of_day(day: date) -> datetime:
    """Midnight in business time at the start of ``day``, as an aware instant."""
    return datetime.combine(day, time.min, business_tz())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of a business day as aware instants."""
    return start_of_day(day), start_of_day(day + timedelta(days=1))


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar month in business time as aware instants."""
    start = datetime(year, month, 1, tzinfo=business_tz())
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=business_tz())
    return start, end


def quarter_of(day: date) -> tuple[int, int]:
    """``(year, quarter)`` of a business date, quarter 1–4."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of a calendar quarter in business time as aware instants."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1–4, not {quarter}")
    first_month = 3 * (quarter - 1) + 1
    start, _ = month_bounds(year, first_month)
    _, end = month_bounds(year, first_month + 2)
    return start, end


@contextmanager
def pinned(at: datetime) -> Iterator[datetime]:
    """Tests only: make :func:`now` return ``at`` (aware) inside the block."""
    global _pinned_at
    if at.tzinfo is None:
        raise ValueError("pin the clock to an aware datetime")
    previous, _pinned_at = _pinned_at, at.astimezone(UTC)
    try:
        yield _pinned_at
    finally:
        _pinned_at = previous
