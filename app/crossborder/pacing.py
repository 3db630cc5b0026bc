"""Pacing of the calls to the ICBU gateway (``ALIBABA_CALLS_PER_SECOND``): one process-wide
:class:`Pacer` per rate, shared by every sync run and order pull of the process, and with a
:class:`DatabaseSchedule` the rate holds across every web and worker process of the deployment:
each call's start is reserved in PostgreSQL, one interval after the previous one, whichever process
made it, and a ban the gateway told one process about holds back the others too."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crossborder import pacing_queries


class SharedSchedule(Protocol):
    """Starts of calls shared with other processes."""

    async def reserve(self, interval_seconds: float) -> float:
        """Take the next start, ``interval_seconds`` after the previous one: seconds to wait."""
        ...

    async def hold_back(self, seconds: float) -> None:
        """No start before ``seconds`` from now."""
        ...


class DatabaseSchedule:
    """A :class:`SharedSchedule` in the ``gateway_pacing`` table: one statement per call, in a
    short transaction of its own (a call's start is taken whatever becomes of its caller's work)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], name: str = "alibaba") -> None:
        self._sessionmaker = sessionmaker
        self._name = name

    async def reserve(self, interval_seconds: float) -> float:
        async with self._sessionmaker() as session, session.begin():
            return await pacing_queries.reserve_start(session, self._name, interval_seconds)

    async def hold_back(self, seconds: float) -> None:
        async with self._sessionmaker() as session, session.begin():
            await pacing_queries.hold_back(session, self._name, seconds)


class Pacer:
    """Paces calls so that no window of ``window`` seconds ever holds more than ``burst`` arrivals
    at the gateway (``burst = max(1, floor(rate))``, ``window = burst / rate``: 2 calls/s → at most
    2 calls in any second), and holds calls back while the gateway has banned us.

    Two rules: starts are ``1 / rate`` apart (smooth), and a call starts no earlier than ``window``
    after the *response* of the call ``burst`` places before it. The gateway saw that earlier call
    before we got its answer, so this holds whatever the network jitter, at a cost of one round
    trip per window (about 1 % of the rate on a 10 ms link), where a start-time margin would either
    waste more or sometimes trip ``ApiCallLimit``. Use :meth:`slot` around each call.

    With a ``shared`` schedule each start is also reserved there (after this process's own rules),
    so the starts of all processes together are ``1 / rate`` apart, and :meth:`ban_everywhere`
    holds back the other processes' starts as well as this one's.
    """

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedSchedule | None = None,
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
        self._shared = shared
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
            if self._shared is not None:
                delay = await self._shared.reserve(self.interval)
                if delay > 0:
                    self.waited_seconds += delay
                    await self._sleep(delay)

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
        """No start in this process for ``seconds``."""
        self._next = max(self._next, self._clock() + seconds)

    async def ban_everywhere(self, seconds: float) -> None:
        """No start for ``seconds`` in this process nor, with a shared schedule, in any other: the
        gateway's ban (``ApiCallLimit``) is on the app key, whichever process it answered."""
        self.ban(seconds)
        if self._shared is not None:
            await self._shared.hold_back(seconds)


_pacers: dict[tuple[float, object], Pacer] = {}


def pacer_for(calls_per_second: float, sessionmaker: async_sessionmaker[AsyncSession] | None = None) -> Pacer:
    """The process-wide pacer for this rate (runs in one process share it), its starts reserved in
    the database of ``sessionmaker`` when given (the processes of the deployment share it)."""
    key = (calls_per_second, sessionmaker)
    pacer = _pacers.get(key)
    if pacer is None:
        shared = DatabaseSchedule(sessionmaker) if sessionmaker is not None else None
        pacer = _pacers[key] = Pacer(calls_per_second, shared=shared)
    return pacer
