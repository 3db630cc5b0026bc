"""Metrics of several processes summed; the request id travelling with a Celery task."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from celery.app.task import Context
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kit import outbox
from app.kit.logs import bound_request_id, current_request_id, request_id_var
from app.kit.metrics import REGISTRY, _latencies
from app.kit.metrics_dir import MULTIPROC_ENV, use_metrics_dir
from app.worker import REQUEST_ID_HEADER, CelerySender, _bind_request_id, _send_request_id

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from app.kit import metrics
assert metrics.MULTIPROCESS
for _ in range(int(sys.argv[1])):
    metrics.count_task_failure("notifications.send")
metrics.count_alibaba_error("alibaba.icbu.product.update", "GatewayUnavailable")
metrics.REQUEST_SECONDS.labels("GET", "/api/v1/products", "200").observe(0.004)
metrics.DB_POOL_SIZE.inc(5)  # a live gauge: gone with its process
"""

READER = """
from app.kit import metrics
metrics.DB_POOL_SIZE.inc(3)  # this process is alive while it reads
print(metrics.exposition().decode())
"""


def _run(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _values(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_processes_counters_are_summed_and_a_dead_ones_live_gauge_is_not(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    directory.mkdir()
    _run(WRITER, env, "2")
    _run(WRITER, env, "3")
    found = _values(_run(READER, env))
    assert found[("nanling_task_failures_total", frozenset({("task", "notifications.send")}))] == 5
    key = frozenset({("api", "alibaba.icbu.product.update"), ("kind", "GatewayUnavailable")})
    assert found[("nanling_alibaba_call_errors_total", key)] == 2
    count = frozenset({("method", "GET"), ("route", "/api/v1/products"), ("status", "200")})
    assert found[("nanling_http_request_duration_seconds_count", count)] == 2
    assert found[("nanling_db_pool_size", frozenset())] == 3  # the reader's only: the writers are gone


def test_a_new_run_keeps_only_the_files_of_processes_alive(tmp_path: Path, monkeypatch: Any) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (directory / f"counter_{dead_pid}.db").write_bytes(b"")
    (directory / f"gauge_livesum_{dead_pid}.db").write_bytes(b"")
    alive = directory / f"counter_{os.getpid()}.db"
    alive.write_bytes(b"")
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    assert use_metrics_dir(directory) == directory
    assert os.environ[MULTIPROC_ENV] == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == [alive.name]
    # An operator's own PROMETHEUS_MULTIPROC_DIR wins over the setting.
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "theirs"))
    assert use_metrics_dir(directory) == tmp_path / "theirs"


async def test_the_relay_sends_a_task_with_the_request_id_of_its_message(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A published (not drained) task: the relay binds the message's id, the publish puts it in a
    header of the Celery message, and the worker binds it before the task runs."""
    broker = Celery("relay-test", broker="memory://")
    broker.conf.update(task_default_queue="nanling")
    async with sessionmaker() as session:
        with bound_request_id("req-pay-7"):
            message = await outbox.enqueue(session, "orders.some_published_task", order_id=1)
        await session.flush()
        assert message.request_id == "req-pay-7"
        assert current_request_id() is None
        await outbox.relay(session, CelerySender(broker), ids=[message.id])
    with broker.connection_for_read() as conn:
        queued = conn.SimpleQueue("nanling")
        delivered = queued.get(timeout=5)
        headers = dict(delivered.headers)
        delivered.ack()
        queued.close()
    assert headers[REQUEST_ID_HEADER] == "req-pay-7" and headers["task"] == "orders.some_published_task"

    token = request_id_var.set("left over from the previous task")
    try:
        _bind_request_id(task=SimpleNamespace(request=Context(headers)))
        assert current_request_id() == "req-pay-7"
        _bind_request_id(task=SimpleNamespace(request=Context({"id": "x", "task": "outbox.relay"})))
        assert current_request_id() is None
    finally:
        request_id_var.reset(token)


def test_a_task_published_outside_a_request_gets_no_header() -> None:
    headers: dict[str, Any] = {}
    _send_request_id(headers=headers)
    assert headers == {}
    with bound_request_id("abc"):
        _send_request_id(headers=headers)
    assert headers == {REQUEST_ID_HEADER: "abc"}


async def test_buffered_timings_land_where_observe_would_put_them_within_a_second() -> None:
    route = f"/test/{uuid.uuid4().hex[:8]}"
    labels = {"method": "GET", "route": route, "status": "200"}

    def sample(suffix: str, **extra: str) -> float | None:
        return REGISTRY.get_sample_value(f"nanling_http_request_duration_seconds{suffix}", {**labels, **extra})

    for seconds in (0.005, 0.0051, 20.0):  # on a bound, just above it, above the last one
        _latencies.add(("GET", route, 200), seconds)
    assert sample("_count") is None  # still in this process's buffer
    await asyncio.sleep(_latencies.FLUSH_AFTER_SECONDS + 0.3)  # the event loop's timer writes it
    assert sample("_count") == 3 and sample("_sum") == pytest.approx(20.0101)
    assert (sample("_bucket", le="0.005"), sample("_bucket", le="0.01"), sample("_bucket", le="10.0")) == (1, 2, 2)
    assert sample("_bucket", le="+Inf") == 3
