"""Product photos are re-encoded: no EXIF/GPS, no bytes after the image, rotation applied; files
that are not whole images, or declare too many pixels, are refused and leave nothing behind."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image, ImageCms
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog import images
from app.catalog.models import ProductImage
from app.config import Settings
from tests.fixtures.builders import auth, make_product, make_user, token_for
from tests.fixtures.images import TRAILER, assert_clean_jpeg, declared_png, phone_jpeg
from tests.web.test_station_console import HTML, sign_in


async def test_an_uploaded_photo_loses_its_gps_and_trailing_bytes(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    product = await make_product(db_session)
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    sent = phone_jpeg((40, 20), orientation=6)
    response = await client.post(
        f"/api/v1/admin/products/{product.id}/images", headers=admin, files={"image": ("farm.jpg", sent, "image/jpeg")}
    )
    assert response.status_code == 201, response.text
    image = response.json()
    # The phone said "turn 90°": the stored pixels are upright, so the tag can go.
    assert (image["width"], image["height"]) == (20, 40)
    assert re.fullmatch(rf"/media/products/{product.id}/[0-9a-f]{{32}}\.jpg", image["url"])
    stored = (settings.uploads_dir / image["url"].removeprefix("/media/")).read_bytes()
    assert_clean_jpeg(stored, (20, 40))
    row = await db_session.scalar(select(ProductImage).where(ProductImage.id == image["id"]))
    assert row is not None and (row.content_type, row.byte_size) == ("image/jpeg", len(stored))
    # Product photos stay public, as stored.
    served = await client.get(image["url"])
    assert served.status_code == 200 and served.content == stored


async def test_the_ops_console_upload_is_cleaned_too(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    product = await make_product(db_session)
    await sign_in(client, await make_user(db_session, Role.admin))
    page = await client.get(f"/admin/products/{product.id}", headers=HTML)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    posted = await client.post(
        f"/admin/products/{product.id}/images",
        data={"csrf_token": csrf.group(1)},
        files={"image": ("farm.jpg", phone_jpeg((30, 10), orientation=1), "image/jpeg")},
    )
    assert posted.status_code == 303, posted.text
    row = await db_session.scalar(select(ProductImage).where(ProductImage.product_id == product.id))
    assert row is not None and (row.width, row.height) == (30, 10)
    assert_clean_jpeg((settings.uploads_dir / row.path).read_bytes(), (30, 10))


@pytest.mark.parametrize(
    ("upload", "status", "error"),
    [
        (("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"), 422, "invalid_image"),
        (("photo.jpg", phone_jpeg()[:200], "image/jpeg"), 422, "invalid_image"),  # cut off
        (("bomb.png", declared_png(7_000, 7_000), "image/png"), 413, "image_too_large"),
        (("bomb.png", declared_png(60_000, 60_000), "image/png"), 413, "image_too_large"),
    ],
    ids=["html", "truncated", "bomb", "huge-bomb"],
)
async def test_non_images_and_bombs_are_refused(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    upload: tuple[str, bytes, str],
    status: int,
    error: str,
) -> None:
    product = await make_product(db_session)
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    response = await client.post(f"/api/v1/admin/products/{product.id}/images", headers=admin, files={"image": upload})
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert await db_session.scalar(select(func.count()).select_from(ProductImage)) == 0
    assert not list(settings.uploads_dir.rglob("*.*"))


def _encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_formats_transparency_and_colour_profiles_survive_the_re_encoding() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    translucent = images.clean_upload(
        _encoded(Image.new("RGBA", (6, 4), (10, 200, 30, 128)), "PNG", icc_profile=srgb) + TRAILER, 10**6
    )
    with Image.open(io.BytesIO(translucent.data)) as out:
        assert (out.format, out.mode, out.getpixel((0, 0))) == ("PNG", "RGBA", (10, 200, 30, 128))
        assert "icc_profile" not in out.info
    assert translucent.data.endswith(b"IEND\xaeB`\x82")

    # An EXIF block that cannot be read does not cost the photo: it goes with the rest.
    webp = images.clean_upload(_encoded(Image.new("RGB", (6, 4), (0, 0, 255)), "WEBP", exif=b"Exif\0\0junk"), 10**6)
    with Image.open(io.BytesIO(webp.data)) as out:
        assert (webp.ext, webp.content_type, out.format) == ("webp", "image/webp", "WEBP")
        assert "exif" not in out.info

    print_shop = images.clean_upload(_encoded(Image.new("CMYK", (6, 4), (0, 255, 255, 0)), "JPEG"), 10**6)
    with Image.open(io.BytesIO(print_shop.data)) as out:
        assert out.mode == "RGB"
        red, green, blue = out.getpixel((0, 0))
        assert red > 200 and green < 40 and blue < 40
