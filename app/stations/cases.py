"""Service cases (助农 / 便民) a station records for the county's demonstration reporting.

A case has a title, a note, optionally the phone of the person served (counted in the monthly
"people served", never shown) and a photo as evidence. The photo is handled like a product image
(``app.catalog.images.clean_upload``: real format JPEG / PNG / WebP, size and pixels bounded,
re-encoded without EXIF/GPS or trailing bytes) and is written only after every other field has
passed, so refused input leaves no file behind. Case photos are not public: they are served by
``GET /media/cases/{station_id}/{file}`` to the county staff and that station's operator only.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.accounts.models import Role
from app.catalog.images import clean_upload
from app.kit.errors import InvalidInput, NotFound
from app.kit.files import save_upload
from app.kit.phones import normalise_cn_phone
from app.stations import repository
from app.stations.consignments import station_or_404
from app.stations.models import CaseKind, ServiceCase

MAX_TITLE = 100
MAX_NOTE = 2000
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# The names record_case gives photos: a uuid4 hex and the extension of the re-encoded format.
_PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
# Who sees every station's case photos; a station operator sees its own station's.
_ALL_STATIONS = frozenset({Role.admin, Role.warehouse})


class CasePhotoNotFound(NotFound):
    code = "case_photo_not_found"
    message = "找不到该照片"


async def record_case(
    session: AsyncSession,
    *,
    station_id: int,
    kind: CaseKind,
    title: str,
    note: str,
    person_phone: str | None,
    photo: bytes | None,
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int | None,
) -> ServiceCase:
    """Record a 助农 or 便民 case at a station; the photo goes to ``uploads/cases/{station_id}/``."""
    station = await station_or_404(session, station_id)
    title = title.strip()
    note = note.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"案例标题须为 1–{MAX_TITLE} 个字符", detail={"field": "title"})
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"案例说明最多 {MAX_NOTE} 个字符", detail={"field": "note"})
    phone: str | None = None
    if person_phone is not None and person_phone.strip():
        try:
            phone = normalise_cn_phone(person_phone)
        except ValueError as exc:
            raise InvalidInput(str(exc), detail={"field": "person_phone"}) from exc
    relative: Path | None = None
    if photo is not None:
        clean = await asyncio.to_thread(clean_upload, photo, max_bytes)  # CPU work: off the event loop
        relative = await save_upload(uploads_dir, Path("cases") / str(station.id), clean.data, clean.ext)
    case = ServiceCase(
        station_id=station.id,
        kind=kind,
        title=title,
        note=note,
        person_phone=phone,
        photo_path=relative.as_posix() if relative else None,
        created_by_id=actor_user_id,
    )
    session.add(case)
    await session.flush()
    return case


def case_photo_file(uploads_dir: Path, *, station_id: int, name: str, viewer: Principal) -> tuple[Path, str]:
    """The file and content type of a case photo (``cases/{station_id}/{name}`` under the uploads)
    that ``viewer`` may see: county staff (admin, warehouse) any station's, a station operator only
    its own station's. Anything else — another station, another role, a name record_case never
    gives, a missing file — is the same 404, so a photo's existence is not told either.

    The station in the path is the case's station: record_case writes each photo under its case's
    station, and the name pattern keeps the path inside that folder."""
    allowed = viewer.role in _ALL_STATIONS or (
        viewer.role is Role.station_operator and viewer.station_id is not None and viewer.station_id == station_id
    )
    match = _PHOTO_NAME.fullmatch(name)
    if not allowed or match is None:
        raise CasePhotoNotFound()
    path = uploads_dir / "cases" / str(station_id) / name
    if not path.is_file():
        raise CasePhotoNotFound()
    return path, PHOTO_TYPES[match.group(1)]


async def station_cases(session: AsyncSession, station_id: int, *, limit: int = 100) -> list[ServiceCase]:
    return list(await repository.cases_of_station(session, station_id, limit=limit))
