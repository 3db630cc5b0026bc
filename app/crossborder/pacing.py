"""Pacing of the calls to the ICBU gateway: one process-wide :class:`Pacer` per rate, shared by
every sync run and order pull of the process (``ALIBABA_CALLS_PER_SECOND``)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager


class Pacer:
    """Paces calls so that no window of ``window`` seconds ever holds more than ``burst`` arrivals
    at the gateway (``burst = max(1, floor(rate))``, ``window = burst / rate``: 2 calls/s → at most
    2 calls in any second), and holds calls back while the gateway has banned us.

    Two rules: starts are ``1 / rate`` apart (smooth), and a call starts no earlier than ``window``
    after the *response* of the call ``burst`` places before it. The gateway saw that earlier call
    before we got its answer, so this holds whatever the network jitter, at a cost of one round
    trip per window (about 1 % of the rate on a 10 ms link), where a start-time margin would either
    waste more or sometimes trip ``ApiCallLimit``. Use :meth:`slot` around each call.
    """

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.calls_per_second = calls_per_second
        self.interval = 1.0 / calls_per_second
        self.burst = max(1, math.floor(calls_per_second))
        self.window = self.burst / calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._ends: deque[float] = deque(maxlen=self.burst)
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    async def wait(self) -> None:
        """Wait for the next start (the caller must call :meth:`done` when the answer is in)."""
        async with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if len(self._ends) == self.burst:
                start = max(start, self._ends[0] + self.window)
            if start > now:
                self.waited_seconds += start - now
                await self._sleep(start - now)
            self._next = start + self.interval

    def done(self) -> None:
        self._ends.append(self._clock())

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.wait()
        try:
            yield
        finally:
            self.done()

    def ban(self, seconds: float) -> None:
        self._next = max(self._next, self._clock() + seconds)


_pacers: dict[float, Pacer] = {}


def pacer_for(calls_per_second: float) -> Pacer:
    """The process-wide pacer for this rate (runs in one process share it)."""
    pacer = _pacers.get(calls_per_second)
    if pacer is None:
        pacer = _pacers[calls_per_second] = Pacer(calls_per_second)
    return pacer
