"""All SQL of the accounts domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased, contains_eager, selectinload
from sqlalchemy.sql.elements import ColumnElement

from app.accounts.models import (
    AccountErasure,
    ApiToken,
    BuyerCompany,
    CompanyStatus,
    DeviceEnrolment,
    LoginCode,
    Role,
    TokenKind,
    User,
    WebSession,
)
from app.db import keep_in_unit_of_work
from app.pos.models import Store, StoreManager, Till


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User).where(func.lower(User.username) == username.lower()).options(selectinload(User.company))
    )


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id).options(selectinload(User.company)))


async def list_users(session: AsyncSession, *, role: str | None = None, q: str | None = None) -> Sequence[User]:
    """Users by role then username; ``q`` matches username, name or phone (case-insensitive)."""
    stmt = select(User).options(selectinload(User.company)).order_by(User.role, User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        stmt = stmt.where(
            User.username.icontains(q, autoescape=True)
            | User.display_name.icontains(q, autoescape=True)
            | User.phone.icontains(q, autoescape=True)
        )
    return (await session.scalars(stmt)).all()


async def user_for_update(session: AsyncSession, user_id: int) -> User | None:
    """The user row locked: two admins changing one account (binding, status) go one after the other."""
    return await session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .options(selectinload(User.company))
        .execution_options(populate_existing=True)
    )


async def operators_of_station(session: AsyncSession, station_id: int) -> Sequence[User]:
    """The active station-operator accounts bound to a station."""
    return (
        await session.scalars(
            select(User)
            .where(User.role == Role.station_operator, User.station_id == station_id, User.is_active.is_(True))
            .order_by(User.username)
        )
    ).all()


async def list_stores(session: AsyncSession) -> Sequence[Store]:
    return (await session.scalars(select(Store).order_by(Store.code))).all()


async def store_by_id(session: AsyncSession, store_id: int) -> Store | None:
    return await session.get(Store, store_id)


async def store_by_code(session: AsyncSession, code: str) -> Store | None:
    return await session.scalar(select(Store).where(Store.code == code))


async def end_sessions_of(session: AsyncSession, user_id: int, now: datetime) -> int:
    """Sign a user out of every browser: their live page sessions are revoked."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def revoke_tokens_of(
    session: AsyncSession,
    user_id: int,
    now: datetime,
    *,
    kind: TokenKind,
    keep_station_id: int | None = None,
    keep_store_id: int | None = None,
) -> int:
    """Revoke a user's live tokens of one kind, except device tokens of the place named to keep."""
    stmt = update(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.kind == kind, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    if keep_station_id is not None:
        stmt = stmt.where(ApiToken.station_id.is_distinct_from(keep_station_id))
    if keep_store_id is not None:
        stmt = stmt.where(ApiToken.store_id.is_distinct_from(keep_store_id))
    result = await session.execute(stmt.values(revoked_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def device_tokens(
    session: AsyncSession, *, station_id: int | None = None, till_id: int | None = None
) -> Sequence[ApiToken]:
    """Device tokens of one station (PDAs) or one till, newest first, with their user."""
    stmt = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    if station_id is not None:
        stmt = stmt.where(ApiToken.kind == TokenKind.station_pda, ApiToken.station_id == station_id)
    else:
        stmt = stmt.where(ApiToken.kind == TokenKind.pos_till, ApiToken.till_id == till_id)
    return (await session.scalars(stmt)).all()


# ---- device enrolment ------------------------------------------------------------------------------


async def cancel_pending_enrolments(
    session: AsyncSession,
    *,
    kind: TokenKind,
    user_id: int,
    station_id: int | None,
    store_id: int | None,
    now: datetime,
    till_id: int | None = None,
) -> None:
    """Void the open codes for the same account and place — for a till, for the same till,
    whoever made them (the till is the place and the token's owner)."""
    stmt = update(DeviceEnrolment).where(
        DeviceEnrolment.kind == kind,
        DeviceEnrolment.station_id.is_not_distinct_from(station_id),
        DeviceEnrolment.store_id.is_not_distinct_from(store_id),
        DeviceEnrolment.till_id.is_not_distinct_from(till_id),
        DeviceEnrolment.redeemed_at.is_(None),
        DeviceEnrolment.cancelled_at.is_(None),
        DeviceEnrolment.expires_at > now,
    )
    if till_id is None:
        stmt = stmt.where(DeviceEnrolment.user_id == user_id)
    await session.execute(stmt.values(cancelled_at=now))


async def claim_enrolment(session: AsyncSession, digest: str, now: datetime) -> DeviceEnrolment | None:
    """Compare-and-set: take a live code for this request. Two devices sending one code at once
    queue on its row and only the first finds it unredeemed."""
    claimed = await session.scalar(
        update(DeviceEnrolment)
        .where(
            DeviceEnrolment.code_hash == digest,
            DeviceEnrolment.redeemed_at.is_(None),
            DeviceEnrolment.cancelled_at.is_(None),
            DeviceEnrolment.expires_at > now,
        )
        .values(redeemed_at=now)
        .returning(DeviceEnrolment.id)
    )
    if claimed is None:
        return None
    return await session.get(DeviceEnrolment, claimed, populate_existing=True)


async def enrolment_by_digest(session: AsyncSession, digest: str) -> DeviceEnrolment | None:
    return await session.scalar(select(DeviceEnrolment).where(DeviceEnrolment.code_hash == digest))


async def enrolment_by_id(session: AsyncSession, enrolment_id: int) -> DeviceEnrolment | None:
    return await session.get(DeviceEnrolment, enrolment_id)


async def pending_enrolments(
    session: AsyncSession, now: datetime, *, station_id: int | None = None, till_id: int | None = None
) -> Sequence[DeviceEnrolment]:
    """Codes of a station (or store) that a device may still send, newest first."""
    stmt = (
        select(DeviceEnrolment)
        .options(selectinload(DeviceEnrolment.user))
        .where(
            DeviceEnrolment.redeemed_at.is_(None),
            DeviceEnrolment.cancelled_at.is_(None),
            DeviceEnrolment.expires_at > now,
        )
        .order_by(DeviceEnrolment.id.desc())
    )
    if station_id is not None:
        stmt = stmt.where(DeviceEnrolment.station_id == station_id)
    else:
        stmt = stmt.where(DeviceEnrolment.till_id == till_id)
    return (await session.scalars(stmt)).all()


async def cancel_enrolment(session: AsyncSession, enrolment_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(DeviceEnrolment)
        .where(
            DeviceEnrolment.id == enrolment_id,
            DeviceEnrolment.redeemed_at.is_(None),
            DeviceEnrolment.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
        .returning(DeviceEnrolment.id)
    )
    return result.scalar_one_or_none() is not None


# A bearer token or a page session: both are found by the hash of what the client holds.
Credential = TypeVar("Credential", ApiToken, WebSession)


def _live_statement(model: type[Credential]) -> Select[Any]:
    """The credential by the hash of what the client holds, if neither revoked nor expired and its
    user active, with the user and the user's company from the same statement (this runs on every
    signed request: built once, and one round trip)."""
    return (
        select(model)
        .join(model.user)
        .outerjoin(User.company)
        .where(
            model.token_hash == bindparam("digest"),
            model.revoked_at.is_(None),
            model.expires_at > bindparam("now"),
            User.is_active.is_(True),
        )
        .options(contains_eager(model.user).contains_eager(User.company))
    )


_LIVE: dict[type[Any], Select[Any]] = {ApiToken: _live_statement(ApiToken), WebSession: _live_statement(WebSession)}


async def _live(session: AsyncSession, model: type[Credential], digest: str, now: datetime) -> Credential | None:
    """The credential with this hash if it is neither revoked nor expired and its user is active,
    with the user (and the user's company) loaded."""
    found: Credential | None = await session.scalar(_LIVE[model], {"digest": digest, "now": now})
    if found is not None:
        keep_in_unit_of_work(session, found)  # the request's work gets the user and company by id
    return found


async def live_token(session: AsyncSession, digest: str, now: datetime) -> ApiToken | None:
    """A token that is neither revoked nor expired, with its active user."""
    return await _live(session, ApiToken, digest, now)


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
    return await _live(session, WebSession, digest, now)


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


async def usernames_by_ids(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    return dict((await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))).all())


async def count_companies(session: AsyncSession, *, status: CompanyStatus) -> int:
    """How many buyer companies have this status (the ops console shows those waiting for approval)."""
    return int(
        await session.scalar(select(func.count()).select_from(BuyerCompany).where(BuyerCompany.status == status)) or 0
    )


# ---- tills and the people at them ------------------------------------------------------------------


async def till_by_id(session: AsyncSession, till_id: int) -> Till | None:
    return await session.get(Till, till_id)


async def manages_store(session: AsyncSession, user_id: int, store_id: int) -> bool:
    found = await session.scalar(
        select(StoreManager.user_id).where(StoreManager.user_id == user_id, StoreManager.store_id == store_id)
    )
    return found is not None


def works_at_store(store_id: ColumnElement[int] | InstrumentedAttribute[int] | int) -> ColumnElement[bool]:
    """SQL condition: the user (``User``) is a clerk of the store or one of its managers."""
    managed = select(StoreManager.user_id).where(StoreManager.user_id == User.id, StoreManager.store_id == store_id)
    return ((User.role == Role.clerk) & (User.store_id == store_id)) | (
        (User.role == Role.store_manager) & managed.exists()
    )


async def till_session_holds(session: AsyncSession, record: ApiToken, now: datetime) -> bool:
    """A clerk's session at a till holds while the till's token is live, the till is active and
    the clerk still works at the till's store (moved, demoted or removed as manager: it ends)."""
    device = aliased(ApiToken)
    held = await session.scalar(
        select(func.count())
        .select_from(User)
        .join(Till, Till.id == record.till_id)
        .join(device, device.id == record.device_token_id)
        .where(
            User.id == record.user_id,
            Till.is_active.is_(True),
            device.till_id == Till.id,
            device.revoked_at.is_(None),
            device.expires_at > now,
            works_at_store(Till.store_id),
        )
    )
    return bool(held)


async def erasure_of(session: AsyncSession, user_id: int) -> AccountErasure | None:
    return await session.scalar(select(AccountErasure).where(AccountErasure.user_id == user_id))


async def add_erasure(session: AsyncSession, erasure: AccountErasure) -> AccountErasure:
    session.add(erasure)
    await session.flush()
    return erasure


async def delete_login_codes(session: AsyncSession, phone: str) -> None:
    """Forget the sign-in codes sent to ``phone`` (only their HMACs are kept, but the number is)."""
    await session.execute(delete(LoginCode).where(LoginCode.phone == phone))
