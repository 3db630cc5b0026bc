"""Access logs without query-string values.

Query strings carry what must not sit in log files for months: a guest's phone number
(``/orders/NP…?phone=…``), search words, a payment provider's ``client_secret`` on a return URL.
uvicorn's access record keeps the full path with its query, so a filter on the ``uvicorn.access``
logger rewrites it before any handler (ours or a log shipper's) sees it: every value becomes
``***`` and the names stay, which is enough to tell requests apart (``/orders/NP1?phone=***``).
The filter is installed through the logging config handed to uvicorn, so each worker process
applies it when it configures its logging.
"""

from __future__ import annotations

import logging
from typing import Any, Final

MASK: Final[str] = "***"
ACCESS_LOGGER: Final[str] = "uvicorn.access"
PATH_ARG: Final[int] = 2  # uvicorn's access args: client_addr, method, full_path, http_version, status_code


def mask_query(full_path: str) -> str:
    """``/p?a=1&b=&13800138000`` → ``/p?a=***&b=***&***``: the path and the parameter names are
    kept; a part without ``=`` may itself be the value, so it is masked whole."""
    path, sep, query = full_path.partition("?")
    if not sep:
        return full_path
    parts = (f"{part.partition('=')[0]}={MASK}" if "=" in part else MASK for part in query.split("&") if part)
    return f"{path}?{'&'.join(parts)}"


class MaskQueryStrings(logging.Filter):
    """Replaces every query-string value in uvicorn's access records; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > PATH_ARG and isinstance(args[PATH_ARG], str):
            record.args = (*args[:PATH_ARG], mask_query(args[PATH_ARG]), *args[PATH_ARG + 1 :])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """The logging config ``app serve`` hands uvicorn (``app.kit.logs.logging_config``: LOG_FORMAT,
    request ids, masked phone numbers) with :class:`MaskQueryStrings` on its access logger."""
    from app.config import get_settings
    from app.kit.logs import logging_config

    settings = get_settings()
    return logging_config(settings.log_format, settings.log_level)
