"""Files the app keeps under ``APP_DATA_DIR`` (uploaded photos, thumbnails): each one whole or not
at all.

A file is written under a temporary name in its own folder, flushed to disk and only then renamed
to its real name, so a reader, a backup or a database row never sees half a photo. When the disk
is full or the folder cannot be written, the temporary file is removed and the caller gets an
:class:`~app.kit.errors.AppError` (507 ``storage_full`` or 503 ``storage_unavailable``) before it
has written any row that would name the file.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import uuid
from pathlib import Path

from app.kit.errors import AppError, StorageFull, StorageUnavailable

log = logging.getLogger(__name__)

# Out of room rather than out of rights: trying again after a clean-up works.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def write_whole(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (its folder made if missing) so that ``target`` is only ever a
    complete file; on failure nothing new is left in the folder and a storage error is raised."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    written = partial
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        written = target  # a failure from here on is reported too: the caller keeps no row for it
        _sync_folder(target.parent)
    except OSError as exc:
        try:
            written.unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove %s after a failed write", written)
        raise storage_error(exc, target) from exc


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable: a crash right after it keeps the new name."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def storage_error(exc: OSError, target: Path) -> AppError:
    log.error("could not write %s: %s", target, exc)
    return StorageFull() if exc.errno in DISK_FULL else StorageUnavailable()


async def save_upload(uploads_dir: Path, folder: Path, data: bytes, ext: str) -> Path:
    """Keep an uploaded file as ``folder/{uuid}.{ext}`` under ``uploads_dir``, written whole (off
    the event loop); returns the path relative to ``uploads_dir``, the one rows store."""
    relative = folder / f"{uuid.uuid4().hex}.{ext}"
    await asyncio.to_thread(write_whole, uploads_dir / relative, data)
    return relative
