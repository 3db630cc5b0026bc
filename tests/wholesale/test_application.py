"""Applying: the 统一社会信用代码 is checked (check character included), delivery addresses are in
PRD cities with receiving hours, every problem is named at once and nothing is kept then; the page
shows each message next to its field."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import BuyerCompany, CompanyStatus
from app.wholesale import errors, service
from app.wholesale.models import CompanyEvent, DeliveryAddress
from tests.wholesale.helpers import application, credit_code, csrf, wrong_check


async def test_an_application_keeps_the_company_its_addresses_and_the_account_asked_for(
    db_session: AsyncSession,
) -> None:
    typed = application(
        1,
        credit_code=credit_code(1).lower()[:6] + " " + credit_code(1).lower()[6:],  # as people type it
        addresses=[
            service.AddressInput("广州", "广州市白云区江南市场 A8", "6:00", "10:00", "黄先生", "13926010000"),
            service.AddressInput("佛山", "佛山市禅城区季华路 88 号", "07:30", "11:00", "李小姐", "13926010001"),
        ],
    )
    company = await service.apply(db_session, typed)
    assert (company.status, company.credit_code, company.city) == (CompanyStatus.pending, credit_code(1), "广州")
    assert company.applicant_username == "gz-fruit-1" and company.applicant_password_hash
    addresses = (await service.profile(db_session, company.id)).addresses
    assert [(a.city, a.receiving_hours, a.contact_phone) for a in addresses] == [
        ("广州", "06:00–10:00", "+8613926010000"),
        ("佛山", "07:30–11:00", "+8613926010001"),
    ]
    events = await service.events(db_session, company.id)
    assert [(e.action, who) for e, who in events] == [("applied", None)]


async def test_every_problem_is_named_at_once_and_nothing_is_kept(db_session: AsyncSession) -> None:
    bad = application(
        2,
        name="",
        credit_code=wrong_check(credit_code(2)),
        contact_phone="12345",
        username="x",
        password="short",
        addresses=[service.AddressInput("长沙", "", "10:00", "06:00", "", "abc")],
    )
    before = await db_session.scalar(select(func.count()).select_from(BuyerCompany))
    with pytest.raises(errors.ApplicationInvalid) as refused:
        await service.apply(db_session, bad)
    fields = refused.value.detail["fields"]
    assert set(fields) == {
        "name",
        "credit_code",
        "contact_phone",
        "username",
        "password",
        "addresses.0.city",
        "addresses.0.address",
        "addresses.0.receiving_until",
        "addresses.0.contact_name",
        "addresses.0.contact_phone",
    }
    assert "校验位" in fields["credit_code"]
    assert "广州" in fields["addresses.0.city"] and "晚于" in fields["addresses.0.receiving_until"]
    assert refused.value.status_code == 422
    assert await db_session.scalar(select(func.count()).select_from(BuyerCompany)) == before
    assert await db_session.scalar(select(func.count()).select_from(DeliveryAddress)) == 0
    assert await db_session.scalar(select(func.count()).select_from(CompanyEvent)) == 0


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "请填写"),
        ("91440101MA5CN8LQ1", "18 位"),
        ("91440101MA5CN8LQ1I", "不允许的字符"),
    ],
)
def test_credit_code_messages_say_what_is_wrong(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        service.check_credit_code(typed)


async def test_at_least_one_address_is_needed(db_session: AsyncSession) -> None:
    with pytest.raises(errors.ApplicationInvalid) as refused:
        await service.apply(db_session, application(3, addresses=[service.AddressInput()]))
    assert refused.value.detail["fields"] == {"addresses.0.city": "请至少填写一个收货地址"}


async def test_the_cities_are_settings_data(db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "wholesale_cities", "中山,珠海")
    assert service.prd_cities() == ["中山", "珠海"]
    with pytest.raises(errors.ApplicationInvalid) as refused:
        await service.apply(db_session, application(4))  # its address is in 广州
    assert "中山、珠海" in refused.value.detail["fields"]["addresses.0.city"]


def form(n: int, **extra: str) -> dict[str, str]:
    return {
        "name": f"深圳测试生鲜{n}号店",
        "credit_code": credit_code(n),
        "contact_name": "林先生",
        "contact_phone": "13580010000",
        "username": f"sz-fresh-{n}",
        "password": "long-enough-1",
        "addresses.0.city": "深圳",
        "addresses.0.address": "深圳市龙岗区布吉农批市场 3 栋",
        "addresses.0.receiving_from": "06:00",
        "addresses.0.receiving_until": "10:00",
        "addresses.0.contact_name": "林先生",
        "addresses.0.contact_phone": "13580010000",
        **extra,
    }


async def test_the_page_shows_each_message_by_its_field_then_takes_the_fixed_form(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    token = await csrf(client, "/wholesale/apply")
    no_csrf = await client.post("/wholesale/apply", data=form(5))
    assert no_csrf.status_code == 403
    bad = await client.post(
        "/wholesale/apply", data={**form(5, credit_code=wrong_check(credit_code(5))), "csrf_token": token}
    )
    assert bad.status_code == 422
    assert re.search(r'id="f-credit_code"[^>]*aria-invalid="true"', bad.text)
    assert 'id="e-credit_code"' in bad.text and "校验位不正确" in bad.text
    assert 'value="深圳测试生鲜5号店"' in bad.text  # what was typed stays
    assert "long-enough-1" not in bad.text  # the password is never sent back
    good = await client.post("/wholesale/apply", data={**form(5), "csrf_token": token})
    assert good.status_code == 303 and good.headers["location"].startswith("/wholesale/applied")
    company = await db_session.scalar(select(BuyerCompany).where(BuyerCompany.name == "深圳测试生鲜5号店"))
    assert company is not None and company.status is CompanyStatus.pending
    again = await client.post("/wholesale/apply", data={**form(5, username="other-5"), "csrf_token": token})
    assert again.status_code == 409 and 'id="e-name"' in again.text and "企业名称已登记" in again.text
