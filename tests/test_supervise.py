"""``app serve``'s supervision (app/supervise.py) on real child processes, with short intervals; the
embedded PostgreSQL and the Celery worker under it are in tests/faults."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from app.supervise import ChildProcess, Supervisor


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _supervising(child: ChildProcess) -> Supervisor:
    return Supervisor("sleeper", problem=child.problem, restart=child.restart, check_every=0.05, first_delay=0.1)


@pytest.fixture
def sleeper() -> Iterator[ChildProcess]:
    child = ChildProcess([sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    yield child
    child.stop(timeout=2)


def test_a_killed_child_is_restarted_and_the_log_says_so(
    sleeper: ChildProcess, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = _supervising(sleeper)
    first = sleeper.process.pid
    with caplog.at_level(logging.INFO, logger="app.supervise"):
        supervisor.start()
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: supervisor.restarts == 1, 5)
        supervisor.stop()
    assert sleeper.process.pid != first and sleeper.problem() is None
    assert "sleeper stopped (killed by signal 9); restarting in 0 s" in caplog.text
    assert f"sleeper restarted (pid {sleeper.process.pid})" in caplog.text


def test_no_restart_once_stopped(sleeper: ChildProcess) -> None:
    supervisor = _supervising(sleeper)
    supervisor.start()
    supervisor.stop()
    sleeper.stop(timeout=2)  # shutdown: the child stops after supervision has
    time.sleep(0.3)
    assert supervisor.restarts == 0 and sleeper.problem() is not None


def test_failed_restarts_back_off_exponentially_up_to_the_cap() -> None:
    attempts: list[float] = []

    def restart() -> str:
        attempts.append(time.monotonic())
        raise RuntimeError("not yet")

    supervisor = Supervisor(
        "flaky", problem=lambda: "down", restart=restart, check_every=0.01, first_delay=0.2, max_delay=0.8
    )
    supervisor.start()
    _wait_for(lambda: len(attempts) >= 4, 10)
    supervisor.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    # 0.2 s before the first attempt, then 0.4, 0.8 and 0.8 again (doubled, capped) before each next.
    assert gaps[0] >= 0.4 and gaps[1] >= 0.8 and 0.8 <= gaps[2] < 1.5, gaps
