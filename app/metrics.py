"""``GET /metrics``: Prometheus metrics of every web and worker process (``app.kit.metrics``) and
the figures read when it is scraped: the outbox backlog and the broker's queue.

Only admins and Prometheus (``Authorization: Bearer <METRICS_TOKEN>``) read it: the figures say
how busy the platform is and which routes exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from app.accounts.access import MetricsAccess
from app.config import Settings
from app.kit import outbox
from app.kit import repository as kit_repository
from app.kit.metrics import exposition

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

QUEUE = "nanling"  # Celery's task_default_queue (app.worker)
SCRAPE_TIMEOUT_SECONDS = 2.0  # a scrape must not hang on a database or broker that is down
REDIS_TIMEOUT_SECONDS = 1.0


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


async def _database_figures(request: Request) -> list[Metric]:
    """The outbox backlog (``outbox.backlog``, as ``/readyz`` reads it) and, on the default broker,
    its queue length: both from one connection, within :data:`SCRAPE_TIMEOUT_SECONDS`."""
    settings: Settings = request.app.state.settings
    async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
        async with request.app.state.engine.connect() as conn:
            backlog = await outbox.backlog(conn, stall_after_seconds=settings.outbox_stall_seconds)
            queued = None if settings.celery_broker_url else await kit_repository.broker_queue_length(conn, QUEUE)
    figures: list[Metric] = [
        _gauge("nanling_outbox_backlog", "Outbox messages not processed yet (given-up ones included)", backlog.waiting),
        _gauge("nanling_outbox_given_up", "Outbox messages out of attempts, waiting for a person", backlog.given_up),
        _gauge(
            "nanling_outbox_oldest_age_seconds",
            "Age of the oldest outbox message still being worked on (0: none)",
            backlog.oldest_age_seconds or 0,
        ),
    ]
    if queued is not None:
        figures.append(_queue_gauge(queued))
    return figures


def _queue_gauge(length: int) -> GaugeMetricFamily:
    return _gauge("nanling_celery_queue_length", f"Celery messages waiting in the queue '{QUEUE}'", length)


def redis_queue_length(url: str) -> int:
    """``LLEN`` of the queue's list on a Redis broker, with short timeouts."""
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        return int(client.llen(QUEUE))
    finally:
        client.close()


async def _broker_figures(url: str, read: Callable[[str], int]) -> list[Metric]:
    with anyio.fail_after(SCRAPE_TIMEOUT_SECONDS):
        length = await anyio.to_thread.run_sync(read, url, abandon_on_cancel=True)
    return [_queue_gauge(length)]


async def scrape_time_figures(request: Request) -> list[Metric]:
    """What no process holds, read now; a part that cannot be read is left out and
    ``nanling_scrape_source_up{source}`` says 0 (so an alert can tell "down" from "empty")."""
    settings: Settings = request.app.state.settings
    up = GaugeMetricFamily("nanling_scrape_source_up", "1 when /metrics could read the source", labels=["source"])
    figures: list[Metric] = [up]
    try:
        figures += await _database_figures(request)
        up.add_metric(["database"], 1)
    except Exception as exc:
        log.warning("metrics: the database could not be read: %s: %s", type(exc).__name__, exc)
        up.add_metric(["database"], 0)
    url = settings.celery_broker_url
    if url and url.startswith(("redis://", "rediss://")):
        try:
            figures += await _broker_figures(url, redis_queue_length)
            up.add_metric(["broker"], 1)
        except Exception as exc:
            log.warning("metrics: the broker's queue could not be read: %s: %s", type(exc).__name__, exc)
            up.add_metric(["broker"], 0)
    return figures


@router.get(
    "/metrics",
    dependencies=[MetricsAccess],
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "no credentials (an admin, or METRICS_TOKEN)"},
        403: {"description": "signed in, but not an admin"},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics, summed over every web and worker process of this machine."""
    return Response(exposition(await scrape_time_figures(request)), media_type=CONTENT_TYPE_LATEST)
