"""Static files with fingerprinted addresses: ``asset("site.css")`` in a template gives
``/static/site.css?v=<digest of its content>``, and a request carrying the current digest is served
with a year-long immutable cache. A phone fetches the shop's CSS and JS once per release, not once
per page; a new release changes the digest, so no one keeps an old file.

The till's files (``static/pos/``) keep plain addresses: its service worker caches them under
those names, versioned by a digest of its own (``app.web.pos_till.worker_script``).
Digests are computed once per process (files change only with a release and its restart).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "storefront" / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


@functools.cache
def digest(path: str) -> str:
    """The first 12 hex digits of the file's SHA-256 (``path`` relative to the static folder)."""
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def asset(path: str) -> str:
    return f"/static/{path}?v={digest(path)}"


class FingerprintedStaticFiles(StaticFiles):
    """StaticFiles that marks a response immutable when the request names the file's current digest."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
            # A 200 means StaticFiles found the file inside its folder, so the path is safe to read.
            if asked == [digest(Path(path).as_posix())]:
                response.headers["Cache-Control"] = IMMUTABLE
        return response
