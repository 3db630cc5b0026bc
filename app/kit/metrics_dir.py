"""The directory where every process of one machine keeps its Prometheus metrics.

prometheus_client's multiprocess mode is chosen when the library is first imported, by the
environment variable ``PROMETHEUS_MULTIPROC_DIR``; each process then writes its counters and
histograms to memory-mapped files there, and ``/metrics`` sums the files of every process. So the
variable must be set before anything imports the library: ``app serve`` and ``app worker`` call
:func:`use_metrics_dir` first thing, and the uvicorn workers and the Celery worker they start
inherit it. This module therefore never imports prometheus_client itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

MULTIPROC_ENV: Final[str] = "PROMETHEUS_MULTIPROC_DIR"


def pid_of(file: Path) -> int | None:
    """``counter_123.db`` / ``gauge_livesum_123.db`` → 123."""
    tail = file.stem.rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def use_metrics_dir(default: Path) -> Path:
    """Multiprocess mode in this process and the processes it starts, in ``PROMETHEUS_MULTIPROC_DIR``
    when the operator set it, else ``default`` (``METRICS_DIR``, else ``APP_DATA_DIR/metrics``).

    The files of processes that are gone (a previous run) are removed, so a new run counts from
    zero — Prometheus reads a counter that starts again as a restart, not as a fall — while the
    files of processes still running (another ``app serve`` or ``app worker`` of this machine
    sharing the directory) stay. Returns the directory."""
    directory = Path(os.environ.setdefault(MULTIPROC_ENV, str(default)))
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        pid = pid_of(file)
        if pid is not None and not process_alive(pid):
            file.unlink(missing_ok=True)
    return directory
