"""Parcel labels (100 × 150 mm, thermal) and the dispatch manifest of a run (A4): what they print.

This module gathers what is printed (plain, already masked values) from the database; the
drawing is in ``app.stations.parcel_label_pdf`` (the thermal label) and
``app.stations.manifest_pdf`` (the A4 manifest), reached from here so callers print with
``labels.parcel_label_pdf`` / ``labels.manifest_pdf``. A parcel label's recipient is on it only
as much as the station needs to hand over the box: the name masked to its first character
(``李**``) and the phone's last four digits (``尾号 8000``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.personal import mask_name, phone_last4
from app.kit.quantities import UNIT_LABELS_ZH, Unit, format_quantity
from app.orders.models import Order, OrderLine, PaymentMethod
from app.stations import errors, label_queries
from app.stations.label_queries import ParcelRow
from app.stations.tracking import status_url, tracking_from_scan

MAX_BATCH = 1000  # labels per request; a day's run on one route is a few hundred at most
ITEM_LINES = 3  # item lines printed on a label before "等 N 种"
CHINA_TZ = clock.business_tz()


# ---- what is printed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelLabel:
    """Everything printed on one parcel label: plain values, already masked (the renderer never
    sees a full name or phone number, so it cannot print one)."""

    tracking_number: str
    order_number: str
    station_code: str
    station_name: str
    township: str
    village: str
    route_code: str | None
    route_name: str | None
    stop_position: int | None
    stop_count: int
    recipient: str  # masked: 李**
    phone_last4: str  # 8000
    line_count: int
    items: tuple[str, ...]  # the first few lines, short: "始兴枇杷 一级 5 千克 ×2 箱"
    amount_due_minor: int  # to collect at pickup; 0 when paid online
    currency: str
    dispatch_date: date
    status_url: str  # what the QR code holds: the parcel's public status page


@dataclass(frozen=True)
class ManifestParcel:
    tracking_number: str
    order_number: str
    recipient: str
    phone_last4: str
    line_count: int
    amount_due_minor: int
    currency: str


@dataclass(frozen=True)
class ManifestStop:
    position: int | None  # None: a station that is not (or no longer) on the run's route
    station_code: str
    station_name: str
    township: str
    village: str
    parcels: tuple[ManifestParcel, ...]


@dataclass(frozen=True)
class RunManifest:
    run_number: str
    run_date: date
    status: str
    route_code: str
    route_name: str
    stops: tuple[ManifestStop, ...]  # route order; stations off the route last
    printed_at: datetime | None = None

    @property
    def total_parcels(self) -> int:
        return sum(len(stop.parcels) for stop in self.stops)

    @property
    def total_due_minor(self) -> int:
        return sum(p.amount_due_minor for stop in self.stops for p in stop.parcels)


def amount_due(order: Order) -> int:
    """What the station collects at handover: the unpaid rest of a pay-at-pickup order."""
    return amount_due_minor(order.payment_method, order.total_minor, order.paid_minor)


def amount_due_minor(payment_method: PaymentMethod, total_minor: int, paid_minor: int) -> int:
    """:func:`amount_due` from the order's columns."""
    if payment_method != PaymentMethod.pay_at_pickup:
        return 0
    return max(total_minor - paid_minor, 0)


def item_text(line: OrderLine) -> str:
    try:
        unit = UNIT_LABELS_ZH[Unit(line.unit)]
    except ValueError:
        unit = line.unit
    return f"{line.name_zh} ×{format_quantity(line.quantity)}{unit}"


def _normalise(tracking: str) -> str:
    return tracking_from_scan(tracking)


# ---- assembling from the database ------------------------------------------------------------------


def _china_date(value: datetime) -> date:
    return value.astimezone(CHINA_TZ).date()


def _label(row: ParcelRow, lines: Sequence[OrderLine], base_url: str) -> ParcelLabel:
    order = row.order
    when = row.run.run_date if row.run is not None else _china_date(row.parcel.created_at)
    return ParcelLabel(
        tracking_number=row.parcel.tracking_number,
        order_number=order.number,
        station_code=row.station.code,
        station_name=row.station.name,
        township=row.station.township,
        village=row.station.village,
        route_code=row.route.code if row.route else None,
        route_name=row.route.name if row.route else None,
        stop_position=row.stop_position,
        stop_count=row.stop_count,
        recipient=mask_name(order.contact_name),
        phone_last4=phone_last4(order.contact_phone),
        line_count=len(lines),
        items=tuple(item_text(line) for line in lines[:ITEM_LINES]),
        amount_due_minor=amount_due(order),
        currency=order.currency,
        dispatch_date=when,
        status_url=status_url(row.parcel.tracking_number, base_url),
    )


