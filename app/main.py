"""create_app(): the ASGI app with its lifespan (engine, Celery sender, rate limiter)."""

from __future__ import annotations

import ctypes
import gc
import logging
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import models as _every_table  # noqa: F401 - all mappers resolvable in every worker (see app/models.py)
from app.accounts import endpoints as accounts_endpoints
from app.accounts.access import SESSION_COOKIE
from app.accounts.ratelimit import build_limiters
from app.catalog import endpoints as catalog_endpoints
from app.catalog.cache import ListingCache
from app.claims import endpoints as claims_endpoints
from app.config import Settings, get_settings
from app.county.report_sources import PlatformSources
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.events import endpoints as events_endpoints
from app.health import DATABASE_BROKER, BrokerCheck, kombu_probe
from app.health import router as health_router
from app.kit.compression import Compression
from app.kit.http import BodySizeLimit, install_error_handlers
from app.kit.metrics import RequestObserver, watch_pool
from app.kit.outbox import TaskSender
from app.kit.public_cache import PublicResponseCache
from app.kit.security_headers import SecurityHeaders
from app.kit.short_memo import ShortMemo
from app.metrics import router as metrics_router
from app.orders import endpoints as orders_endpoints
from app.orders.providers import OnlinePaymentProvider, provider_from_settings
from app.pos import docs_endpoints as pos_docs_endpoints
from app.pos import endpoints as pos_endpoints
from app.pos import replenishment_endpoints as pos_replenishment_endpoints
from app.pos import sale_endpoints as pos_sale_endpoints
from app.presales import endpoints as presale_endpoints
from app.shop import endpoints as shop_endpoints
from app.stations import document_endpoints as station_documents
from app.stations import endpoints as station_endpoints
from app.stations import report_endpoints as station_reports
from app.supply import documents as supply_documents
from app.supply import endpoints as supply_endpoints
from app.supply import product_endpoints
from app.web import account_data as account_data_pages
from app.web import admin as admin_pages
from app.web import admin_orders as admin_order_pages
from app.web import auth as auth_pages
from app.web import claims as claim_pages
from app.web import claims_admin as claim_admin_pages
from app.web import companies_admin as company_admin_pages
from app.web import county as county_pages
from app.web import county_funds as county_fund_pages
from app.web import county_plan as county_plan_pages
from app.web import county_reports as county_report_pages
from app.web import crossborder_admin as crossborder_admin_pages
from app.web import devices as device_pages
from app.web import events as event_pages
from app.web import notifications as notification_pages
from app.web import orders as order_pages
from app.web import pos_console as pos_console_pages
from app.web import pos_enrol as pos_enrol_pages
from app.web import pos_receipts as pos_receipt_pages
from app.web import pos_replenishment as pos_replenishment_pages
from app.web import pos_shifts as pos_shift_pages
from app.web import pos_till as pos_till_pages
from app.web import presales as presale_pages
from app.web import runs_admin as run_pages
from app.web import shop as shop_pages
from app.web import station as station_pages
from app.web import stations_admin as station_admin_pages
from app.web import stock as stock_pages
from app.web import stores_admin as store_admin_pages
from app.web import streamers as streamer_pages
from app.web import trace as trace_pages
from app.web import users_admin as user_pages
from app.web import wholesale as wholesale_pages
from app.web import wholesale_addresses_admin, wholesale_cancel, wholesale_money_portal, wholesale_portal
from app.web import wholesale_delivery_admin as wholesale_delivery_pages
from app.web import wholesale_invoices as wholesale_invoice_pages
from app.web import wholesale_orders_admin as wholesale_order_pages
from app.web import wholesale_receivables_admin as wholesale_receivable_pages
from app.web import wholesale_standing as wholesale_standing_pages
from app.web import wholesale_tripops_admin as wholesale_tripops_pages
from app.web import wholesale_trips_admin as wholesale_trip_pages
from app.web.assets import STATIC_DIR, FingerprintedStaticFiles
from app.web.templating import error_page
from app.wholesale import endpoints as wholesale_endpoints
from app.wholesale import invoice_endpoints as wholesale_invoice_endpoints
from app.wholesale import order_endpoints as wholesale_order_endpoints
from app.wholesale import receivable_endpoints as wholesale_receivable_endpoints
from app.wholesale import standing_endpoints as wholesale_standing_endpoints
from app.wholesale import trip_endpoints as wholesale_trip_endpoints

API_DESCRIPTION = """JSON API.

Errors always have the shape `{"error": code, "message": 中文说明, "detail": …}`; validation
errors are 422 `validation_error`. Quantities are decimal strings (`"1.235"`); money is an integer
in minor units (fen) with its currency. Authenticate with `POST /api/v1/auth/token` and send
`Authorization: Bearer <token>`.
"""


