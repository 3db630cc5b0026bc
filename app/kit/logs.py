"""What a log line carries: the request id, masked phone numbers, and one JSON object per line.

- The **request id** of the request being served (or of the request whose outbox message a task
  is processing) lives in a :class:`~contextvars.ContextVar`; :class:`RequestIdFilter` copies it
  onto every record, so a line of any logger carries it without the code that logs knowing.
  :class:`app.kit.metrics.RequestObserver` sets it per request from ``X-Request-ID`` (when valid)
  or makes one (32 random hex digits); :func:`app.kit.outbox.enqueue` stores it with each message, and the worker binds
  it again around the task that message asks for.
- **Phone numbers** of mainland mobiles (``1[3-9]`` + 9 digits, with or without ``+86``) never
  reach a log file whole: both formatters mask them (``138****8000``) in the message, its
  arguments and any extra field (PIPL; the README's table says who sees them in full).
- ``LOG_FORMAT=json`` writes one JSON object per line (``time`` in ISO-8601 UTC, ``level``,
  ``logger``, ``message``, ``request_id``, plus a record's extra fields and ``exc`` for a
  traceback); ``text`` writes the usual readable line with the request id in brackets.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

REQUEST_ID_HEADER: Final[str] = "X-Request-ID"
MAX_REQUEST_ID_LENGTH: Final[int] = 64
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    """32 random hex digits: a uuid4's form, at a fifth of ``uuid.uuid4().hex``'s cost per request."""
    return os.urandom(16).hex()


def accepted_request_id(offered: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is at most 64 of ``[A-Za-z0-9._-]`` (a proxy's or a
    client's id, so their logs and ours line up); else a new one: anything longer or stranger
    could forge log lines or fill them."""
    if offered and _VALID_REQUEST_ID.fullmatch(offered):
        return offered
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Log lines inside carry ``request_id`` (a task working for a request, a test)."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


# A mainland mobile number, alone (not part of a longer run of digits: an order or a lot number),
# with an optional +86 / 86 in front: the first three and last four digits stay.
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[ -]?)?1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_phones(text: str) -> str:
    """``13800138000`` → ``138****8000``, ``+8613800138000`` → ``+86138****8000``."""
    return _MOBILE.sub(r"\1****\3", text)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` (None outside a request or a task working for one); lets every
    record through. On handlers, so that records of every logger get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# Attributes every LogRecord has; anything else on a record came as ``extra=`` and is a field.
_STANDARD_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime", "request_id", "color_message"}
)
# uvicorn's access record: (client_addr, method, full_path, http_version, status_code).
_ACCESS_FIELDS: Final[tuple[str, ...]] = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO-8601, UTC), ``level``, ``logger``, ``message``,
    ``request_id``, the record's extra fields, ``exc`` (the traceback) when there is one. uvicorn's
    access records also get their parts as fields (``method``, ``path``, ``status``, ``client``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == len(_ACCESS_FIELDS):
            entry.update(zip(_ACCESS_FIELDS, args, strict=True))
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        # Masked as one line: message, arguments, extra fields (nested ones too: Celery's task
        # kwargs) and the traceback alike.
        return mask_phones(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """The readable line (``LOG_FORMAT=text``), phone numbers masked like the JSON lines'."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(super().format(record))


TEXT_FORMAT: Final[str] = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
TEXT_ACCESS_FORMAT: Final[str] = (
    '%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s'
)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for the web processes (handed to uvicorn) and the
    worker: app and library records through one handler on the root logger, uvicorn's own and
    its access log (query-string values masked, ``app.kit.access_log``) in the same format."""
    from app.kit.access_log import ACCESS_LOGGER

    if log_format == "json":
        formatters: dict[str, Any] = {
            "default": {"()": f"{__name__}.JsonFormatter"},
            "access": {"()": f"{__name__}.JsonFormatter"},
        }
    else:
        formatters = {
            "default": {"()": f"{__name__}.TextFormatter", "fmt": TEXT_FORMAT},
            # uvicorn's own access line (client - "GET /path HTTP/1.1" 200), masked and with the id.
            "access": {"()": f"{__name__}.TextAccessFormatter", "fmt": TEXT_ACCESS_FORMAT},
        }
    filters = {
        "request_id": {"()": f"{__name__}.RequestIdFilter"},
        "mask_query_strings": {"()": "app.kit.access_log.MaskQueryStrings"},
    }
    handlers = {
        "default": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["request_id"],
            "stream": "ext://sys.stdout",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": formatters,
        "handlers": handlers,
        # Libraries say only what goes wrong; the app's own loggers log at LOG_LEVEL.
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "app": {"level": level},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            ACCESS_LOGGER: {
                "handlers": ["access"],
                "level": level,
                "propagate": False,
                "filters": ["mask_query_strings"],
            },
            "celery": {"level": level},
        },
    }


class TextAccessFormatter(TextFormatter):
    """uvicorn's access line from its record's arguments, without uvicorn's colours."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and len(args) == len(_ACCESS_FIELDS):
            client, method, path, http_version, status = args
            record.__dict__.update(
                client_addr=client, request_line=f"{method} {path} HTTP/{http_version}", status_code=status
            )
        else:  # any other record on the access logger: its message where the request line goes
            record.__dict__.update(client_addr="-", request_line=record.getMessage(), status_code="-")
        return super().formatMessage(record)
