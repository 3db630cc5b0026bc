"""A parcel's public status page, and reading a tracking number as a scanner types it.

The QR code on a parcel label (under "扫码查件") holds the address of the parcel's public status
page, ``{PUBLIC_BASE_URL}/p/{tracking_number}``: a phone camera opens the page, and the station
PDA and console, whose scanners type the same URL, take its last path segment as the tracking
number (:func:`tracking_from_scan`), exactly as they take the Code128 under it. The path is fixed
like the lot trace page's ``/t/``: labels are printed.

The page is public and answers to the tracking number alone (random digits after the date, not a
counter), so it shows only what the box's label already tells anyone who holds it, and where and
when to collect it: the status, the destination station (its public name, place, address and
hours), and the dates of dispatch, arrival, handover or return. Never the order number, the
recipient, a phone number, the goods, the amount due, the shelf slot or the pickup code — the
order page (signed in, or the guest look-up with the phone number) has those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.stations import errors, repository
from app.stations.models import ParcelStatus

STATUS_PATH = "/p/"
MAX_TRACKING = 20  # Parcel.tracking_number's column width
MAX_SCAN = 300  # the longest scan read: a status page URL on a long PUBLIC_BASE_URL


def status_url(tracking_number: str, base_url: str) -> str:
    """The absolute address a parcel label's QR code encodes."""
    return f"{base_url.rstrip('/')}{STATUS_PATH}{tracking_number}"


def tracking_from_scan(scanned: str) -> str:
    """The tracking number in what a scanner or a person typed: the Code128 gives the number
    itself, the label's QR code the status page URL, whose last path segment is the number. Trimmed
    and upper-cased (scanners with caps lock on, people typing from the label)."""
    text = scanned.strip()
    if "/" in text:
        text = text.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return text.upper()


@dataclass(frozen=True)
class Step:
    title: str
    at: datetime | None  # None: not reached (or no time recorded)
    state: str  # "done", "now" (the parcel's status) or "todo"


@dataclass(frozen=True)
class PublicParcelStatus:
    """Everything the public status page shows (an allow-list: nothing else reaches the template)."""

    tracking_number: str
    status: ParcelStatus
    station_name: str
    township: str
    village: str
    address: str
    opening_hours: str
    packed_at: datetime
    dispatched_at: datetime | None
    arrived_at: datetime | None
    retention_until: datetime | None
    handed_over_at: datetime | None
    returned_at: datetime | None

    @property
    def status_zh(self) -> str:
        return self.status.label_zh

    @property
    def steps(self) -> list[Step]:
        """The way of the box, one step per stage it reaches; a returned parcel's last steps are
        its return instead of its handover."""
        order = [ParcelStatus.packed, ParcelStatus.dispatched, ParcelStatus.at_station]
        returning = self.status in (ParcelStatus.returning, ParcelStatus.returned)
        order += [ParcelStatus.returning, ParcelStatus.returned] if returning else [ParcelStatus.handed_over]
        reached = order.index(self.status)
        at: dict[ParcelStatus, datetime | None] = {
            ParcelStatus.packed: self.packed_at,
            ParcelStatus.dispatched: self.dispatched_at,
            ParcelStatus.at_station: self.arrived_at,
            ParcelStatus.handed_over: self.handed_over_at,
            ParcelStatus.returned: self.returned_at,
        }
        titles = {
            ParcelStatus.packed: "仓库已打包",
            ParcelStatus.dispatched: "已发车，运往村站",
            ParcelStatus.at_station: "已到达村站，等待取件",
            ParcelStatus.handed_over: "已取件",
            ParcelStatus.returning: "超期未取，退回仓库途中",
            ParcelStatus.returned: "已退回仓库",
        }
        return [
            Step(
                titles[stage],
                at.get(stage) if i <= reached else None,
                "now" if i == reached else "done" if i < reached else "todo",
            )
            for i, stage in enumerate(order)
            if i <= reached or not returning
        ]


async def public_status(session: AsyncSession, scanned: str) -> PublicParcelStatus:
    tracking = tracking_from_scan(scanned)
    found = await repository.parcel_with_station(session, tracking) if 0 < len(tracking) <= MAX_TRACKING else None
    if found is None:
        raise errors.ParcelNotFound(detail={"tracking_number": tracking[:MAX_TRACKING]})
    parcel, station, run = found
    return PublicParcelStatus(
        tracking_number=parcel.tracking_number,
        status=ParcelStatus(parcel.status),
        station_name=station.name,
        township=station.township,
        village=station.village,
        address=station.address,
        opening_hours=station.opening_hours,
        packed_at=parcel.created_at,
        dispatched_at=run.dispatched_at if run is not None else None,
        arrived_at=parcel.arrived_at,
        retention_until=parcel.retention_until,
        handed_over_at=parcel.handed_over_at,
        returned_at=parcel.returned_at,
    )
