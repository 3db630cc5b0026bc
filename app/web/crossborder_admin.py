"""Ops console for the Alibaba.com (ICBU) listings (/admin/crossborder). Admin role only.

Pages: the connection and every listing; one listing's editor with its sync log; the orders
pulled from Alibaba.com. Thin: reads through ``app.crossborder.repository`` / ``tokens.status``,
writes through ``listings.update_listing`` / ``listings.request_sync`` / ``tokens.connect``; the
form's text is read by ``app.web.crossborder_forms``. A refused form is rolled back and shown
again with what was typed and the reasons in Chinese, under a 4xx status.

Connecting: the connect button sends the admin to Alibaba.com's authorize page with a signed
``state`` (the admin's user id and a digest of this browser's session cookie, 30 minutes), and
the seller's redirect comes back to the callback in the same browser. The callback stores tokens
only for a state this admin's own session asked for, so a code cannot be slipped in from a link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import SESSION_COOKIE, AdminUser
from app.catalog.models import ProductImage
from app.config import Settings
from app.crossborder import listings, repository, tokens
from app.crossborder.crypto import cipher_for
from app.crossborder.errors import (
    AlibabaAuthDeclined,
    AlibabaAuthFailed,
    AlibabaNotConfigured,
    AlibabaStateInvalid,
)
from app.crossborder.models import AlibabaOrder, ConnectionStatus, Listing, ListingState, SyncLogEntry
from app.crossborder.orders import STATUS_ZH
from app.crossborder.service import build_client, china_time, display_state
from app.crossborder.validation import validate_listing
from app.db import DbSession
from app.kit import outbox
from app.kit.errors import AppError
from app.web import crossborder_forms as forms
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

HOME: Final[str] = "/admin/crossborder"
CONNECT_SALT: Final[str] = "alibaba-connect"
CONNECT_MAX_AGE_SECONDS: Final[int] = 1800
SYNC_TASK: Final[str] = "alibaba.sync_due"
ORDERS_PAGE_SIZE: Final[int] = 50
SYNC_LOG_LIMIT: Final[int] = 100
ALL_LOG_LIMIT: Final[int] = 300
PARAMS_SHOWN_CHARS: Final[int] = 300
MEDIA_PREFIX: Final[str] = "/media/"

INDEX_NOTICES: Final[dict[str, str]] = {
    "connected": "已连接阿里巴巴国际站卖家账号。",
    "sync": "已安排全部商品立即同步，后台任务将在一分钟内处理。",
}


# ---- small helpers --------------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _connected(settings: Settings, report: tokens.StatusReport) -> bool:
    """Listings are really being sent: an app is configured and a seller account authorised."""
    connection = report.connection
    return settings.alibaba_configured and connection is not None and connection.status is ConnectionStatus.connected


def _problems(exc: AppError) -> list[str]:
    found = exc.detail.get("problems") if isinstance(exc.detail, dict) else None
    return [str(p) for p in found] if found else [exc.text]


def order_status_zh(status: str) -> str:
    return STATUS_ZH.get(status, status)


def order_amount(order: AlibabaOrder) -> str:
    if order.amount_minor is None:
        return "—"
    whole, cents = divmod(order.amount_minor, 100)
    return f"{whole:,}.{cents:02d} {order.currency}"


def compact_params(params: dict[str, Any]) -> str:
    text = json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return text if len(text) <= PARAMS_SHOWN_CHARS else text[:PARAMS_SHOWN_CHARS] + "…"


# ---- the connect state ----------------------------------------------------------------------------


def _state_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=CONNECT_SALT)


def _browser(request: Request) -> str:
    """A digest of this browser's session cookie: binds the state to the sign-in that asked."""
    return hashlib.sha256(request.cookies.get(SESSION_COOKIE, "").encode()).hexdigest()[:32]


def connect_state(request: Request, user_id: int) -> str:
    return _state_serializer(_settings(request)).dumps({"user_id": user_id, "browser": _browser(request)})


def check_connect_state(request: Request, state: str, user_id: int) -> None:
    """:class:`AlibabaStateInvalid` unless ``state`` was signed for this user in this browser less
    than 30 minutes ago."""
    try:
        data = _state_serializer(_settings(request)).loads(state, max_age=CONNECT_MAX_AGE_SECONDS)
    except BadData as exc:
        raise AlibabaStateInvalid() from exc
    if not isinstance(data, dict) or data.get("user_id") != user_id or data.get("browser") != _browser(request):
        raise AlibabaStateInvalid()


def authorize_url(settings: Settings, state: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "force_auth": "true",
            "client_id": settings.alibaba_app_key or "",
            "redirect_uri": settings.alibaba_callback_url,
            "state": state,
        }
    )
    base = settings.alibaba_authorize_url
    return f"{base}{'&' if '?' in base else '?'}{query}"


# ---- the index: connection and listings -----------------------------------------------------------


@dataclass(frozen=True)
class ListingRow:
    listing: Listing
    product_name_zh: str
    sku: str
    state: ListingState
    problem_count: int


