"""The till page's server side (issue 14, item 2 and "Clerk landing"): ``/pos`` is the till shell for
an enrolled browser and a how-to-enrol page otherwise (which the service worker must never keep);
the worker is served where its scope covers ``/pos``, its cache named after the assets; a clerk
signing in on the website lands on the till; ``/account`` links it for clerks and store managers;
the till's catalog carries the scale-label layout it decodes offline; signing in at the till
beside a web session takes the page's CSRF token."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.pos.sessions import TILL_COOKIE
from app.web import pos_till
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_store, make_user
from tests.fixtures.pos import PIN, make_counter, make_manager


async def _web_sign_in(client: httpx.AsyncClient, username: str) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    return await client.post(
        "/login", data={"username": username, "password": DEFAULT_PASSWORD, "csrf_token": csrf.group(1)}
    )


async def test_pos_is_the_till_only_for_an_enrolled_browser(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    stranger = await client.get("/pos")
    assert stranger.status_code == 200 and stranger.headers["x-till-page"] == "enrol"
    assert "本机还不是收银机" in stranger.text and "/pos/enrol" in stranger.text
    client.cookies.set(TILL_COOKIE, "not-a-token")
    assert (await client.get("/pos")).headers["x-till-page"] == "enrol"

    counter = await make_counter(db_session)
    client.cookies.set(TILL_COOKIE, counter.device)
    till = await client.get("/pos")
    assert till.status_code == 200 and till.headers["x-till-page"] == "till"
    assert '<script type="module" src="/static/pos/pos.js"></script>' in till.text
    assert "style=" not in till.text and "<style" not in till.text and "onclick" not in till.text
    # One shell for every till: no store, till or person in it, so the worker may keep it.
    assert counter.store.name not in till.text and counter.clerk.username not in till.text
    assert till.headers["cache-control"] == "no-store"


async def test_the_service_worker_covers_pos_and_names_its_cache_after_the_assets(client: httpx.AsyncClient) -> None:
    worker = await client.get("/pos/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/pos" and worker.headers["cache-control"] == "no-cache"
    version = re.search(r'const CACHE = "np-pos-([0-9a-f]{16})"', worker.text)
    assert version is not None and "__ASSETS_VERSION__" not in worker.text
    for asset in re.findall(r'"(/static/pos/[a-z]+\.(?:js|css))"', worker.text):
        assert (await client.get(asset)).status_code == 200, asset
    pos_till.worker_script.cache_clear()
    assert pos_till.worker_script() == worker.content


async def test_clerks_land_on_the_till_and_the_account_page_links_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    store = await make_store(db_session)
    clerk = await make_user(db_session, Role.clerk, store_id=store.id)
    signed = await _web_sign_in(client, clerk.username)
    assert signed.status_code == 303 and signed.headers["location"] == "/pos"
    account = await client.get("/account")
    assert 'href="/pos"' in account.text

    client.cookies.clear()
    manager = await make_manager(db_session, store)
    assert (await _web_sign_in(client, manager.username)).status_code == 303  # lands on the store console
    assert 'href="/pos"' in (await client.get("/account")).text

    client.cookies.clear()
    customer = await make_user(db_session, Role.customer)
    await _web_sign_in(client, customer.username)
    assert 'href="/pos"' not in (await client.get("/account")).text


async def test_signing_in_at_the_till_beside_a_web_session_takes_the_page_csrf_token(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    await _web_sign_in(client, counter.clerk.username)  # the clerk also signed in on the website
    client.cookies.set(TILL_COOKIE, counter.device)
    page = await client.get("/pos")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token is not None
    body = {"username": counter.clerk.username, "pin": PIN}
    assert (await client.post("/api/v1/pos/session", json=body)).status_code == 403
    signed = await client.post("/api/v1/pos/session", json=body, headers={"X-CSRF-Token": token.group(1)})
    assert signed.status_code == 201, signed.text


async def test_the_till_catalog_carries_the_scale_label_layout(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    counter = await make_counter(db_session)
    signed = await client.post(
        "/api/v1/pos/session",
        headers={"X-Till-Token": counter.device},
        json={"username": counter.clerk.username, "pin": PIN},
    )
    catalog = await client.get("/api/v1/pos/catalog", headers=auth(signed.json()["access_token"]))
    assert catalog.json()["scale_layout"] == [
        {
            "prefixes": ["20", "21", "22", "23", "24"],
            "value": "weight",
            "item_digits": 5,
            "value_digits": 5,
            "price_check": False,
        },
        {
            "prefixes": ["25", "26", "27", "28", "29"],
            "value": "price",
            "item_digits": 5,
            "value_digits": 5,
            "price_check": False,
        },
    ]