# Routers are tried in this order for every request, and walking one costs a regex per route (it
# was 17 % of a shop page's time with the shop's routers last). No two routers answer the same path
# (tests/test_route_order.py), so the order only sets speed: the busiest first.
ROUTERS: tuple[APIRouter, ...] = (
    health_router,
    shop_endpoints.router,  # placing an order: POST /api/v1/orders
    shop_pages.router,
    order_pages.router,
    orders_endpoints.router,
    product_endpoints.router,
    catalog_endpoints.router,
    station_endpoints.pda,
    pos_sale_endpoints.router,
    wholesale_order_endpoints.router,  # a buyer's orders: POST /api/v1/wholesale/orders
    station_pages.router,
    accounts_endpoints.router,
    accounts_endpoints.admin,
    wholesale_endpoints.router,
    wholesale_endpoints.admin,
    wholesale_order_endpoints.admin,
    wholesale_receivable_endpoints.router,
    wholesale_receivable_endpoints.admin,
    wholesale_standing_endpoints.router,
    wholesale_invoice_endpoints.router,
    catalog_endpoints.admin,
    product_endpoints.admin,
    supply_endpoints.router,
    supply_documents.router,
    station_documents.router,
    orders_endpoints.admin,
    orders_endpoints.hooks,
    station_reports.router,
    station_reports.media,
    station_endpoints.runs,
    wholesale_trip_endpoints.router,
    pos_endpoints.router,
    pos_replenishment_endpoints.router,
    pos_docs_endpoints.router,
    auth_pages.router,
    account_data_pages.router,
    admin_pages.router,
    county_pages.router,
    company_admin_pages.router,
    user_pages.router,
    device_pages.router,
    admin_order_pages.router,
    stock_pages.router,
    run_pages.router,
    wholesale_trip_pages.router,
    wholesale_tripops_pages.router,
    wholesale_delivery_pages.router,
    wholesale_order_pages.router,
    wholesale_receivable_pages.router,
    station_admin_pages.router,
    store_admin_pages.router,
    pos_enrol_pages.router,
    pos_till_pages.router,
    pos_console_pages.router,
    pos_replenishment_pages.router,
    pos_shift_pages.router,
    crossborder_admin_pages.router,
    county_report_pages.router,
    notification_pages.router,
    trace_pages.router,
    pos_receipt_pages.router,
    wholesale_pages.router,
    wholesale_standing_pages.router,
    wholesale_portal.router,
    wholesale_cancel.router,
    wholesale_addresses_admin.router,
    wholesale_money_portal.router,
    wholesale_invoice_pages.router,
    county_plan_pages.router,
    streamer_pages.router,
    claim_pages.router,
    claim_admin_pages.router,
    claims_endpoints.router,
    claims_endpoints.admin,
    presale_endpoints.router,
    presale_pages.router,
    event_pages.router,
    events_endpoints.router,
    events_endpoints.pda,
    events_endpoints.admin,
    county_fund_pages.router,
    metrics_router,
)


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    task_sender: TaskSender | None = None,
    broker_probe: BrokerCheck | None = None,
    payment_provider: OnlinePaymentProvider | None = None,
) -> FastAPI:
    """The app. With an ``engine`` (tests) it uses the caller's engine, task sender and probe as
    they are; without one its lifespan opens and closes its own."""
    settings = settings or get_settings()
    lifespan = _lifespan(
        settings,
        own_engine=engine is None,
        task_sender=task_sender,
        broker_probe=broker_probe,
        payment_provider=payment_provider,
    )
    app = FastAPI(
        title=f"{settings.brand_name} Nanling Pearl",
        version="0.1.0",
        description=f"{settings.brand_name} {API_DESCRIPTION}",
        lifespan=lifespan,
    )
    _set_up_state(
        app,
        settings,
        engine=engine,
        sessionmaker=sessionmaker,
        task_sender=task_sender,
        broker_probe=broker_probe,
        payment_provider=payment_provider,
    )
    install_error_handlers(app, error_page)
    _add_middleware(app, settings, online_payment=settings.stripe_enabled or payment_provider is not None)
    for router in ROUTERS:
        app.include_router(router)
    _mount_files(app, settings)
    logging.getLogger("app").setLevel(settings.log_level)
    return app


