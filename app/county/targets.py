"""The plan's targets register: progress per target, computed from the platform's own records or
counted from evidence the centre enters, and the rules for editing targets, recording evidence and
keeping the asset register of printers and PDAs.

How progress is counted (all dates China dates, both ends inclusive). A target counts only what
falls inside its period ``[period_start, period_end]``; "as of day D" means up to
``cutoff = min(D, period_end)`` (nothing before ``period_start``):

- evidence targets: evidence records of the target's kind dated in ``[period_start, cutoff]``;
- ``new_stations``: stations created (``stations.created_at``, China date) in the period;
- ``demonstration_stations``: demonstration stations meeting the criteria (≥ 5 助农 cases, ≥ 100
  people served, ≥ 10 便民 cases) on everything recorded up to the end of ``cutoff`` — the monthly
  station report's cumulative judgement (``app.stations.reports``);
- ``label_printers``: printers in the asset register deployed in the period and not retired by
  ``cutoff``;
- ``pdas``: PDAs in the register counted the same way, **plus** station PDA device tokens issued in
  the period and live at the end of ``cutoff`` that no registered asset names. An asset may name
  the token its device was enrolled with; a named token is counted only through its asset (so a
  device is never counted twice, and a retired asset is not brought back by its token);
- ``crossborder_listings``: Alibaba.com listings online *now* that existed by ``cutoff`` (listings
  keep no state history, so an earlier quarter is read with today's state);
- ``supply_skus``: distinct supply SKUs with a wholesale sale placed in the period up to ``cutoff``;
- ``brand_stores``: brand stores with at least one POS sale in the period up to ``cutoff``.

``done_to_date`` is the count as of the report's ``end``; ``done_in_range`` is that minus the
count as of the day before ``start`` — for evidence and "created in the period" measures exactly
what happened inside the range, for states (devices in service, listings online, stations meeting
the criteria) the net change, which can be negative when devices are retired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.images import clean_upload
from app.county import errors
from app.county import targets_queries as queries
from app.county.models import Asset, AssetKind, Evidence, EvidenceKind, EvidencePhoto, Target, TargetMetric
from app.kit import clock
from app.kit.files import save_upload
from app.stations.reports import demonstration_stations_meeting_criteria

# Nothing the register holds happened before the first plan of this kind.
EARLIEST = date(2019, 1, 1)
MAX_PHOTOS = 6
MAX_TITLE = 100
MAX_PLACE = 100
MAX_SUMMARY = 2000
MAX_LINK = 300
MAX_PARTICIPANTS = 100_000
MAX_PLANNED = 1_000_000
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@dataclass(frozen=True)
class EvidenceEntry:
    id: int
    kind: str
    date: date
    title: str
    place: str
    participants: int | None
    link: str


@dataclass(frozen=True)
class TargetProgress:
    code: str
    section: str
    title: str
    unit: str
    planned: int
    period_start: date
    period_end: date
    done_in_range: int
    done_to_date: int
    met: bool
    source: str  # "computed" or "evidence"
    metric: str  # a TargetMetric (computed) or the EvidenceKind counted
    evidence: tuple[EvidenceEntry, ...]

    @property
    def period(self) -> tuple[date, date]:
        return self.period_start, self.period_end

    @property
    def percent(self) -> int:
        """Done to date as a whole percent of planned, capped at 100 (for the bar)."""
        if self.planned <= 0:
            return 100
        return max(0, min(100, self.done_to_date * 100 // self.planned))


def check_range(start: date, end: date) -> None:
    if end < start:
        raise errors.BadPeriod(detail={"start": start.isoformat(), "end": end.isoformat()})


async def measure(session: AsyncSession, target: Target, day: date) -> int:
    """The target's count as of the end of China day ``day`` (see the module docstring)."""
    cutoff = min(day, target.period_end)
    first = target.period_start
    if cutoff < first:
        return 0
    metric, kind = target.metric, target.evidence_kind
    if kind is not None:
        return await queries.evidence_count(session, kind, first, cutoff)
    since = clock.start_of_day(first)
    until = clock.start_of_day(cutoff + timedelta(days=1))
    match metric:
        case TargetMetric.new_stations:
            return await queries.stations_created(session, since, until)
        case TargetMetric.demonstration_stations:
            return len(await demonstration_stations_meeting_criteria(session, until))
        case TargetMetric.label_printers:
            return await queries.assets_in_service(session, AssetKind.printer, first, cutoff)
        case TargetMetric.pdas:
            registered = await queries.assets_in_service(session, AssetKind.pda, first, cutoff)
            return registered + await queries.unregistered_pda_tokens(session, since, until)
        case TargetMetric.crossborder_listings:
            return await queries.listings_online(session, until)
        case TargetMetric.supply_skus:
            return await queries.supply_skus_sold(session, since, until)
        case TargetMetric.brand_stores:
            return await queries.stores_with_sales(session, since, until)
        case TargetMetric.livestream_sellers:
            return await queries.sellers_incubated(session, since, until)
        case TargetMetric.agritourism_events:
            return await queries.events_attended(session, since, until)
    raise AssertionError(f"target {target.code} has no source")  # pragma: no cover - every metric is matched above


