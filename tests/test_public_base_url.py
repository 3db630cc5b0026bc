"""PUBLIC_BASE_URL, the address printed in every label's QR code: in demo an unset one follows the
address ``app serve`` was started on; production refuses to start without it (a printed QR code
cannot be changed)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pypdfium2 as pdfium
import pytest
import zxingcpp
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings, local_base_url
from app.db import create_sessionmaker
from tests.fixtures.builders import auth, make_user, make_variant, receive, token_for

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"app_env": AppEnv.production, "secret_key": "s" * 40, "database_url": "postgresql://u:p@db/np"}


def test_demo_and_test_keep_a_local_default_and_production_needs_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert Settings(app_env=AppEnv.demo).public_base_url == "http://127.0.0.1:8000"
    assert "public_base_url" not in Settings(app_env=AppEnv.demo).model_fields_set

    with pytest.raises(ValidationError, match="APP_ENV=production 需要设置 PUBLIC_BASE_URL"):
        Settings(**PRODUCTION)
    # Not even the default spelled out, nor any address of this machine.
    for local in ("http://127.0.0.1:8000", "http://localhost:8000", "http://0.0.0.0", "http://[::1]:8000"):
        with pytest.raises(ValidationError, match="不能是本机地址"):
            Settings(**PRODUCTION, public_base_url=local)
    for malformed in ("shop.example.cn", "ftp://shop.example.cn", "https://", "https://shop.example.cn/?a=1"):
        with pytest.raises(ValidationError, match="必须是完整的 http"):
            Settings(**PRODUCTION, public_base_url=malformed)

    assert (
        Settings(**PRODUCTION, public_base_url="https://shop.example.cn/").public_base_url == "https://shop.example.cn"
    )
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://nanling.example.cn/shop/")
    assert Settings(**PRODUCTION).public_base_url == "https://nanling.example.cn/shop"


def test_the_served_address_as_a_browser_here_reaches_it() -> None:
    assert local_base_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"  # noqa: S104 - a name, not a bind
    assert local_base_url("::", 8080) == "http://127.0.0.1:8080"
    assert local_base_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert local_base_url("192.168.1.20", 8000) == "http://192.168.1.20:8000"
    assert local_base_url("::1", 8000) == "http://[::1]:8000"
    assert local_base_url("shop.local", 8000) == "http://shop.local:8000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "DATABASE_URL", "APP_ENV")}
    return {**env, "LOG_LEVEL": "WARNING", **values}


def test_production_refuses_to_start_without_it(tmp_path: Path) -> None:
    port = free_port()
    started = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=environment(
            APP_ENV="production",
            SECRET_KEY="s" * 40,
            DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
            APP_DATA_DIR=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode == 2, started.stdout + started.stderr
    assert "配置错误 / settings error: APP_ENV=production 需要设置 PUBLIC_BASE_URL" in started.stderr
    assert "Traceback" not in started.stderr and started.stdout == ""
    # Nothing was started: no data directory written, nothing listening.
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def start_demo_server(port: int, database_url: str, data_dir: Path, log: IO[str]) -> subprocess.Popen[str]:
    """``app serve`` as ``make run`` starts it, on every interface, PUBLIC_BASE_URL unset."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", str(port), "--no-worker"],  # noqa: S104
        cwd=ROOT,
        env=environment(APP_ENV="demo", DATABASE_URL=database_url, APP_DATA_DIR=str(data_dir)),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_app_serve_in_demo_prints_its_own_address_on_labels(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    async with create_sessionmaker(committed_engine)() as session:
        # A user in the database: the server does not load the demo data into it.
        keeper = auth(await token_for(session, await make_user(session, Role.warehouse)))
        lot = await receive(session, await make_variant(session), "3")
        await session.commit()
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    process = start_demo_server(port, committed_database_url, tmp_path / "data", log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.3)
            label = await client.get(f"/api/v1/admin/lots/{lot.code}/label.pdf", headers=keeper)
        assert label.status_code == 200, label.text
        page = pdfium.PdfDocument(label.content)[0]
        found = zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())
        assert [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode] == [f"{base}/t/{lot.code}"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.seek(0)
        output = log.read()
        log.close()
    assert f"二维码网址 QR links   {base}  (PUBLIC_BASE_URL" in output