async def _index(
    request: Request,
    session: AsyncSession,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = _settings(request)
    report = await tokens.status(session)
    connected = _connected(settings, report)
    rows = [
        ListingRow(
            listing, name_zh, sku, display_state(listing.state, connected=connected), len(validate_listing(listing))
        )
        for listing, name_zh, sku in await repository.listing_overview(session)
    ]
    return render(
        request,
        "admin/crossborder/index.html",
        {
            "configured": settings.alibaba_configured,
            "app_key": settings.alibaba_app_key or "",
            "connection": report.connection,
            "connected": connected,
            "rows": rows,
            "notice": notice,
            "errors": errors or [],
            "china_time": china_time,
        },
        status_code=status_code,
    )


@router.get("/crossborder")
async def crossborder_page(request: Request, session: DbSession, _: AdminUser, notice: str = "") -> Response:
    return await _index(request, session, notice=INDEX_NOTICES.get(notice, ""))


@router.post("/crossborder/connect", dependencies=[CsrfProtected])
async def connect(request: Request, session: DbSession, principal: AdminUser) -> Response:
    """Off to Alibaba.com's authorize page (the seller signs in there and comes back to the callback)."""
    settings = _settings(request)
    if not settings.alibaba_configured:
        return await _index(request, session, errors=[AlibabaNotConfigured().text], status_code=409)
    return RedirectResponse(authorize_url(settings, connect_state(request, principal.user_id)), status_code=303)


@router.get("/crossborder/callback")
async def connect_callback(
    request: Request,
    session: DbSession,
    principal: AdminUser,
    code: Annotated[str, Query(max_length=512)] = "",
    state: Annotated[str, Query(max_length=1024)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Where Alibaba.com sends the seller back: ``code`` and our ``state``, or ``error`` when the
    seller declined. The code is exchanged at once (it is single use and lives 30 minutes)."""
    settings = _settings(request)
    try:
        if error:
            raise AlibabaAuthDeclined(f"{AlibabaAuthDeclined.message}（{error}）")
        check_connect_state(request, state, principal.user_id)
        if not code.strip():
            raise AlibabaAuthFailed("阿里巴巴国际站没有返回授权码，请重新点击“连接阿里巴巴国际站”")
        async with build_client(settings) as client:
            await tokens.connect(session, client, code, cipher=cipher_for(settings))
    except AppError as exc:
        await session.rollback()
        return await _index(request, session, errors=[exc.text], status_code=exc.status_code)
    return RedirectResponse(f"{HOME}?notice=connected", status_code=303)


async def _sync_now(request: Request, session: AsyncSession, listing_ids: list[int] | None) -> int:
    """Make listings due now and nudge the worker (the beat also runs the sync every minute)."""
    if not _settings(request).alibaba_configured:
        raise AlibabaNotConfigured()
    count = await listings.request_sync(session, listing_ids)
    await outbox.enqueue(session, SYNC_TASK)
    return count


@router.post("/crossborder/sync", dependencies=[CsrfProtected])
async def sync_all(request: Request, session: DbSession, _: AdminUser) -> Response:
    try:
        await _sync_now(request, session, None)
    except AppError as exc:
        await session.rollback()
        return await _index(request, session, errors=[exc.text], status_code=exc.status_code)
    return RedirectResponse(f"{HOME}?notice=sync", status_code=303)


# ---- one listing: the editor and its sync log -----------------------------------------------------


@dataclass(frozen=True)
class ImageChoice:
    path: str
    url: str
    alt: str
    checked: bool
    in_catalog: bool


@dataclass(frozen=True)
class LogRow:
    entry: SyncLogEntry
    time: str
    params: str
    listing: str = ""  # the listing's model number, on the all-calls page


def _image_choices(listing: Listing, catalog: list[ProductImage], selected: list[str]) -> list[ImageChoice]:
    """The listing's own images first, in its order (the first is the main image), then the rest of
    the catalog product's; so an untouched form keeps the order."""
    by_path = {image.path: image for image in catalog}
    order = list(dict.fromkeys([*listing.image_paths, *by_path]))
    choices = []
    for path in order:
        image = by_path.get(path)
        thumb = (image.thumb_path or image.path) if image is not None else path
        alt = (image.alt_zh if image is not None else "") or path.rsplit("/", 1)[-1]
        choices.append(ImageChoice(path, MEDIA_PREFIX + thumb, alt, path in selected, image is not None))
    return choices


def _editor_notice(notice: str, settings: Settings, connected: bool) -> str:
    if notice == "saved":
        if not connected:
            return "已保存（未连接国际站，仅保存在本地）"
        return f"已保存，将于约 {round(settings.alibaba_debounce_seconds)} 秒后同步到阿里巴巴国际站"
    if notice == "unchanged":
        return "没有改动，无需同步。"
    if notice == "sync":
        return "已安排立即同步，后台任务将在一分钟内处理。"
    return ""


async def _editor(
    request: Request,
    session: AsyncSession,
    listing_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    detail = await repository.listing_detail(session, listing_id)
    if detail is None:
        raise listings.ListingNotFound()
    listing, product_name_zh, sku = detail
    settings = _settings(request)
    connected = _connected(settings, await tokens.status(session))
    values = values if values is not None else forms.listing_values(listing)
    catalog_images = await repository.product_images(session, listing.product_id)
    log = [
        LogRow(entry, china_time(entry.created_at), compact_params(entry.params))
        for entry in await repository.sync_log(session, listing_id=listing_id, limit=SYNC_LOG_LIMIT)
    ]
    return render(
        request,
        "admin/crossborder/listing.html",
        {
            "listing": listing,
            "product_name_zh": product_name_zh,
            "sku": sku,
            "state": display_state(listing.state, connected=connected),
            "configured": settings.alibaba_configured,
            "connected": connected,
            # What is stored now; a refused form shows its own problems instead.
            "stored_problems": [] if errors else validate_listing(listing),
            "values": values,
            "images": _image_choices(listing, catalog_images, values["image_paths"]),
            "log": log,
            "notice": _editor_notice(notice, settings, connected),
            "errors": errors or [],
            "china_time": china_time,
        },
        status_code=status_code,
    )


@router.get("/crossborder/listings/{listing_id}")
async def listing_page(
    request: Request, listing_id: int, session: DbSession, _: AdminUser, notice: str = ""
) -> Response:
    return await _editor(request, session, listing_id, notice=notice)


def _change_marks(listing: Listing) -> tuple[Any, ...]:
    return (listing.content_version, listing.price_version, listing.desired_online, listing.next_attempt_at)


@router.post("/crossborder/listings/{listing_id}", dependencies=[CsrfProtected])
async def save_listing(request: Request, listing_id: int, session: DbSession, _: AdminUser) -> Response:
    values = forms.form_values(await request.form())
    current = await repository.listing(session, listing_id)
    if current is None:
        raise listings.ListingNotFound()
    allowed = {image.path for image in await repository.product_images(session, current.product_id)}
    allowed.update(current.image_paths)
    before = _change_marks(current)
    try:
        edit, unreadable = forms.parse_listing(values, current, allowed_images=allowed)
        if unreadable:
            raise listings.ListingInvalid(detail={"problems": unreadable + validate_listing(edit)})
        saved, _problems_left = await listings.update_listing(
            session, listing_id, edit, debounce_seconds=_settings(request).alibaba_debounce_seconds
        )
    except listings.ListingInvalid as exc:
        await session.rollback()
        problems = list(dict.fromkeys(_problems(exc)))
        return await _editor(request, session, listing_id, values=values, errors=problems, status_code=422)
    notice = "saved" if _change_marks(saved) != before else "unchanged"
    return RedirectResponse(f"{HOME}/listings/{listing_id}?notice={notice}", status_code=303)


@router.post("/crossborder/listings/{listing_id}/sync", dependencies=[CsrfProtected])
async def sync_listing(request: Request, listing_id: int, session: DbSession, _: AdminUser) -> Response:
    try:
        await _sync_now(request, session, [listing_id])
    except AppError as exc:
        if isinstance(exc, listings.ListingNotFound):
            raise
        await session.rollback()
        return await _editor(request, session, listing_id, errors=[exc.text], status_code=exc.status_code)
    return RedirectResponse(f"{HOME}/listings/{listing_id}?notice=sync", status_code=303)


# ---- orders pulled from Alibaba.com ---------------------------------------------------------------


@router.get("/crossborder/orders")
async def orders_page(
    request: Request, session: DbSession, _: AdminUser, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> Response:
    settings = _settings(request)
    total = await repository.count_orders(session)
    orders = await repository.orders(session, limit=ORDERS_PAGE_SIZE, offset=(page - 1) * ORDERS_PAGE_SIZE)
    pages = max(1, -(-total // ORDERS_PAGE_SIZE))
    return render(
        request,
        "admin/crossborder/orders.html",
        {
            "orders": orders,
            "total": total,
            "page": page,
            "pages": pages,
            "configured": settings.alibaba_configured,
            "connected": _connected(settings, await tokens.status(session)),
            "status_zh": order_status_zh,
            "amount": order_amount,
            "china_time": china_time,
        },
    )


@router.get("/crossborder/log")
async def sync_log_page(request: Request, session: DbSession, _: AdminUser) -> Response:
    """Every recent ICBU call, token and order calls included (those belong to no listing)."""
    models = await repository.model_numbers(session)
    log = [
        LogRow(entry, china_time(entry.created_at), compact_params(entry.params), models.get(entry.listing_id or 0, ""))
        for entry in await repository.sync_log(session, listing_id=None, limit=ALL_LOG_LIMIT)
    ]
    return render(
        request,
        "admin/crossborder/log.html",
        {"log": log, "configured": _settings(request).alibaba_configured},
    )
