"""Small helpers of the wholesale tests: principals, a signed-in page client, a valid application."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc

from app.accounts.access import ROLE_SCOPES, Principal, principal_for
from app.accounts.models import BuyerCompany, Role, User
from app.wholesale import service
from tests.fixtures.builders import DEFAULT_PASSWORD, make_company, make_user, seq


def credit_code(n: int | None = None) -> str:
    """A valid 统一社会信用代码 (correct check character), different per call."""
    body = f"91440101{(n if n is not None else seq()) % 10**8:08d}X"
    return body + uscc.calc_check_digit(body)


def wrong_check(code: str) -> str:
    """The same code with a wrong check character."""
    last = "0" if code[-1] != "0" else "1"
    return code[:-1] + last


async def as_principal(session: AsyncSession, user: User) -> Principal:
    await session.refresh(user, ["company"])
    scopes = frozenset(s.value for s in ROLE_SCOPES[Role(user.role)])
    return principal_for(user, via="session", scopes=scopes)


async def owner_of(session: AsyncSession, company: BuyerCompany | None = None, **kw: Any) -> User:
    company = company or await make_company(session)
    return await make_user(session, Role.buyer, company=company, is_company_owner=True, phone="+8613800138001", **kw)


def application(n: int, **extra: Any) -> service.ApplicationInput:
    values: dict[str, Any] = {
        "name": f"广州测试鲜果行{n}号",
        "credit_code": credit_code(n),
        "contact_name": "黄先生",
        "contact_phone": "13926010000",
        "username": f"gz-fruit-{n}",
        "password": "long-enough-1",
        "addresses": [
            service.AddressInput(
                "广州", "广州市白云区江南果菜批发市场 A 区 8 档", "06:00", "10:00", "黄先生", "13926010000"
            )
        ],
        **extra,
    }
    return service.ApplicationInput(**values)


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path, headers={"accept": "text/html"})
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """Sign ``client`` in through the login page; returns its CSRF token for later forms."""
    token = await csrf(client)
    answer = await client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return token
