"""Pictures of the demo products, drawn by the project with Pillow when the demo is loaded.

No photo is downloaded and none is shipped: each demo product gets a simple illustration of what
it is (loquats and their leaves, a honey jar, a tin of tea …) on a background in the brand's
colours, which are read from the site's stylesheet (``:root`` of ``storefront/static/site.css``),
the one place they are defined. The product's Chinese name goes on a label in the machine's own CJK font
when there is one (Noto / WenQuanYi / Droid fallback, PingFang, Microsoft YaHei), else in the face
the project ships for its PDFs (``app/kit/fonts``), so every machine writes it, never boxes.

Pictures are drawn at twice their size and scaled down (Pillow does not anti-alias shapes), from a
seeded random generator, so the same product always gets the same picture. They are JPEG bytes
that the demo stores through the same pipeline as an uploaded photo (``catalog.service.add_image``).
"""

from __future__ import annotations

import io
import math
import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFilter, ImageFont

WIDTH: Final[int] = 960
HEIGHT: Final[int] = 720
SCALE: Final[int] = 2  # drawn at twice the size, then scaled down: smooth edges
QUALITY: Final[int] = 88
STYLESHEET: Final[Path] = Path(__file__).resolve().parent.parent / "storefront" / "static" / "site.css"

RGB = tuple[int, int, int]
Point = tuple[float, float]

# Fonts a user has without installing anything as root (system packages, macOS, Windows), each
# a collection or file holding Simplified Chinese.
CJK_FONT_FILES: Final[tuple[str, ...]] = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    # Last: the face the project ships for its PDFs, so every machine can write the names.
    str(Path(__file__).resolve().parent / "kit" / "fonts" / "NotoSansSC-Regular-GBK.ttf"),
)


# ---- colours ------------------------------------------------------------------------------------


def _hex(value: str) -> RGB:
    value = value.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@lru_cache(maxsize=1)
