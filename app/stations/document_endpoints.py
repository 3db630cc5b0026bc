"""Printable station documents and the public network map.

- ``GET /api/v1/admin/parcels/labels.pdf?run=…`` or ``?tracking=T1,T2`` — parcel labels
  (100 × 150 mm, one page each) for the warehouse's thermal printer;
- ``GET /api/v1/admin/runs/{number}/manifest.pdf`` — a run's A4 dispatch manifest;
- ``GET /api/v1/stations/map.svg`` — the route sand table, public.

PDF rendering is pure-Python CPU work, so it runs in a worker thread and never stalls the loop.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.accounts.access import PublicAccess, WarehouseUser
from app.db import DbSession
from app.stations import labels
from app.stations.map import network_svg

router = APIRouter(prefix="/api/v1", tags=["stations"])

_SAFE = re.compile(r"[^A-Za-z0-9-]")
PDF: dict[str, Any] = {"content": {"application/pdf": {}}}


def _filename(text: str) -> str:
    return _SAFE.sub("", text)[:40] or "document"


@router.get(
    "/admin/parcels/labels.pdf",
    response_class=Response,
    responses={
        200: {**PDF, "description": "包裹面单，100 mm × 150 mm，每件一页"},
        401: {"description": "not_authenticated"},
        403: {"description": "role_not_allowed"},
        404: {"description": "run_not_found / parcel_not_found（detail 列出找不到的运单号）"},
        422: {"description": "invalid_input：run 与 tracking 须二选一；一次最多 1000 张"},
    },
)
async def parcel_labels(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    run: Annotated[str | None, Query(max_length=30, description="配送批次号：打印该批次全部面单（按停靠顺序）")] = None,
    tracking: Annotated[
        str | None, Query(max_length=20000, description="运单号，逗号分隔：按给定顺序打印这些面单")
    ] = None,
) -> Response:
    """Parcel labels for a whole run or for the listed tracking numbers (exactly one of the two)."""
    numbers = [t for t in re.split(r"[,\s]+", tracking) if t] if tracking is not None else None
    found = await labels.parcel_labels(
        session, tracking_numbers=numbers, run_number=run, base_url=request.app.state.settings.public_base_url
    )
    pdf = await run_in_threadpool(labels.parcel_label_pdf, found)
    name = f"labels-{_filename(run)}" if run else f"labels-{_filename(found[0].tracking_number)}"
    headers = {"Content-Disposition": f'inline; filename="{name}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get(
    "/admin/runs/{number}/manifest.pdf",
    response_class=Response,
    responses={
        200: {**PDF, "description": "A4 发车清单：按停靠顺序列出各站包裹，含签收栏与页码"},
        401: {"description": "not_authenticated"},
        403: {"description": "role_not_allowed"},
        404: {"description": "run_not_found"},
    },
)
async def run_manifest(number: str, session: DbSession, _: WarehouseUser) -> Response:
    """A run's dispatch manifest: every stop of its route in order with that stop's parcels."""
    manifest = await labels.run_manifest(session, number)
    pdf = await run_in_threadpool(labels.manifest_pdf, manifest)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="manifest-{_filename(manifest.run_number)}.pdf"'},
    )


@router.get(
    "/stations/map.svg",
    dependencies=[PublicAccess],
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "物流路线沙盘（SVG）"}},
)
async def network_map(session: DbSession) -> Response:
    """The county's route sand table: the warehouse, every route and every station, as SVG."""
    svg = await network_svg(session)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=300"})
