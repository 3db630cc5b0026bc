"""Issue 15 (first figures): the per-request floor and the bytes on the wire.

- ``/healthz`` of the app against a bare FastAPI app with the same uvicorn settings (one worker,
  ``--no-access-log`` off as ``app serve`` has it), both loaded by the same client in the same run.
  The client is Python on the same two cores, so for routes this cheap it measures itself as much
  as the server: read the ratio, not the absolute figure (a wrk-class client is not installed here).
- The product list (``GET /api/v1/products``) and the home page in bytes on the wire, with and
  without ``Accept-Encoding: gzip``.
- The web worker's peak resident memory (VmHWM) at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import ROOT, free_port, load, running_server

REQUESTS = 3000


def _start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the bare app did not start")


def _wire_bytes(base: str, path: str, encoding: str) -> int:
    with httpx.Client(base_url=base) as client, client.stream("GET", path, headers={"Accept-Encoding": encoding}) as r:
        for _ in r.iter_raw():
            pass
        return r.num_bytes_downloaded


async def _measure(app_base: str, bare_base: str) -> list[str]:
    lines = []
    # Alternate the two, twice, and keep each one's best: the machine is shared and noisy.
    ours, bare = [], []
    for _ in range(2):
        ours.append(await load(app_base, "/healthz", concurrency=16, requests=REQUESTS))
        bare.append(await load(bare_base, "/healthz", concurrency=16, requests=REQUESTS))
    best_ours = max(ours, key=lambda r: r.rps)
    best_bare = max(bare, key=lambda r: r.rps)
    lines.append("app  " + best_ours.line())
    lines.append("bare " + best_bare.line())
    lines.append(f"ratio app/bare /healthz (req/s): {best_ours.rps / best_bare.rps:.2f}   (aim ≥ 0.70)")
    for path in ("/api/v1/products", "/"):
        plain = _wire_bytes(app_base, path, "identity")
        gz = _wire_bytes(app_base, path, "gzip")
        lines.append(f"{path:<20} on the wire: {plain:7d} B plain, {gz:6d} B gzip ({gz / plain:.0%})")
    return lines


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with running_server(Path(tmp) / "data", seed_first=True) as server:
            bare, bare_base = _start_bare()
            try:
                print("== floor: /healthz of the app vs a bare FastAPI app, concurrency 16, one uvicorn worker ==")
                for line in asyncio.run(_measure(server.base_url, bare_base)):
                    print(line)
                print(f"web worker peak RSS (VmHWM) after this bench: {server.peak_rss_mib():.0f} MiB   (aim ≤ 150)")
            finally:
                bare.send_signal(signal.SIGINT)
                bare.wait(timeout=20)
