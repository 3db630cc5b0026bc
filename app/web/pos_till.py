"""The till page (``/pos``) and its service worker (``/pos/sw.js``).

The page is one shell for every enrolled till: who is at the till, the catalog and the queue of
sales are fetched by ``storefront/static/pos/pos.js`` from the POS API and kept in IndexedDB, so
the service worker can keep the same HTML and serve it with the server down. A browser without a
live till cookie (``np_till``, from ``/pos/enrol``) gets a page saying how to enrol instead, marked
with ``X-Till-Page: enrol`` so the service worker never keeps it in place of the till.

The worker is served from ``/pos/sw.js`` with ``Service-Worker-Allowed: /pos``: a worker's default
scope is its own folder (``/pos/``), which would not cover the page at ``/pos`` itself. Its cache
is named after a digest of the till's assets, so a deployment that changes them changes the
worker's bytes: the browser installs the new worker and drops the old cache.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import PublicAccess
from app.db import DbSession
from app.kit.errors import AppError
from app.pos import sessions
from app.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC_POS = Path(__file__).resolve().parent.parent.parent / "storefront" / "static" / "pos"
TILL_PAGE_HEADER = "X-Till-Page"


@router.get("/pos", dependencies=[PublicAccess])
async def till_page(request: Request, session: DbSession) -> Response:
    try:
        await sessions.enrolled_till(session, request.cookies.get(sessions.TILL_COOKIE))
    except AppError:
        response = render(request, "pos/not_enrolled.html", {})
        response.headers[TILL_PAGE_HEADER] = "enrol"
        return response
    response = render(request, "pos/till.html", {})
    response.headers[TILL_PAGE_HEADER] = "till"
    return response


@lru_cache(maxsize=1)
def worker_script() -> bytes:
    """sw.js with its cache named after the digest of every file in storefront/static/pos."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_POS.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return (STATIC_POS / "sw.js").read_bytes().replace(b"__ASSETS_VERSION__", digest.hexdigest()[:16].encode())


@router.get("/pos/sw.js", dependencies=[PublicAccess])
async def service_worker() -> Response:
    # no-cache: the browser checks for a new worker on every visit (it does so at most daily anyway).
    return Response(
        worker_script(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/pos", "Cache-Control": "no-cache"},
    )
