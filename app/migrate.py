"""Apply Alembic migrations from code (``app migrate``, ``app serve``, the test set-up).

Alembic is imported when a migration runs, not with this module: the web workers import it (for
``FOREIGN_TABLES``, through the backup status on the ops console) and never migrate, and Alembic
with Mako and Pygments costs each of them several MiB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_to_head(database_url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


# Tables that belong to outside libraries living in the same database (kombu's SQLAlchemy broker).
FOREIGN_TABLES = {"kombu_queue", "kombu_message"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Keep autogenerate to our own tables."""
    if type_ == "table":
        return name not in FOREIGN_TABLES
    table = getattr(obj, "table", None)
    return table is None or table.name not in FOREIGN_TABLES
