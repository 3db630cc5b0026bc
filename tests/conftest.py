"""Test fixtures: a real PostgreSQL (never SQLite, never mocks), per-test transaction rollback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import AppEnv, Settings
from app.db import create_engine
from app.kit.outbox import RecordingSender
from app.main import create_app
from tests.fixtures.database import create_database, drop_database

os.environ.setdefault("APP_ENV", "test")

# One fake Stripe server (real HTTP on 127.0.0.1) for the whole run; see tests/fixtures/fake_stripe.py.
pytest_plugins = ["tests.fixtures.fake_stripe", "tests.fixtures.shop"]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection with an outer transaction that is always rolled back."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(db_connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions commit into savepoints of the outer transaction, so nothing outlives the test.
    return async_sessionmaker(
        bind=db_connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def db_session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Attempt counters in memory: a fresh app per test starts from zero (the database store is
    # tested on its own in tests/kit/test_ratelimit.py).
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=database_url,
        rate_limit_storage_url="memory://",
        public_cache_seconds=0,  # a test sees its own writes at once (the cache has its own tests)
    )


@pytest.fixture
def task_sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> FastAPI:
    return create_app(settings, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture(scope="session")
def committed_database_url() -> Iterator[str]:
    """A second database for tests that need real commits seen by other connections or processes
    (concurrency, the Celery worker); rows there outlive a test, so those tests clean up or use
    their own keys."""
    url = create_database("np_commit")
    yield url
    drop_database(url)


@pytest.fixture
async def committed_engine(committed_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(committed_database_url, pool_size=20)
    yield engine
    await engine.dispose()
