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
