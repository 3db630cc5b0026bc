"""Security headers on every response (pages, API, errors, static files) and the ``no-store``
rule: personal responses are never stored, public ones and static files keep their caching."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.catalog.models import Variant
from app.config import Settings
from app.kit.outbox import RecordingSender
from app.kit.security_headers import BASE_POLICY, DOCS_POLICY, SecurityHeaders, policy_text
from app.main import create_app
from tests.fixtures.builders import auth, make_user, receive, token_for
from tests.fixtures.shop import Storefront
from tests.web.test_shop_pages import check_out, fill_cart
from tests.web.test_stock_pages import HTML, log_in

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
OFF_SITE_FORM_CSP = PAGE_CSP.replace("form-action 'self'", "form-action 'self' https:")


def secured(response: httpx.Response) -> tuple[str | None, ...]:
    h = response.headers
    return (
        h.get("content-security-policy"),
        h.get("x-frame-options"),
        h.get("x-content-type-options"),
        h.get("referrer-policy"),
        h.get("strict-transport-security"),
    )


PAGE_HEADERS = (PAGE_CSP, "DENY", "nosniff", "strict-origin-when-cross-origin", None)


@pytest.fixture
def app_with(settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    def build(**changes: Any) -> FastAPI:
        changed = Settings(**{**settings.model_dump(), **changes})
        return create_app(changed, engine=engine, sessionmaker=sessionmaker, task_sender=RecordingSender())

    return build


@pytest.fixture
async def client_for(app_with: Any) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def open_client(**changes: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_with(**changes)), base_url="http://testserver")
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.aclose()


async def test_pages_api_errors_and_static_files_carry_the_headers(client: httpx.AsyncClient) -> None:
    responses = {
        "page": await client.get("/login", headers=HTML),
        "api": await client.get("/api/v1/categories"),
        "api 404": await client.get("/api/v1/no-such-thing"),
        "page 404": await client.get("/no-such-page", headers=HTML),
        "422": await client.post("/api/v1/auth/token", data={}),
        "413": await client.post(
            "/api/v1/orders", content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "application/json"}
        ),
        "static": await client.get("/static/site.css"),
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        "page": 200,
        "api": 200,
        "api 404": 404,
        "page 404": 404,
        "422": 422,
        "413": 413,
        "static": 200,
    }
    assert {name: secured(r) for name, r in responses.items()} == {name: PAGE_HEADERS for name in responses}


async def test_personal_responses_are_not_stored(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    await fill_cart(client, storefront)
    placed = await check_out(client, storefront)
    assert placed.status_code == 303
    order_page = await client.get(placed.headers["location"], headers=HTML)
    lookup = await client.get("/orders/lookup", headers=HTML)
    cart = await client.get("/cart", headers=HTML)
    admin = await make_user(db_session, Role.admin)
    api_admin = await client.get("/api/v1/admin/users", headers=auth(await token_for(db_session, admin)))
    await log_in(client, db_session, Role.admin)
    admin_page = await client.get("/admin", headers=HTML)
    # A public page seen by someone signed in shows their name: personal too.
    product = await client.get(f"/products/{storefront.loquat_slug}", headers=HTML)

    responses = [placed, order_page, lookup, cart, api_admin, admin_page, product]
    assert [r.status_code for r in responses] == [303, 200, 200, 200, 200, 200, 200]
    assert [r.headers.get("cache-control") for r in responses] == ["no-store"] * len(responses)


async def test_public_responses_and_static_files_keep_their_caching(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    first = await client.get("/", headers=HTML)  # hands out the CSRF cookie: per visitor, not stored
    assert "np_csrf" in first.headers.get("set-cookie", "")
    lot = await receive(db_session, await _box_variant(db_session, storefront), "1")
    public = {
        "home": await client.get("/", headers=HTML),
        "product": await client.get(f"/products/{storefront.loquat_slug}", headers=HTML),
        "trace": await client.get(f"/t/{lot.code}", headers=HTML),
        "catalog api": await client.get("/api/v1/products"),
        "health": await client.get("/healthz"),
        "static": await client.get("/static/site.css"),
        "map": await client.get("/api/v1/stations/map.svg"),
    }
    assert {name: r.status_code for name, r in public.items()} == {name: 200 for name in public}
    assert first.headers["cache-control"] == "no-store"
    assert {name: r.headers.get("cache-control") for name, r in public.items()} == {
        "home": None,
        "product": None,
        "trace": None,
        "catalog api": None,
        "health": None,
        "static": None,
        "map": "public, max-age=300",  # the route's own choice is kept
    }
    etag = public["static"].headers["etag"]
    again = await client.get("/static/site.css", headers={"if-none-match": etag})
    assert again.status_code == 304 and "cache-control" not in again.headers


async def _box_variant(session: AsyncSession, shop: Storefront) -> Variant:
    variant = await session.scalar(select(Variant).where(Variant.sku == shop.box_sku))
    assert variant is not None
    return variant


async def test_label_pdfs_may_be_framed_by_our_own_pages(
    client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    lot = await receive(db_session, await _box_variant(db_session, storefront), "1")
    staff = await make_user(db_session, Role.warehouse)
    token = await token_for(db_session, staff)
    label = await client.get(f"/api/v1/admin/lots/{lot.code}/label.pdf", headers=auth(token))
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
    assert secured(label) == (
        PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
        "SAMEORIGIN",
        "nosniff",
        "strict-origin-when-cross-origin",
        None,
    )
    assert label.headers["cache-control"] == "no-store"


async def test_api_viewers_get_their_cdn_and_nothing_else(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        viewer = await client.get(path)
        assert viewer.status_code == 200
        policy = viewer.headers["content-security-policy"]
        assert policy == policy_text(DOCS_POLICY) and viewer.headers["x-frame-options"] == "DENY"
        # Every outside origin the page loads from is named by the policy.
        origins = set(re.findall(r'(?:src|href)="(https://[^/"]+)', viewer.text))
        assert origins and all(origin in policy for origin in origins), (path, origins)
    assert "'unsafe-inline'" not in policy_text(BASE_POLICY)


async def test_off_site_form_redirects_only_where_configured(client_for: Any) -> None:
    plain = client_for()
    online = client_for(stripe_secret_key="sk_test_csp", stripe_webhook_secret="whsec_csp")
    alibaba = client_for(alibaba_app_key="502870", alibaba_app_secret="csp-secret")

    async def policy(client: httpx.AsyncClient, path: str) -> str:
        return str((await client.get(path, headers=HTML)).headers["content-security-policy"])

    assert await policy(plain, "/orders/NP000000000000/pay") == PAGE_CSP
    assert await policy(online, "/orders/NP000000000000/pay") == OFF_SITE_FORM_CSP
    assert await policy(online, "/orders/NP000000000000") == PAGE_CSP
    assert await policy(online, "/admin/crossborder") == PAGE_CSP
    assert await policy(plain, "/admin/crossborder") == PAGE_CSP
    assert await policy(alibaba, "/admin/crossborder") == OFF_SITE_FORM_CSP
    assert await policy(alibaba, "/admin/crossborder/listings/1") == PAGE_CSP


def test_a_payment_stand_in_is_allowed_as_a_form_target() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
        raise AssertionError

    headers = SecurityHeaders(
        app, session_cookie="np_session", hsts=False, online_payment=True, payment_stand_in="http://127.0.0.1:4242/v1"
    )
    csp = dict(headers.headers_for("/orders/NP1/pay"))[b"content-security-policy"].decode()
    assert "form-action 'self' https: http://127.0.0.1:4242;" in csp


async def test_hsts_only_when_served_over_https(client_for: Any) -> None:
    plain = await client_for().get("/static/site.css")
    https = await client_for(public_base_url="https://shop.example.cn").get("/static/site.css")
    secure_cookies = await client_for(session_cookie_secure=True).get("/static/site.css")
    assert "strict-transport-security" not in plain.headers
    assert https.headers["strict-transport-security"] == "max-age=31536000"
    assert secure_cookies.headers["strict-transport-security"] == "max-age=31536000"


TEMPLATES = Path(__file__).resolve().parent.parent.parent / "storefront" / "templates"
INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.IGNORECASE)


def test_templates_have_no_inline_script_or_style() -> None:
    """What the policy would block, found before a browser does: every template, page or partial."""
    found = [
        f"{path.relative_to(TEMPLATES)}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for text in [path.read_text(encoding="utf-8")]
        for m in INLINE.finditer(text)
    ]
    assert len(list(TEMPLATES.rglob("*.html"))) > 40
    assert found == []
