"""One ``app serve`` for the fault tests, with an embedded PostgreSQL and a Celery worker of its own
(APP_DATA_DIR in a temporary folder, DATABASE_URL unset): the faults kill that server and that
worker, never the machine's shared PostgreSQL. The broker is the default one (kombu's SQLAlchemy
transport on that embedded PostgreSQL) unless TEST_CELERY_BROKER_URL names another."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.faults import Shop, embedded_url, fault_server, stock_the_shop
from bench.harness import Server


@dataclass
class Served:
    server: Server
    data_dir: Path
    shop: Shop

    @property
    def database_url(self) -> str:
        return embedded_url(self.data_dir)

    def log(self) -> str:
        return self.server.log_path.read_text(errors="replace")


@pytest.fixture(scope="package")
def served() -> Iterator[Served]:
    # Not under pytest's tmp_path: as root, pgserver runs PostgreSQL as the unprivileged user
    # ``pgserver``, which must traverse every folder above the data directory, and pytest sets
    # /tmp/pytest-of-root back to 0700 whenever a pytest starts (another run on this machine
    # included) — the server then cannot reach its own files and a restart fails.
    with tempfile.TemporaryDirectory(prefix="np-faults-") as tmp:
        data_dir = Path(tmp) / "data"
        with fault_server(data_dir) as server:
            shop = asyncio.run(stock_the_shop(server.base_url))
            yield Served(server, data_dir, shop)
