"""Shared bench plumbing: a real server process on this machine and a bounded HTTP load loop."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def grower_of(client: httpx.AsyncClient, headers: dict[str, str], product_slug: str) -> str:
    """The code of a supplier registered as a grower of the product: lots come only from one."""
    suppliers = (await client.get("/api/v1/admin/suppliers", headers=headers)).json()
    return next(s["code"] for s in suppliers if product_slug in s["grows"])


def boxed_variants(products: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(product, variant) of the variants sold by the box or piece that one unit of may be ordered."""
    return [
        (p, v)
        for p in products
        for v in p["variants"]
        if v["unit"] in ("box", "piece") and v["price"] and Decimal(str(v["price"]["min_quantity"])) <= 1
    ]


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (children, their children, …)."""
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in children:
        found.append(int(child))
        found.extend(descendants(int(child)))
    return found


def cpu_seconds_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still running (``/proc/PID/stat``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    spent = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return spent


class CpuMeter:
    """CPU seconds a set of processes spends from now until :meth:`seconds`. The set is asked for
    again at the end (PostgreSQL starts a backend per new connection): one that appeared meanwhile
    counts whole, one that ended meanwhile is lost (the pools keep theirs for the run)."""

    def __init__(self, pids_of: Callable[[], list[int]]) -> None:
        self.pids_of = pids_of
        self.start = cpu_seconds_by_pid(pids_of())

    def seconds(self) -> float:
        now = cpu_seconds_by_pid(self.pids_of())
        return sum(spent - self.start.get(pid, 0.0) for pid, spent in now.items())


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pgdata: Path | None = None  # the embedded PostgreSQL's data directory, when the server runs its own

    def postgres_pids(self) -> list[int]:
        """The embedded PostgreSQL's processes (postmaster, backends, autovacuum …); none when the
        server uses a database of ``DATABASE_URL``."""
        if self.pgdata is None or not (self.pgdata / "postmaster.pid").exists():
            return []
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return [postmaster, *descendants(postmaster)]

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's worker children, or the server itself."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        pids = []
        for pid in children:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            # uvicorn's workers are spawned (``spawn_main``); its multiprocessing resource tracker,
            # also a child, serves nothing and would add its ticks to the workers' CPU.
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
        return pids or [self.process.pid]

    def peak_rss_of_workers_mib(self) -> float:
        """The largest peak resident memory (VmHWM) among the web worker processes."""
        return max(_status_mib(pid, "VmHWM:") for pid in self.worker_pids())

    def rss_mib(self) -> float:
        """Resident memory of the web worker process (the uvicorn server itself)."""
        return self._status_mib("VmRSS:")

    def peak_rss_mib(self) -> float:
        """The worker's peak resident memory so far (VmHWM)."""
        return self._status_mib("VmHWM:")

    def _status_mib(self, field: str) -> float:
        return _status_mib(self.process.pid, field)


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def _adopt_orphans() -> None:
    """In the child, before exec: PR_SET_CHILD_SUBREAPER (kept across exec)."""
    pr_set_child_subreaper = 36  # <linux/prctl.h>
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


@contextmanager
def running_server(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    seed_first: bool = False,
    workers: int = 1,
    with_worker: bool = False,
    as_init: bool = False,
) -> Iterator[Server]:
    """``app serve`` on a free port with its own embedded PostgreSQL and demo data (or the server
    ``extra_env["DATABASE_URL"]`` names).

    ``seed_first``: migrate and load the demo data in processes of their own before serving, as a
    deployment does, so that the server's memory figures are a web worker's, not the seeding's.
    ``workers``: uvicorn worker processes (``Server.process`` is then uvicorn's supervisor; see
    ``Server.worker_pids``). ``with_worker``: also the Celery worker and beat ``app serve`` starts."""
    port = free_port()
    env = {
        **os.environ,
        "APP_DATA_DIR": str(data_dir),
        "APP_ENV": "demo",
        "LOG_LEVEL": "WARNING",
        "LOGIN_RATE_LIMIT": "1000/minute",
        **(extra_env or {}),
    }
    if "DATABASE_URL" not in (extra_env or {}):  # the embedded PostgreSQL in data_dir, unless given a server
        env.pop("DATABASE_URL", None)
    log = (data_dir.parent / f"{data_dir.name}-server.log").open("wb")
    data_dir.mkdir(parents=True, exist_ok=True)
    if seed_first:
        for command in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "app.cli", command], cwd=ROOT, env=env, check=True, stdout=log)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--with-worker" if with_worker else "--no-worker",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_adopt_orphans if as_init else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"server did not start; see {log.name}")
        own_pg = "DATABASE_URL" not in (extra_env or {})
        yield Server(base, process, Path(log.name), (data_dir / "pg").resolve() if own_pg else None)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@dataclass
class LoadResult:
    path: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.path:<28} {self.rps:8.1f} req/s   p50 {self.pct(0.50):7.1f} ms   p99 {self.pct(0.99):7.1f} ms"
            f"   ({self.requests} requests, {self.errors} errors)"
        )


async def load(
    base_url: str,
    path: str,
    *,
    concurrency: int = 16,
    requests: int = 2000,
    max_seconds: float = 60.0,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """``requests`` GETs of ``path`` from ``concurrency`` workers; stops early after ``max_seconds``."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers, timeout=30) as client:
        for _ in range(20):  # warm-up
            await client.get(path)

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(path, len(latencies), errors, elapsed, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class WrkResult:
    """What one wrk run printed: requests per second, latency percentiles and non-2xx answers."""

    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int
    mean_ms: float = float("nan")
    connections: int = 16

    def line(self) -> str:
        return (
            f"{self.label:<34} {self.rps:8.1f} req/s   p50 {self.p50_ms:7.1f} ms   p99 {self.p99_ms:7.1f} ms"
            f"   ({self.requests} requests, {self.non_2xx} non-2xx, {self.errors} socket errors)"
        )

    @property
    def implied_mean_ms(self) -> float:
        """The mean latency Little's law gives for this rate: connections busy / requests per second."""
        return 1000 * self.connections / self.rps

    @property
    def latency_trustworthy(self) -> bool:
        """wrk's latency figures agree with its own rate. At tens of thousands of requests a second on
        these two cores they do not (a mean several times what the connections could have waited,
        p99 tails a 6 s run cannot hold): wrk then measures its own starved threads, not the server."""
        return self.mean_ms <= 3 * self.implied_mean_ms + 1


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _wrk_ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("m"):
        return value * 60_000
    return value * 1000  # seconds


def wrk(
    base_url: str,
    path: str = "/",
    *,
    label: str | None = None,
    connections: int = 16,
    seconds: int = 10,
    threads: int = 2,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout_seconds: int = 30,
) -> WrkResult:
    """One run of wrk (Debian's ``wrk``: a C load generator, so the client costs little of the two
    cores the server shares with it). ``script``: a Lua file for bodies, keys and checks; it reads
    its settings from ``env`` (``os.getenv`` in Lua)."""
    # A request the client gave up on may still have been served: the timeout is generous so that
    # what a Lua script counts is what the server did.
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(base_url + path)
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    mean = _wrk_ms(re.search(r"Latency\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(g) for g in socket.groups()) if socket else 0
    return WrkResult(
        label or path, rps, p50, p99, requests, int(non_2xx.group(1)) if non_2xx else 0, errors, mean, connections
    )
