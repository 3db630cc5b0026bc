"""Access logs keep no query-string values: a guest's phone in ``?phone=`` never reaches a log line."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from uvicorn.logging import AccessFormatter

from app.cli import cli
from app.config import get_settings
from app.kit.access_log import ACCESS_LOGGER, MaskQueryStrings, mask_query, uvicorn_log_config
from app.kit.logs import logging_config
from app.kit.metrics import RequestObserver
from tests.fixtures.http_server import serve_in_thread

PHONE = "13800138000"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", ACCESS_LOGGER)


def access_record(full_path: str) -> logging.LogRecord:
    """A record as uvicorn's HTTP protocols log it (``access_logger.info(...)``)."""
    return logging.LogRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.9:51234", "GET", full_path, "1.1", 200),
        None,
    )


def test_query_values_are_masked_and_names_kept() -> None:
    assert mask_query(f"/orders/NP260101000001?phone={PHONE}") == "/orders/NP260101000001?phone=***"
    assert mask_query(f"/p?q=%E6%9E%87&page=2&{PHONE}&&empty=") == "/p?q=***&page=***&***&empty=***"
    assert mask_query("/orders/NP260101000001") == "/orders/NP260101000001"


def test_the_filter_rewrites_uvicorns_access_record() -> None:
    record = access_record(f"/orders/NP260101000001?phone={PHONE}&done=placed")
    assert MaskQueryStrings().filter(record) is True
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '203.0.113.9:51234 - "GET /orders/NP260101000001?phone=***&done=*** HTTP/1.1" 200 OK'
    # Any other record passes untouched.
    other = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "shutting down %s", ("now",), None)
    assert MaskQueryStrings().filter(other) is True and other.args == ("now",)


@pytest.fixture
def restore_uvicorn_logging() -> Iterator[None]:
    """dictConfig reconfigures uvicorn's loggers process-wide: put them back afterwards."""
    saved = {}
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.filters[:], logger.level, logger.propagate, logger.disabled)
    yield
    for name, (handlers, filters, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.filters[:] = filters
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


async def test_a_real_server_with_the_serve_config_logs_no_phone(
    restore_uvicorn_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = {"log_config": uvicorn_log_config(), "log_level": "info", "access_log": True}
    with serve_in_thread(app, lifespan="off", loop="asyncio", http="h11", **config) as base:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{base}/orders/NP260101000001", params={"phone": PHONE})
    assert response.status_code == 204
    logged = capsys.readouterr().out
    assert '"GET /orders/NP260101000001?phone=*** HTTP/1.1" 204' in logged
    assert PHONE not in logged


def test_app_serve_hands_uvicorn_the_masking_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", "postgresql://np@127.0.0.1:1/never-opened")
    # serve() names the metrics directory for the processes it starts: not this test process's.
    monkeypatch.setenv("METRICS_DIR", str(tmp_path / "metrics"))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr("app.migrate.upgrade_to_head", lambda url: None)
    # serve() ends by stopping the embedded PostgreSQL: not the one the suite may be running on.
    monkeypatch.setattr("app.db.stop_embedded_postgres", lambda: None)
    monkeypatch.setattr("signal.signal", lambda *args: None)
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--no-worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [kwargs] = calls
    access = kwargs["log_config"]["loggers"][ACCESS_LOGGER]
    assert access["filters"] == ["mask_query_strings"]
    assert kwargs["log_config"]["filters"]["mask_query_strings"] == {"()": "app.kit.access_log.MaskQueryStrings"}
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics")


async def test_a_json_access_line_carries_the_request_id_the_response_returns(
    restore_uvicorn_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn writes the access line while the response starts, inside the request id's context
    (``RequestObserver``): the line and the ``X-Request-ID`` header agree, the phone masked twice."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    root = logging.getLogger()  # the served config gives the root a handler too
    handlers, level = root.handlers[:], root.level
    config = {"log_config": logging_config("json", "INFO"), "log_level": "info", "access_log": True}
    try:
        with serve_in_thread(RequestObserver(app), lifespan="off", loop="asyncio", http="h11", **config) as base:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"{base}/orders/x/{PHONE}", headers={"X-Request-ID": "edge-9"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert response.status_code == 204 and response.headers["X-Request-ID"] == "edge-9"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line["logger"] == ACCESS_LOGGER]
    assert access["request_id"] == "edge-9" and access["status"] == 204
    assert access["path"] == "/orders/x/138****8000" and PHONE not in json.dumps(access)
