"""All SQL of the wholesale channel's company side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import ApiToken, BuyerCompany, CompanyStatus, Role, TokenKind, User
from app.catalog.models import PriceList
from app.wholesale.models import CompanyEvent, CompanyInvitation, DeliveryAddress


async def company_for_update(session: AsyncSession, company_id: int) -> BuyerCompany | None:
    return await session.scalar(
        select(BuyerCompany)
        .where(BuyerCompany.id == company_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def company(session: AsyncSession, company_id: int) -> BuyerCompany | None:
    return await session.scalar(_COMPANY, {"company_id": company_id})


async def company_of_request(session: AsyncSession, company_id: int) -> BuyerCompany | None:
    """The company as this unit of work read it already (a signed request's token, user and
    company come in one statement, ``accounts.repository._live``), else read now."""
    return await session.get(BuyerCompany, company_id)


# Built once (every wholesale call reads its company with it).
_COMPANY = (
    select(BuyerCompany)
    .where(BuyerCompany.id == bindparam("company_id", type_=BigInteger))
    .execution_options(populate_existing=True)
)


async def list_companies(session: AsyncSession, *, status: CompanyStatus | None = None) -> Sequence[BuyerCompany]:
    stmt = select(BuyerCompany).order_by(BuyerCompany.created_at.desc(), BuyerCompany.id.desc())
    if status is not None:
        stmt = stmt.where(BuyerCompany.status == status)
    return (await session.scalars(stmt)).all()


async def delivery_addresses(session: AsyncSession, company_id: int) -> Sequence[DeliveryAddress]:
    return (
        await session.scalars(
            select(DeliveryAddress)
            .where(DeliveryAddress.company_id == company_id, DeliveryAddress.is_active.is_(True))
            .order_by(DeliveryAddress.id)
        )
    ).all()


async def events(session: AsyncSession, company_id: int) -> Sequence[tuple[CompanyEvent, str | None]]:
    """The company's audit trail, newest first, with the actor's username."""
    rows = await session.execute(
        select(CompanyEvent, User.username)
        .outerjoin(User, User.id == CompanyEvent.actor_id)
        .where(CompanyEvent.company_id == company_id)
        .order_by(CompanyEvent.created_at.desc(), CompanyEvent.id.desc())
    )
    return [(event, username) for event, username in rows]


async def company_price_list(session: AsyncSession, company_id: int) -> PriceList | None:
    return await session.scalar(select(PriceList).where(PriceList.company_id == company_id))


async def price_list_code_taken(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(PriceList.id).where(PriceList.code == code)) is not None


async def members(session: AsyncSession, company_id: int) -> Sequence[User]:
    return (
        await session.scalars(
            select(User)
            .where(User.company_id == company_id, User.role == Role.buyer)
            .order_by(User.is_company_owner.desc(), User.id)
        )
    ).all()


async def member(session: AsyncSession, company_id: int, user_id: int) -> User | None:
    return await session.scalar(
        select(User).where(User.id == user_id, User.company_id == company_id, User.role == Role.buyer)
    )


async def open_invitations(session: AsyncSession, company_id: int, now: datetime) -> Sequence[CompanyInvitation]:
    return (
        await session.scalars(
            select(CompanyInvitation)
            .where(
                CompanyInvitation.company_id == company_id,
                CompanyInvitation.accepted_at.is_(None),
                CompanyInvitation.cancelled_at.is_(None),
                CompanyInvitation.expires_at > now,
            )
            .order_by(CompanyInvitation.id.desc())
        )
    ).all()


async def invitation_by_hash(session: AsyncSession, digest: str) -> CompanyInvitation | None:
    return await session.scalar(select(CompanyInvitation).where(CompanyInvitation.token_hash == digest))


async def take_invitation(session: AsyncSession, invitation_id: int, now: datetime) -> bool:
    """Compare-and-set: one link, one account, however many times it is posted at once."""
    result = await session.execute(
        update(CompanyInvitation)
        .where(
            CompanyInvitation.id == invitation_id,
            CompanyInvitation.accepted_at.is_(None),
            CompanyInvitation.cancelled_at.is_(None),
            CompanyInvitation.expires_at > now,
        )
        .values(accepted_at=now)
        .returning(CompanyInvitation.id)
    )
    return result.scalar_one_or_none() is not None


async def cancel_invitation(session: AsyncSession, company_id: int, invitation_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(CompanyInvitation)
        .where(
            CompanyInvitation.id == invitation_id,
            CompanyInvitation.company_id == company_id,
            CompanyInvitation.accepted_at.is_(None),
            CompanyInvitation.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
        .returning(CompanyInvitation.id)
    )
    return result.scalar_one_or_none() is not None


async def company_keys(session: AsyncSession, company_id: int) -> Sequence[ApiToken]:
    return (
        await session.scalars(
            select(ApiToken)
            .where(ApiToken.company_id == company_id, ApiToken.kind == TokenKind.company_api)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
            .options(selectinload(ApiToken.user))
        )
    ).all()


async def company_key(session: AsyncSession, company_id: int, token_id: int) -> ApiToken | None:
    return await session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.company_id == company_id, ApiToken.kind == TokenKind.company_api
        )
    )
