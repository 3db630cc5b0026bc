"""Uploaded photos (product images, station case photos): checked, then re-encoded — never kept
byte for byte.

A phone photo carries EXIF (GPS position, time, device) and a file can carry anything after the
image's end (a second file, a script). :func:`clean_upload` decodes the upload and writes a new
file from its pixels alone, so neither survives:

- the real format is read by Pillow (JPEG, PNG, WebP; the file name and declared type are ignored)
  and the pixel count is bounded *before* decoding (a small file can declare a huge canvas — a
  decompression bomb), both a clear 4xx;
- the EXIF orientation is applied to the pixels (``ImageOps.exif_transpose``), since the tag that
  told viewers to rotate is gone afterwards;
- no metadata is kept: EXIF/GPS, XMP, comments, text chunks, ICC profile. A photo with a colour
  profile (phones shoot Display P3) is first converted to sRGB, which is what a browser assumes for
  an image without one, so colours stay right without carrying the profile;
- the pixels go into a fresh image and are saved in the upload's own format (JPEG quality 90, PNG,
  WebP quality 90); an animated PNG or WebP keeps its first frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

from app.catalog.errors import ImageTooLarge, InvalidImage

if TYPE_CHECKING:
    from PIL import Image, ImageCms

# Pillow is imported by the functions that use it: a web worker loads it with its first upload,
# not at start-up (issue 15's memory goal), however many modules import ``clean_upload``.

IMAGE_FORMATS: Final = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_IMAGE_PIXELS: Final = 40_000_000
QUALITY: Final = 90


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    ext: str
    width: int
    height: int


def clean_upload(content: bytes, max_bytes: int) -> CleanImage:
    """The upload re-encoded without metadata or trailing bytes; raises ``image_too_large`` (413:
    too many bytes or pixels) or ``invalid_image`` (422: not a whole JPEG / PNG / WebP)."""
    from PIL import Image

    if len(content) > max_bytes:
        raise ImageTooLarge(f"图片不能超过 {max_bytes // 1_048_576} MB", detail={"bytes": len(content)})
    if not content:
        raise InvalidImage("图片文件为空")
    try:
        with Image.open(io.BytesIO(content)) as probe:
            fmt = _checked_format(probe)
            probe.verify()  # checksums and structure, without decoding the pixels
        with Image.open(io.BytesIO(content)) as opened:
            _checked_format(opened)
            opened.load()
            pixels = _pixels(opened)
    except (ImageTooLarge, InvalidImage):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("图片像素过多") from exc
    except Exception as exc:
        # Whatever a decoder trips over in a hostile file (bad EXIF included) makes it no image we
        # keep: a 422, never a 500.
        raise InvalidImage() from exc
    content_type, ext = IMAGE_FORMATS[fmt]
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, "JPEG", quality=QUALITY)
    elif fmt == "WEBP":
        pixels.save(out, "WEBP", quality=QUALITY)
    else:
        pixels.save(out, "PNG")
    return CleanImage(out.getvalue(), content_type, ext, pixels.width, pixels.height)


def _checked_format(image: Image.Image) -> str:
    fmt = image.format or ""
    if fmt not in IMAGE_FORMATS:
        raise InvalidImage()
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge("图片像素过多", detail={"width": image.width, "height": image.height})
    return fmt


def _pixels(image: Image.Image) -> Image.Image:
    """Upright sRGB pixels (L, RGB or RGBA) in a new image that holds nothing else."""
    from PIL import Image, ImageOps

    icc = image.info.get("icc_profile")
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:
        # EXIF that cannot be read (phones and editors write broken blocks) tells no orientation;
        # it is dropped with the rest, and the photo is kept as its pixels stand.
        image = image.copy()
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        image = _to_srgb(image, icc)
    mode = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB")
    if image.mode != mode:
        image = image.convert(mode)
    clean = Image.new(mode, image.size)
    clean.paste(image)
    return clean


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from their embedded profile to sRGB; unchanged when the profile cannot
    be used (they are then shown as sRGB, as a browser would show them without it)."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, profile, _srgb(), outputMode=mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
