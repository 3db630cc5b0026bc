"""What ``app serve`` keeps running besides the web server: the embedded PostgreSQL and the Celery
worker (+ beat) it started.

A :class:`Supervisor` is a daemon thread in the ``serve`` process that asks every second whether
its charge is still there and, when it is not, starts it again after a back-off (1 s, 2 s, 4 s …
at most 30 s; back to 1 s once a restart has stayed up for 10 s, as systemd's default start limit
counts), logging each event. Without
it a database that crashed, or a worker killed by the kernel, stayed down until a person restarted
everything.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("app.supervise")

CHECK_EVERY_SECONDS = 1.0
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
STABLE_AFTER_SECONDS = 10.0


def _log_to_stderr() -> None:
    """``serve``'s own process configures no logging (uvicorn sets up only its own loggers), so
    supervision events get a handler here unless the root logger has one: they are what an
    operator looks for after a crash."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


class Supervisor:
    """Restart a thing when ``problem()`` says what is wrong with it (None while it is fine).

    ``restart()`` starts it again and returns a few words for the log (its new pid); when it
    raises, the failure is logged and the next try waits twice as long."""

    def __init__(
        self,
        name: str,
        *,
        problem: Callable[[], str | None],
        restart: Callable[[], str],
        check_every: float = CHECK_EVERY_SECONDS,
        first_delay: float = FIRST_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        stable_after: float = STABLE_AFTER_SECONDS,
    ) -> None:
        self.name = name
        self._problem = problem
        self._restart = restart
        self.check_every = check_every
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        _log_to_stderr()
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """No restart from now on (shutdown); waits for a restart under way to finish."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.first_delay
        up_since = time.monotonic()
        while not self._stopping.wait(self.check_every):
            try:
                problem = self._problem()
            except Exception as exc:  # a failing check must not end supervision
                problem = f"check failed ({type(exc).__name__}: {exc})"
            if problem is None:
                if time.monotonic() - up_since >= self.stable_after:
                    delay = self.first_delay
                continue
            log.warning("%s stopped (%s); restarting in %.0f s", self.name, problem, delay)
            if self._stopping.wait(delay):
                return
            try:
                started = self._restart()
            except Exception as exc:
                log.error("%s: restart failed (%s: %s)", self.name, type(exc).__name__, exc)
            else:
                self.restarts += 1
                log.warning("%s restarted (%s)", self.name, started)
            up_since = time.monotonic()
            delay = min(delay * 2, self.max_delay)


def embedded_postgres_supervisor(pgdata: Path) -> Supervisor:
    from app.db import EmbeddedPostgresWatch

    watch = EmbeddedPostgresWatch(pgdata)
    return Supervisor("embedded PostgreSQL", problem=watch.problem, restart=lambda: f"pid {watch.restart()}")


class ChildProcess:
    """A child command (the Celery worker) started in a session of its own, so that a Ctrl-C at
    the terminal reaches only ``serve``, which stops it last, and supervision never mistakes
    shutdown for a crash."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.argv = list(argv)
        self.env = env
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv, env=self.env, start_new_session=True)  # noqa: S603 - our own command line

    def problem(self) -> str | None:
        code = self.process.poll()
        if code is None:
            return None
        return f"killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def restart(self) -> str:
        self.process = self._spawn()
        return f"pid {self.process.pid}"

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (Celery's warm shutdown: tasks under way finish), SIGKILL after ``timeout``."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def celery_worker(database_url: str) -> ChildProcess:
    """``app worker --beat`` on the database ``serve`` resolved (never a second embedded server)."""
    return ChildProcess(
        [sys.executable, "-m", "app.cli", "worker", "--beat", "--concurrency", "2"],
        {**os.environ, "DATABASE_URL": database_url},
    )


def worker_supervisor(worker: ChildProcess) -> Supervisor:
    return Supervisor("Celery worker", problem=worker.problem, restart=worker.restart)
