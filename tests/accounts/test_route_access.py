"""Every route declares who may call it; page form posts all check a CSRF token."""

from __future__ import annotations

from fastapi import FastAPI

from tests.fixtures.routes import iter_routes

# Framework routes that are public by nature (the API description and its viewers) and static files.
FRAMEWORK_PUBLIC = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
PUBLIC_MOUNTS = {"/static", "/media/products"}  # case photos are a route with a rule
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_route_declares_an_access_rule(app: FastAPI) -> None:
    undeclared = []
    seen = 0
    for route in iter_routes(app):
        if route.is_mount:
            assert route.path in PUBLIC_MOUNTS, f"unexpected mount {route.path}"
            continue
        if route.path in FRAMEWORK_PUBLIC:
            continue
        seen += 1
        rules = {getattr(call, "access_rule", None) for call in route.calls} - {None}
        if not rules:
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert seen > 30
    assert undeclared == []


def test_page_form_posts_check_csrf(app: FastAPI) -> None:
    unprotected = []
    for route in iter_routes(app):
        if route.is_mount or route.path.startswith(("/api/", "/webhooks/")) or not (route.methods & UNSAFE):
            continue
        if not any(getattr(call, "csrf_protected", False) for call in route.calls):
            unprotected.append(route.path)
    assert unprotected == []


def test_walker_sees_a_route_without_a_rule() -> None:
    """The walker itself must be able to fail."""
    bare = FastAPI()

    @bare.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    routes = [r for r in iter_routes(bare) if r.path == "/open"]
    assert len(routes) == 1
    assert not any(getattr(c, "access_rule", None) for c in routes[0].calls)
