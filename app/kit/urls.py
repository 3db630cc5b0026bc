"""Addresses a client asks us to send someone to: only our own site (the open-redirect guard)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Browsers drop tabs and newlines inside a URL and read "\" as "/", so "/\t/evil" and "/\evil"
# both become "//evil" — another host. Any such character (space and DEL included) refuses the URL.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


def same_site_url(candidate: str, base_url: str) -> str | None:
    """``candidate`` as an absolute URL on the site ``base_url`` names, or None when it may lead
    anywhere else.

    Accepted: an absolute URL with exactly the base's scheme and host[:port] (no user info) whose
    path lies under the base's path — returned unchanged; or a root-relative path (``/orders/NP1``),
    returned joined to the base. Everything else is refused: protocol-relative ``//host``,
    ``https://ours@evil`` (user info), ``https://ours.evil`` (a host that only starts like ours),
    other schemes (``javascript:``), relative paths without the leading ``/``, and any URL holding
    whitespace, a control character or a backslash. The comparison is on the parsed host and port,
    never a string prefix."""
    if not candidate or _UNSAFE_CHARACTERS.search(candidate):
        return None
    base = urlsplit(base_url.rstrip("/"))
    if candidate.startswith("/") and not candidate.startswith("//"):
        candidate = f"{base.scheme}://{base.netloc}{base.path}{candidate}"
    try:
        parts = urlsplit(candidate)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() != base.scheme.lower() or parts.netloc.lower() != base.netloc.lower():
        return None
    if "@" in parts.netloc or not parts.path.startswith(base.path + "/"):
        return None
    return candidate