async def progress_of(session: AsyncSession, target: Target, start: date, end: date) -> TargetProgress:
    done = await measure(session, target, end)
    before = await measure(session, target, start - timedelta(days=1))
    kind = target.evidence_kind
    evidence: tuple[EvidenceEntry, ...] = ()
    first, last = max(start, target.period_start), min(end, target.period_end)
    if kind is not None and first <= last:
        evidence = tuple(
            EvidenceEntry(e.id, e.kind.value, e.happened_on, e.title, e.place, e.participants, e.link)
            for e in await queries.evidence_between(session, [kind], first, last)
        )
    return TargetProgress(
        code=target.code,
        section=target.section,
        title=target.title,
        unit=target.unit,
        planned=target.planned,
        period_start=target.period_start,
        period_end=target.period_end,
        done_in_range=done - before,
        done_to_date=done,
        met=done >= target.planned,
        source=target.source,
        metric=str(target.metric or target.evidence_kind),
        evidence=evidence,
    )


async def target_progress(session: AsyncSession, start: date, end: date) -> list[TargetProgress]:
    """Every target's progress for the range ``[start, end]`` (China dates, end inclusive, e.g. a
    quarter), in the register's order. ``done_to_date`` runs from the target's period start to
    ``end``; ``evidence`` lists the evidence records inside both the range and the period."""
    check_range(start, end)
    return [await progress_of(session, target, start, end) for target in await queries.all_targets(session)]


# ---- editing targets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetFields:
    section: str
    title: str
    unit: str
    planned: int
    period_start: date
    period_end: date
    note: str = ""


def _clean_fields(fields: TargetFields) -> TargetFields:
    section, title, unit = fields.section.strip(), fields.title.strip(), fields.unit.strip()
    if not title or len(title) > MAX_TITLE:
        raise errors.EvidenceInvalid(f"目标名称须为 1–{MAX_TITLE} 个字符", detail={"field": "title"})
    if not section or len(section) > 20:
        raise errors.EvidenceInvalid("方案条目须为 1–20 个字符，如 三(一)1", detail={"field": "section"})
    if not unit or len(unit) > 10:
        raise errors.EvidenceInvalid("单位须为 1–10 个字符，如 场、台", detail={"field": "unit"})
    if not 0 <= fields.planned <= MAX_PLANNED:
        raise errors.EvidenceInvalid(f"计划数须在 0–{MAX_PLANNED} 之间", detail={"field": "planned"})
    if fields.period_end < fields.period_start:
        raise errors.BadPeriod(detail={"field": "period_end"})
    if fields.period_start < EARLIEST or fields.period_end.year > 2100:
        raise errors.DateOutOfRange(f"期间须在 {EARLIEST.isoformat()} 之后", detail={"field": "period_start"})
    return TargetFields(
        section, title, unit, fields.planned, fields.period_start, fields.period_end, fields.note.strip()[:2000]
    )


async def target_or_404(session: AsyncSession, code: str) -> Target:
    target = await queries.target_by_code(session, code)
    if target is None:
        raise errors.TargetNotFound(detail={"code": code})
    return target


async def update_target(session: AsyncSession, code: str, fields: TargetFields, *, actor_user_id: int) -> Target:
    target = await target_or_404(session, code)
    clean = _clean_fields(fields)
    target.section, target.title, target.unit = clean.section, clean.title, clean.unit
    target.planned, target.period_start, target.period_end = clean.planned, clean.period_start, clean.period_end
    target.note = clean.note
    target.updated_at, target.updated_by_id = clock.now(), actor_user_id
    await session.flush()
    return target


