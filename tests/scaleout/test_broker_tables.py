"""Processes that start at once on the database broker do not race on kombu's tables: without
``prepare_database_broker`` one of five processes starting together died on a duplicate
``queue_id_sequence`` (the scale-out test met it in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.database import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent.parent

# Imports first, then every process waits for the same instant, so the opens really overlap.
PREPARE = (
    "import os, time\n"
    "from app.config import get_settings\n"
    "from app.worker import prepare_database_broker\n"
    "time.sleep(max(0.0, float(os.environ['NP_START_AT']) - time.time()))\n"
    "prepare_database_broker(get_settings())"
)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url = create_database("np_broker", migrate=False)
    yield url
    drop_database(url)


def _broker_tables(url: str) -> set[str]:
    from app.db import libpq_conninfo

    with psycopg.connect(libpq_conninfo(url)) as connection:
        rows = connection.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s)",
            (["kombu_queue", "kombu_message", "queue_id_sequence", "message_id_sequence"],),
        ).fetchall()
    return {row[0] for row in rows}


def test_eight_processes_preparing_the_broker_at_once_all_start(fresh_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_database, "APP_ENV": "demo", "NP_START_AT": str(time.time() + 8)}
    env.pop("CELERY_BROKER_URL", None)
    processes = [
        subprocess.Popen([sys.executable, "-c", PREPARE], cwd=ROOT, env=env, stderr=subprocess.PIPE) for _ in range(8)
    ]
    failures = [p.stderr.read().decode() for p in processes if p.wait(timeout=120) != 0 and p.stderr]
    assert failures == []
    assert _broker_tables(fresh_database) == {
        "kombu_queue",
        "kombu_message",
        "queue_id_sequence",
        "message_id_sequence",
    }


def test_preparing_leaves_no_broker_connection_for_forked_children(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``app worker`` prepares the tables and then forks its pool: a kombu engine cached by the
    preparation would hand its pooled connection's socket to every child (the killed-worker test
    met aborted transactions in kombu's queries that way)."""
    from kombu.transport.sqlalchemy import Channel

    from app.config import Settings
    from app.worker import prepare_database_broker

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    prepare_database_broker(Settings(database_url=fresh_database))
    assert _broker_tables(fresh_database) == {
        "kombu_queue",
        "kombu_message",
        "queue_id_sequence",
        "message_id_sequence",
    }
    assert Channel._engines == {}
