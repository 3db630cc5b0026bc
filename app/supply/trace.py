"""A lot's public trace: what the QR code on every package opens (``GET /t/{lot_code}``).

Anyone can read this, so it is built from an allow-list of facts, never from whole rows: product,
grower (an organisation's public name, kind, township, village and certifications — never its
contact person or phone; a lot received under a grower exception names its supplier as the source,
never as the producer, without its certifications or the exception's reason), harvest date,
best-before, grade, compliance certificate number, and a journey derived from the stock ledger.
The ledger also holds who did each move, why, and for which order; none of that leaves this
module: no user, no reason text, no document reference (order or transfer number), no customer.
Sales are summed per day, channel and place, so a page never reveals one buyer's order.
Reservations and releases are bookkeeping, not movements of the produce, and are left out;
corrections (spoilage, adjustments, counts, returns) appear only as a generic 损耗/盘点 line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import StorageClass
from app.channels import CHANNEL_LABELS_ZH
from app.kit import clock
from app.kit.quantities import UNIT_LABELS_ZH, Unit
from app.supply import errors, repository
from app.supply.models import (
    LedgerKind,
    Location,
    LocationKind,
    LotOrigin,
    StockLedgerEntry,
    SupplierKind,
    Transfer,
)

# Ledger times are UTC; a day on the page is a day in Shixing.
CHINA_TZ = clock.business_tz()

ORIGIN_LABELS_ZH = {LotOrigin.receipt: "生产者交售入库", LotOrigin.upstream: "村级服务站上行收购"}
NOT_GROWN_ORIGIN_ZH = "经销/代收入库（非供货方自产）"
LOSS_KINDS = frozenset({LedgerKind.adjustment, LedgerKind.spoilage, LedgerKind.stock_count, LedgerKind.return_})
NOT_STEPS = frozenset({LedgerKind.reservation, LedgerKind.release})


class StepKind(StrEnum):
    received = "received"
    shipped = "shipped"
    arrived = "arrived"
    moved_out = "moved_out"
    moved_in = "moved_in"
    sold = "sold"
    loss = "loss"


@dataclass(frozen=True)
class Certification:
    name: str
    number: str


@dataclass(frozen=True)
class Grower:
    """Who the lot came from. ``grew_it`` is False for a lot received under a grower exception
    (a dealer, produce collected for others): the page then calls the supplier the source and
    shows none of its certifications, which are about what it produces itself."""

    name: str
    kind_label: str
    township: str
    village: str
    certifications: list[Certification]
    grew_it: bool = True


@dataclass
class JourneyStep:
    """One line of the journey. ``title`` and ``detail`` are display text (zh); ``quantity`` is in
    the SKU's unit (for sales, the day's total through that channel at that place)."""

    kind: StepKind
    on: date
    title: str
    place: str
    detail: str = ""
    quantity: Decimal | None = None


@dataclass(frozen=True)
class LotTrace:
    code: str
    product_name_zh: str
    product_name_en: str
    product_slug: str
    product_active: bool
    category_zh: str
    category_en: str
    variant_name_zh: str
    grade: str
    unit_label_zh: str
    grower: Grower
    harvest_date: date
    best_before: date
    certificate_no: str
    origin: str
    origin_label_zh: str
    product_certifications: list[Certification]
    journey: list[JourneyStep]
    expired: bool
    days_left: int
    storage_label_zh: str = ""


def _certifications(raw: Sequence[dict[str, Any]] | None) -> list[Certification]:
    return [
        Certification(name=str(c.get("name") or ""), number=str(c.get("number") or ""))
        for c in raw or []
        if c.get("name")
    ]


async def lot_trace(session: AsyncSession, code: str, *, today: date | None = None) -> LotTrace:
    """The public trace of a lot; ``LotNotFound`` for an unknown code."""
    found = await repository.lot_with_context(session, code)
    if found is None:
        raise errors.LotNotFound(detail={"lot": code})
    lot, variant, product, category, supplier = found
    today = today or clock.today()
    rows = await repository.lot_journey(session, lot.id)
    journey = await _journey(session, rows)
    return LotTrace(
        code=lot.code,
        product_name_zh=product.name_zh,
        product_name_en=product.name_en,
        product_slug=product.slug,
        product_active=product.is_active,
        category_zh=category.name_zh,
        category_en=category.name_en,
        variant_name_zh=variant.name_zh,
        grade=lot.grade,
        unit_label_zh=UNIT_LABELS_ZH.get(Unit(variant.unit), ""),
        grower=Grower(
            name=public_grower_name(supplier.name, SupplierKind(supplier.kind)),
            kind_label=SupplierKind(supplier.kind).label_zh,
            township=supplier.township,
            village=supplier.village,
            certifications=_certifications(supplier.certifications) if lot.supplier_grew_it else [],
            grew_it=lot.supplier_grew_it,
        ),
        harvest_date=lot.harvest_date,
        best_before=lot.best_before,
        certificate_no=lot.certificate_no,
        origin=LotOrigin(lot.origin).value,
        origin_label_zh=ORIGIN_LABELS_ZH[LotOrigin(lot.origin)] if lot.supplier_grew_it else NOT_GROWN_ORIGIN_ZH,
        product_certifications=_certifications(product.certifications),
        journey=journey,
        expired=lot.best_before < today,
        days_left=(lot.best_before - today).days,
        storage_label_zh=StorageClass(product.storage_class).label_zh,
    )


async def _journey(session: AsyncSession, rows: Sequence[tuple[StockLedgerEntry, Location]]) -> list[JourneyStep]:
    """Ledger rows (oldest first) → journey steps, in the order they first happened.

    A transfer writes four rows (out of the source, into transit, out of transit, into the
    destination); the page shows two steps: shipped from X to Y, arrived at Y. Sales are summed per
    (day, channel, place) and corrections per (day, place), each at the position of its first row.
    """
    transfer_refs = [e.document_ref for e, _ in rows if e.document_type == "transfer"]
    transfers: dict[str, Transfer] = await repository.transfers_by_numbers(session, transfer_refs)
    location_names = {loc.id: loc.name for _, loc in rows}
    wanted = {t.from_location_id for t in transfers.values()} | {t.to_location_id for t in transfers.values()}
    missing = sorted(wanted - location_names.keys())
    location_names |= {i: loc.name for i, loc in (await repository.locations_by_ids(session, missing)).items()}

    steps: list[JourneyStep] = []
    merged: dict[tuple[object, ...], JourneyStep] = {}

    def add(key: tuple[object, ...], step: JourneyStep) -> None:
        existing = merged.get(key)
        if existing is None:
            merged[key] = step
            steps.append(step)
        elif existing.quantity is not None and step.quantity is not None:
            existing.quantity += step.quantity

    for entry, location in rows:
        kind = LedgerKind(entry.kind)
        if kind in NOT_STEPS:
            continue
        day = entry.created_at.astimezone(CHINA_TZ).date()
        moved = abs(entry.on_hand_delta)
        transfer = transfers.get(entry.document_ref) if entry.document_type == "transfer" else None
        if kind is LedgerKind.receipt:
            add(("receipt", entry.id), JourneyStep(StepKind.received, day, "入库", location.name, quantity=moved))
        elif kind in LOSS_KINDS:
            add(("loss", day, location.id), JourneyStep(StepKind.loss, day, "损耗/盘点", location.name))
        elif kind is LedgerKind.sale:
            channel = entry.channel or ""
            label = CHANNEL_LABELS_ZH.get(channel, "")
            add(
                ("sale", day, channel, location.id),
                JourneyStep(StepKind.sold, day, f"{label}售出" if label else "售出", location.name, quantity=moved),
            )
        elif transfer is not None:
            # Only the legs at the two ends are steps; the in-transit legs are bookkeeping.
            source = location_names.get(transfer.from_location_id, "")
            destination = location_names.get(transfer.to_location_id, "")
            if kind is LedgerKind.transfer_out and location.id == transfer.from_location_id:
                add(
                    ("ship", entry.document_ref),
                    JourneyStep(StepKind.shipped, day, "调拨发出", source, f"发往 {destination}", quantity=moved),
                )
            elif kind is LedgerKind.transfer_in and location.id == transfer.to_location_id:
                add(
                    ("arrive", entry.document_ref),
                    JourneyStep(StepKind.arrived, day, "调拨到达", destination, f"来自 {source}", quantity=moved),
                )
        elif location.kind is not LocationKind.in_transit:
            # A move recorded some other way than a transfer document: show the end we know.
            if kind is LedgerKind.transfer_out:
                add(("out", day, location.id), JourneyStep(StepKind.moved_out, day, "调出", location.name))
            elif kind is LedgerKind.transfer_in:
                add(("in", day, location.id), JourneyStep(StepKind.moved_in, day, "调入", location.name))
    return steps


def public_grower_name(name: str, kind: SupplierKind) -> str:
    """Co-operatives, farms and bases are named in full; a household grower is a private person,
    so the public page shows only the family name (``李**``)."""
    if kind is not SupplierKind.household or not name:
        return name
    return name[0] + "*" * max(1, min(len(name) - 1, 2))
