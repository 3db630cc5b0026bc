"""Database engine, sessions and the embedded PostgreSQL.

With ``DATABASE_URL`` unset the platform runs a real PostgreSQL 16 from the ``pgserver`` wheel under
``APP_DATA_DIR/pg`` (reached over a Unix socket), so one machine needs nothing installed. With it
set, that server is used and nothing is started.

One unit of work per request: :func:`get_session` yields a session, commits when the endpoint
returns and rolls back when it raises; services only ``flush()``. Outbox messages written in that
transaction are handed to the broker after the commit (see :mod:`app.kit.outbox`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "nanling"
_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_embedded_servers: dict[Path, Any] = {}


def start_embedded_postgres(pgdata: Path, database: str = EMBEDDED_DB_NAME) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``pgdata`` and return an asyncpg URL to ``database``.

    The server stops when the last process holding it exits (pgserver counts handles across
    processes), so Ctrl-C on ``app serve`` leaves no postmaster behind, and a second run reuses the
    data directory.
    """
    # psql takes no bind parameters, so the name goes into the SQL text: only a plain identifier may.
    if not _PLAIN_IDENTIFIER.fullmatch(database):
        raise ValueError(f"embedded database name must be a plain identifier, not {database!r}")
    import pgserver  # imported lazily: production never needs it

    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = _embedded_servers.get(pgdata)
    if server is None:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        _embedded_servers[pgdata] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # nosec B608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    socket_dir = make_url(server.get_uri()).query.get("host")
    if isinstance(socket_dir, tuple):
        socket_dir = socket_dir[0]
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(str(socket_dir))}"


class EmbeddedPostgresWatch:
    """Looks after the embedded PostgreSQL of ``pgdata`` for ``app serve``'s supervisor."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._postmaster: int | None = None  # the last postmaster seen, to reap once it is dead

    def problem(self) -> str | None:
        """What is wrong (no postmaster, or it died), or None while its postmaster runs. Reads
        ``postmaster.pid`` and looks at that process: cheap enough to ask every second."""
        import psutil
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None:
            return "no postmaster.pid (stopped)"
        self._postmaster = info.pid
        try:
            if info.process is None or info.process.status() == psutil.STATUS_ZOMBIE:
                return f"postmaster {info.pid} is gone"
        except psutil.NoSuchProcess:
            return f"postmaster {info.pid} is gone"
        return None

    def restart(self) -> int:
        """Start it again (same data, same socket); returns the new postmaster's pid. Raises when it
        cannot start yet (say, a killed postmaster's backends still hold its shared memory): the
        supervisor tries again later."""
        if self._postmaster is not None:
            # pg_ctl leaves the postmaster to init; when ``app serve`` is init (a container's PID 1)
            # a dead postmaster stays a zombie of ours, which pgserver would take for a running one.
            try:
                os.waitpid(self._postmaster, os.WNOHANG)
            except ChildProcessError:
                pass  # not our child: its parent reaps it
        server = _embedded_servers[self.pgdata]
        # pgserver's own inter-process lock, the one it holds while starting and stopping servers.
        with server._lock:
            server.ensure_postgres_running()
        self._postmaster = int(server.get_pid())
        return self._postmaster


def stop_embedded_postgres() -> None:
    for server in list(_embedded_servers.values()):
        server.cleanup()
    _embedded_servers.clear()


def resolve_database_url(settings: Settings) -> str:
    """The URL the app uses: ``DATABASE_URL`` when set, else the embedded server (started now)."""
    if settings.database_url:
        return as_asyncpg_url(settings.database_url)
    url = start_embedded_postgres(settings.app_data_dir / "pg")
    # Children (uvicorn workers, Celery) must reuse this server rather than start their own.
    os.environ["DATABASE_URL"] = url
    return url


def as_asyncpg_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"只支持 PostgreSQL（收到 {parsed.drivername}）")
    return parsed.render_as_string(hide_password=False)


def as_psycopg_url(url: str) -> str:
    """The same database for sync clients (Alembic offline tools, kombu's SQLAlchemy transport)."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_conninfo(url: str) -> str:
    """The same database as a libpq connection string, for a plain psycopg connection (the outbox
    listener): host, port, user, password, name and the URL's query (``host`` of a Unix socket)."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(url)
    fields: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    fields.update({key: value for key, value in parsed.query.items() if isinstance(value, str)})
    return make_conninfo(**{key: value for key, value in fields.items() if value is not None})


def create_engine(url: str, *, pool_size: int = 10, null_pool: bool = False) -> AsyncEngine:
    # No pre-ping: it would cost a round trip on every checkout. After a database restart the first
    # statement on a stale pooled connection fails as a disconnect, and SQLAlchemy then invalidates
    # the whole pool (every connection older than that error is replaced at its next checkout), so
    # the engine recovers by itself; that one request answers 503 (app.kit.unavailable).
    kwargs: dict[str, Any] = {"pool_pre_ping": False}
    if null_pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    return create_async_engine(as_asyncpg_url(url), **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Session-per-request: commit when the endpoint returns, roll back when it raises."""
    from app.kit.outbox import SENDER_KEY, forget_pending, relay_after_commit

    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        session.info[SENDER_KEY] = request.app.state.task_sender
        session.info[_PROCESS_MEMO] = request.app.state.process_memo
        try:
            yield session
        except BaseException:
            await session.rollback()
            forget_pending(session)
            raise
        else:
            await session.commit()
            await relay_after_commit(session)


_KEPT = "np.kept"
_PROCESS_MEMO = "np.process_memo"


def process_memo(session: AsyncSession) -> dict[str, Any] | None:
    """The web process's memo of values that never change once they exist (the county warehouse's
    location id: locations are never deleted, the stock ledger names them), shared by its requests;
    None outside a request (a task reads afresh)."""
    memo: dict[str, Any] | None = session.info.get(_PROCESS_MEMO)
    return memo


def keep_in_unit_of_work(session: AsyncSession, loaded: object) -> None:
    """Keep ``loaded`` (and what it references) in the session's identity map until the unit of
    work ends. The map holds unmodified objects weakly, so a row read once per request (the
    caller's token with its user and company) would otherwise be gone by the time the request's
    work asks for it by primary key (``session.get``), and read again."""
    session.info.setdefault(_KEPT, []).append(loaded)


# scope="function": the commit happens when the endpoint returns, before the response is sent,
# so a client never sees success for work that failed to commit.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
