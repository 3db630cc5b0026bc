"""QR codes drawn into the page as inline SVG (segno), so a page that shows one needs no image
route, no inline style and no script: the code scales with CSS (``.qr-svg``) and prints sharp."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, *, title: str) -> Markup:
    """``text`` as a QR code (error correction M, quiet zone included) in an ``<svg>`` with a
    ``viewBox`` and no fixed size; ``title`` is what a screen reader says."""
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-svg", title=title, dark="#000", light="#fff")
    # segno escapes the title and writes only its own markup around it: safe in the page as it is.
    return Markup(svg)  # noqa: S704
