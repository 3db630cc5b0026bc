"""A bare FastAPI app with one liveness route: the floor that ``bench/floor.py`` compares our
``/healthz`` with (same uvicorn settings, same machine, same run)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
