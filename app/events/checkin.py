"""Checking tickets in at the event: online (the station console, the PDA online) and offline (a
PDA that scanned without a network uploads its scans later).

Who: operators of the event's meeting station (their account is bound to it) and the centre's
admins (``station_id=None``); a ticket of another station's event is refused (403).

Online: one compare-and-set (``UPDATE … WHERE checked_in_at IS NULL`` and the order is valid):
the first scan wins, any later scan — the same QR again, a photo of it at another gate — is
refused with 409 ``ticket_already_checked_in`` saying when it was used.

Offline: each scan carries the device's id, the device's own id for the scan (``client_id``) and
when it was scanned. A batch is idempotent per (device, client id): the check-in log row is
inserted with ``ON CONFLICT DO NOTHING`` first, so an upload sent twice (or twice at once) records
each scan once and answers the first outcome again. The first scan of a ticket to reach the server
checks it in (at the time it was scanned); a scan of a ticket already checked in — two devices both
offline let the same family in twice — is recorded with outcome ``duplicate``, shown to staff on
the event's page, and never counted: attendance is the number of tickets checked in, and only the
compare-and-set sets that.

When: a ticket is admitted only for its own slot, from ``CHECK_IN_GRACE`` (2 hours) before the
slot starts until it ends — families arrive early at the meeting station, but a ticket for another
day or another slot of the day is refused (409 ``ticket_not_for_now``). The time tested is now for
an online scan and the time of the scan for an offline one (capped at the server's now).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import errors, repository
from app.events.models import CheckInOutcome, EventStatus, Ticket, TicketKind
from app.kit import clock
from app.kit.errors import AppError

# What the ticket QR encodes: this prefix and the ticket's token (a scanner may add whitespace).
QR_PREFIX = "NPT-"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
# How long before its slot starts a ticket is admitted (the meeting station opens early).
CHECK_IN_GRACE = timedelta(hours=2)


def qr_content(token: str) -> str:
    return QR_PREFIX + token


def token_from_scan(raw: str) -> str:
    """The token in what a scanner typed (with or without the prefix); "" when it is none."""
    text = raw.strip()
    if text.upper().startswith(QR_PREFIX):
        text = text[len(QR_PREFIX) :]
    return text if TOKEN.match(text) else ""


@dataclass(frozen=True)
class Admitted:
    """A ticket checked in: what the operator is shown."""

    ticket: Ticket
    event_title: str
    order_number: str
    checked_in_at: datetime

    @property
    def kind_zh(self) -> str:
        return TicketKind(self.ticket.kind).label_zh


async def _valid_ticket(
    session: AsyncSession, token: str, station_id: int | None, at: datetime
) -> repository.TicketFound:
    found = await repository.ticket_by_token(session, token) if token else None
    if found is None:
        raise errors.TicketNotFound()
    if station_id is not None and found.event.meeting_station_id != station_id:
        raise errors.TicketWrongStation()
    if found.event.status != EventStatus.scheduled.value:
        raise errors.TicketNotValid("该活动已取消，门票已退款，不能签到")
    if found.order_status not in repository.VALID_ORDER_STATUSES:
        raise errors.TicketNotValid()
    slot = found.slot
    if not slot.starts_at - CHECK_IN_GRACE <= at <= slot.ends_at:
        start, end = (t.astimezone(clock.business_tz()) for t in (slot.starts_at, slot.ends_at))
        raise errors.TicketNotForNow(
            f"该门票是 {start:%m月%d日 %H:%M}–{end:%H:%M} 场次的，只能在开始前 2 小时至结束时签到",
            detail={"starts_at": slot.starts_at.isoformat(), "ends_at": slot.ends_at.isoformat()},
        )
    return found


async def check_in_online(
    session: AsyncSession, *, scanned: str, station_id: int | None, operator_id: int, device: str
) -> Admitted:
    """Check a ticket in now; a second scan of it is refused (409 ``ticket_already_checked_in``)."""
    now = clock.now()
    found = await _valid_ticket(session, token_from_scan(scanned), station_id, now)
    at = await repository.check_in(session, found.ticket.id, at=now, operator_id=operator_id, device=device)
    if at is None:
        await session.refresh(found.ticket)
        if found.ticket.checked_in_at is not None:
            when = found.ticket.checked_in_at.astimezone(clock.business_tz())
            raise errors.TicketAlreadyCheckedIn(
                f"该门票已于 {when:%m月%d日 %H:%M} 签到过，不能重复签到",
                detail={"checked_in_at": found.ticket.checked_in_at.isoformat(), "order_number": found.order_number},
            )
        raise errors.TicketNotValid()
    await repository.record_check_in(
        session,
        {
            "ticket_id": found.ticket.id,
            "event_id": found.event.id,
            "token": found.ticket.token,
            "device_id": device[:60],
            "client_id": uuid.uuid4().hex,
            "scanned_at": at,
            "synced_at": at,
            "offline": False,
            "operator_id": operator_id,
            "outcome": CheckInOutcome.counted.value,
        },
    )
    await session.refresh(found.ticket)
    return Admitted(found.ticket, found.event.title, found.order_number, at)


@dataclass(frozen=True)
class OfflineScan:
    client_id: str
    code: str  # what the device scanned
    scanned_at: datetime


@dataclass(frozen=True)
class SyncResult:
    client_id: str
    outcome: str
    message_zh: str
    ticket_kind: str | None = None
    order_number: str | None = None


async def sync_offline(
    session: AsyncSession, *, device_id: str, station_id: int | None, operator_id: int, scans: Sequence[OfflineScan]
) -> list[SyncResult]:
    """Record a device's offline scans, in the order they were made; each once per client id. The
    device's id is kept under its station's (two stations may both name a PDA "PDA-1")."""
    device_id = f"{station_id if station_id is not None else 'admin'}/{device_id}"[:60]
    now = clock.now()
    results = []
    for scan in sorted(scans, key=lambda s: (s.scanned_at, s.client_id)):
        token = token_from_scan(scan.code)
        found = await repository.ticket_by_token(session, token) if token else None
        inserted = await repository.record_check_in(
            session,
            {
                "ticket_id": found.ticket.id if found else None,
                "event_id": found.event.id if found else None,
                "token": (token or scan.code.strip())[:60],
                "device_id": device_id[:60],
                "client_id": scan.client_id[:60],
                # A device's clock ahead of the server's is not trusted into the future.
                "scanned_at": min(scan.scanned_at, now),
                "synced_at": now,
                "offline": True,
                "operator_id": operator_id,
                "outcome": CheckInOutcome.refused.value,
            },
        )
        if inserted is None:  # sent before: the first upload's outcome
            earlier = await repository.check_in_by_client(session, device_id[:60], scan.client_id[:60])
            assert earlier is not None
            results.append(SyncResult(scan.client_id, earlier.outcome, earlier.message_zh))
            continue
        outcome, message = await _apply_offline(
            session, token, station_id, operator_id, device_id, min(scan.scanned_at, now)
        )
        await repository.set_outcome(session, inserted, outcome.value, message)
        results.append(
            SyncResult(
                scan.client_id,
                outcome.value,
                message,
                ticket_kind=found.ticket.kind if found else None,
                order_number=found.order_number if found else None,
            )
        )
    return results


async def _apply_offline(
    session: AsyncSession, token: str, station_id: int | None, operator_id: int, device_id: str, at: datetime
) -> tuple[CheckInOutcome, str]:
    try:
        found = await _valid_ticket(session, token, station_id, at)
    except AppError as exc:
        return CheckInOutcome.refused, exc.text
    if (
        await repository.check_in(session, found.ticket.id, at=at, operator_id=operator_id, device=device_id)
        is not None
    ):
        return CheckInOutcome.counted, "签到成功"
    await session.refresh(found.ticket)
    if found.ticket.checked_in_at is None:
        return CheckInOutcome.refused, errors.TicketNotValid.message
    when = found.ticket.checked_in_at.astimezone(clock.business_tz())
    device = found.ticket.checked_in_device or "其他设备"
    return CheckInOutcome.duplicate, f"重复签到：该门票已于 {when:%m月%d日 %H:%M} 在 {device} 签到"
