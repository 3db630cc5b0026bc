from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.db import create_engine
from app.main import create_app


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


async def test_readyz_503_when_broker_down(settings: Settings, engine, app: FastAPI) -> None:  # type: ignore[no-untyped-def]
    from app.health import kombu_probe

    down = create_app(settings, engine=engine, broker_probe=kombu_probe("redis://127.0.0.1:1/0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "down"} and body["error"] == "not_ready"


async def test_readyz_503_when_database_down(settings: Settings) -> None:
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", null_pool=True)
    down = create_app(settings, engine=dead)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/readyz")
    await dead.dispose()
    assert response.status_code == 503 and response.json()["checks"]["database"] == "down"


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/products", "/api/v1/products/{slug}", "/healthz", "/readyz"):
        assert path in paths
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = await client.delete("/api/v1/products")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


async def test_healthz_touches_no_database(settings: Settings) -> None:
    """Liveness answers with the database gone (readiness is what reports it) and reads no caller."""
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", null_pool=True)
    down = create_app(settings, engine=dead)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})
    await dead.dispose()
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_pages_and_json_are_compressed_when_the_client_accepts_it(client: httpx.AsyncClient) -> None:
    """Over 1 KB, HTML and JSON go gzip-compressed to a client that asks (and only then); small
    answers and files that are already compressed stay as they are."""
    spec = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip" and "accept-encoding" in spec.headers["vary"].lower()
    assert int(spec.headers["content-length"]) < len(spec.content) / 3  # httpx has decoded it
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == spec.json()
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    docs = await client.get("/docs", headers={"Accept-Encoding": "gzip"})
    assert docs.status_code == 200
