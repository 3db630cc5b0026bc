"""Prometheus metrics of every process, and the middleware that times each request.

What each process records (README "日志与监控 / Logs and metrics"):

- ``nanling_http_request_duration_seconds{method,route,status}``: a histogram per route template
  (``/api/v1/orders/{number}``, never the raw path: one series per route, not per order), whose
  ``_count`` is the request rate. One observation per request, in :class:`RequestObserver`,
  written to the shared files in batches (:class:`_LatencyBuffer`).
- ``nanling_db_pool_checked_out`` / ``nanling_db_pool_size``: the web processes' connection pools
  (:func:`watch_pool`), summed over the processes alive.
- ``nanling_task_failures_total{task}``: failed attempts of background tasks (the worker).
- ``nanling_alibaba_call_errors_total{api,kind}``: failed Alibaba.com calls (``app.crossborder.client``).

Figures that belong to no process (the outbox backlog, the broker's queue) are read when
``/metrics`` is scraped (``app/metrics.py``) and passed to :func:`exposition`.

Under ``app serve`` / ``app worker`` prometheus_client runs in multiprocess mode
(``app.kit.metrics_dir``): every uvicorn worker and every Celery process writes its own file in
one directory and a scrape, answered by any one web process, sums them all.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.logs import accepted_request_id, request_id_var
from app.kit.metrics_dir import MULTIPROC_ENV, pid_of, process_alive

# Chosen by prometheus_client at its import, from the environment (``app.kit.metrics_dir``).
MULTIPROCESS: Final[bool] = values.ValueClass is not values.MutexValue

REGISTRY = CollectorRegistry(auto_describe=True)

# From a cached product list (a few ms) to a slow PDF (seconds).
LATENCY_BUCKETS: Final[tuple[float, ...]] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "nanling_http_request_duration_seconds",
    "Time to answer an HTTP request, per route template, method and status",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
DB_POOL_CHECKED_OUT = Gauge(
    "nanling_db_pool_checked_out",
    "Database connections in use by requests (web processes alive, summed)",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
DB_POOL_SIZE = Gauge(
    "nanling_db_pool_size",
    "Database connections the pools keep (DB_POOL_SIZE per web process alive, summed)",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
TASK_FAILURES = Counter(
    "nanling_task_failures",
    "Failed attempts of background tasks (Celery tasks and drained outbox messages)",
    ("task",),
    registry=REGISTRY,
)
ALIBABA_CALL_ERRORS = Counter(
    "nanling_alibaba_call_errors",
    "Alibaba.com ICBU calls that failed, per API and kind of error",
    ("api", "kind"),
    registry=REGISTRY,
)

UNMATCHED_ROUTE: Final[str] = "<unmatched>"  # a 404 of no route: one series for every unknown path
KNOWN_METHODS: Final[frozenset[str]] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The template of the route (or mount) that answered, as the router left it in the scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class _LatencyBuffer:
    """Request timings of this process, written to :data:`REQUEST_SECONDS` in batches.

    ``Histogram.observe`` in multiprocess mode takes a lock, asks the system for the process id and
    writes the memory-mapped file twice: ~4 µs, a twentieth of the cheapest route's whole time.
    Here a request costs a bucket look-up and two additions; what gathered is written at most a
    second later (a timer on the event loop), and at once when this process answers a scrape. A
    scrape answered by another process may therefore miss this process's last second."""

    FLUSH_AFTER_SECONDS: Final[float] = 1.0

    def __init__(self) -> None:
        # (method, route, status) → [sum of seconds, count per bucket …, count above the last bound]
        self._pending: dict[tuple[str, str, int], list[float]] = {}
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def add(self, key: tuple[str, str, int], seconds: float) -> None:
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        entry[0] += seconds
        entry[1 + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1  # Prometheus' ``le``: value <= bound
        loop = asyncio.get_running_loop()
        if self._timer_loop is not loop:  # none running (or one on a loop that is gone: tests)
            self._timer_loop = loop
            loop.call_later(self.FLUSH_AFTER_SECONDS, self.flush)

    def flush(self) -> None:
        self._timer_loop = None
        pending, self._pending = self._pending, {}
        for (method, route, status), entry in pending.items():
            series = REQUEST_SECONDS.labels(method, route, str(status))
            # The histogram's own values (``observe`` adds one observation at a time).
            series._sum.inc(entry[0])
            for bucket, count in zip(series._buckets, entry[1:], strict=True):
                if count:
                    bucket.inc(count)


_latencies = _LatencyBuffer()


class RequestObserver:
    """Pure ASGI, outermost: gives each HTTP request its id (``X-Request-ID`` when valid, else a
    new one; ``app.kit.logs``) for every log line written while it is served and for the outbox
    messages it writes, returns the id in the ``X-Request-ID`` response header, and records its
    duration once (:class:`_LatencyBuffer`). It logs nothing: uvicorn's access line is the one line
    a request gets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                break
        request_id = accepted_request_id(offered)
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: a cached answer's start message (``app.kit.public_cache``) is sent again.
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            _latencies.add((method, route_template(scope), status), time.perf_counter() - started)
            request_id_var.reset(token)


_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_pool(engine: AsyncEngine) -> None:
    """Count ``engine``'s checked-out connections and its pool size (once per engine). Listeners
    on the engine follow it to the pool a ``dispose()`` makes."""
    sync_engine = engine.sync_engine
    if sync_engine in _watched:
        return
    _watched.add(sync_engine)
    size = getattr(sync_engine.pool, "size", None)
    DB_POOL_SIZE.inc(size() if callable(size) else 0)
    event.listen(sync_engine, "checkout", lambda *_: DB_POOL_CHECKED_OUT.inc())
    event.listen(sync_engine, "checkin", lambda *_: DB_POOL_CHECKED_OUT.dec())


def count_task_failure(task_name: str) -> None:
    TASK_FAILURES.labels(task_name).inc()


def count_alibaba_error(api: str, kind: str) -> None:
    ALIBABA_CALL_ERRORS.labels(api, kind).inc()


class _Families:
    """A collector of metric families already built (the scrape-time figures)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def _forget_dead_processes(directory: Path) -> None:
    """A live gauge (pool use) of a process that died without saying so (a killed or restarted
    uvicorn worker) would be summed for good: its files go. Counters and histograms of dead
    processes stay, so totals do not fall when a worker restarts."""
    for file in directory.glob("gauge_live*_*.db"):
        pid = pid_of(file)
        if pid is not None and not process_alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def exposition(scrape_time: Iterable[Metric] = ()) -> bytes:
    """The text Prometheus reads: every process's metrics (summed in multiprocess mode), then the
    figures read at scrape time."""
    _latencies.flush()
    if MULTIPROCESS:
        directory = Path(os.environ[MULTIPROC_ENV])
        _forget_dead_processes(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
        processes = generate_latest(registry)
    else:
        processes = generate_latest(REGISTRY)
    return processes + generate_latest(_Families(scrape_time))