def brand_colours() -> dict[str, RGB]:
    """The stylesheet's ``:root`` custom properties (``--g`` brand green, ``--gd`` its dark shade,
    ``--lf`` leaf tint, ``--e`` earth, ``--l`` / ``--l2`` paper) and the page background as ``bg``."""
    css = STYLESHEET.read_text(encoding="utf-8")
    root = re.search(r":root\{([^}]*)\}", css)
    if root is None:
        raise RuntimeError(f"no :root colours in {STYLESHEET}")
    colours = {name: _hex(value) for name, value in re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root[1])}
    body = re.search(r"body\{[^}]*background:\s*(#[0-9a-fA-F]{3,6})", css)
    colours["bg"] = _hex(body[1]) if body else colours["l2"]
    return colours


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """``a`` moved ``t`` (0–1) of the way towards ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


WHITE: Final[RGB] = (255, 255, 255)
BLACK: Final[RGB] = (0, 0, 0)


# ---- drawing ------------------------------------------------------------------------------------


def _px(value: float) -> int:
    """Logical units to pixels of the double-size drawing."""
    return round(value * SCALE)


class Sprite:
    """An RGBA drawing of one thing, in logical units (scaled by ``SCALE``), centred on its box."""

    def __init__(self, width: float, height: float) -> None:
        self.image = Image.new("RGBA", (_px(width), _px(height)), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)
        self.width = width
        self.height = height

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return _px(x0), _px(y0), _px(x1), _px(y1)

    def points(self, points: Sequence[Point]) -> list[tuple[int, int]]:
        return [(_px(x), _px(y)) for x, y in points]


def shaded(mask: Image.Image, light: RGB, dark: RGB, *, focus: Point = (0.35, 0.3), spread: float = 1.5) -> Image.Image:
    """An RGBA image of ``mask``'s shape lit from ``focus`` (fractions of its box): ``light`` there,
    ``dark`` towards the far edge — a round thing under a window."""
    width, height = mask.size
    gradient = Image.radial_gradient("L").resize((round(width * spread * 2), round(height * spread * 2)))
    left = round(width * spread - width * focus[0])
    top = round(height * spread - height * focus[1])
    ramp = gradient.crop((left, top, left + width, top + height))
    fill = Image.composite(Image.new("RGB", mask.size, dark), Image.new("RGB", mask.size, light), ramp)
    out = fill.convert("RGBA")
    out.putalpha(mask)
    return out


def ellipse_mask(width: float, height: float) -> Image.Image:
    mask = Image.new("L", (_px(width), _px(height)), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, _px(width) - 1, _px(height) - 1), fill=255)
    return mask


def gloss(image: Image.Image, at: Point, size: Point, strength: int = 150) -> None:
    """A soft white highlight (the shine on a fruit or on glass)."""
    width, height = image.size
    spot = Image.new("L", image.size, 0)
    x, y = at[0] * width, at[1] * height
    rx, ry = size[0] * width / 2, size[1] * height / 2
    ImageDraw.Draw(spot).ellipse((x - rx, y - ry, x + rx, y + ry), fill=strength)
    spot = spot.filter(ImageFilter.GaussianBlur(max(rx, ry) * 0.45))
    alpha = image.getchannel("A")
    shine = Image.new("RGBA", image.size, (*WHITE, 0))
    shine.putalpha(Image.composite(spot, Image.new("L", image.size, 0), alpha))
    image.alpha_composite(shine)


class Picture:
    """A 960 × 720 picture being drawn (at twice the size)."""

    def __init__(self, top: RGB, bottom: RGB, seed: str) -> None:
        self.image = Image.new("RGBA", (_px(WIDTH), _px(HEIGHT)))
        draw = ImageDraw.Draw(self.image)
        for y in range(self.image.height):  # a soft vertical wash
            draw.line((0, y, self.image.width, y), fill=(*mix(top, bottom, y / self.image.height), 255))
        self.rng = random.Random(seed)

    def halo(self, cx: float, cy: float, r: float, colour: RGB, alpha: int = 120) -> None:
        """A soft round glow behind the subject."""
        layer = Image.new("L", self.image.size, 0)
        ImageDraw.Draw(layer).ellipse((_px(cx - r), _px(cy - r), _px(cx + r), _px(cy + r)), fill=alpha)
        layer = layer.filter(ImageFilter.GaussianBlur(_px(r * 0.18)))
        glow = Image.new("RGBA", self.image.size, (*colour, 0))
        glow.putalpha(layer)
        self.image.alpha_composite(glow)

    def place(self, sprite: Image.Image, cx: float, cy: float, *, angle: float = 0.0, shadow: float = 0.28) -> None:
        """Paste ``sprite`` centred on (cx, cy), turned ``angle`` degrees anticlockwise, over a soft
        shadow cast down and to the right."""
        if angle:
            sprite = sprite.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        x = _px(cx) - sprite.width // 2
        y = _px(cy) - sprite.height // 2
        if shadow:
            pad = _px(24)
            alpha = Image.new("L", (sprite.width + 2 * pad, sprite.height + 2 * pad), 0)
            alpha.paste(sprite.getchannel("A"), (pad, pad))
            alpha = alpha.filter(ImageFilter.GaussianBlur(_px(9))).point(lambda v: round(v * shadow))
            dark = Image.new("RGBA", alpha.size, (40, 32, 20, 0))
            dark.putalpha(alpha)
            self.image.alpha_composite(dark, (x - pad + _px(10), y - pad + _px(14)))
        self.image.alpha_composite(sprite, (x, y))

    def label(self, text: str, colour: RGB, ink: RGB) -> None:
        """The product's name on a tag at the bottom, when a CJK font is at hand; centred, so it
        survives the narrower centred crop a phone's product list shows."""
        font = cjk_font(_px(40))
        if font is None or not text:
            return
        draw = ImageDraw.Draw(self.image)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad_x, pad_y = _px(22), _px(12)
        width = (right - left) + 2 * pad_x
        x0, y0 = (self.image.width - width) // 2, _px(HEIGHT - 18) - (bottom - top) - 2 * pad_y
        box = (x0, y0, x0 + width, y0 + (bottom - top) + 2 * pad_y)
        draw.rounded_rectangle(box, radius=_px(10), fill=(*colour, 235))
        draw.text((x0 + pad_x - left, y0 + pad_y - top), text, font=font, fill=(*ink, 255))

    def jpeg(self) -> bytes:
        small = self.image.convert("RGB").resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
        return out.getvalue()


