"""Catalog is the bottom domain; supply sits on it. Read from the source: every import statement,
those inside functions and ``TYPE_CHECKING`` blocks included, relative imports resolved.

- Nothing under ``app/catalog`` imports supply, orders, stations, POS, cross-border or the pages:
  what needs a product *and* its stock or growers is composed in supply
  (``app.supply.products``, ``app.supply.product_endpoints``) or by the page that shows both.
- Nothing under ``app/supply`` imports orders, stations, POS, cross-border or the pages: those
  ask supply (reserve, sell, return), supply never asks them.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# package → packages nothing inside it may import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.catalog": ("app.supply", "app.orders", "app.stations", "app.pos", "app.crossborder", "app.web"),
    "app.supply": ("app.orders", "app.stations", "app.pos", "app.crossborder", "app.web"),
}


def imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module named by an import in ``source`` (the text of ``module``); ``from app import
    supply`` names ``app.supply`` as well as ``app``."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def breaches(source: str, module: str, *, is_package: bool = False) -> list[str]:
    rules = [banned for owner, banned in FORBIDDEN.items() if module == owner or module.startswith(owner + ".")]
    return sorted(
        f"{module} imports {name}"
        for name in imports_of(source, module, is_package=is_package)
        for banned in rules
        if any(name == prefix or name.startswith(prefix + ".") for prefix in banned)
    )


def modules_under(package: str) -> list[tuple[Path, str, bool]]:
    root = APP.parent / package.replace(".", "/")
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        found.append((path, ".".join(parts[:-1] if is_package else parts), is_package))
    return found


def test_catalog_and_supply_import_only_downwards() -> None:
    found: list[str] = []
    checked = 0
    for owner in FORBIDDEN:
        for path, module, is_package in modules_under(owner):
            found += breaches(path.read_text(encoding="utf-8"), module, is_package=is_package)
            checked += 1
    assert checked > 20  # both packages were read
    assert found == [], "\n".join(found)


def test_the_rule_sees_every_form_of_import() -> None:
    """The checker itself: a breach hidden in a function, behind TYPE_CHECKING, relative or as
    ``from app import x`` is found; allowed imports are not reported."""
    sneaky = """
from __future__ import annotations
from typing import TYPE_CHECKING
from app.catalog import repository
from app.kit import clock
if TYPE_CHECKING:
    from app.orders.models import Order
async def f():
    from app.supply import service
    import app.stations.routing
from ..supply.errors import LocationNotFound
from app import pos
"""
    assert breaches(sneaky, "app.catalog.listing") == [
        "app.catalog.listing imports app.orders.models",
        "app.catalog.listing imports app.orders.models.Order",
        "app.catalog.listing imports app.pos",
        "app.catalog.listing imports app.stations.routing",
        "app.catalog.listing imports app.supply",
        "app.catalog.listing imports app.supply.errors",
        "app.catalog.listing imports app.supply.errors.LocationNotFound",
        "app.catalog.listing imports app.supply.service",
    ]
    # Supply may use the catalog, not what sits above it.
    assert breaches(sneaky, "app.supply.products") == [
        "app.supply.products imports app.orders.models",
        "app.supply.products imports app.orders.models.Order",
        "app.supply.products imports app.pos",
        "app.supply.products imports app.stations.routing",
    ]
    assert breaches("from .. import supply", "app.catalog.tasks") == ["app.catalog.tasks imports app.supply"]
    assert breaches("from .service import in_season", "app.catalog", is_package=True) == []
    assert breaches(sneaky, "app.web.shop") == []  # the pages may compose both