async def _build_route_table(app: FastAPI) -> None:
    """FastAPI works out each included router's routes (their dependencies, their responses) on the
    first request that reaches that router: a third of a fresh worker's time under load, on the
    first customers' requests. One request that matches no route walks them all now, at start-up,
    and the result joins the frozen start-up heap. The request is one ASGI call, without an HTTP
    client: httpx (with its command line's rich and pygments) would cost a worker ~9 MiB for life."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/__route-table__",
        "raw_path": b"/__route-table__",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"start-up")],
        "client": ("127.0.0.1", 0),
        "server": ("start-up", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    await app.router(scope, receive, send)


def _return_large_blocks_to_the_system() -> None:
    """glibc serves a block over its mmap threshold (128 KiB) from a mapping of its own, returned to
    the system when freed, but raises the threshold to the size of each such block freed: after the
    first sign-in (argon2's 7 MiB) every later buffer up to that size came from the heap and its
    pages stayed with the worker (+4 MiB peak over a bench). A threshold set once stays put."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_mmap_threshold = -3  # <malloc.h>
    libc.mallopt(m_mmap_threshold, 256 * 1024)


def _lifespan(
    settings: Settings,
    *,
    own_engine: bool,
    task_sender: TaskSender | None,
    broker_probe: BrokerCheck | None,
    payment_provider: OnlinePaymentProvider | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Without an engine from the caller: open the database engine, the Celery sender, the broker
    probe and the payment provider at startup (any of the last three the caller gave is kept),
    and close the provider and the engine at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if own_engine:
            from app.task_sender import LazyCelerySender, broker_url

            app.state.engine = create_engine(resolve_database_url(settings), pool_size=settings.db_pool_size)
            app.state.sessionmaker = create_sessionmaker(app.state.engine)
            watch_pool(app.state.engine)
            # Celery loads on the first message published one by one (``app.task_sender``).
            app.state.task_sender = task_sender or LazyCelerySender(settings)
            app.state.broker_probe = broker_probe or (
                kombu_probe(broker_url(settings)) if settings.celery_broker_url else DATABASE_BROKER
            )
            app.state.payment_provider = payment_provider or provider_from_settings(settings)
            # A served worker's start-up heap (modules, mappers, templates: ~190k objects) lives as
            # long as the process; move it out of the collector's reach so that full collections
            # stop walking it under load (the p99 was set by those pauses). Not for apps the
            # tests build around their own engine, whose heap is the test run's.
            await _build_route_table(app)
            gc.collect()
            gc.freeze()
            _return_large_blocks_to_the_system()
        yield
        if own_engine:
            if app.state.payment_provider is not None:
                await app.state.payment_provider.close()
            await app.state.engine.dispose()

    return lifespan


def _set_up_state(
    app: FastAPI,
    settings: Settings,
    *,
    engine: AsyncEngine | None,
    sessionmaker: async_sessionmaker[AsyncSession] | None,
    task_sender: TaskSender | None,
    broker_probe: BrokerCheck | None,
    payment_provider: OnlinePaymentProvider | None,
) -> None:
    """Settings, the listing cache, the rate limiters and the payment provider on ``app.state``;
    with the caller's engine also its sessions, task sender and broker probe (else the lifespan
    sets those)."""
    app.state.settings = settings
    # Values that never change once they exist, kept for the process's life (``app.db.process_memo``).
    app.state.process_memo = {}
    app.state.listing_cache = ListingCache()
    # The quarterly report's figures: the platform's own records (tests may give fixed ones).
    app.state.report_sources = PlatformSources()
    app.state.page_memo = ShortMemo()
    limiters = build_limiters(settings, lambda: app.state.engine)
    app.state.login_limiter = limiters.login
    app.state.lookup_limiter = limiters.lookup
    app.state.application_limiter = limiters.application
    app.state.sms_login_limiter = limiters.sms_login
    app.state.enrolment_limiter = limiters.enrolment
    app.state.pin_limiter = limiters.pin
    app.state.payment_provider = payment_provider
    if engine is not None:
        app.state.engine = engine
        watch_pool(engine)
        app.state.sessionmaker = sessionmaker or create_sessionmaker(engine)
        app.state.task_sender = task_sender
        app.state.broker_probe = broker_probe or (lambda: True)


# Already compressed, or streamed: gzip would spend CPU for nothing (or hold events back).
NOT_COMPRESSED = (
    "text/event-stream",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
)


# The anonymous catalog reads everyone gets alike (``app.kit.public_cache``).
PUBLIC_CACHED_PATHS = ("/api/v1/products", "/api/v1/products/", "/api/v1/categories", "/api/v1/stations")


def _add_middleware(app: FastAPI, settings: Settings, *, online_payment: bool) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, upload_max_bytes=settings.max_image_bytes)
    # HTML, JSON, CSS and JS over 1 KB go gzip-compressed to a client that accepts it (a phone on
    # 3G in a village gets the product list in a fifth of the bytes); ``Vary: Accept-Encoding``.
    app.add_middleware(Compression, minimum_size=1024, compresslevel=6, exclude_content_types=NOT_COMPRESSED)
    # Added last, so outermost: the 413 of BodySizeLimit gets the headers too.
    app.add_middleware(
        SecurityHeaders,
        session_cookie=SESSION_COOKIE,
        hsts=settings.served_over_https,
        online_payment=online_payment,
        payment_stand_in=settings.stripe_api_base,
        alibaba_connect=settings.alibaba_configured,
    )
    # Outermost of all: a cached public answer skips every layer below (headers and gzip included,
    # as they were when it was kept).
    app.add_middleware(PublicResponseCache, paths=PUBLIC_CACHED_PATHS, ttl_seconds=settings.public_cache_seconds)
    # Outside even the cache: a cached answer gets this request's X-Request-ID (not the one it was
    # kept with) and is timed like any other.
    app.add_middleware(RequestObserver)


def _mount_files(app: FastAPI, settings: Settings) -> None:
    # Only product photos are public files; station case photos (uploads/cases/) are served by
    # station_reports.media to the staff who may see them.
    (settings.uploads_dir / "products").mkdir(parents=True, exist_ok=True)
    app.mount("/static", FingerprintedStaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media/products", StaticFiles(directory=settings.uploads_dir / "products"), name="media")
