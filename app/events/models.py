"""Farm-stay and picking events (农旅活动) sold as tickets.

An event has a place, a meeting station (the village station whose operators check tickets in),
prices per adult and per child (integer fen) and a cancellation rule (refunds until
``cancel_hours_before`` hours before a slot starts). Each time slot owns one
:class:`~app.orders.models.Capacity` (kind ``event_slot``, cap = places): the order service takes
its places with one conditional update, so a slot is never oversold (``app.orders.capacity``).

A :class:`Ticket` is one person (adult or child) with a random, unguessable token — the QR the
customer shows. It is written with its order and is *valid* only while the order is paid and not
cancelled (``confirmed``); attendance is the number of tickets with ``checked_in_at`` set, which
only one compare-and-set ever sets. Every check-in attempt that reached the server from a device
is a :class:`CheckIn` row (idempotent per device and client id); one that found the ticket already
checked in (two PDAs offline scanning the same QR) is kept with outcome ``duplicate`` for staff.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin

CAPACITY_KIND = "event_slot"


class EventStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"  # by the centre: every ticket refunded


class TicketKind(StrEnum):
    adult = "adult"
    child = "child"

    @property
    def label_zh(self) -> str:
        return {"adult": "成人票", "child": "儿童票"}[self.value]


class CheckInOutcome(StrEnum):
    counted = "counted"  # this scan checked the ticket in
    duplicate = "duplicate"  # the ticket was already checked in (another device, or online first)
    refused = "refused"  # unknown token, another station's event, an unpaid or cancelled order


class FarmEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "farm_events"

    title: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    place: Mapped[str] = mapped_column(String(200), nullable=False)
    meeting_station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    adult_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    child_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # A customer may cancel (and is refunded) until this many hours before the slot starts.
    cancel_hours_before: Mapped[int] = mapped_column(Integer, nullable=False, default=24)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=EventStatus.scheduled.value)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("adult_price_minor >= 0 AND child_price_minor >= 0", name="prices_not_negative"),
        CheckConstraint("cancel_hours_before >= 0", name="cancel_hours_not_negative"),
        CheckConstraint("status IN ('scheduled', 'cancelled')", name="status_known"),
    )


class EventSlot(IdMixin, Base):
    __tablename__ = "farm_event_slots"

    event_id: Mapped[int] = mapped_column(ForeignKey("farm_events.id"), nullable=False, index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The places are the capacity's cap; ``capacities.used`` is what is sold (and held unpaid).
    capacity_id: Mapped[int] = mapped_column(ForeignKey("capacities.id"), nullable=False, unique=True)

    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)


class Ticket(IdMixin, Base):
    __tablename__ = "farm_event_tickets"

    event_id: Mapped[int] = mapped_column(ForeignKey("farm_events.id"), nullable=False, index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("farm_event_slots.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    token: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_in_device: Mapped[str] = mapped_column(String(60), nullable=False, default="")

    __table_args__ = (CheckConstraint("kind IN ('adult', 'child')", name="kind_known"),)


class CheckIn(IdMixin, Base):
    """One scan as a device reported it: online (the console, the PDA online) or synced later."""

    __tablename__ = "farm_event_checkins"

    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("farm_event_tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("farm_events.id"), index=True)
    token: Mapped[str] = mapped_column(String(60), nullable=False)
    device_id: Mapped[str] = mapped_column(String(60), nullable=False)
    client_id: Mapped[str] = mapped_column(String(60), nullable=False)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    offline: Mapped[bool] = mapped_column(nullable=False, default=False)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    message_zh: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (
        UniqueConstraint("device_id", "client_id", name="uq_farm_event_checkins_device_client_once"),
        CheckConstraint("outcome IN ('counted', 'duplicate', 'refused')", name="outcome_known"),
        Index("ix_farm_event_checkins_duplicates", "event_id", postgresql_where=text("outcome = 'duplicate'")),
    )