async def create_target(
    session: AsyncSession,
    code: str,
    source: TargetMetric | EvidenceKind,
    fields: TargetFields,
    *,
    actor_user_id: int,
) -> Target:
    """A target for a later plan or year (e.g. ``centre_events_2023``), measured like the seeded ones."""
    code = code.strip().lower()
    if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in code):
        raise errors.EvidenceInvalid("目标编号须为 1–40 个小写字母、数字、下划线或横线", detail={"field": "code"})
    if await queries.target_by_code(session, code) is not None:
        raise errors.TargetCodeTaken(detail={"code": code})
    clean = _clean_fields(fields)
    target = Target(
        code=code,
        metric=source if isinstance(source, TargetMetric) else None,
        evidence_kind=source if isinstance(source, EvidenceKind) else None,
        section=clean.section,
        title=clean.title,
        unit=clean.unit,
        planned=clean.planned,
        period_start=clean.period_start,
        period_end=clean.period_end,
        note=clean.note,
        position=await queries.next_target_position(session),
        updated_by_id=actor_user_id,
    )
    session.add(target)
    await session.flush()
    return target


# ---- evidence -----------------------------------------------------------------------------------


def check_past_date(day: date, field: str) -> None:
    """Records are of what happened: not in the future (China today), not before :data:`EARLIEST`."""
    today = clock.today()
    if day > today or day < EARLIEST:
        raise errors.DateOutOfRange(
            f"日期须在 {EARLIEST.isoformat()} 至今天（{today.isoformat()}）之间", detail={"field": field}
        )


def _valid_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


async def record_evidence(
    session: AsyncSession,
    *,
    kind: EvidenceKind,
    happened_on: date,
    title: str,
    place: str,
    participants: int | None,
    link: str,
    summary: str,
    photos: Sequence[bytes],
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int | None,
) -> Evidence:
    """Record evidence. An event needs a place, a participant count and 1–6 photos; a film needs
    its link. Every photo is checked and re-encoded (``clean_upload``: JPEG/PNG/WebP, bounded
    size, EXIF/GPS stripped) before anything is written, so a refused record leaves nothing."""
    title, place, link, summary = title.strip(), place.strip(), link.strip(), summary.strip()
    check_past_date(happened_on, "happened_on")
    if not title or len(title) > MAX_TITLE:
        raise errors.EvidenceInvalid(f"标题须为 1–{MAX_TITLE} 个字符", detail={"field": "title"})
    if len(place) > MAX_PLACE or len(summary) > MAX_SUMMARY or len(link) > MAX_LINK:
        raise errors.EvidenceInvalid(
            f"地点最多 {MAX_PLACE} 字，简介最多 {MAX_SUMMARY} 字，链接最多 {MAX_LINK} 字", detail={"field": "summary"}
        )
    if participants is not None and not 0 <= participants <= MAX_PARTICIPANTS:
        raise errors.EvidenceInvalid(f"参与人数须在 0–{MAX_PARTICIPANTS} 之间", detail={"field": "participants"})
    if kind.is_event:
        if not place:
            raise errors.EvidenceInvalid("活动须填写地点", detail={"field": "place"})
        if participants is None:
            raise errors.EvidenceInvalid("活动须填写参与人数", detail={"field": "participants"})
        if not 1 <= len(photos) <= MAX_PHOTOS:
            raise errors.PhotoCount(detail={"photos": len(photos)})
    elif len(photos) > MAX_PHOTOS:
        raise errors.PhotoCount(f"最多上传 {MAX_PHOTOS} 张照片", detail={"photos": len(photos)})
    if kind.is_film and not link:
        raise errors.EvidenceInvalid("宣传片须填写发布链接", detail={"field": "link"})
    if link and not _valid_link(link):
        raise errors.EvidenceInvalid("链接须以 http:// 或 https:// 开头", detail={"field": "link"})
    cleaned = [await asyncio.to_thread(clean_upload, photo, max_bytes) for photo in photos]
    evidence = Evidence(
        kind=kind,
        happened_on=happened_on,
        title=title,
        place=place,
        participants=participants,
        link=link,
        summary=summary,
        created_by_id=actor_user_id,
    )
    session.add(evidence)
    await session.flush()
    folder = Path("county") / "evidence" / str(evidence.id)
    for position, clean in enumerate(cleaned, start=1):
        relative = await save_upload(uploads_dir, folder, clean.data, clean.ext)
        session.add(EvidencePhoto(evidence_id=evidence.id, path=relative.as_posix(), position=position))
    await session.flush()
    return evidence


