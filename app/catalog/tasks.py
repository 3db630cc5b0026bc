"""Background work of the catalog domain."""

from __future__ import annotations

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
    thumb = service.thumbnail_path(image.path)
    service.make_thumbnail(uploads / image.path, uploads / thumb)
    image.thumb_path = thumb
    await session.flush()
