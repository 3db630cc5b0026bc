"""Fault plumbing shared by bench/recovery.py and tests/faults: an ``app serve`` with its own
embedded PostgreSQL and Celery worker, pay-at-pickup orders from 16 clients that retry a failed
request with the same Idempotency-Key, a /readyz watcher, and the faults themselves (a fast
shutdown or a SIGKILL of the embedded postmaster, a SIGKILL of every worker process).

Never the machine's shared PostgreSQL: every fault here hits the server of ``APP_DATA_DIR/pg``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from bench.harness import Server, boxed_variants, running_server
from bench.stock import receive_from_grower, token

CLIENTS = 16
RETRY_PAUSE_SECONDS = 0.2
# A key is given up (and the run fails) when it has not been accepted within this time.
KEY_DEADLINE_SECONDS = 60.0


@contextmanager
def fault_server(data_dir: Path) -> Iterator[Server]:
    """``app serve`` (1 web process, adopting orphans like a container's PID 1) with its Celery
    worker + beat and its own embedded PostgreSQL, on the default broker (kombu's SQLAlchemy
    transport on that PostgreSQL) unless ``TEST_CELERY_BROKER_URL`` names another."""
    broker = _broker_of_its_own(os.environ.get("TEST_CELERY_BROKER_URL", ""))
    # As init, the way a container runs it: the postmaster it restarts is its own to reap.
    with running_server(data_dir, extra_env={"CELERY_BROKER_URL": broker}, with_worker=True, as_init=True) as server:
        yield server


def _broker_of_its_own(url: str) -> str:
    """A Redis broker's neighbouring database instead of the one given. The fault tests keep this
    server (and its worker) up for the whole package, while other tests start workers of their own
    on ``TEST_CELERY_BROKER_URL``: on one Redis queue this server's worker would take their tasks (and
    drop them: their outbox rows are in another database). The default broker (the embedded
    PostgreSQL's own tables) is already its own."""
    if not url.startswith(("redis://", "rediss://")):
        return url
    parsed = urlsplit(url)
    number = int(parsed.path.strip("/") or 0)
    return urlunsplit(parsed._replace(path=f"/{(number - 1) % 16}"))


def embedded_url(data_dir: Path) -> str:
    """A plain (asyncpg) URL of the server's embedded database, over its Unix socket (in the data
    directory unless that path is too long for a socket: postmaster.pid says where)."""
    socket_dir = data_dir.resolve() / "pg"
    pid_file = socket_dir / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        if len(lines) > 4 and lines[4].strip():
            socket_dir = Path(lines[4].strip())
    return f"postgresql://postgres@/nanling?host={socket_dir}"


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])


def stop_postgres_fast(data_dir: Path) -> int:
    """What ``pg_ctl stop -m fast`` does: SIGINT to the postmaster (clients are disconnected, the
    server checkpoints and exits, removing postmaster.pid). Returns the pid stopped."""
    pid = postmaster_pid(data_dir)
    os.kill(pid, signal.SIGINT)
    return pid


def kill_postgres(data_dir: Path) -> int:
    """SIGKILL of the postmaster: no checkpoint, postmaster.pid left behind, crash recovery next."""
    pid = postmaster_pid(data_dir)
    os.kill(pid, signal.SIGKILL)
    return pid


def is_zombie(pid: int) -> bool:
    """The process exited and nobody reaped it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return False


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``. Children are listed per thread that started them: a worker the
    supervisor thread restarted is under that thread's task, not the main one's."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in children:
            found.append(int(child))
            found.extend(descendants(int(child)))
    return found


def worker_pids(server: Server) -> list[int]:
    """The Celery worker ``serve`` started and every process under it (pool, beat)."""
    for pid in descendants(server.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"worker" in cmdline and b"app.cli" in cmdline:
            return [pid, *descendants(pid)]
    return []


def kill_worker(server: Server) -> list[int]:
    """SIGKILL every process of the worker at once (the main one first: it cannot respawn pool
    processes it no longer runs)."""
    pids = worker_pids(server)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


@dataclass
class Shop:
    """What the order load needs: SKUs with plenty of stock, the stations, an admin's headers."""

    skus: list[str]
    stations: list[str]
    admin: dict[str, str]