async def evidence_or_404(session: AsyncSession, evidence_id: int) -> Evidence:
    evidence = await queries.evidence_with_photos(session, evidence_id)
    if evidence is None:
        raise errors.EvidenceNotFound(detail={"id": evidence_id})
    return evidence


async def delete_evidence(session: AsyncSession, evidence_id: int) -> Evidence:
    """A record entered by mistake is removed (its photos' rows with it; the files stay on disk
    until a clean-up, so a rolled-back delete never loses a photo)."""
    evidence = await evidence_or_404(session, evidence_id)
    await session.delete(evidence)
    await session.flush()
    return evidence


async def photo_file(session: AsyncSession, uploads_dir: Path, evidence_id: int, name: str) -> tuple[Path, str]:
    """A photo's file and type, only when a row names it under that evidence (so no other file
    under the uploads can be asked for)."""
    relative = f"county/evidence/{evidence_id}/{name}"
    photo = await queries.photo_by_path(session, relative)
    ext = name.rsplit(".", 1)[-1]
    path = uploads_dir / relative
    if photo is None or ext not in PHOTO_TYPES or not path.is_file():
        raise errors.EvidenceNotFound("找不到该照片", detail={"id": evidence_id})
    return path, PHOTO_TYPES[ext]


# ---- assets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetFields:
    station_id: int
    deployed_on: date
    retired_on: date | None
    api_token_id: int | None
    note: str = ""


async def _check_asset(session: AsyncSession, kind: AssetKind, fields: AssetFields, *, asset_id: int | None) -> None:
    if not await queries.station_exists(session, fields.station_id):
        raise errors.StationNotFound(detail={"station_id": fields.station_id})
    check_past_date(fields.deployed_on, "deployed_on")
    if fields.retired_on is not None:
        check_past_date(fields.retired_on, "retired_on")
        if fields.retired_on < fields.deployed_on:
            raise errors.BadPeriod("停用日期不能早于部署日期", detail={"field": "retired_on"})
    if len(fields.note) > 300:
        raise errors.AssetInvalid("备注最多 300 字", detail={"field": "note"})
    if fields.api_token_id is None:
        return
    if kind is not AssetKind.pda:
        raise errors.TokenNotUsable("只有 PDA 可以对应设备令牌", detail={"field": "api_token_id"})
    token = await queries.pda_token(session, fields.api_token_id)
    if token is None or token.station_id != fields.station_id:
        raise errors.TokenNotUsable(detail={"field": "api_token_id"})
    holder = await queries.asset_naming_token(session, fields.api_token_id)
    if holder is not None and holder.id != asset_id:
        raise errors.TokenAlreadyLinked(detail={"serial": holder.serial})


async def register_asset(
    session: AsyncSession, kind: AssetKind, serial: str, fields: AssetFields, *, actor_user_id: int
) -> Asset:
    serial = serial.strip().upper()
    if not serial or len(serial) > 60:
        raise errors.AssetInvalid("序列号须为 1–60 个字符", detail={"field": "serial"})
    if await queries.serial_taken(session, serial):
        raise errors.SerialTaken(detail={"serial": serial})
    await _check_asset(session, kind, fields, asset_id=None)
    asset = Asset(
        kind=kind,
        serial=serial,
        station_id=fields.station_id,
        deployed_on=fields.deployed_on,
        retired_on=fields.retired_on,
        api_token_id=fields.api_token_id,
        note=fields.note.strip(),
        updated_by_id=actor_user_id,
    )
    session.add(asset)
    await session.flush()
    return asset


async def update_asset(session: AsyncSession, asset_id: int, fields: AssetFields, *, actor_user_id: int) -> Asset:
    asset = await queries.asset_by_id(session, asset_id)
    if asset is None:
        raise errors.AssetNotFound(detail={"id": asset_id})
    await _check_asset(session, asset.kind, fields, asset_id=asset.id)
    asset.station_id, asset.deployed_on, asset.retired_on = fields.station_id, fields.deployed_on, fields.retired_on
    asset.api_token_id, asset.note = fields.api_token_id, fields.note.strip()
    asset.updated_at, asset.updated_by_id = clock.now(), actor_user_id
    await session.flush()
    return asset
