"""Background work of the catalog domain."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, service
from app.config import get_settings
from app.worker import outbox_task


@outbox_task(service.THUMBNAIL_TASK)
async def make_thumbnail(session: AsyncSession, image_id: int) -> None:
    """Make the 480 px JPEG thumbnail listings show; a deleted image needs none."""
    image = await repository.image_by_id(session, image_id)
    if image is None:
        return
    uploads = get_settings().uploads_dir
    thumb = Path(image.path).with_name(Path(image.path).stem + "-480.jpg")
    service.make_thumbnail(uploads / image.path, uploads / thumb)
    image.thumb_path = thumb.as_posix()
    await session.flush()
