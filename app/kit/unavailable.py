"""Which errors mean "the database cannot be reached right now" — a restart, a crash, a full pool —
rather than a fault in the request or in our code.

Those answer 503 with ``Retry-After`` (the client may send the same request again, with the same
``Idempotency-Key``); everything else keeps its 500. The check runs only on the error path: the
happy path pays nothing for it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final

import asyncpg
from sqlalchemy import exc as sa_exc

RETRY_AFTER_SECONDS: Final = 5
CODE: Final = "service_unavailable"
MESSAGE: Final = "服务暂时不可用（数据库连接中断），请稍后重试"

# Errors PostgreSQL (or asyncpg about it) reports when the server is going away, starting up or
# out of connections: class 08 (connection exception), 57P01–57P03 (shutdown, crash, cannot
# connect now) and 53300 (too many connections). Not 57014 (query cancelled): a statement
# timeout is about the statement.
_SERVER_GONE: Final = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# A raw socket error or a connect timeout counts only when it came out of the database driver or
# the pool (an upload that cannot be written is an OSError too, and not the database's).
_DRIVER_MODULES: Final = ("asyncpg", "sqlalchemy.pool", "sqlalchemy.engine", "sqlalchemy.dialects")


def database_unavailable(error: BaseException) -> bool:
    """True when ``error``, or an error that caused it, says the database is unreachable now."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_connection_level(current):
            return True
        original = getattr(current, "orig", None) if isinstance(current, sa_exc.DBAPIError) else None
        if isinstance(original, BaseException) and _is_connection_level(original):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_connection_level(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, _SERVER_GONE):
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(error):
        return True
    # OSError covers refused / reset connections, a missing socket file and (3.11+) TimeoutError,
    # which asyncio.TimeoutError is.
    return isinstance(error, OSError) and _raised_in_driver(error.__traceback__)


def _raised_in_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False
