"""The centre decides: approve with terms (price list, payment terms and credit limit, delivery
days), reject with a reason, suspend and reinstate — each recorded with who and when — and only an
approved company may order (``ordering_company``)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import CompanyStatusConflict
from app.accounts.models import CompanyStatus, PaymentTerms, Role, User
from app.catalog.models import PriceListKind
from app.catalog.pricing import price_line
from app.channels import SalesChannel
from app.notifications.models import NotificationMessage
from app.wholesale import errors, service
from tests.fixtures.builders import ensure_price_list, make_company, make_user, make_variant, set_price
from tests.wholesale.helpers import application, as_principal, sign_in

NET_30 = service.Terms(PaymentTerms.net_30, 5_000_000, (2, 5), company_prices=True)


async def test_approval_sets_the_terms_and_opens_the_owner_account(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await service.apply(db_session, application(11))
    approved = await service.approve(db_session, admin, company.id, terms=NET_30)
    assert approved.status is CompanyStatus.approved
    assert (approved.payment_terms, approved.payment_terms_days, approved.credit_limit_minor) == (
        PaymentTerms.net_30,
        30,
        5_000_000,
    )
    assert approved.delivery_weekdays == [2, 5]
    own = await service.price_list_of(db_session, company.id)
    assert own is not None and own.kind is PriceListKind.company
    owner = await db_session.scalar(select(User).where(User.username == "gz-fruit-11"))
    assert owner is not None and owner.is_company_owner and owner.company_id == company.id
    sms = await db_session.scalar(select(NotificationMessage).where(NotificationMessage.template == "buyer_approved"))
    assert sms is not None
    events = await service.events(db_session, company.id)
    assert [e.action for e, _ in events] == ["approved", "terms_set", "applied"]
    assert {who for e, who in events if e.action != "applied"} == {admin.username}
    assert all(e.created_at is not None for e, _ in events)


async def test_prepay_has_no_credit_and_on_account_needs_a_limit(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await make_company(db_session)
    prepay = await service.set_terms(
        db_session, admin, company.id, service.Terms(PaymentTerms.prepay, 9_999, (1,), company_prices=False)
    )
    assert (prepay.payment_terms_days, prepay.credit_limit_minor) == (0, 0)
    with pytest.raises(errors.TermsInvalid) as refused:
        await service.set_terms(
            db_session, admin, company.id, service.Terms(PaymentTerms.net_15, 0, (), company_prices=False)
        )
    assert set(refused.value.detail["fields"]) == {"credit_limit", "delivery_weekdays"}


async def test_choosing_the_wholesale_list_stops_the_company_prices(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await make_company(db_session)
    variant = await make_variant(db_session, case_pack=10)
    await ensure_price_list(db_session, "wholesale", PriceListKind.wholesale)
    await set_price(db_session, "wholesale", variant, 4000, min_quantity="10", increment="10")
    await service.set_terms(db_session, admin, company.id, NET_30)
    own = await service.price_list_of(db_session, company.id)
    assert own is not None
    await set_price(db_session, own.code, variant, 3450, min_quantity="10", increment="10")
    line = await price_line(db_session, variant.sku, "20", channel=SalesChannel.wholesale, company_id=company.id)
    assert line.unit_price_minor == 3450
    await service.set_terms(
        db_session, admin, company.id, service.Terms(PaymentTerms.net_30, 5_000_000, (2,), company_prices=False)
    )
    assert await service.price_list_of(db_session, company.id) is None
    line = await price_line(db_session, variant.sku, "20", channel=SalesChannel.wholesale, company_id=company.id)
    assert line.unit_price_minor == 4000


async def test_reject_wants_a_reason_and_keeps_it(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await service.apply(db_session, application(12))
    with pytest.raises(errors.ReasonRequired):
        await service.reject(db_session, admin, company.id, "  ")
    rejected = await service.reject(db_session, admin, company.id, "营业执照与名称不符")
    assert (rejected.status, rejected.status_reason) == (CompanyStatus.rejected, "营业执照与名称不符")
    assert rejected.applicant_password_hash is None
    with pytest.raises(CompanyStatusConflict):
        await service.approve(db_session, admin, company.id, terms=None)


async def test_only_an_approved_company_orders(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await make_company(db_session)
    buyer = await make_user(db_session, Role.buyer, company=company)
    principal = await as_principal(db_session, buyer)
    assert (await service.ordering_company(db_session, principal)).id == company.id

    await service.suspend(db_session, admin, company.id, "逾期未付款")
    with pytest.raises(errors.CompanySuspended) as suspended:
        await service.ordering_company(db_session, principal)  # the principal was made before: read now
    assert (suspended.value.status_code, suspended.value.code) == (403, "company_suspended")
    with pytest.raises(CompanyStatusConflict):
        await service.suspend(db_session, admin, company.id, "再次暂停")

    await service.reinstate(db_session, admin, company.id)
    assert (await service.ordering_company(db_session, principal)).status is CompanyStatus.approved
    actions = [e.action for e, _ in await service.events(db_session, company.id)]
    assert actions == ["reinstated", "suspended"]

    for status in (CompanyStatus.pending, CompanyStatus.rejected):
        other = await make_user(db_session, Role.buyer, company=await make_company(db_session, status=status))
        with pytest.raises(errors.CompanyNotApproved) as refused:
            await service.ordering_company(db_session, await as_principal(db_session, other))
        assert (refused.value.status_code, refused.value.code) == (403, "company_not_approved")
    customer = await as_principal(db_session, await make_user(db_session, Role.customer))
    with pytest.raises(errors.CompanyNotApproved):
        await service.ordering_company(db_session, customer)


async def test_a_suspended_company_cannot_use_the_buyer_api(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from tests.fixtures.builders import auth, token_for

    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await make_company(db_session)
    token = await token_for(db_session, await make_user(db_session, Role.buyer, company=company))
    assert (await client.get("/api/v1/wholesale/company", headers=auth(token))).status_code == 200
    await service.suspend(db_session, admin, company.id, "暂停")
    refused = await client.get("/api/v1/wholesale/company", headers=auth(token))
    assert (refused.status_code, refused.json()["error"]) == (403, "company_not_approved")


async def test_the_console_approves_with_terms_and_suspends(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_user(db_session, Role.admin)
    company = await service.apply(db_session, application(13))
    token = await sign_in(client, admin.username)
    page = await client.get(f"/admin/companies/{company.id}")
    assert page.status_code == 200 and "按以上条款通过审核" in page.text and "广州市白云区" in page.text
    terms = {"csrf_token": token, "from": "detail", "payment_terms": "net_30", "price_list": "wholesale"}
    refused = await client.post(
        f"/admin/companies/{company.id}/approve", data={**terms, "credit_limit": "", "username": "gz-fruit-13"}
    )
    assert refused.status_code == 422 and "信用额度" in refused.text and "送货日" in refused.text
    await db_session.refresh(company)
    assert company.status is CompanyStatus.pending
    ok = await client.post(
        f"/admin/companies/{company.id}/approve",
        data={**terms, "credit_limit": "80,000.50", "delivery_weekdays": ["1", "4"], "username": "gz-fruit-13"},
    )
    assert ok.status_code == 303, ok.text
    await db_session.refresh(company)
    assert (company.status, company.credit_limit_minor, company.delivery_weekdays) == (
        CompanyStatus.approved,
        8_000_050,
        [1, 4],
    )
    suspended = await client.post(
        f"/admin/companies/{company.id}/suspend", data={"csrf_token": token, "from": "detail", "reason": "逾期"}
    )
    assert suspended.status_code == 303
    detail = await client.get(f"/admin/companies/{company.id}")
    assert "已暂停" in detail.text and "暂停合作" in detail.text and admin.username in detail.text
    listed = await client.get("/admin/companies?status=suspended")
    assert company.name in listed.text


async def test_the_console_is_for_admins(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    company = await make_company(db_session)
    buyer = await make_user(db_session, Role.buyer, company=company, is_company_owner=True)
    token = await sign_in(client, buyer.username)
    assert (await client.get(f"/admin/companies/{company.id}")).status_code == 403
    posted = await client.post(f"/admin/companies/{company.id}/suspend", data={"csrf_token": token, "reason": "x"})
    assert posted.status_code == 403


async def test_the_admin_api_sets_terms_suspends_and_shows_the_record(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from tests.fixtures.builders import auth, token_for

    admin = await make_user(db_session, Role.admin)
    headers = auth(await token_for(db_session, admin))
    company = await make_company(db_session)
    refused = await client.post(
        f"/api/v1/admin/companies/{company.id}/terms",
        json={"payment_terms": "net_15", "credit_limit_minor": 0, "delivery_weekdays": [1]},
        headers=headers,
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "terms_invalid")
    assert set(refused.json()["detail"]["fields"]) == {"credit_limit"}
    ok = await client.post(
        f"/api/v1/admin/companies/{company.id}/terms",
        json={"payment_terms": "net_15", "credit_limit_minor": 1_000_000, "delivery_weekdays": [1, 4]},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["payment_terms_days"], ok.json()["delivery_weekdays"]) == (15, [1, 4])
    suspended = await client.post(
        f"/api/v1/admin/companies/{company.id}/suspend", json={"reason": "逾期"}, headers=headers
    )
    assert suspended.json()["status"] == "suspended" and suspended.json()["status_reason"] == "逾期"
    assert [(e["action"], e["actor"]) for e in suspended.json()["events"]] == [
        ("suspended", admin.username),
        ("terms_set", admin.username),
    ]
    again = await client.post(f"/api/v1/admin/companies/{company.id}/suspend", json={"reason": "x"}, headers=headers)
    assert again.status_code == 409
    back = await client.post(f"/api/v1/admin/companies/{company.id}/reinstate", headers=headers)
    assert back.json()["status"] == "approved"
    buyer = auth(await token_for(db_session, await make_user(db_session, Role.buyer, company=company)))
    assert (await client.get(f"/api/v1/admin/companies/{company.id}", headers=buyer)).status_code == 403


async def test_the_api_approval_and_rejection_are_recorded(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    from tests.fixtures.builders import auth, token_for

    admin = await make_user(db_session, Role.admin)
    headers = auth(await token_for(db_session, admin))
    approved = await service.apply(db_session, application(14))
    rejected = await service.apply(db_session, application(15))
    answer = await client.post(f"/api/v1/admin/companies/{approved.id}/approve", headers=headers)
    assert answer.status_code == 200 and answer.json()["status"] == "approved"
    answer = await client.post(
        f"/api/v1/admin/companies/{rejected.id}/reject", json={"reason": "非珠三角企业"}, headers=headers
    )
    assert answer.status_code == 200 and answer.json()["status"] == "rejected"
    detail = (await client.get(f"/api/v1/admin/companies/{rejected.id}", headers=headers)).json()
    assert (detail["status_reason"], detail["events"][0]["action"], detail["events"][0]["actor"]) == (
        "非珠三角企业",
        "rejected",
        admin.username,
    )
    owner = await db_session.scalar(select(User).where(User.username == "gz-fruit-14"))
    assert owner is not None and owner.is_company_owner
    actions = [e.action for e, _ in await service.events(db_session, approved.id)]
    assert actions == ["approved", "applied"]
    # A suspended company comes back by reinstating, not by approving again.
    await service.suspend(db_session, await as_principal(db_session, admin), approved.id, "逾期")
    again = await client.post(f"/api/v1/admin/companies/{approved.id}/approve", headers=headers)
    assert (again.status_code, again.json()["error"]) == (409, "company_status_conflict")


async def test_the_fapiao_details_make_the_buyer_block_of_documents(db_session: AsyncSession) -> None:
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    company = await make_company(db_session, credit_code="9144010100000001XD")
    assert service.buyer_party(company).tax_id == "9144010100000001XD"
    terms = service.Terms(
        PaymentTerms.net_30,
        1_000_000,
        (2,),
        company_prices=False,
        fapiao_title="广州某某商行",
        fapiao_tax_number="91440101ma5cn8lq1x",
        fapiao_address_phone="广州市白云区增槎路 1 号 020-12345678",
        fapiao_bank_account="工商银行广州分行 3602000000000000000",
    )
    party = service.buyer_party(await service.set_terms(db_session, admin, company.id, terms))
    assert (party.name, party.tax_id, party.address, party.bank_name) == (
        "广州某某商行",
        "91440101MA5CN8LQ1X",
        "广州市白云区增槎路 1 号 020-12345678",
        "工商银行广州分行 3602000000000000000",
    )
