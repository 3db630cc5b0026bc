"""Build the font every generated PDF embeds: ``app/kit/fonts/NotoSansSC-Regular-GBK.ttf``.

Not run by the application or the tests; run it by hand only to regenerate that file (the result
is committed). It needs fontTools, which is not a dependency of the project::

    python -m venv /tmp/fontbuild && /tmp/fontbuild/bin/pip install "fonttools>=4.40,<5"
    /tmp/fontbuild/bin/python tools/build_pdf_font.py /path/to/NotoSansSC-Regular.otf

The source is Noto Sans SC Regular 2.004 (SIL Open Font License 1.1), the region-specific subset
OpenType font of the notofonts/noto-cjk project (``Sans/SubsetOTF/SC/NotoSansSC-Regular.otf``; the
same file is in the PyPI wheel ``pylopdf-fonts-zh-cn`` 0.1.1). Two things are done to it:

- **Subset**: every ideograph of GBK (which includes the whole CJK Unified Ideographs block up to
  U+9FA5, so the names of people, villages and co-operatives are covered, not only GB2312's 6,763
  common characters), plus Latin, pinyin tone letters, punctuation, currency, arrows, maths,
  enclosed numbers, shapes, ticks and full-width forms. Layout tables and vertical metrics are
  dropped: reportlab uses neither.
- **TrueType outlines**: the source has CFF (cubic) outlines, which reportlab cannot embed; the
  cubic curves are converted to quadratic ones (cu2qu, at most 1 unit of 1000 off the original).

A character outside the subset is printed as 〓 by ``app.kit.pdf`` (never as an empty box), and
``tests/kit/test_pdf.py`` fails when one of the documents draws one.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

TARGET = Path(__file__).resolve().parents[1] / "app" / "kit" / "fonts" / "NotoSansSC-Regular-GBK.ttf"
MAX_ERROR = 1.0  # font units (of 1000 to the em) a converted curve may stray from the original

BLOCKS = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1, Latin Extended-A and -B (pinyin: ā á ǎ à ü ǘ ǚ ǜ)
    (0x02C6, 0x02DD),  # spacing modifier letters (ˇ ˉ ˊ ˋ ˙)
    (0x0391, 0x03C9),  # Greek (in GB2312: α β μ Ω)
    (0x0401, 0x0451),  # Cyrillic (in GB2312)
    (0x2000, 0x206F),  # General Punctuation (— – ‘ ’ “ ” … · ‰ ※ ›)
    (0x20A0, 0x20CF),  # Currency Symbols (€)
    (0x2100, 0x218F),  # Letterlike Symbols and Number Forms (℃ № ™ Ⅰ Ⅱ)
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators (− ≤ ≥ ≈ ×)
    (0x2460, 0x24FF),  # Enclosed Alphanumerics (① ⑴ ⒈)
    (0x2500, 0x257F),  # Box Drawing
    (0x25A0, 0x25FF),  # Geometric Shapes (□ ■ ○ ● △ ▲ ◆)
    (0x2600, 0x26FF),  # Miscellaneous Symbols (★ ☆ ☎)
    (0x2700, 0x27BF),  # Dingbats (✓ ✔ ✗)
    (0x3000, 0x303F),  # CJK Symbols and Punctuation (、 。 《 》 「 」 【 】 〓)
    (0x3200, 0x33FF),  # Enclosed CJK letters and CJK compatibility (㈠ ㎏ ㎡)
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs (GBK has all of them up to U+9FA5)
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms (！ （ ） ， ： ； ？ ￥)
]


def gbk_characters() -> set[int]:
    """Every character GBK encodes in two bytes (its ideographs, symbols and compatibility forms)."""
    found: set[int] = set()
    for high in range(0x81, 0xFF):
        for low in range(0x40, 0xFF):
            try:
                text = bytes([high, low]).decode("gbk")
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                found.add(ord(text))
    return found


def wanted(font: TTFont) -> set[int]:
    codes = gbk_characters()
    for first, last in BLOCKS:
        codes.update(range(first, last + 1))
    return codes & set(font.getBestCmap())


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines by quadratic TrueType ones (glyf/loca, maxp 1.0, post 3)."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 3.0
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"


def build(source: Path, target: Path = TARGET) -> None:
    font = TTFont(source)
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += ["DSIG", "BASE", "GDEF", "GPOS", "GSUB", "vhea", "vmtx", "VORG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted(font))
    subsetter.subset(font)
    to_truetype(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(target)
    print(f"{target}: {len(font.getBestCmap())} characters, {target.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_pdf_font.py NotoSansSC-Regular.otf")
    build(Path(sys.argv[1]))
