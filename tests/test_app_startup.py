"""The app as production starts it: fresh interpreters and spawned web workers, not the test process.

The test process itself imports every model module (builders, conftest), so a table missing from
what ``app.main`` loads goes unseen by every in-process test; issue 11 item 13 was exactly that
(``users.store_id → stores`` unresolvable in a worker spawned by ``app serve --workers 2``). These
tests therefore run the code in child processes. The children run THIS checkout's code: they start
with ``cwd`` = the repository root and ``PYTHONPATH`` = the repository root first, and
``test_children_import_this_checkout`` proves it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.accounts.models import Role
from app.db import create_engine, create_sessionmaker
from app.kit.models import Base
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user
from tests.fixtures.database import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
SERVE_START_SECONDS = 90.0

# Run in a fresh interpreter after importing one entry module: configure every mapper, resolve
# every foreign key (what a flush does when it orders its inserts), and report what was loaded.
MAPPER_PROBE = """
import json, sys
from pathlib import Path
import {entry}
from sqlalchemy.orm import configure_mappers
from app.kit.models import Base
configure_mappers()
unresolved = []
for table in Base.metadata.tables.values():
    for fk in table.foreign_keys:
        try:
            fk.column
        except Exception as exc:
            unresolved.append(f"{{fk.parent.table.name}}.{{fk.parent.name}}: {{type(exc).__name__}}")
domains = sorted(p.parent.name for p in Path("app").glob("*/models.py"))
print(json.dumps({{
    "unresolved": sorted(unresolved),
    "tables": sorted(Base.metadata.tables),
    "unloaded_domains": [d for d in domains if f"app.{{d}}.models" not in sys.modules],
}}))
"""


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this checkout first on the path, no inherited app settings."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PUBLIC_BASE_URL"}}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


def run_child(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=child_env(**env), capture_output=True, text=True, timeout=120
    )


def test_children_import_this_checkout() -> None:
    result = run_child("import app, app.main; print(app.__file__)", APP_ENV="test")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == ROOT / "app" / "__init__.py"


@pytest.mark.parametrize("entry", ["app.main", "app.worker"])
def test_every_mapper_and_foreign_key_resolves_in_a_fresh_interpreter(entry: str) -> None:
    """``app.main`` is what each uvicorn worker imports; ``app.worker`` is what a Celery worker imports."""
    result = run_child(MAPPER_PROBE.format(entry=entry), APP_ENV="test")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert report["unresolved"] == []
    assert report["unloaded_domains"] == []
    # Exactly the tables Alembic and the tests know (this process imported app.models).
    assert report["tables"] == sorted(Base.metadata.tables)


# Libraries a web worker loads on first use only (a document, a picture, a payment, a broker):
# each costs megabytes for the worker's whole life (issue 15's memory goal, README Performance);
# cryptography is a cross-border token's (5.5 MiB of Rust library mapped); segno a page's QR code,
# python-stdnum a barcode's or a credit code's check (it imports pydoc): 2.2 MiB together.
LOADED_ON_FIRST_USE = (
    "PIL",
    "reportlab",
    "openpyxl",
    "stripe",
    "kombu",
    "celery",
    "alembic",
    "pypdfium2",
    "cryptography",
    "segno",
    "stdnum",
    "pydoc",
)

LOADED_PROBE = """
import json, sys
from app.main import create_app
create_app()
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({names}))))
"""


# What a served worker has loaded once its lifespan has opened (engine, task sender, broker probe,
# route table), as uvicorn runs it: the database is not reached on the way.
LIFESPAN_PROBE = """
import asyncio, json, sys
from app.main import create_app
app = create_app()
async def main():
    async with app.router.lifespan_context(app):
        print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({names}))))
asyncio.run(main())
"""


def test_a_served_worker_opens_without_a_broker_client() -> None:
    """Celery and kombu (about 6 MiB for a worker's life) load on the first message published one by
    one (``app.task_sender``): an order, a parcel scan or a page never publishes one."""
    result = run_child(
        LIFESPAN_PROBE.format(names=["celery", "kombu", "billiard", "amqp"]),
        APP_ENV="test",
        DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/not_reached",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


# A cross-border token key configured (production requires one with an Alibaba app key): every
# worker checks it when it reads its settings, without importing cryptography for that.
TOKEN_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("token_key", ["", TOKEN_KEY])
def test_a_web_worker_starts_without_the_document_and_picture_libraries(token_key: str) -> None:
    result = run_child(
        LOADED_PROBE.format(names=list(LOADED_ON_FIRST_USE)), APP_ENV="test", ALIBABA_TOKEN_KEY=token_key
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_database() -> Iterator[str]:
    url = create_database("np_serve")
    yield url
    drop_database(url)


async def _make_clerk(database_url: str) -> str:
    """A committed clerk: its row has the very foreign key (users.store_id → stores) that failed."""
    engine = create_engine(database_url, null_pool=True)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await make_user(session, Role.clerk)
            await session.commit()
            return user.username
    finally:
        await engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the server and the workers it spawned (its own process group, started for this test)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    try:  # workers left behind by a supervisor that died first
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_production_serve_with_two_workers_signs_in(serve_database: str, tmp_path: Path) -> None:
    username = asyncio.run(_make_clerk(serve_database))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(
        APP_ENV="production",
        DATABASE_URL=serve_database,
        SECRET_KEY=secrets.token_urlsafe(48),
        # Production wants its public address, never a loopback one; the test talks to 127.0.0.1.
        PUBLIC_BASE_URL="http://shop.nanling-pearl.test",
        # Plain HTTP on 127.0.0.1 on purpose (production otherwise insists on Secure cookies).
        ALLOW_INSECURE_HTTP="true",
        APP_DATA_DIR=str(tmp_path / "data"),
        LOGIN_RATE_LIMIT="100/minute",
        LOGIN_ADDRESS_RATE_LIMIT="100/minute",
        LOG_LEVEL="WARNING",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--no-worker", "--workers", "2", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop reaches the spawned workers too
        )
        try:
            _sign_in_against(base, username, process, log_path)
        finally:
            _stop(process)


def _wait_until_serving(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVE_START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"app serve exited early:\n{log_path.read_text(errors='replace')[-4000:]}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    log = log_path.read_text(errors="replace")[-4000:]
    pytest.fail(f"app serve did not answer within {SERVE_START_SECONDS}s:\n{log}")


def _sign_in_against(base: str, username: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    _wait_until_serving(base, process, log_path)

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    # Several rounds, new connections each time, so both workers are likely to answer some.
    for _ in range(4):
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": username, "password": DEFAULT_PASSWORD}, timeout=10
        )
        assert token.status_code == 200, f"{token.status_code} {token.text}\n{log_tail()}"
        me = httpx.get(
            f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10
        )
        assert me.status_code == 200, me.text
        assert me.json()["username"] == username

        with httpx.Client(base_url=base, timeout=10) as browser:
            page = browser.get("/login")
            assert page.status_code == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            signed_in = browser.post(
                "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": csrf.group(1)}
            )
            assert signed_in.status_code == 303, f"{signed_in.status_code}\n{log_tail()}"
            assert signed_in.headers["location"] == "/pos"  # a clerk's home is the till
            account = browser.get("/account")
            assert account.status_code == 200
            assert username in account.text

    wrong = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": "wrong-pass"}, timeout=10)
    assert wrong.status_code == 401, wrong.text
    assert "Traceback" not in log_tail()
