"""A failed write of an upload — the disk full, the folder not writable — is a clear error in
Chinese, and leaves nothing half-written: no file, no partial file, no row naming a file.

The failures are real where the machine allows it (a 64 KiB tmpfs mounted over the uploads, run
out of room mid-photo) and injected otherwise, since tests run as root and permissions do not stop
root: the write into the uploads fails with ENOSPC after half the photo, or the folder a photo
goes to is a file. Disk full answers 507 ``storage_full`` (room must be made, then a retry
works); a folder that cannot be written answers 503 ``storage_unavailable``.
"""

from __future__ import annotations

import errno
import io
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import ProductImage
from app.kit.models import OutboxMessage
from app.stations.models import ServiceCase
from tests.fixtures.builders import auth, make_category, make_product, make_user, token_for
from tests.web.test_station_console import Counter, counter, sign_in, submit  # noqa: F401 - fixture by name

DISK_FULL_MESSAGE = "服务器存储空间已满，文件没有保存"


def photo(size: tuple[int, int] = (40, 30)) -> bytes:
    """A PNG of noise: it does not compress, so its size is about width × height × 3 bytes."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def disk_fills_mid_write(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every write into the uploads takes half of what it is given, then fails with ENOSPC, the
    way a disk that runs out of room mid-file does. Writes elsewhere (logs, sockets) go through."""
    uploads = str(app.state.settings.uploads_dir.resolve())
    real_write = os.write
    failed: list[int] = []

    def write(fd: int, data: bytes | memoryview) -> int:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if not path.startswith(uploads):
            return real_write(fd, data)
        if not failed:
            failed.append(fd)
            return real_write(fd, memoryview(data)[: max(1, len(data) // 2)])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)
    yield failed


async def admin_and_product(session: AsyncSession) -> tuple[dict[str, str], int]:
    product = await make_product(session, category=await make_category(session))
    headers = auth(await token_for(session, await make_user(session, Role.admin)))
    return headers, product.id


async def nothing_kept(session: AsyncSession, product_id: int) -> None:
    images = await session.scalar(select(func.count()).where(ProductImage.product_id == product_id))
    thumbnails = await session.scalar(
        select(func.count()).where(OutboxMessage.payload["image_id"].as_integer().isnot(None))
    )
    assert (images, thumbnails) == (0, 0)


async def test_a_disk_full_mid_photo_is_a_507_and_leaves_no_file_and_no_row(
    client: httpx.AsyncClient, db_session: AsyncSession, app: FastAPI, disk_fills_mid_write: list[int]
) -> None:
    headers, product_id = await admin_and_product(db_session)
    uploads = app.state.settings.uploads_dir

    response = await client.post(
        f"/api/v1/admin/products/{product_id}/images",
        headers=headers,
        files={"image": ("p.png", photo(), "image/png")},
    )

    assert disk_fills_mid_write, "the write never reached the uploads"
    assert response.status_code == 507, response.text
    body = response.json()
    assert body["error"] == "storage_full" and body["message"].startswith(DISK_FULL_MESSAGE)
    assert str(uploads) not in response.text  # the server's paths stay on the server
    assert files_under(uploads / "products") == []  # half a photo was on disk; it is gone
    await nothing_kept(db_session, product_id)


async def test_a_folder_that_cannot_be_written_is_a_503_and_leaves_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, app: FastAPI
) -> None:
    headers, product_id = await admin_and_product(db_session)
    products = app.state.settings.uploads_dir / "products"
    products.mkdir(parents=True, exist_ok=True)
    (products / str(product_id)).write_bytes(b"")  # a file where the product's folder must go

    response = await client.post(
        f"/api/v1/admin/products/{product_id}/images",
        headers=headers,
        files={"image": ("p.png", photo(), "image/png")},
    )

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "storage_unavailable"
    assert "文件没有保存" in response.json()["message"]
    assert files_under(products) == [str(product_id)]
    await nothing_kept(db_session, product_id)


async def test_a_station_case_photo_on_a_full_disk_says_so_on_the_page_and_records_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    app: FastAPI,
    counter: Counter,  # noqa: F811 - the fixture imported above
    disk_fills_mid_write: list[int],
) -> None:
    await sign_in(client, counter.operator)
    posted, _ = await submit(
        client,
        "/station/cases",
        "/station/cases",
        {"kind": "assist_farmer", "title": "帮张大叔网上卖出 200 斤沙梨", "note": "", "person_phone": ""},
        files={"photo": ("field.png", photo(), "image/png")},
    )

    assert disk_fills_mid_write
    assert posted.status_code == 507, posted.text[:500]
    assert DISK_FULL_MESSAGE in posted.text and 'value="帮张大叔网上卖出 200 斤沙梨"' in posted.text
    assert files_under(app.state.settings.uploads_dir / "cases") == []
    assert await db_session.scalar(select(func.count()).where(ServiceCase.station_id == counter.station.id)) == 0


@pytest.fixture
def small_disk(app: FastAPI) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted over the uploads: a real disk that fills up (skipped where this
    machine does not let the test mount one; the injected failure above runs everywhere)."""
    uploads = app.state.settings.uploads_dir
    uploads.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(uploads)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield uploads
    finally:
        subprocess.run(["umount", "-l", str(uploads)], check=False)


async def test_a_photo_larger_than_the_room_left_on_a_real_disk_leaves_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, small_disk: Path
) -> None:
    headers, product_id = await admin_and_product(db_session)
    fits = await client.post(
        f"/api/v1/admin/products/{product_id}/images", headers=headers, files={"image": ("s.png", photo(), "image/png")}
    )
    assert fits.status_code == 201, fits.text
    kept = files_under(small_disk)
    assert len(kept) == 1

    too_big = await client.post(
        f"/api/v1/admin/products/{product_id}/images",
        headers=headers,
        files={"image": ("b.png", photo((160, 160)), "image/png")},  # ~77 KB: more than the disk
    )
    too_big_again = await client.post(
        f"/api/v1/admin/products/{product_id}/images",
        headers=headers,
        files={"image": ("b.png", photo((160, 160)), "image/png")},
    )

    assert (too_big.status_code, too_big.json()["error"]) == (507, "storage_full"), too_big.text
    assert (too_big_again.status_code, too_big_again.json()["error"]) == (507, "storage_full")
    assert files_under(small_disk) == kept  # the first photo intact, nothing of the others
    rows = (await db_session.scalars(select(ProductImage.path).where(ProductImage.product_id == product_id))).all()
    assert list(rows) == kept
