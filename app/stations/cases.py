"""Service cases (助农 / 便民) a station records for the county's demonstration reporting.

A case has a title, a note, optionally the phone of the person served (counted in the monthly
"people served", never shown) and a photo as evidence. The photo is checked like a product image —
its real format read by Pillow, JPEG / PNG / WebP only, within the size limit — and is written only
after every other field has passed, so refused input leaves no file behind.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.errors import ImageTooLarge, InvalidImage
from app.catalog.service import IMAGE_FORMATS, MAX_IMAGE_PIXELS
from app.kit.errors import InvalidInput
from app.kit.phones import normalise_cn_phone
from app.stations import repository
from app.stations.consignments import station_or_404
from app.stations.models import CaseKind, ServiceCase

MAX_TITLE = 100
MAX_NOTE = 2000


def check_photo(photo: bytes, max_bytes: int) -> str:
    """The file extension of an acceptable photo; raises ``image_too_large`` / ``invalid_image``."""
    if len(photo) > max_bytes:
        raise ImageTooLarge(f"图片不能超过 {max_bytes // 1_048_576} MB", detail={"bytes": len(photo)})
    if not photo:
        raise InvalidImage("图片文件为空")
    try:
        with Image.open(io.BytesIO(photo)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage() from exc
    if fmt not in IMAGE_FORMATS:
        raise InvalidImage()
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge("图片像素过多")
    return IMAGE_FORMATS[fmt][1]


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
        ext = check_photo(photo, max_bytes)
        relative = Path("cases") / str(station.id) / f"{uuid.uuid4().hex}.{ext}"
        target = uploads_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(photo)
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


async def station_cases(session: AsyncSession, station_id: int, *, limit: int = 100) -> list[ServiceCase]:
    return list(await repository.cases_of_station(session, station_id, limit=limit))
