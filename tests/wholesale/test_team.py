"""A company's owner invites colleagues (a one-time link by SMS, stored hashed, 7 days, single use),
and deactivates them; an owner reaches only its own company (404 otherwise)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import CompanyOwnerOnly
from app.accounts.models import Role, User
from app.accounts.security import token_hash
from app.kit import clock
from app.notifications.models import NotificationMessage
from app.wholesale import errors, service
from app.wholesale.models import CompanyInvitation
from tests.fixtures.builders import DEFAULT_PASSWORD, auth, make_company, make_user, token_for
from tests.wholesale.helpers import as_principal, csrf, owner_of, sign_in


def link_token(body: str) -> str:
    found = re.search(r"/wholesale/join\?t=(\S+)", body)
    assert found is not None, body
    return found.group(1)


async def test_an_invitation_is_an_sms_link_used_once(db_session: AsyncSession) -> None:
    owner = await as_principal(db_session, await owner_of(db_session))
    sent = await service.invite(db_session, owner, name="小李", phone="13926015555")
    invitation = sent.invitation
    raw = link_token(sent.link)
    assert invitation.token_hash == token_hash(raw) and raw not in invitation.token_hash
    assert invitation.expires_at - clock.now() > timedelta(days=6, hours=23)
    sms = await db_session.scalar(select(NotificationMessage).where(NotificationMessage.template == "buyer_invitation"))
    assert sms is not None and sms.recipient == "+8613926015555" and link_token(sms.body) == raw

    user = await service.accept_invitation(db_session, raw, username="xiaoli", password="long-enough-1")
    assert (user.role, user.company_id, user.is_company_owner, user.phone) == (
        Role.buyer,
        owner.company_id,
        False,
        "+8613926015555",
    )
    with pytest.raises(errors.InvitationUsed):
        await service.accept_invitation(db_session, raw, username="xiaoli2", password="long-enough-1")
    with pytest.raises(errors.InvitationInvalid):
        await service.open_invitation(db_session, raw + "x")


async def test_an_expired_or_cancelled_invitation_is_refused(db_session: AsyncSession) -> None:
    owner = await as_principal(db_session, await owner_of(db_session))
    sent = await service.invite(db_session, owner, name="小王", phone="13926016666")
    with clock.pinned(clock.now() + timedelta(days=7, minutes=1)):
        with pytest.raises(errors.InvitationExpired) as expired:
            await service.open_invitation(db_session, link_token(sent.link))
    assert expired.value.status_code == 410
    await service.cancel_invitation(db_session, owner, sent.invitation.id)
    with pytest.raises(errors.InvitationExpired):
        await service.accept_invitation(db_session, link_token(sent.link), username="xw", password="long-enough-1")


async def test_an_owner_manages_only_its_own_company(db_session: AsyncSession) -> None:
    """The attack: owner A names B's colleague, B's invitation, B's key by id."""
    owner_a = await as_principal(db_session, await owner_of(db_session))
    b = await make_company(db_session)
    owner_b = await as_principal(db_session, await owner_of(db_session, b))
    colleague_b = await make_user(db_session, Role.buyer, company=b)
    invitation_b = (await service.invite(db_session, owner_b, name="乙", phone="13926017777")).invitation
    key_b = (await service.issue_key(db_session, owner_b, "乙的采购系统")).record

    with pytest.raises(errors.ColleagueNotFound):
        await service.deactivate_colleague(db_session, owner_a, colleague_b.id)
    with pytest.raises(errors.InvitationNotFound):
        await service.cancel_invitation(db_session, owner_a, invitation_b.id)
    with pytest.raises(errors.ApiKeyNotFound):
        await service.revoke_key(db_session, owner_a, key_b.id)
    await db_session.refresh(colleague_b)
    await db_session.refresh(invitation_b)
    await db_session.refresh(key_b)
    assert colleague_b.is_active and invitation_b.cancelled_at is None and key_b.revoked_at is None
    assert [u.id for u in (await service.team(db_session, owner_a)).members] == [owner_a.user_id]

    colleague = await as_principal(db_session, colleague_b)
    with pytest.raises(CompanyOwnerOnly):
        await service.invite(db_session, colleague, name="丙", phone="13926018888")
    with pytest.raises(errors.CannotDeactivateOwner):
        await service.deactivate_colleague(db_session, owner_b, owner_b.user_id)


