"""All SQL of the accounts domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import ApiToken, BuyerCompany, CompanyStatus, LoginCode, User, WebSession


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User).where(func.lower(User.username) == username.lower()).options(selectinload(User.company))
    )


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id).options(selectinload(User.company)))


async def list_users(session: AsyncSession, *, role: str | None = None) -> Sequence[User]:
    stmt = select(User).options(selectinload(User.company)).order_by(User.role, User.username)
    if role:
        stmt = stmt.where(User.role == role)
    return (await session.scalars(stmt)).all()


async def live_token(session: AsyncSession, digest: str, now: datetime) -> ApiToken | None:
    """A token that is neither revoked nor expired, with its active user."""
    return await session.scalar(
        select(ApiToken)
        .join(ApiToken.user)
        .where(
            ApiToken.token_hash == digest,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.is_active.is_(True),
        )
        .options(selectinload(ApiToken.user).selectinload(User.company))
    )


async def token_by_id(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def list_tokens(session: AsyncSession, *, user_id: int | None = None) -> Sequence[ApiToken]:
    stmt = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return (await session.scalars(stmt)).all()


async def revoke_token(session: AsyncSession, token_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.id)
    )
    return result.scalar_one_or_none() is not None


async def touch_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Record use without ever waiting: a device firing many calls at once must not queue its
    requests behind one lock on its own token row, so a locked row is simply skipped."""
    unlocked = select(ApiToken.id).where(ApiToken.id == token_id).with_for_update(skip_locked=True)
    await session.execute(update(ApiToken).where(ApiToken.id.in_(unlocked.scalar_subquery())).values(last_used_at=now))


async def live_web_session(session: AsyncSession, digest: str, now: datetime) -> WebSession | None:
    return await session.scalar(
        select(WebSession)
        .join(WebSession.user)
        .where(
            WebSession.token_hash == digest,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.is_active.is_(True),
        )
        .options(selectinload(WebSession.user).selectinload(User.company))
    )


async def revoke_web_session(session: AsyncSession, digest: str, now: datetime) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.token_hash == digest, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def company_by_id(session: AsyncSession, company_id: int) -> BuyerCompany | None:
    return await session.get(BuyerCompany, company_id)


async def company_by_name(session: AsyncSession, name: str) -> BuyerCompany | None:
    return await session.scalar(select(BuyerCompany).where(BuyerCompany.name == name))


async def company_by_credit_code(session: AsyncSession, credit_code: str) -> BuyerCompany | None:
    return await session.scalar(select(BuyerCompany).where(BuyerCompany.credit_code == credit_code))


async def taken_usernames(session: AsyncSession, usernames: Sequence[str]) -> set[str]:
    """Which of ``usernames`` already belong to a user."""
    if not usernames:
        return set()
    return set((await session.scalars(select(User.username).where(User.username.in_(list(usernames))))).all())


async def list_companies(session: AsyncSession, *, status: CompanyStatus | None = None) -> Sequence[BuyerCompany]:
    stmt = select(BuyerCompany).order_by(BuyerCompany.status, BuyerCompany.name)
    if status is not None:
        stmt = stmt.where(BuyerCompany.status == status)
    return (await session.scalars(stmt)).all()


async def set_company_status(
    session: AsyncSession,
    company_id: int,
    *,
    expected: Sequence[CompanyStatus],
    new: CompanyStatus,
    approved_by_id: int | None,
    now: datetime,
) -> bool:
    """Compare-and-set: two admins deciding at once cannot both win."""
    values: dict[str, object] = {"status": new}
    if new is CompanyStatus.approved:
        values.update(approved_at=now, approved_by_id=approved_by_id)
    result = await session.execute(
        update(BuyerCompany)
        .where(BuyerCompany.id == company_id, BuyerCompany.status.in_(list(expected)))
        .values(**values)
        .returning(BuyerCompany.id)
    )
    return result.scalar_one_or_none() is not None


async def users_by_phone(session: AsyncSession, phone: str) -> list[User]:
    """Every account with this phone (E.164), oldest first."""
    rows = await session.scalars(
        select(User).where(User.phone == phone).order_by(User.id).options(selectinload(User.company))
    )
    return list(rows.all())


async def latest_login_code(session: AsyncSession, phone: str) -> LoginCode | None:
    """The newest code sent to this phone that no newer one replaced."""
    return await session.scalar(
        select(LoginCode)
        .where(LoginCode.phone == phone, LoginCode.superseded.is_(False))
        .order_by(LoginCode.created_at.desc(), LoginCode.id.desc())
        .limit(1)
    )


async def supersede_login_codes(session: AsyncSession, phone: str) -> None:
    await session.execute(
        update(LoginCode)
        .where(LoginCode.phone == phone, LoginCode.used_at.is_(None), LoginCode.superseded.is_(False))
        .values(superseded=True)
    )


async def use_login_code(session: AsyncSession, code_id: int, now: datetime) -> bool:
    """Compare-and-set: only the first of two concurrent sign-ins with one code wins."""
    result = await session.execute(
        update(LoginCode).where(LoginCode.id == code_id, LoginCode.used_at.is_(None)).values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lock_phone(session: AsyncSession, phone: str) -> None:
    """Serialise sign-ins of one phone (a first sign-in creates the account exactly once)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"login-phone:{phone}"))))
