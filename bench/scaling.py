"""Issue 16, measure: pay-at-pickup shop orders per second with 1, 2 and 4 web processes on this
machine (``app serve --workers N`` plus the Celery worker, wrk at concurrency 16, orders spread over
the supply SKUs and stations as in ``bench.orders``), and the ratio to one process: how far more
processes take the same two cores. Each run starts a fresh server with its own embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from bench.harness import running_server, wrk_available
from bench.orders import _prepare, _run

PROCESSES = (1, 2, 4)
SECONDS = 10


def main() -> None:
    if not wrk_available():
        print("== scaling: skipped — wrk is not installed (apt-get install wrk) ==")
        return
    print(
        f"== scaling: pay-at-pickup orders/s by web processes, wrk at concurrency 16, "
        f"{SECONDS} s each ({os.cpu_count()} cores shared by all) =="
    )
    rates: dict[int, float] = {}
    for processes in PROCESSES:
        with tempfile.TemporaryDirectory(prefix="np-bench-scaling-") as tmp:
            data = Path(tmp) / "data"
            with running_server(data, seed_first=True, workers=processes, with_worker=True) as server:
                skus, _, _, stations, _ = asyncio.run(_prepare(server.base_url, 1))
                result, counts, web_ms, _, _ = _run(
                    server, f"{processes} web process(es)", skus, stations, SECONDS, Path(tmp)
                )
        rates[processes] = counts.get(201, 0) / SECONDS
        print(result.line())
        print(
            f"    {rates[processes]:.1f} orders/s ({rates[processes] / rates[PROCESSES[0]]:.2f}× one process), "
            f"p99 {result.p99_ms:.0f} ms, web CPU {web_ms:.1f} ms per order"
        )


if __name__ == "__main__":
    main()
