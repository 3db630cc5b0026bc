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

import copy
import logging
from typing import Any, Final

from uvicorn.config import LOGGING_CONFIG

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
    """uvicorn's own logging config with :class:`MaskQueryStrings` on its access logger."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask_query_strings"] = {"()": f"{__name__}.MaskQueryStrings"}
    config["loggers"][ACCESS_LOGGER].setdefault("filters", []).append("mask_query_strings")
    return config
