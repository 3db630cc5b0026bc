"""QR codes for web pages, as inline SVG: no image route, no data: URL and no script, so the
page's Content-Security-Policy has nothing to allow, and the code is sharp at any zoom on a phone.

segno encodes (never a Micro QR: phone cameras and counter scanners read the full kind); this only
draws the modules, one path of the dark runs of each row, with a screen-reader label.
"""

from __future__ import annotations

from markupsafe import Markup

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks for reliable scanning


def qr_modules(value: str) -> list[list[bool]]:
    """The dark (True) and light modules of ``value``'s QR code, error correction M."""
    import segno  # on first use: a web worker that never draws a code never holds it (issue 15)

    code = segno.make_qr(value, error="m", boost_error=False)
    return [[bool(dark) for dark in row] for row in code.matrix]


def qr_svg(value: str, *, label: str, css_class: str = "qr") -> Markup:
    """``value`` as an SVG QR code drawn in module units (so the browser scales it crisply), on a
    white square with the quiet zone; ``label`` is what a screen reader says."""
    modules = qr_modules(value)
    size = len(modules) + 2 * QUIET_ZONE
    runs = []
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    # Markup.format escapes every argument: the label is text, the path only digits and letters.
    return Markup(
        '<svg class="{cls}" viewBox="0 0 {size} {size}" role="img" aria-label="{label}" '
        'xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">'
        '<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    ).format(cls=css_class, size=size, label=label, path="".join(runs))