@lru_cache(maxsize=4)
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A Simplified Chinese face from the first font file found, or None."""
    for path in CJK_FONT_FILES:
        if not Path(path).is_file():
            continue
        for index in range(8):  # collections hold one face per region; take the SC one
            try:
                font = ImageFont.truetype(path, size, index=index)
            except OSError:
                break
            family = " ".join(str(part) for part in font.getname())
            if "SC" in family or "CJK" not in family:
                return font
    return None


def polygon_mask(width: float, height: float, points: Sequence[Point]) -> Image.Image:
    mask = Image.new("L", (_px(width), _px(height)), 0)
    ImageDraw.Draw(mask).polygon([(_px(x), _px(y)) for x, y in points], fill=255)
    return mask


def draw_inside(image: Image.Image, paint: Callable[[ImageDraw.ImageDraw], None]) -> None:
    """Draw with ``paint`` on ``image``, keeping only what falls inside its shape (rings on a
    corm, sheath edges on a shoot)."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    paint(ImageDraw.Draw(layer))
    clipped = Image.composite(layer, Image.new("RGBA", image.size, (0, 0, 0, 0)), image.getchannel("A"))
    image.alpha_composite(clipped)


# ---- things -------------------------------------------------------------------------------------


def ball(width: float, height: float, light: RGB, dark: RGB, *, shine: int = 120) -> Image.Image:
    image = shaded(ellipse_mask(width, height), light, dark)
    if shine:
        gloss(image, (0.33, 0.28), (0.28, 0.2), shine)
    return image


def leaf(length: float, width: float, colour: RGB, *, serrated: bool = False, stalk: float = 0.12) -> Image.Image:
    """A leaf pointing right, its stalk on the left; the lower half a shade darker, with veins."""
    sprite = Sprite(length * (1 + stalk), width * 1.1)
    mid = sprite.height / 2
    base = length * stalk
    top: list[Point] = []
    steps = 48
    for i in range(steps + 1):
        t = i / steps
        half = width / 2 * math.sin(math.pi * t) ** 0.8 * (1 - 0.15 * t)
        if serrated and 0.08 < t < 0.95:
            half *= 0.94 if i % 2 else 1.0
        top.append((base + t * length, mid - half))
    bottom = [(x, 2 * mid - y) for x, y in reversed(top)]
    dark = mix(colour, BLACK, 0.22)
    sprite.draw.polygon(sprite.points(top + bottom), fill=(*colour, 255))
    sprite.draw.polygon(sprite.points([(base, mid), *bottom]), fill=(*dark, 255))
    vein = (*mix(colour, WHITE, 0.35), 255)
    sprite.draw.line(sprite.points([(0, mid), (base + length * 0.97, mid)]), fill=vein, width=_px(width * 0.035))
    for i in range(1, 8):
        t = i / 8.5
        x = base + t * length
        reach = width / 2 * math.sin(math.pi * t) ** 0.8 * 0.8
        for sign in (-1, 1):
            sprite.draw.line(
                sprite.points([(x, mid), (x + reach * 0.7, mid + sign * reach)]),
                fill=(*mix(colour, WHITE, 0.2), 200),
                width=_px(width * 0.015),
            )
    return sprite.image


def capsule(length: float, thickness: float, light: RGB, dark: RGB) -> Image.Image:
    """A rounded bar (a sausage, a strip), lying along x."""
    mask = Image.new("L", (_px(length), _px(thickness)), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, mask.width - 1, mask.height - 1), radius=_px(thickness / 2), fill=255)
    return shaded(mask, light, dark, focus=(0.4, 0.2), spread=1.2)


def speckle(
    image: Image.Image, rng: random.Random, count: int, colours: Sequence[RGB], size: tuple[float, float]
) -> None:
    """Small dots inside the image's shape (pores, grains, fat)."""
    alpha = image.getchannel("A")
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(count):
        x, y = rng.uniform(0, width - 1), rng.uniform(0, height - 1)
        if alpha.getpixel((int(x), int(y))) < 250:  # type: ignore[operator]
            continue
        r = _px(rng.uniform(*size))
        colour = rng.choice(colours)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, 255))


# ---- the products -------------------------------------------------------------------------------