async def parcel_labels(
    session: AsyncSession,
    *,
    tracking_numbers: Sequence[str] | None = None,
    run_number: str | None = None,
    base_url: str | None = None,
) -> list[ParcelLabel]:
    """The labels of the named parcels (in the order asked), or of every parcel of a run (in route
    order, then tracking number, so the packer's pile matches the truck's stops). ``base_url``
    (of the QR codes' status page addresses) defaults to the ``PUBLIC_BASE_URL`` setting; a request
    passes its app's settings."""
    if (tracking_numbers is None) == (run_number is None):
        raise InvalidInput("请指定配送批次或运单号（二选一）", detail={"params": ["run", "tracking"]})
    if run_number is not None:
        run = await label_queries.run_by_number(session, run_number.strip())
        if run is None:
            raise errors.RunNotFound(detail={"run": run_number})
        parcels = await label_queries.parcels_of_run(session, run.id)
        if not parcels:
            raise errors.ParcelNotFound("该批次还没有包裹", detail={"run": run.number})
    else:
        wanted = [_normalise(t) for t in tracking_numbers or () if t.strip()]
        if not wanted:
            raise InvalidInput("请填写运单号", detail={"params": ["tracking"]})
        if len(wanted) > MAX_BATCH:
            raise InvalidInput(f"一次最多打印 {MAX_BATCH} 张面单", detail={"max": MAX_BATCH})
        parcels = await label_queries.parcels_by_tracking(session, wanted)
        missing = sorted(set(wanted) - {p.tracking_number for p in parcels})
        if missing:
            raise errors.ParcelNotFound(detail={"tracking_numbers": missing})
    rows = await label_queries.parcel_rows(session, parcels)
    if run_number is not None:
        rows.sort(key=lambda r: (r.stop_position is None, r.stop_position or 0, r.parcel.tracking_number))
    lines = await label_queries.lines_by_order(session, [r.order.id for r in rows])
    base = base_url if base_url is not None else get_settings().public_base_url
    return [_label(row, lines.get(row.order.id, []), base) for row in rows]


async def run_manifest(session: AsyncSession, run_number: str) -> RunManifest:
    """The run's manifest: every stop of its route in order, with the parcels for that station."""
    run = await label_queries.run_by_number(session, run_number.strip())
    if run is None:
        raise errors.RunNotFound(detail={"run": run_number})
    route = await label_queries.route_with_stops(session, run.route_id)
    if route is None:  # pragma: no cover - a foreign key guarantees the route
        raise errors.RouteNotFound(detail={"run": run.number})
    parcels = await label_queries.parcels_of_run(session, run.id)
    rows = await label_queries.parcel_rows(session, parcels)
    lines = await label_queries.lines_by_order(session, [r.order.id for r in rows])
    by_station: dict[int, list[ManifestParcel]] = {}
    for row in sorted(rows, key=lambda r: r.parcel.tracking_number):
        by_station.setdefault(row.station.id, []).append(
            ManifestParcel(
                tracking_number=row.parcel.tracking_number,
                order_number=row.order.number,
                recipient=mask_name(row.order.contact_name),
                phone_last4=phone_last4(row.order.contact_phone),
                line_count=len(lines.get(row.order.id, [])),
                amount_due_minor=amount_due(row.order),
                currency=row.order.currency,
            )
        )
    stop_stations = await label_queries.stations_by_ids(session, [s.station_id for s in route.stops])
    stops = [
        ManifestStop(
            position=stop.position,
            station_code=stop_stations[stop.station_id].code,
            station_name=stop_stations[stop.station_id].name,
            township=stop_stations[stop.station_id].township,
            village=stop_stations[stop.station_id].village,
            parcels=tuple(by_station.pop(stop.station_id, [])),
        )
        for stop in route.stops
    ]
    # Parcels for a station that has left the route since they were packed still ride this run.
    stations = {row.station.id: row.station for row in rows}
    for station_id in sorted(by_station, key=lambda i: stations[i].code):
        station = stations[station_id]
        stops.append(
            ManifestStop(
                None, station.code, station.name, station.township, station.village, tuple(by_station[station_id])
            )
        )
    return RunManifest(
        run_number=run.number,
        run_date=run.run_date,
        status=str(run.status),
        route_code=route.code,
        route_name=route.name,
        stops=tuple(stops),
        printed_at=clock.now(),
    )


# ---- drawing ---------------------------------------------------------------------------------------
# reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).


def parcel_label_pdf(found: Sequence[ParcelLabel]) -> bytes:
    """All ``found`` labels as one PDF, one 100 × 150 mm page each (``app.stations.parcel_label_pdf``)."""
    from app.stations.parcel_label_pdf import parcel_label_pdf as draw

    return draw(found)


def manifest_pdf(run: RunManifest) -> bytes:
    """The A4 manifest of a run (``app.stations.manifest_pdf``)."""
    from app.stations.manifest_pdf import manifest_pdf as draw

    return draw(run)


__all__ = [
    "ManifestParcel",
    "ManifestStop",
    "ParcelLabel",
    "RunManifest",
    "amount_due",
    "item_text",
    "manifest_pdf",
    "mask_name",
    "parcel_label_pdf",
    "parcel_labels",
    "phone_last4",
    "run_manifest",
]
