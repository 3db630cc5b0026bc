"""Liveness and readiness: ``/healthz`` says the process is up, ``/readyz`` that the database and
the broker answer (503 naming what is down)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.accounts.access import AnonymousAccess, PublicAccess
from app.kit import repository as kit_repository

router = APIRouter(tags=["health"])

BrokerProbe = Callable[[], bool]
PROBE_TIMEOUT_SECONDS = 3.0


def kombu_probe(url: str) -> BrokerProbe:
    def probe() -> bool:
        from kombu.connection import Connection

        with Connection(url, connect_timeout=2, transport_options={"max_retries": 0}) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1, timeout=2)
            return True

    return probe


@router.get("/healthz", dependencies=[AnonymousAccess])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. It touches nothing (readiness, ``/readyz``, checks the
    database and the broker), so a load balancer's probe costs next to nothing."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[PublicAccess], responses={503: {"description": "database or broker down"}})
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as conn:
                await kit_repository.ping(conn)
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "down"
    probe: BrokerProbe = request.app.state.broker_probe
    try:
        with anyio.fail_after(PROBE_TIMEOUT_SECONDS):
            ok = await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
        checks["broker"] = "ok" if ok else "down"
    except Exception:
        checks["broker"] = "down"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    if not ready:
        body.update(
            error="not_ready", message="依赖服务不可用：" + "、".join(k for k, v in checks.items() if v != "ok")
        )
    return JSONResponse(body, status_code=200 if ready else 503)
