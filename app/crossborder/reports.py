"""What a sync run and an order pull report to their caller (the Celery task, ``app alibaba sync``,
the console): per listing its new state, the calls counted by outcome, why nothing ran."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.crossborder.models import ListingState


@dataclass
class ListingResult:
    listing_id: int
    model_number: str
    state: ListingState
    message: str


@dataclass
class SyncReport:
    skipped: str = ""  # why nothing ran (another run holds the lock, not connected, …)
    halted: str = ""  # a configuration problem that stopped the run
    listings: list[ListingResult] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    inventory_changed: int = 0


@dataclass
class OrdersReport:
    skipped: str = ""
    pulled: int = 0
    stored: int = 0