def _loquat(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 300, WHITE, 110)
    green = mix(c["g"], (70, 120, 60), 0.5)
    p.place(leaf(420, 150, green, serrated=True), 330, 250, angle=28)
    p.place(leaf(380, 135, mix(green, BLACK, 0.1), serrated=True), 660, 240, angle=160)
    p.place(leaf(300, 110, mix(green, WHITE, 0.08), serrated=True), 700, 520, angle=-150)
    spots = [(400, 410, 200, 220, -8), (560, 390, 190, 210, 10), (470, 525, 185, 200, 4), (640, 525, 170, 190, -12),
             (330, 540, 170, 185, 14)]
    for x, y, w, h, tilt in spots:
        fruit = ball(w, h, (255, 196, 70), (214, 118, 24), shine=140)
        speckle(fruit, p.rng, 40, [(226, 150, 50), (240, 170, 60)], (1.2, 2.5))
        end = Sprite(w, h)
        end.draw.ellipse(end.box(w / 2 - 14, h - 34, w / 2 + 14, h - 14), fill=(96, 62, 32, 255))
        fruit.alpha_composite(end.image)
        p.place(fruit, x, y, angle=tilt)


def _bayberry(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 390, 300, WHITE, 110)
    green = mix(c["g"], (60, 110, 50), 0.4)
    p.place(leaf(330, 100, green), 300, 260, angle=35)
    p.place(leaf(300, 95, mix(green, BLACK, 0.12)), 650, 250, angle=150)
    for x, y, r in [(390, 430, 190), (560, 410, 200), (470, 560, 180), (650, 560, 170), (300, 570, 160)]:
        berry = ball(r, r, (196, 36, 66), (84, 8, 32), shine=0)
        rng = p.rng

        def bumps(draw: ImageDraw.ImageDraw, r: float = r, rng: random.Random = rng) -> None:
            # The bayberry's skin is a mass of small rounded bumps, each catching a little light.
            for _ in range(int(r * 2.4)):
                x0, y0 = rng.uniform(0, r), rng.uniform(0, r)
                size = rng.uniform(4.5, 7.5)
                light = 0.55 - 0.5 * math.hypot(x0 - r * 0.33, y0 - r * 0.28) / r
                draw.ellipse((_px(x0 - size), _px(y0 - size), _px(x0 + size), _px(y0 + size)),
                             fill=(90, 6, 30, 110))
                dot = size * 0.55
                draw.ellipse((_px(x0 - dot - 1.5), _px(y0 - dot - 1.5), _px(x0 + dot - 1.5), _px(y0 + dot - 1.5)),
                             fill=(*mix((200, 50, 80), (255, 170, 180), max(0.0, light)), 150))

        draw_inside(berry, bumps)
        gloss(berry, (0.33, 0.28), (0.24, 0.17), 110)
        p.place(berry, x, y)


