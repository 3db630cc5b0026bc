"""The embedded PostgreSQL's database name goes into psql's SQL text (psql takes no parameters), so
anything but a plain identifier is refused before a server is started or a statement is sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from app.db import AUTOVACUUM_NAPTIME, start_embedded_postgres, stop_embedded_postgres


@pytest.mark.parametrize("name", ["np'; DROP DATABASE postgres; --", 'a"b', "", "1abc", "x" * 64, "名字"])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="plain identifier"):
        start_embedded_postgres(tmp_path / "pg", name)
    assert not (tmp_path / "pg").exists()  # refused before anything was started


def test_the_embedded_server_analyses_new_rows_within_seconds(tmp_path: Path) -> None:
    """A plan prepared while a table was empty is kept until autovacuum analyses the table (issue 15:
    a wholesale order's credit sums scanned every order per order for the first minute)."""
    pgdata = tmp_path / "pg"
    try:
        url = start_embedded_postgres(pgdata, "naptime")
        auto_conf = (pgdata / "postgresql.auto.conf").read_text(encoding="utf-8")
        assert f"autovacuum_naptime = '{AUTOVACUUM_NAPTIME}'" in auto_conf
        assert asyncio.run(_shown(url, "autovacuum_naptime")) == AUTOVACUUM_NAPTIME
        written = (pgdata / "postgresql.auto.conf").stat().st_mtime_ns
        stop_embedded_postgres(pgdata)
        start_embedded_postgres(pgdata, "naptime")  # a restart finds it set and leaves the file alone
        assert (pgdata / "postgresql.auto.conf").stat().st_mtime_ns == written
    finally:
        stop_embedded_postgres(pgdata)


async def _shown(url: str, setting: str) -> str:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return str(await connection.fetchval(f"SHOW {setting}"))
    finally:
        await connection.close()
