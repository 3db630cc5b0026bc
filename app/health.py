"""Liveness and readiness: ``/healthz`` says the process is up, ``/readyz`` that the database and
the broker answer and background work is not stalled (503 naming what is wrong)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.accounts.access import PublicAccess, anonymous
from app.kit import outbox
from app.kit import repository as kit_repository

router = APIRouter(tags=["health"])

# Asks the broker whether it answers; run in a thread (kombu's calls block).
BrokerProbe = Callable[[], bool]
# The broker is this database (kombu's SQLAlchemy transport, the default): readiness checks kombu's
# tables on the connection that checks the database. Through kombu, the first probe cost each web
# worker 4 MiB for its life (kombu, psycopg and a second engine) and a connection of its own.
DATABASE_BROKER: Final = "database"
BrokerCheck = BrokerProbe | Literal["database"]
PROBE_TIMEOUT_SECONDS = 3.0


def kombu_probe(url: str) -> BrokerProbe:
    def probe() -> bool:
        from kombu.connection import Connection

        with Connection(url, connect_timeout=2, transport_options={"max_retries": 0}) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1, timeout=2)
            return True

    return probe


@router.get("/healthz")
@anonymous
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. It touches nothing (readiness, ``/readyz``, checks the
    database and the broker), so a load balancer's probe costs next to nothing."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    dependencies=[PublicAccess],
    responses={503: {"description": "database or broker down, or background work stalled"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database and the broker answer and background work keeps up: ``checks``
    says ``ok`` or what is wrong per part (``database``/``broker``: ``down``; ``background``:
    ``stalled`` when the oldest unprocessed outbox message is older than ``OUTBOX_STALL_SECONDS``,
    ``unknown`` when the database could not be asked); ``background`` gives the figures."""
    checks: dict[str, str] = {}
    backlog: outbox.Backlog | None = None
    probe: BrokerCheck = request.app.state.broker_probe
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as conn:
                await kit_repository.ping(conn)
                checks["database"] = "ok"
                if probe == DATABASE_BROKER:
                    checks["broker"] = "ok" if await kit_repository.broker_tables_exist(conn) else "down"
                backlog = await outbox.backlog(
                    conn, stall_after_seconds=request.app.state.settings.outbox_stall_seconds
                )
    except Exception:
        checks.setdefault("database", "down")
    if probe == DATABASE_BROKER:
        checks.setdefault("broker", "down")
    else:
        try:
            with anyio.fail_after(PROBE_TIMEOUT_SECONDS):
                ok = await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
            checks["broker"] = "ok" if ok else "down"
        except Exception:
            checks["broker"] = "down"
    checks["background"] = "unknown" if backlog is None else "stalled" if backlog.stalled else "ok"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "checks": checks}
    if backlog is not None:
        body["background"] = {
            "backlog": backlog.waiting,
            "oldest_age_seconds": backlog.oldest_age_seconds,
            "stall_after_seconds": backlog.stall_after_seconds,
            "given_up": backlog.given_up,
        }
    if not ready:
        body.update(error="not_ready", message=_not_ready_message(checks, backlog))
    return JSONResponse(body, status_code=200 if ready else 503)


def _not_ready_message(checks: dict[str, str], backlog: outbox.Backlog | None) -> str:
    down = [name for name in ("database", "broker") if checks[name] != "ok"]
    parts = ["依赖服务不可用：" + "、".join(down)] if down else []
    if backlog is not None and backlog.stalled:
        parts.append(
            f"后台任务停滞（background）：最早一条未处理的消息已等待 {backlog.oldest_age_seconds} 秒，"
            f"超过 {backlog.stall_after_seconds} 秒，积压 {backlog.waiting} 条"
        )
    elif backlog is None and checks["database"] == "ok":
        parts.append("后台任务状态未知（background）：无法读取后台消息积压")
    return "；".join(parts)