def _pear(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 310, WHITE, 110)
    for x, y, w, tilt in [(360, 440, 300, -6), (610, 430, 320, 8)]:
        pear = ball(w, w * 0.92, (226, 178, 96), (150, 96, 38), shine=110)
        speckle(pear, p.rng, 260, [(244, 214, 150), (170, 118, 56)], (1.5, 3.0))
        stem = Sprite(w, w * 0.92)
        stem.draw.line(stem.points([(w / 2, w * 0.1), (w / 2 + 10, -w * 0.02)]), fill=(92, 60, 30, 255),
                       width=_px(10))
        canvas = Image.new("RGBA", (pear.width, pear.height + _px(40)), (0, 0, 0, 0))
        canvas.alpha_composite(pear, (0, _px(40)))
        top = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        ImageDraw.Draw(top).line(((canvas.width // 2, _px(60)), (canvas.width // 2 + _px(12), 0)),
                                 fill=(92, 60, 30, 255), width=_px(10))
        canvas.alpha_composite(top)
        p.place(canvas, x, y, angle=tilt)
    p.place(leaf(220, 90, mix(c["g"], (80, 130, 60), 0.5)), 690, 230, angle=40)


def _taro(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 390, 310, WHITE, 100)
    skin_light, skin_dark = (150, 112, 80), (80, 56, 38)
    for x, y, w, h, tilt in [(380, 400, 270, 330, 12), (560, 430, 250, 300, -10)]:
        corm = ball(w, h, skin_light, skin_dark, shine=50)

        def rings(draw: ImageDraw.ImageDraw, width: int = corm.width, height: int = corm.height) -> None:
            for i in range(1, 7):  # the leaf-scar rings around a taro corm
                yy = height * i / 7
                draw.arc((width * -0.1, yy - height * 0.08, width * 1.1, yy + height * 0.08),
                         0, 180, fill=(62, 42, 28, 230), width=_px(4))

        draw_inside(corm, rings)
        speckle(corm, p.rng, 300, [(60, 40, 26), (170, 132, 98)], (1.0, 2.2))
        p.place(corm, x, y, angle=tilt)
    half = shaded(ellipse_mask(260, 200), (250, 244, 236), (214, 200, 200), focus=(0.4, 0.3))
    speckle(half, p.rng, 420, [(150, 100, 160), (176, 130, 186)], (1.0, 2.4))
    rim = Sprite(260, 200)
    rim.draw.ellipse(rim.box(2, 2, 258, 198), outline=(110, 78, 56, 255), width=_px(9))
    half.alpha_composite(rim.image)
    p.place(half, 640, 560)


def _spindle(length: float, thickness: float) -> list[Point]:
    """The outline of a tuber lying along x: fat in the middle, tapering to a root at each end."""
    top: list[Point] = []
    for i in range(41):
        t = i / 40
        half = thickness / 2 * math.sin(math.pi * t) ** 0.75 * (1 + 0.12 * math.sin(3 * math.pi * t))
        top.append((t * length, thickness / 2 - half + 0.08 * thickness * math.sin(math.pi * t)))
    bottom = [(x, thickness - y + 0.16 * thickness * math.sin(math.pi * x / length)) for x, y in reversed(top)]
    return top + bottom


def _sweet_potato(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 390, 320, WHITE, 100)
    for x, y, tilt in [(430, 370, 16), (570, 470, -12)]:
        tuber = shaded(polygon_mask(460, 190, _spindle(460, 170)), (190, 72, 88), (104, 28, 46), focus=(0.4, 0.25))
        gloss(tuber, (0.45, 0.3), (0.4, 0.14), 70)
        speckle(tuber, p.rng, 90, [(140, 44, 60), (206, 104, 110)], (1.0, 2.0))
        p.place(tuber, x, y, angle=tilt)
    cut = shaded(ellipse_mask(190, 170), (255, 214, 110), (236, 160, 50), focus=(0.4, 0.3))
    ring = Sprite(190, 170)
    ring.draw.ellipse(ring.box(2, 2, 188, 168), outline=(150, 46, 62, 255), width=_px(10))
    cut.alpha_composite(ring.image)
    p.place(cut, 320, 560)


def _sausage(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 320, WHITE, 100)
    for i, (x, y, tilt) in enumerate([(470, 300, 8), (500, 390, 4), (450, 480, -2), (520, 570, -6)]):
        link = capsule(560, 80, (178, 52, 44), (96, 22, 22))
        speckle(link, p.rng, 160, [(236, 214, 196), (210, 170, 150)], (1.2, 3.0))
        gloss(link, (0.5, 0.25), (0.8, 0.18), 90)
        draw = ImageDraw.Draw(link)
        for end in (0.06, 0.94):  # the string ties
            x0 = link.width * end
            draw.line(((x0, 0), (x0, link.height)), fill=(236, 228, 206, 255), width=_px(6))
        p.place(link, x + (20 if i % 2 else -20), y, angle=tilt)


def _layer_edge(level: float, phase: float, *, reverse: bool) -> list[Point]:
    """One boundary between layers of a 540 × 160 pork belly strip, a little wavy inside."""
    wobble = 0.0 if level in (0.0, 1.0) else 5.0
    points = [(540 * i / 30, 160 * level + wobble * math.sin(540 * i / 30 / 40 + phase + level * 9)) for i in range(31)]
    return points[::-1] if reverse else points


def _cured_pork(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 320, WHITE, 100)
    # Rind, then fat and lean in turn, each boundary a little wavy like a real belly strip.
    layers = [(112, 58, 26), (226, 182, 116), (132, 46, 34), (214, 166, 104), (120, 40, 30)]
    bounds = [0.0, 0.16, 0.4, 0.58, 0.72, 1.0]
    for x, y, tilt, phase in [(420, 320, 9, 0.0), (545, 470, -5, 1.7)]:
        strip = Sprite(540, 160)
        for k, colour in enumerate(layers):
            outline = _layer_edge(bounds[k], phase, reverse=False) + _layer_edge(bounds[k + 1], phase, reverse=True)
            strip.draw.polygon(strip.points(outline), fill=(*colour, 255))
        mask = Image.new("L", strip.image.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, mask.width - 1, mask.height - 1), radius=_px(16), fill=255)
        strip.image.putalpha(mask)
        gloss(strip.image, (0.45, 0.22), (0.75, 0.22), 70)
        strip.draw.ellipse(strip.box(22, 20, 42, 40), fill=(70, 40, 20, 255))  # where the string goes through
        p.place(strip.image, x, y, angle=tilt)


def _grain(x: float, y: float, length: float, angle: float) -> list[Point]:
    """A rice grain (a pointed oval) at (x, y), pointing ``angle`` radians from the x axis."""
    out: list[Point] = []
    for k in range(16):
        a = 2 * math.pi * k / 16
        u, v = length / 2 * math.cos(a), length / 5 * math.sin(a) * (1 - 0.3 * math.cos(a))
        out.append((x + u * math.cos(angle) - v * math.sin(angle), y + u * math.sin(angle) + v * math.cos(angle)))
    return out


def _rice(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 390, 320, WHITE, 110)
    ear = Sprite(220, 440)
    stem = [(60 + 50 * (1 - math.cos(t / 20 * math.pi / 2)) * 1.4, 430 - 390 * math.sin(t / 20 * math.pi / 2))
            for t in range(21)]
    ear.draw.line(ear.points(stem), fill=(178, 140, 56, 255), width=_px(5), joint="curve")
    for i in range(8, 21):  # grains along the nodding upper half, pointing up and out
        (x0, y0), (x1, y1) = stem[i - 1], stem[i]
        along = math.atan2(y1 - y0, x1 - x0)
        for sign in (-1, 1):
            tilt = along + sign * 0.55
            gx, gy = x1 + 14 * math.cos(tilt), y1 + 14 * math.sin(tilt)
            shade = mix((240, 198, 90), (196, 146, 48), ((i + (sign > 0)) % 3) / 3)
            ear.draw.polygon(ear.points(_grain(gx, gy, 36, tilt)), fill=(*shade, 255))
    p.place(ear.image, 250, 330, angle=12, shadow=0.15)
    p.place(ear.image, 300, 350, angle=-4, shadow=0.15)
    width, height, rim_y, rim_h = 480.0, 380.0, 150.0, 90.0
    bowl = Sprite(width, height)
    rim = (0.0, rim_y - rim_h / 2, width, rim_y + rim_h / 2)
    heap_mask = Image.new("L", bowl.image.size, 0)
    heap_draw = ImageDraw.Draw(heap_mask)
    heap_draw.pieslice(bowl.box(36, 20, width - 36, 2 * rim_y - 20), 180, 360, fill=255)  # the dome of rice
    heap_draw.ellipse(bowl.box(*rim), fill=255)  # and its surface in the bowl's mouth
    heap = shaded(heap_mask, (255, 255, 250), (206, 202, 186), focus=(0.4, 0.2), spread=1.1)
    speckle(heap, p.rng, 1400, [(255, 255, 255), (222, 218, 200), (240, 238, 226)], (1.8, 3.0))
    body_mask = Image.new("L", bowl.image.size, 0)
    body_draw = ImageDraw.Draw(body_mask)
    body_draw.chord(bowl.box(0, rim_y - (height - rim_y), width, height), 0, 180, fill=255)
    body_draw.pieslice(bowl.box(*rim), 0, 180, fill=0)  # the mouth: rice shows above the front rim
    china = shaded(body_mask, (246, 248, 248), (170, 178, 186), focus=(0.3, 0.8), spread=1.1)
    ImageDraw.Draw(china).arc(bowl.box(16, rim_y - 20, width - 16, rim_y + 120), 18, 162, fill=(*c["g"], 255),
                              width=_px(9))
    bowl.image.alpha_composite(heap)
    bowl.image.alpha_composite(china)
    bowl.draw.arc(bowl.box(*rim), 0, 180, fill=(196, 202, 208, 255), width=_px(5))
    p.place(bowl.image, 560, 450)


def _tea(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 320, WHITE, 110)
    tin = Sprite(300, 420)
    body_mask = Image.new("L", tin.image.size, 0)
    ImageDraw.Draw(body_mask).rounded_rectangle((0, _px(30), body_mask.width - 1, body_mask.height - 1),
                                                radius=_px(24), fill=255)
    body = shaded(body_mask, mix(c["g"], WHITE, 0.25), c["gd"], focus=(0.3, 0.4), spread=1.1)
    tin.image.alpha_composite(body)
    tin.draw.rounded_rectangle(tin.box(0, 0, 300, 70), radius=_px(18), fill=(*mix(c["g"], BLACK, 0.25), 255))
    tin.draw.rectangle(tin.box(0, 170, 300, 300), fill=(*c["bg"], 255))
    tin.draw.line(tin.points([(0, 176), (300, 176)]), fill=(*c["e"], 255), width=_px(5))
    tin.draw.line(tin.points([(0, 294), (300, 294)]), fill=(*c["e"], 255), width=_px(5))
    tin.draw.ellipse(tin.box(110, 195, 190, 275), outline=(*c["g"], 255), width=_px(8))
    gloss(tin.image, (0.25, 0.5), (0.12, 0.8), 90)
    p.place(tin.image, 380, 360)
    for lx, ly, tilt, size in [(640, 320, 30, 1.0), (700, 430, -20, 0.85), (600, 470, 70, 0.75)]:
        p.place(leaf(200 * size, 90 * size, (96, 156, 70), serrated=True), lx, ly, angle=tilt, shadow=0.2)
    for _ in range(26):  # rolled, pan-fired leaves spilled in front
        twist = capsule(p.rng.uniform(40, 70), p.rng.uniform(10, 15), (96, 116, 56), (40, 56, 26))
        p.place(twist, p.rng.uniform(420, 760), p.rng.uniform(540, 620), angle=p.rng.uniform(0, 180), shadow=0.15)


def _honey(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 320, WHITE, 90)
    comb = Image.new("RGBA", (_px(WIDTH), _px(HEIGHT)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(comb)
    r = 46
    for row in range(-1, 12):
        for col in range(-1, 14):
            x = col * r * 1.5 + 40
            y = row * r * math.sqrt(3) + (col % 2) * r * math.sqrt(3) / 2
            if x < 620:
                continue
            hexagon = [(x + r * math.cos(math.pi / 3 * k), y + r * math.sin(math.pi / 3 * k)) for k in range(6)]
            draw.polygon([(_px(a), _px(b)) for a, b in hexagon], outline=(232, 170, 40, 120), width=_px(4))
    p.image.alpha_composite(comb)
    jar = Sprite(330, 430)
    glass_mask = Image.new("L", jar.image.size, 0)
    ImageDraw.Draw(glass_mask).rounded_rectangle((0, _px(70), glass_mask.width - 1, glass_mask.height - 1),
                                                 radius=_px(56), fill=255)
    honey = shaded(glass_mask, (250, 190, 60), (170, 90, 10), focus=(0.35, 0.45), spread=1.1)
    jar.image.alpha_composite(honey)
    jar.draw.rounded_rectangle(jar.box(28, 0, 302, 86), radius=_px(16), fill=(*c["e"], 255))
    for i in range(6):
        jar.draw.line(jar.points([(48 + i * 46, 6), (48 + i * 46, 80)]), fill=(*mix(c["e"], BLACK, 0.2), 255),
                      width=_px(6))
    jar.draw.rounded_rectangle(jar.box(30, 200, 300, 330), radius=_px(10), fill=(*c["bg"], 255))
    jar.draw.rounded_rectangle(jar.box(30, 200, 300, 330), radius=_px(10), outline=(*c["g"], 255), width=_px(5))
    for i in range(3):
        jar.draw.line(jar.points([(70, 240 + i * 28), (260, 240 + i * 28)]), fill=(*c["l"], 255), width=_px(7))
    gloss(jar.image, (0.2, 0.55), (0.1, 0.6), 170)
    p.place(jar.image, 400, 380)
    dipper = Sprite(420, 80)
    dipper.draw.rounded_rectangle(dipper.box(0, 30, 300, 50), radius=_px(10), fill=(170, 120, 70, 255))
    for i in range(5):
        dipper.draw.rounded_rectangle(dipper.box(290 + i * 24, 6 + (i % 2) * 4, 310 + i * 24, 74 - (i % 2) * 4),
                                      radius=_px(8), fill=(196, 142, 84, 255))
    p.place(dipper.image, 640, 600, angle=12)


def _bamboo_shoots(p: Picture, c: dict[str, RGB]) -> None:
    p.halo(480, 380, 320, WHITE, 100)
    p.place(leaf(300, 60, mix(c["g"], (90, 140, 70), 0.4)), 700, 210, angle=150)
    p.place(leaf(260, 52, mix(c["g"], (90, 140, 70), 0.2)), 740, 290, angle=175)
    width, height = 300.0, 470.0
    left: list[Point] = []
    right: list[Point] = []
    for i in range(41):  # a fat shoot whose tip bends over
        t = i / 40
        half = width / 2 * 0.92 * (1 - t) ** 0.8 + 3
        centre = width / 2 - 30 + 70 * t**2
        y = height - 30 - t * (height - 40)
        left.append((centre - half, y))
        right.append((centre + half, y))
    shoot = shaded(polygon_mask(width, height, left + right[::-1]), (222, 180, 104), (128, 84, 40), focus=(0.3, 0.4))
    rng = p.rng

    def sheaths(draw: ImageDraw.ImageDraw) -> None:
        for k in range(1, 8):  # the overlapping husk sheaths, alternately wrapping left and right
            t = k / 8.5
            i = round(t * 40)
            a, b = (left, right) if k % 2 else (right, left)
            j = min(40, i + 5)
            edge = [a[i], ((a[i][0] + b[j][0]) / 2, (a[i][1] + b[j][1]) / 2 + 14), b[j]]
            draw.line([(_px(x), _px(y)) for x, y in edge], fill=(96, 58, 26, 255), width=_px(5), joint="curve")
            for _ in range(30):  # the dark hairs near a sheath's edge
                s = rng.uniform(0, 1)
                x = edge[0][0] + (edge[2][0] - edge[0][0]) * s
                y = edge[0][1] + (edge[2][1] - edge[0][1]) * s + rng.uniform(4, 26)
                draw.ellipse((_px(x - 2.2), _px(y - 2.2), _px(x + 2.2), _px(y + 2.2)), fill=(90, 56, 30, 200))

    draw_inside(shoot, sheaths)
    cut = Sprite(width, height)
    base = left[0][0], right[0][0]
    cut.draw.ellipse(cut.box(base[0] + 4, height - 56, base[1] - 4, height - 6), fill=(244, 232, 196, 255))
    cut.draw.ellipse(cut.box(base[0] + 40, height - 46, base[1] - 40, height - 16), outline=(214, 194, 146, 255),
                     width=_px(4))
    shoot.alpha_composite(cut.image)
    p.place(shoot, 330, 350, angle=-6)
    for i in range(8):  # sun-dried slices: flat, wavy, fibrous
        length, thick = p.rng.uniform(190, 250), p.rng.uniform(40, 52)
        outline = [(length * k / 40, 6 + 4 * math.sin(k / 3 + i)) for k in range(41)]
        outline += [(x, thick - 6 + 4 * math.sin(x / 22 + i)) for x, _ in reversed(outline)]
        slice_ = shaded(polygon_mask(length, thick, outline), (226, 186, 108), (160, 112, 50), focus=(0.4, 0.2))

        def fibres(draw: ImageDraw.ImageDraw, length: float = length, thick: float = thick) -> None:
            for k in range(1, 5):
                y = thick * k / 5
                draw.line(((0, _px(y)), (_px(length), _px(y + 3))), fill=(150, 104, 48, 140), width=_px(2))

        draw_inside(slice_, fibres)
        p.place(slice_, 540 + (i % 3) * 80 + p.rng.uniform(-14, 14), 460 + (i // 3) * 56, angle=p.rng.uniform(-25, 25))


Drawer = Callable[[Picture, dict[str, RGB]], None]

# Product slug → what to draw and on which of the brand's paper colours.
DRAWINGS: Final[dict[str, tuple[Drawer, str]]] = {
    "shixing-loquat": (_loquat, "lf"),
    "shixing-bayberry": (_bayberry, "lf"),
    "shixing-sand-pear": (_pear, "lf"),
    "shixing-taro": (_taro, "l2"),
    "shixing-sweet-potato": (_sweet_potato, "l2"),
    "shixing-cured-sausage": (_sausage, "l2"),
    "shixing-cured-pork": (_cured_pork, "l2"),
    "shixing-rice": (_rice, "lf"),
    "shixing-green-tea": (_tea, "lf"),
    "shixing-wildflower-honey": (_honey, "l2"),
    "shixing-dried-bamboo-shoots": (_bamboo_shoots, "lf"),
}


@lru_cache(maxsize=16)
def product_picture(slug: str, name_zh: str) -> bytes:
    """The JPEG picture of a demo product (the same bytes for the same product every time)."""
    drawer, paper = DRAWINGS[slug]
    colours = brand_colours()
    picture = Picture(mix(colours[paper], WHITE, 0.35), colours[paper], slug)
    drawer(picture, colours)
    picture.label(name_zh, colours["g"], WHITE)
    return picture.jpeg()
