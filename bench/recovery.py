"""Issue 16: recovery time after a PostgreSQL restart — seconds from the fault until /readyz is 200
and orders succeed again — for ``app serve`` on its embedded PostgreSQL with its Celery worker,
while 16 clients place pay-at-pickup orders (each retrying a failed request with the same
Idempotency-Key). Two faults, three times each: a fast shutdown of the postmaster (what
``pg_ctl stop -m fast`` sends) and a SIGKILL of it; ``serve``'s supervisor restarts it after its
first back-off step (1 s; each fault comes once the last restart has been up for 11 s).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from app.supervise import STABLE_AFTER_SECONDS
from bench.faults import Outage, fault_server, kill_postgres, order_load_through, stock_the_shop, stop_postgres_fast

ROUNDS = 3


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="np-bench-recovery-") as tmp:
        data = Path(tmp) / "data"
        with fault_server(data) as server:
            shop = asyncio.run(stock_the_shop(server.base_url))
            print("== recovery: embedded PostgreSQL restarted under 16 ordering clients (1 web worker + worker) ==")
            faults: dict[str, Callable[[], object]] = {
                "fast shutdown": lambda: stop_postgres_fast(data),
                "SIGKILL": lambda: kill_postgres(data),
            }
            for label, fault in faults.items():
                outages: list[Outage] = []
                for _ in range(ROUNDS):
                    # Each fault after the last restart has stayed up long enough for the back-off to
                    # start again at 1 s: the figure is the recovery of one fault, not of a crash loop.
                    time.sleep(STABLE_AFTER_SECONDS + 1)
                    outages.append(asyncio.run(order_load_through(server.base_url, shop, fault)))
                seconds = [o.recovery_seconds for o in outages if o.recovery_seconds is not None]
                answers: Counter[str] = Counter()
                for outage in outages:
                    answers.update(outage.load.answers)
                unrecovered = ROUNDS - len(seconds)
                median = f"{statistics.median(seconds):.1f} s" if seconds else "n/a"
                print(
                    f"{label:<14} recovery median {median}, each {', '.join(f'{s:.1f}' for s in seconds)} s"
                    f"{f', {unrecovered} not back within 40 s' if unrecovered else ''}; "
                    f"answers {dict(answers)}; orders abandoned {sum(len(o.load.abandoned) for o in outages)}"
                )


if __name__ == "__main__":
    main()