async def stock_the_shop(base_url: str, *, sku_count: int = 4) -> Shop:
    """Receive 100,000 units of a few boxed SKUs (one-unit orders never run out)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        admin = await token(client)
        products = (await client.get("/api/v1/products")).json()
        boxed = boxed_variants(products)[:sku_count]
        for product, variant in boxed:
            await receive_from_grower(client, admin, product["slug"], variant["sku"], 100_000)
        stations = [s["code"] for s in (await client.get("/api/v1/stations")).json()]
        return Shop([v["sku"] for _, v in boxed], stations, admin)


@dataclass
class Refusal:
    status: int
    body: str
    retry_after: str | None


@dataclass
class OrderLoad:
    """``CLIENTS`` clients placing one-line pay-at-pickup orders until ``stop`` is set. A client
    sends each order until it is accepted (201), with the same Idempotency-Key every time; a 503 or
    a dropped connection is retried, any other answer is recorded and ends that order."""

    base_url: str
    shop: Shop
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    answers: Counter[str] = field(default_factory=Counter)
    refusals: list[Refusal] = field(default_factory=list)  # every answer but 201
    accepted: dict[str, str] = field(default_factory=dict)  # Idempotency-Key → order number
    abandoned: list[str] = field(default_factory=list)  # keys without a 201 (a failure)
    accepted_at: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered), monotonic

    @property
    def contact_name(self) -> str:
        """Every order of this load carries it, so the database can be asked for exactly them."""
        return f"故障{self.tag}"

    def body(self, n: int) -> dict[str, object]:
        return {
            "lines": [{"sku": self.shop.skus[n % len(self.shop.skus)], "quantity": "1"}],
            "delivery": {"method": "station_pickup", "station_code": self.shop.stations[n % len(self.shop.stations)]},
            "contact": {"name": self.contact_name, "phone": "13800138000"},
            "payment_method": "pay_at_pickup",
        }

    async def run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=15) as client:
            await asyncio.gather(*(self._client(client, i, stop) for i in range(CLIENTS)))

    async def _client(self, client: httpx.AsyncClient, i: int, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await self._place(client, f"{self.tag}-{i}-{n}", self.body(i * 100_000 + n))

    async def _place(self, client: httpx.AsyncClient, key: str, body: dict[str, object]) -> None:
        give_up = time.monotonic() + KEY_DEADLINE_SECONDS
        while time.monotonic() < give_up:
            sent = time.monotonic()
            try:
                response = await client.post("/api/v1/orders", headers={"Idempotency-Key": key}, json=body)
            except httpx.TransportError as exc:
                self.answers[f"connection {type(exc).__name__}"] += 1
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
                continue
            self.answers[str(response.status_code)] += 1
            if response.status_code == 201:
                self.accepted[key] = response.json()["number"]
                self.accepted_at.append((sent, time.monotonic()))
                return
            self.refusals.append(Refusal(response.status_code, response.text, response.headers.get("retry-after")))
            if response.status_code != 503:
                break
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
        self.abandoned.append(key)

    def first_accepted_sent_after(self, moment: float) -> float | None:
        """When the first order sent after ``moment`` was accepted."""
        answered = [done for sent, done in self.accepted_at if sent >= moment]
        return min(answered) if answered else None


@dataclass
class ReadinessWatch:
    """/readyz every 0.2 s: (time, status) of each answer (0 when no answer came)."""

    base_url: str
    seen: list[tuple[float, int]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            while not stop.is_set():
                try:
                    status = (await client.get("/readyz")).status_code
                except httpx.TransportError:
                    status = 0
                self.seen.append((time.monotonic(), status))
                await asyncio.sleep(0.2)

    def first(self, status: int, after: float) -> float | None:
        return next((t for t, s in self.seen if s == status and t >= after), None)


@dataclass
class Outage:
    """An order load through a fault: when it struck, when /readyz first said 503 (or gave no
    answer) after it, when /readyz was 200 again and when an order sent after that 503 was
    accepted (all monotonic seconds; None when it did not happen within the bound)."""

    load: OrderLoad
    watch: ReadinessWatch
    fault_at: float
    down_at: float | None
    ready_at: float | None
    order_at: float | None

    @property
    def recovery_seconds(self) -> float | None:
        """Seconds from the fault until /readyz is 200 and orders succeed again."""
        if self.ready_at is None or self.order_at is None:
            return None
        return max(self.ready_at, self.order_at) - self.fault_at


async def order_load_through(
    base_url: str,
    shop: Shop,
    fault: Callable[[], object],
    *,
    before_seconds: float = 2.0,
    after_seconds: float = 3.0,
    recover_within: float = 40.0,
) -> Outage:
    """``CLIENTS`` clients order for ``before_seconds``, then ``fault()`` strikes; the load goes on
    until the service is back (at most ``recover_within`` seconds) and ``after_seconds`` more,
    then every client finishes the order it is on."""
    stop_load, stop_watch = asyncio.Event(), asyncio.Event()
    load, watch = OrderLoad(base_url, shop), ReadinessWatch(base_url)
    load_task = asyncio.create_task(load.run(stop_load))
    watch_task = asyncio.create_task(watch.run(stop_watch))
    await asyncio.sleep(before_seconds)
    fault_at = time.monotonic()
    fault()
    down_at = ready_at = order_at = None
    while time.monotonic() < fault_at + recover_within:
        await asyncio.sleep(0.2)
        down_at = next((t for t, s in watch.seen if t >= fault_at and s != 200), None)
        if down_at is None:
            continue
        ready_at = watch.first(200, after=down_at)
        order_at = load.first_accepted_sent_after(down_at)
        if ready_at is not None and order_at is not None:
            break
    await asyncio.sleep(after_seconds)
    stop_load.set()
    await asyncio.wait_for(load_task, KEY_DEADLINE_SECONDS + 15)
    stop_watch.set()
    await watch_task
    return Outage(load, watch, fault_at, down_at, ready_at, order_at)


@dataclass
class DatabaseCheck:
    orders: int
    distinct_numbers: int
    numbers: set[str]


async def orders_of(database_url: str, contact_name: str) -> DatabaseCheck:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        rows = await connection.fetch("SELECT number FROM orders WHERE contact_name = $1", contact_name)
    finally:
        await connection.close()
    numbers = [row["number"] for row in rows]
    return DatabaseCheck(len(numbers), len(set(numbers)), set(numbers))


async def fetch_number(database_url: str, sql: str) -> int:
    """One number from the embedded database, on a connection of its own (the server's restarts
    leave no pool of ours with dead connections)."""
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        return int(await connection.fetchval(sql))
    finally:
        await connection.close()


async def unprocessed_outbox(database_url: str) -> int:
    return await fetch_number(database_url, "SELECT count(*) FROM outbox_messages WHERE processed_at IS NULL")


async def outbox_drained_within(database_url: str, seconds: float) -> tuple[int, float]:
    """(messages still unprocessed, seconds waited): polls until none is left or ``seconds`` pass.
    A poll that cannot reach the database counts as not drained yet."""
    started = time.monotonic()
    while True:
        try:
            left = await unprocessed_outbox(database_url)
        except (OSError, asyncpg.PostgresError):
            left = -1
        waited = time.monotonic() - started
        if left == 0 or waited >= seconds:
            return left, waited
        await asyncio.sleep(0.5)