async def test_deactivating_a_colleague_ends_its_access(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await owner_of(db_session)
    company_id = owner.company_id
    assert company_id is not None
    colleague = await make_user(db_session, Role.buyer, company_id=company_id)
    token = await token_for(db_session, colleague)
    assert (await client.get("/api/v1/wholesale/company", headers=auth(token))).status_code == 200
    await service.deactivate_colleague(db_session, await as_principal(db_session, owner), colleague.id)
    assert (await client.get("/api/v1/wholesale/company", headers=auth(token))).status_code == 401
    events = [e.action for e, _ in await service.events(db_session, company_id)]
    assert events[0] == "colleague_deactivated"


async def test_team_pages(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await owner_of(db_session)
    other = await make_company(db_session)
    stranger = await make_user(db_session, Role.buyer, company=other)
    token = await sign_in(client, owner.username)
    page = await client.get("/wholesale/team")
    assert page.status_code == 200 and "邀请同事" in page.text and "企业同事" in page.text
    invited = await client.post("/wholesale/team/invite", data={"csrf_token": token, "name": "小陈", "phone": "139"})
    assert invited.status_code == 422 and "同事手机" in invited.text
    invited = await client.post(
        "/wholesale/team/invite", data={"csrf_token": token, "name": "小陈", "phone": "13926019999"}
    )
    assert invited.status_code == 303
    invitation = await db_session.scalar(select(CompanyInvitation).where(CompanyInvitation.name == "小陈"))
    assert invitation is not None and invitation.company_id == owner.company_id
    # Another company's user by id: as if it did not exist.
    attack = await client.post(f"/wholesale/team/{stranger.id}/deactivate", data={"csrf_token": token})
    assert attack.status_code == 404
    await db_session.refresh(stranger)
    assert stranger.is_active

    # A colleague (not the owner) has no team page.
    colleague = await make_user(db_session, Role.buyer, company_id=owner.company_id)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as other_client:
        await sign_in(other_client, colleague.username)
        refused = await other_client.get("/wholesale/team")
        assert refused.status_code == 403


async def test_the_join_page_opens_the_account(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    owner = await as_principal(db_session, await owner_of(db_session))
    sent = await service.invite(db_session, owner, name="小周", phone="13926012222")
    raw = link_token(sent.link)
    page = await client.get(f"/wholesale/join?t={raw}")
    assert page.status_code == 200 and "小周" in page.text
    token = await csrf(client, f"/wholesale/join?t={raw}")
    mismatch = await client.post(
        "/wholesale/join",
        data={"csrf_token": token, "t": raw, "username": "xz", "password": "long-enough-1", "password_again": "x"},
    )
    assert mismatch.status_code == 422 and "不一致" in mismatch.text
    done = await client.post(
        "/wholesale/join",
        data={
            "csrf_token": token,
            "t": raw,
            "username": "xiaozhou",
            "password": DEFAULT_PASSWORD,
            "password_again": DEFAULT_PASSWORD,
        },
    )
    assert done.status_code == 200 and "xiaozhou" in done.text
    user = await db_session.scalar(select(User).where(User.username == "xiaozhou"))
    assert user is not None and user.company_id == owner.company_id
    used = await client.get(f"/wholesale/join?t={raw}")
    assert used.status_code == 409 and "已使用" in used.text
    unknown = await client.get("/wholesale/join?t=npi_nothing")
    assert unknown.status_code == 404
