"""Which package may import which, read from the source (every import statement, those inside
functions and ``TYPE_CHECKING`` blocks included; the reader is ``test_layering_catalog``'s).

Stations depends on orders, never the other way round. Channel packages (``app.shop``,
``app.wholesale``; POS next) sit above the domains and may use them; no domain imports a channel
or the pages (``app.web``)."""

from __future__ import annotations

import pytest

from tests.test_layering_catalog import imports_of, modules_under

# Sales-channel packages and the pages: above every domain.
ABOVE_DOMAINS = ("app.shop", "app.wholesale", "app.web")
# package → module prefixes nothing inside it may import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "app.orders": ("app.stations", *ABOVE_DOMAINS),
    "app.stations": ABOVE_DOMAINS,
    "app.supply": ABOVE_DOMAINS,
    "app.catalog": ABOVE_DOMAINS,
    "app.claims": ABOVE_DOMAINS,
    "app.presales": ABOVE_DOMAINS,
}


def breaches(source: str, module: str, *, is_package: bool = False) -> list[str]:
    rules = [
        prefixes for package, prefixes in FORBIDDEN.items() if module == package or module.startswith(package + ".")
    ]
    return sorted(
        f"{module} imports {name}"
        for name in imports_of(source, module, is_package=is_package)
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
    assert breaches("from . import views\n", "app.orders", is_package=True) == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_domains_import_only_downwards(package: str) -> None:
    modules = modules_under(package)
    found = [
        breach
        for path, module, is_package in modules
        for breach in breaches(path.read_text(encoding="utf-8"), module, is_package=is_package)
    ]
    assert len(modules) > 5  # the package was read
    assert found == [], "\n".join(found)


# The domains from the bottom up, then the channel packages and the pages: a package imports only
# packages before it in this list.
LAYERS = (
    "app.kit",
    "app.notifications",
    "app.accounts",
    "app.catalog",
    "app.supply",
    "app.orders",
    "app.stations",
    "app.crossborder",
    "app.pos",
    "app.streamers",
    # After-sales claims sit on orders (refunds), stations (cash handed back) and supply (lots).
    "app.claims",
    "app.presales",
    "app.events",
    "app.shop",
    "app.wholesale",
    "app.web",
)
# Known upward imports, each with its reason; a new one fails the test until it is argued here.
UPWARD_ALLOWED: dict[tuple[str, str], str] = {
    # User administration binds an operator to a station and a clerk to a store (users.station_id,
    # users.store_id): it looks the place up by its model to refuse an unknown one.
    ("app.accounts", "app.stations"): "accounts/users.py checks the station a user is bound to",
    ("app.accounts", "app.pos"): (
        "accounts/repository.py looks up the store a clerk is bound to, the stores a manager runs and "
        "the till a till token or a clerk session at a till is bound to"
    ),
}


def layer_of(module: str) -> str | None:
    return next((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), None)


@pytest.mark.parametrize("package", LAYERS[:-1])
def test_every_package_imports_only_layers_below(package: str) -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = sorted(
        f"{module} imports {name}"
        for path, module, is_package in modules_under(package)
        for name in imports_of(path.read_text(encoding="utf-8"), module, is_package=is_package)
        if (target := layer_of(name)) is not None
        and rank[target] > rank[package]
        and (package, target) not in UPWARD_ALLOWED
    )
    assert upward == [], "\n".join(upward)


def test_pages_import_no_json_route_module() -> None:
    """Pages call the services and read models the JSON routes call, never the route modules
    (``endpoints.py`` / ``*_endpoints.py``): a route module's helpers are shaped for its answers."""
    found = sorted(
        f"{module} imports {name}"
        for path, module, is_package in modules_under("app.web")
        for name in imports_of(path.read_text(encoding="utf-8"), module, is_package=is_package)
        if name.startswith("app.")
        and any(part == "endpoints" or part.endswith("_endpoints") for part in name.split(".")[2:])
    )
    assert found == [], "\n".join(found)
