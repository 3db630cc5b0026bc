"""With SESSION_COOKIE_SECURE on, every cookie the pages set — and every one they delete — is
``Secure``: the session, the CSRF token, the cart and a guest's proven phone for an order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.config import Settings
from app.kit.outbox import RecordingSender
from app.main import create_app
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user
from tests.fixtures.shop import Storefront
from tests.web.test_shop_pages import add, check_out
from tests.web.test_stock_pages import HTML, field


def cookies_set(response: httpx.Response) -> dict[str, str]:
    """Each cookie the response sets or deletes → its attributes (lower case, value left out)."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, _, attributes = header.partition(";")
        found[name_value.split("=", 1)[0]] = attributes.strip().lower()
    return found


def is_secure(attributes: str) -> bool:
    return "secure" in [part.strip() for part in attributes.split(";")]


@pytest.fixture
async def https_client(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    secure = Settings(**{**settings.model_dump(), "session_cookie_secure": True})
    app: FastAPI = create_app(secure, engine=engine, sessionmaker=sessionmaker, task_sender=RecordingSender())
    # https: the client's cookie jar sends Secure cookies back only over HTTPS, as a browser does.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as client:
        yield client


async def test_every_cookie_is_secure_when_the_setting_is_on(
    https_client: httpx.AsyncClient, client: httpx.AsyncClient, db_session: AsyncSession, storefront: Storefront
) -> None:
    first_page = await https_client.get("/login", headers=HTML)
    added = await add(https_client, storefront.loquat_slug, storefront.box_sku, "1")
    placed = await check_out(https_client, storefront)
    number = placed.headers["location"].split("/")[2].split("?")[0]
    user = await make_user(db_session, Role.customer)
    signed_in = await https_client.post(
        "/login",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": field(first_page, "csrf_token")},
    )
    account = await https_client.get("/account", headers=HTML)
    signed_out = await https_client.post("/logout", data={"csrf_token": field(account, "csrf_token")})

    assert [r.status_code for r in (first_page, added, placed, signed_in, account, signed_out)] == [
        200,
        303,
        303,
        303,
        200,
        303,
    ]
    seen = {
        "csrf": cookies_set(first_page)["np_csrf"],
        "cart": cookies_set(added)["np_cart"],
        "order phone": cookies_set(placed)[f"np_o_{number}"],
        "cart emptied": cookies_set(placed)["np_cart"],
        "session": cookies_set(signed_in)["np_session"],
        "session ended": cookies_set(signed_out)["np_session"],
    }
    assert {name: is_secure(attributes) for name, attributes in seen.items()} == dict.fromkeys(seen, True)
    assert all("httponly" in attributes and "samesite=lax" in attributes for attributes in seen.values())
    assert "max-age=0" in seen["cart emptied"] and "max-age=0" in seen["session ended"]

    # Off (the default, plain-HTTP demo): no Secure flag, or the browser would drop the cookies.
    plain = await client.get("/login", headers=HTML)
    assert not is_secure(cookies_set(plain)["np_csrf"])
