"""A real Celery worker process on the default broker (kombu's SQLAlchemy transport on PostgreSQL),
or on ``TEST_CELERY_BROKER_URL`` (CI also runs this against Redis)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.catalog.models import ProductImage
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit.outbox import OutboxMessage
from app.main import create_app
from app.worker import CelerySender, broker_url, configure_celery
from tests.catalog.test_catalog_access import png_bytes
from tests.fixtures.builders import auth, make_category, make_product, make_user, token_for
from tests.fixtures.database import settle_outbox

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def worker_settings(tmp_path: Path, committed_database_url: str) -> Settings:
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        celery_broker_url=os.environ.get("TEST_CELERY_BROKER_URL") or None,
    )


@pytest.fixture
def worker(worker_settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": str(worker_settings.database_url),
        "APP_DATA_DIR": str(worker_settings.app_data_dir),
    }
    if worker_settings.celery_broker_url:
        env["CELERY_BROKER_URL"] = worker_settings.celery_broker_url
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


async def wait_for(predicate, timeout: float = 90.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.5)
    return False


async def test_outbox_task_runs_once_on_a_real_worker(
    worker: subprocess.Popen[bytes],
    worker_settings: Settings,
    committed_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    await settle_outbox(committed_engine)
    celery = configure_celery(worker_settings, broker=broker_url(worker_settings))
    sessionmaker = create_sessionmaker(committed_engine)
    app = create_app(
        worker_settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=CelerySender(celery)
    )
    async with sessionmaker() as session:
        product = await make_product(session, category=await make_category(session))
        token = await token_for(session, await make_user(session, Role.admin))
        await session.commit()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(
            f"/api/v1/admin/products/{product.id}/images",
            headers=auth(token),
            files={"image": ("p.png", png_bytes(), "image/png")},
        )
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]

    async def thumbnail_made() -> bool:
        async with sessionmaker() as session:
            image = await session.get(ProductImage, image_id)
            return image is not None and image.thumb_path is not None

    made = await wait_for(thumbnail_made)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert made, f"worker did not run the task; its log:\n{log[-4000:]}"
    async with sessionmaker() as session:
        image = await session.get(ProductImage, image_id)
        assert image is not None and image.thumb_path is not None
        thumb = worker_settings.uploads_dir / image.thumb_path
        assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
        message = (
            await session.scalars(
                OutboxMessage.__table__.select().where(OutboxMessage.payload["image_id"].as_integer() == image_id)
            )
        ).all()
        assert len(message) == 1
    processed_at = await _processed_at(sessionmaker, message[0])
    mtime = thumb.stat().st_mtime_ns

    # The broker delivers at least once: a second delivery of the same message, as its own task,
    # changes nothing; neither does another drain.
    celery.send_task("catalog.make_thumbnail", kwargs={"outbox_id": message[0], "image_id": image_id})
    celery.send_task("outbox.drain")

    async def logged_duplicate() -> bool:
        return "already processed" in (tmp_path / "worker.log").read_text(errors="replace")

    assert await wait_for(logged_duplicate, 60)
    assert await _processed_at(sessionmaker, message[0]) == processed_at
    assert thumb.stat().st_mtime_ns == mtime


async def _processed_at(sessionmaker, message_id: int):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        row = await session.get(OutboxMessage, message_id)
        return row.processed_at if row else None
