"""Which package may import which, read from the source (every import statement, those inside
functions and ``TYPE_CHECKING`` blocks included).

Stations depends on orders, never the other way round. Channel packages (``app.shop``,
``app.wholesale``; POS next) sit above the domains and may use them; no domain imports a channel
or the pages (``app.web``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# Sales-channel packages and the pages: above every domain.
ABOVE_DOMAINS = ("app.shop", "app.wholesale", "app.web")
# package → module prefixes nothing inside it may import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.orders": ("app.stations", *ABOVE_DOMAINS),
    "app.stations": ABOVE_DOMAINS,
    "app.supply": ABOVE_DOMAINS,
    "app.catalog": ABOVE_DOMAINS,
}


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement in ``source`` (the text of ``module``) names, relative
    imports resolved; ``from app import shop`` names ``app.shop``."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
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


def module_name(path: Path) -> str:
    """``app/orders/service.py`` → ``app.orders.service``; a package's ``__init__`` keeps its name
    (``app.orders.__init__``), so its relative imports resolve from the package itself."""
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts)


def breaches(source: str, module: str) -> list[str]:
    rules = [
        prefixes for package, prefixes in FORBIDDEN.items() if module == package or module.startswith(package + ".")
    ]
    return sorted(
        f"{module} imports {name}"
        for name in imported_modules(source, module)
        for prefixes in rules
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
    )


def test_the_checker_sees_every_kind_of_import() -> None:
    source = """
from typing import TYPE_CHECKING
import app.web.forms
from app import shop
if TYPE_CHECKING:
    from app.stations.models import Station

def late() -> None:
    from ..stations import routing
"""
    assert breaches(source, "app.orders.example") == [
        "app.orders.example imports app.shop",
        "app.orders.example imports app.stations",
        "app.orders.example imports app.stations.models",
        "app.orders.example imports app.stations.models.Station",
        "app.orders.example imports app.stations.routing",
        "app.orders.example imports app.web.forms",
    ]
    assert breaches("from app.orders import service\n", "app.stations.parcels") == []
    assert breaches("from app.shop import checkout\n", "app.supply.service") == [
        "app.supply.service imports app.shop",
        "app.supply.service imports app.shop.checkout",
    ]
    assert breaches("from app.stations import routing\n", "app.shop.checkout") == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_domains_import_only_downwards(package: str) -> None:
    folder = APP / package.removeprefix("app.")
    found = [
        breach
        for path in sorted(folder.rglob("*.py"))
        for breach in breaches(path.read_text(encoding="utf-8"), module_name(path))
    ]
    assert found == []
