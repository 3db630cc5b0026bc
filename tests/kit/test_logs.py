"""Log lines: one JSON object each, the request id on every one, no phone number whole."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys
from collections.abc import Iterator

import pytest

from app.config import AppEnv, Settings
from app.kit.access_log import ACCESS_LOGGER
from app.kit.logs import (
    TEXT_ACCESS_FORMAT,
    TEXT_FORMAT,
    JsonFormatter,
    RequestIdFilter,
    TextAccessFormatter,
    TextFormatter,
    accepted_request_id,
    bound_request_id,
    logging_config,
    mask_phones,
)

PHONE = "13800138000"


def test_mobile_numbers_are_masked_and_other_digits_kept() -> None:
    assert mask_phones(f"SMS to {PHONE} sent") == "SMS to 138****8000 sent"
    assert mask_phones("+8613912345678, 86-15012345678") == "+86139****5678, 86-150****5678"
    # Not a mainland mobile (starts 12), part of a longer number (an order number), a landline.
    kept = "12800138000 NP2026121313800138000 0751-1234567 lot 20261206"
    assert mask_phones(kept) == kept


def test_a_request_id_is_taken_only_when_short_and_plain() -> None:
    assert accepted_request_id("edge-7f3a.b_2") == "edge-7f3a.b_2"
    assert accepted_request_id("a" * 64) == "a" * 64
    for bad in ("a" * 65, "two words", "id\nforged line", "", None, "全角"):
        made = accepted_request_id(bad)
        assert made != bad and len(made) == 32 and made.isalnum()
    assert accepted_request_id(None) != accepted_request_id(None)


def _record(msg: str, *args: object, name: str = "app.test", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args or None, None)
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_the_fields_and_masks_message_args_and_extras() -> None:
    record = _record(
        "notice to %s for order %s", PHONE, "NP1", recipient=f"+86{PHONE}", attempts=2, data={"kwargs": {"to": PHONE}}
    )
    with bound_request_id("req-1"):
        RequestIdFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert PHONE not in line
    assert entry["message"] == "notice to 138****8000 for order NP1"
    assert entry["request_id"] == "req-1" and entry["level"] == "INFO" and entry["logger"] == "app.test"
    assert entry["recipient"] == "+86138****8000" and entry["attempts"] == 2
    assert entry["data"] == {"kwargs": {"to": "138****8000"}}  # nested extras too (Celery's task kwargs)
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    # Outside a request: null, not a stale id.
    RequestIdFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] is None


def test_a_traceback_is_one_field_and_masked() -> None:
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        record = logging.LogRecord("app.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad phone 138****8000" in entry["exc"] and PHONE not in entry["exc"]


def test_uvicorns_access_record_becomes_fields_in_json_and_a_masked_line_in_text() -> None:
    args = ("203.0.113.9:5000", "GET", f"/orders/x/{PHONE}", "1.1", 200)
    record = _record('%s - "%s %s HTTP/%s" %d', *args, name=ACCESS_LOGGER)
    with bound_request_id("abc"):
        RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/orders/x/138****8000", 200)
    assert entry["request_id"] == "abc"
    text = TextAccessFormatter(TEXT_ACCESS_FORMAT).format(record)
    assert text.endswith('[abc] 203.0.113.9:5000 - "GET /orders/x/138****8000 HTTP/1.1" 200')
    plain = TextFormatter(TEXT_FORMAT).format(_record("to %s", PHONE, request_id=None))
    assert plain.endswith("INFO app.test [None] to 138****8000")


def test_production_logs_json_unless_told_otherwise() -> None:
    prod = {"app_env": AppEnv.production, "secret_key": "s" * 40, "database_url": "postgresql://db/x",
            "public_base_url": "https://shop.example.cn"}  # fmt: skip
    assert Settings(**prod).log_format == "json"  # type: ignore[arg-type]
    assert Settings(**prod, log_format="text").log_format == "text"  # type: ignore[arg-type]
    assert Settings(app_env=AppEnv.demo).log_format == "text"


@pytest.fixture
def configured_root() -> Iterator[None]:
    """dictConfig replaces the root's and uvicorn's handlers: put them back afterwards."""
    names = ("", "app", "uvicorn", "uvicorn.error", ACCESS_LOGGER, "celery")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
             for n in names}  # fmt: skip
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_the_served_config_writes_json_lines_with_the_request_id(
    configured_root: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    logging.config.dictConfig(logging_config("json", "INFO"))
    with bound_request_id("f00d"):
        logging.getLogger("app.orders").info("order for %s placed", PHONE)
    logging.getLogger("sqlalchemy.pool").info("not shown: libraries log warnings only")
    (line,) = err.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "f00d" and entry["message"] == "order for 138****8000 placed"


def test_another_record_on_the_access_logger_still_formats() -> None:
    record = _record("shutting down %s", "now", name=ACCESS_LOGGER, request_id=None)
    assert TextAccessFormatter(TEXT_ACCESS_FORMAT).format(record).endswith('[None] - - "shutting down now" -')
