"""The routers' order in ``app.main.ROUTERS`` sets speed, never meaning: no path that one router
answers is also answered by another, so moving the busiest routers first changes no answer.

For every route, a path it answers (each parameter filled in) is matched against every route of
every router: all the routes that take it in full must belong to the route's own router (inside a
router, its declared order decides, as written next to those routes)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from app.main import ROUTERS
from app.web.orders import router as order_pages


def _a_path_it_answers(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "7" if m.group(2) == ":int" else "x1", path)


def _routes(router: APIRouter) -> list[BaseRoute]:
    """A router's routes, those of routers it includes (without a prefix) in their place."""
    found: list[BaseRoute] = []
    for route in router.routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            assert route.include_context.prefix == ""  # type: ignore[attr-defined]
            found += _routes(included)
        else:
            found.append(route)
    return found


def _shared_paths(routers: tuple[APIRouter, ...]) -> list[str]:
    """Each path (of some route) that routes of two or more routers take in full."""
    routes = [(index, route) for index, router in enumerate(routers) for route in _routes(router)]
    assert all(isinstance(route, APIRoute) for _, route in routes)
    shared = []
    for index, route in routes:
        assert isinstance(route, APIRoute)
        path = _a_path_it_answers(route.path)
        for method in route.methods:
            scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
            takers = {other for other, candidate in routes if candidate.matches(scope)[0] is Match.FULL}
            if takers != {index}:
                shared.append(f"{method} {path}: routers {sorted(takers)}")
    return shared


def test_no_two_routers_answer_the_same_path() -> None:
    assert _shared_paths(ROUTERS) == []


def test_a_shared_path_would_be_found() -> None:
    """The check above can fail: a later router that also takes ``/orders/{number}`` is caught."""
    late = APIRouter()

    @late.get("/orders/{code}")
    def shadowed() -> None:
        return None

    shared = _shared_paths((*ROUTERS, late))
    assert f"GET /orders/x1: routers [{ROUTERS.index(order_pages)}, {len(ROUTERS)}]" in shared


def _routes_tried(method: str, path: str) -> int:
    """How many routes of ``ROUTERS`` a request walks until one takes it in full (FastAPI tries
    them in order, after its own four documentation routes, which are not counted)."""
    scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
    tried = 0
    for router in ROUTERS:
        for route in _routes(router):
            tried += 1
            if route.matches(scope)[0] is Match.FULL:
                return tried
    raise AssertionError(f"no route takes {method} {path}")


# Issue 15's write paths and at most how many routes each walks first: a route tried costs a few
# microseconds (a regex and FastAPI's bookkeeping). Placing a shop order walked 127 of them (about
# 0.3 ms of a ~6 ms order) and a wholesale order 73, while their routers sat behind the console's.
WRITE_PATHS = {
    ("POST", "/api/v1/orders"): 3,
    ("POST", "/api/v1/pda/scan-in"): 35,
    ("POST", "/api/v1/pda/handover"): 35,
    ("POST", "/api/v1/pos/sync"): 35,
    ("POST", "/api/v1/wholesale/orders"): 40,
}


def test_the_write_paths_are_reached_early() -> None:
    over = {
        f"{method} {path}: {tried} routes (at most {most})": tried
        for (method, path), most in WRITE_PATHS.items()
        if (tried := _routes_tried(method, path)) > most
    }
    assert over == {}
