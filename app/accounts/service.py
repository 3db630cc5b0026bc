"""Account rules: sign-in, tokens, sessions, users and buyer companies. Services only flush."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors, repository
from app.accounts.access import ROLE_SCOPES, Principal, Scope, principal_for
from app.accounts.models import ApiToken, BuyerCompany, CompanyStatus, Role, TokenKind, User, WebSession
from app.accounts.ratelimit import LoginLimiter
from app.accounts.security import hash_password, needs_rehash, new_token, token_hash, verify_password
from app.config import get_settings
from app.kit import clock
from app.kit.errors import InvalidInput
from app.notifications.service import notify

TOKEN_PREFIX = {
    TokenKind.user: "npu",
    TokenKind.station_pda: "npd",
    TokenKind.pos_till: "npp",
    TokenKind.company_api: "npk",
    TokenKind.pos_clerk: "npc",
}
DEVICE_SCOPES = {TokenKind.station_pda: frozenset({Scope.pda.value}), TokenKind.pos_till: frozenset({Scope.pos.value})}
# Only refresh last_used_at this often, so reads do not each write the token row.
TOUCH_INTERVAL = timedelta(minutes=5)


def now_utc() -> datetime:
    return clock.now()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


async def authenticate(
    session: AsyncSession, limiter: LoginLimiter, *, username: str, password: str, client_ip: str
) -> User:
    """Check a password. The attempt is counted (per username and per address) before the password
    is looked at, so a burst of guesses sent at once gets no more checks than the limit."""
    username = username.strip()
    if not await limiter.attempt(username, client_ip):
        raise errors.LoginRateLimited()
    user = await repository.user_by_username(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise errors.InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now_utc()
    await session.flush()
    return user


async def issue_user_token(session: AsyncSession, user: User, requested_scopes: list[str] | None = None) -> IssuedToken:
    """A bearer token for a signed-in user; scopes may narrow, never widen, the role's scopes."""
    allowed = {s.value for s in ROLE_SCOPES[Role(user.role)]}
    scopes = set(requested_scopes or allowed)
    unknown = scopes - allowed
    if unknown:
        raise errors.ScopeMissing(f"该角色不能申请权限范围：{', '.join(sorted(unknown))}")
    ttl = timedelta(days=get_settings().api_token_ttl_days)
    return await _issue(session, user, TokenKind.user, sorted(scopes), ttl, label="api")


async def issue_device_token(
    session: AsyncSession,
    *,
    kind: TokenKind,
    user_id: int,
    label: str,
    station_id: int | None = None,
    store_id: int | None = None,
    till_id: int | None = None,
) -> IssuedToken:
    """A token for a station PDA (bound to one station) or a POS till (bound to one store and one
    till; ``user_id`` is who enrolled it)."""
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise errors.UserNotFound()
    await check_device_owner(session, user, kind, station_id=station_id, store_id=store_id, till_id=till_id)
    ttl = timedelta(days=get_settings().device_token_ttl_days)
    return await _issue(
        session,
        user,
        kind,
        sorted(DEVICE_SCOPES[kind]),
        ttl,
        label=label,
        station_id=station_id,
        store_id=store_id,
        till_id=till_id,
    )


async def issue_till_session(
    session: AsyncSession, user: User, device: ApiToken, *, ttl: timedelta, label: str
) -> IssuedToken:
    """A clerk's (or store manager's) session at the till of ``device``: scope ``pos``, bound to
    that store and till, ending with the till's token. The caller has checked the PIN and that the
    user works at that store."""
    return await _issue(
        session,
        user,
        TokenKind.pos_clerk,
        [Scope.pos.value],
        ttl,
        label=label,
        store_id=device.store_id,
        till_id=device.till_id,
        device_token_id=device.id,
    )


async def issue_company_key(session: AsyncSession, owner: User, label: str) -> IssuedToken:
    """A company API key for its purchasing system: scope ``wholesale`` only, bound to the owner's
    company (the owner is recorded as who issued it; the key is not a person's password)."""
    if owner.role is not Role.buyer or owner.company_id is None:
        raise errors.AffiliationMissing("企业 API 密钥必须由采购商企业的账号签发")
    ttl = timedelta(days=get_settings().company_api_key_ttl_days)
    return await _issue(
        session, owner, TokenKind.company_api, [Scope.wholesale.value], ttl, label=label, company_id=owner.company_id
    )


async def check_device_owner(
    session: AsyncSession,
    user: User,
    kind: TokenKind,
    *,
    station_id: int | None,
    store_id: int | None,
    till_id: int | None = None,
) -> None:
    """A device token belongs to an active account: a station PDA to an operator of that station
    (it acts as that operator); a POS till token to whoever enrolled it — an admin, or a manager of
    that store — and it acts for the till only (it resolves to no person: a clerk signs in on it
    with a PIN), so the issuer's reach never reaches the counter."""
    if kind not in DEVICE_SCOPES:
        raise InvalidInput("设备令牌类型必须是 station_pda 或 pos_till")
    if kind is TokenKind.station_pda:
        if user.role is not Role.station_operator or station_id is None or user.station_id != station_id:
            raise errors.AffiliationMissing("村站 PDA 令牌必须属于该村站的站长账号")
    else:
        till = await repository.till_by_id(session, till_id) if till_id is not None else None
        if till is None or store_id is None or till.store_id != store_id:
            raise errors.TillNotFound()
        if not till.is_active:
            raise errors.AffiliationMissing("收银机已停用，不能登记")
        if not (user.role is Role.admin or await repository.manages_store(session, user.id, store_id)):
            raise errors.AffiliationMissing("收银机只能由运营管理员或该门店的店长登记")
    if not user.is_active:
        raise errors.UserDisabled()


async def _issue(
    session: AsyncSession,
    user: User,
    kind: TokenKind,
    scopes: list[str],
    ttl: timedelta,
    *,
    label: str,
    station_id: int | None = None,
    store_id: int | None = None,
    company_id: int | None = None,
    till_id: int | None = None,
    device_token_id: int | None = None,
) -> IssuedToken:
    raw = new_token(TOKEN_PREFIX[kind])
    record = ApiToken(
        user_id=user.id,
        token_hash=token_hash(raw),
        prefix=raw[:10],
        kind=kind,
        label=label,
        scopes=scopes,
        station_id=station_id,
        store_id=store_id,
        company_id=company_id,
        till_id=till_id,
        device_token_id=device_token_id,
        expires_at=now_utc() + ttl,
    )
    session.add(record)
    await session.flush()
    return IssuedToken(raw, record)


async def principal_from_token(session: AsyncSession, raw: str) -> Principal | None:
    now = now_utc()
    record = await repository.live_token(session, token_hash(raw), now)
    if record is None:
        return None
    if record.kind is TokenKind.station_pda and record.station_id != record.user.station_id:
        # The operator moved to another station (or left): the PDA enrolled for the old one stops.
        return None
    if record.kind is TokenKind.pos_till:
        # A till's own token opens the clerk sign-in (``app.pos.sessions``) and nothing else.
        return None
    if record.kind is TokenKind.pos_clerk and not await repository.till_session_holds(session, record, now):
        # The till was revoked or deactivated, or the clerk no longer works at that store.
        return None
    if record.kind is TokenKind.company_api and record.company_id != record.user.company_id:
        return None
    if record.last_used_at is None or now - record.last_used_at > TOUCH_INTERVAL:
        await repository.touch_token(session, record.id, now)
    return principal_for(
        record.user,
        via="token",
        scopes=frozenset(record.scopes),
        token_id=record.id,
        station_id=record.station_id,
        store_id=record.store_id,
        till_id=record.till_id,
        company_key=record.kind is TokenKind.company_api,
    )


async def revoke_token(session: AsyncSession, actor: Principal, token_id: int) -> None:
    """Revoke one token: its owner may revoke their own, an admin any."""
    record = await repository.token_by_id(session, token_id)
    if record is None or (actor.role is not Role.admin and record.user_id != actor.user_id):
        raise errors.TokenNotFound()
    await repository.revoke_token(session, token_id, now_utc())
    await session.flush()


async def start_web_session(session: AsyncSession, user: User) -> str:
    raw = new_token("nps")
    ttl = timedelta(hours=get_settings().session_ttl_hours)
    session.add(WebSession(user_id=user.id, token_hash=token_hash(raw), expires_at=now_utc() + ttl))
    await session.flush()
    return raw


async def principal_from_session_cookie(session: AsyncSession, raw: str) -> Principal | None:
    record = await repository.live_web_session(session, token_hash(raw), now_utc())
    if record is None:
        return None
    scopes = frozenset(s.value for s in ROLE_SCOPES[Role(record.user.role)])
    return principal_for(record.user, via="session", scopes=scopes)


async def end_web_session(session: AsyncSession, raw: str) -> None:
    await repository.revoke_web_session(session, token_hash(raw), now_utc())
    await session.flush()


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    phone: str | None = None,
    company_id: int | None = None,
    station_id: int | None = None,
    store_id: int | None = None,
) -> User:
    username = _checked_username(username)
    check_password(password)
    needed = {Role.buyer: company_id, Role.station_operator: station_id, Role.clerk: store_id}
    if role in needed and needed[role] is None:
        raise errors.AffiliationMissing()
    if await repository.user_by_username(session, username) is not None:
        raise errors.UsernameTaken()
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        phone=phone,
        company_id=company_id if role is Role.buyer else None,
        station_id=station_id if role is Role.station_operator else None,
        store_id=store_id if role is Role.clerk else None,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise errors.AffiliationMissing("所属单位不存在") from exc
    return user


async def register_buyer_company(
    session: AsyncSession,
    *,
    name: str,
    city: str,
    contact_name: str,
    contact_phone: str,
    username: str,
    password: str,
    address: str = "",
    credit_code: str | None = None,
) -> BuyerCompany:
    """A PRD wholesaler applies with its company and the username and password of its first buyer
    account; the company waits (``pending``) for an admin.

    The account is only *asked for* here: the username and the password's hash are kept on the
    application, and the user is made when an admin approves the company (:func:`decide_company`).
    The users table is not read, so the answer — and the time it takes, the password is always
    hashed — is the same whether the username exists or not (a public form that said
    "username taken" let anyone test which accounts exist, ``admin`` first). A buyer could not
    order before approval anyway; with this it signs in from approval on, and the approval SMS
    names the username to use. A username that is taken by then is the admin's to settle at review
    (another one is given with the approval), not the applicant's to discover.
    """
    username = _checked_username(username)
    check_password(password)
    if await repository.company_by_name(session, name) is not None:
        raise errors.CompanyNameTaken()
    if credit_code is not None and await repository.company_by_credit_code(session, credit_code) is not None:
        raise errors.CreditCodeTaken()
    company = BuyerCompany(
        name=name,
        city=city,
        contact_name=contact_name,
        contact_phone=contact_phone,
        address=address,
        credit_code=credit_code,
        status=CompanyStatus.pending,
        applicant_username=username,
        applicant_password_hash=hash_password(password),
    )
    session.add(company)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # the same company applying twice at once
        raise errors.CompanyNameTaken() from exc
    return company


async def decide_company(
    session: AsyncSession, actor: Principal, company_id: int, *, approve: bool, username: str | None = None
) -> BuyerCompany:
    """Approve or reject an application (approve also lifts a suspension); a compare-and-set, so
    two admins deciding at once cannot both win.

    Approving an application that asked for an account opens it: a buyer user with the applicant's
    password, under ``username`` when the admin gives one (the one applied for is taken), else the
    one applied for, and an SMS tells the contact phone which username to sign in with. A taken
    username refuses the approval (409 ``applicant_username_taken``) and nothing changes."""
    company = await repository.company_by_id(session, company_id)
    if company is None:
        raise errors.CompanyNotFound()
    password_hash = company.applicant_password_hash if approve else None
    if username is not None and password_hash is None:
        raise InvalidInput("该企业没有待开通的采购商账号，无需指定用户名")
    login = _checked_username(username or company.applicant_username or "") if password_hash else ""
    if password_hash and await repository.user_by_username(session, login) is not None:
        raise errors.ApplicantUsernameTaken(detail={"username": login})
    new = CompanyStatus.approved if approve else CompanyStatus.rejected
    won = await repository.set_company_status(
        session,
        company_id,
        expected=[CompanyStatus.pending, CompanyStatus.suspended] if approve else [CompanyStatus.pending],
        new=new,
        approved_by_id=actor.user_id,
        now=now_utc(),
    )
    if not won:
        raise errors.CompanyStatusConflict()
    await session.refresh(company)
    if password_hash:
        await _open_applicant_account(session, company, login, password_hash)
    company.applicant_password_hash = None
    await session.flush()
    return company


async def _open_applicant_account(session: AsyncSession, company: BuyerCompany, login: str, password_hash: str) -> None:
    user = User(
        username=login,
        password_hash=password_hash,
        role=Role.buyer,
        display_name=company.contact_name,
        phone=company.contact_phone,
        company_id=company.id,
        # The applicant manages the company's colleagues and API keys.
        is_company_owner=True,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # another approval took the username since the check above
        raise errors.ApplicantUsernameTaken(detail={"username": login}) from exc
    company.applicant_username = login
    await notify(
        session,
        template="buyer_approved",
        recipient=company.contact_phone,
        params={"username": login},
        reference=f"company:{company.id}",
    )


def _checked_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 50:
        raise InvalidInput("用户名长度需为 1–50 个字符")
    return username


def check_password(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位")


@dataclass(frozen=True)
class CustomerContact:
    name: str
    phone: str  # national digits for a mainland number (what a person types), else as stored


async def customer_contact(session: AsyncSession, user_id: int) -> CustomerContact:
    """What a signed-in customer's checkout starts with: the name they gave and their mobile."""
    user = await repository.user_by_id(session, user_id)
    if user is None:
        return CustomerContact("", "")
    phone = user.phone or ""
    return CustomerContact(user.display_name, phone.removeprefix("+86"))


async def remember_customer_name(session: AsyncSession, user_id: int, name: str) -> None:
    """A customer signed in by SMS has no name until an order gives one: keep the first."""
    user = await repository.user_by_id(session, user_id)
    if user is not None and not user.display_name and name.strip():
        user.display_name = name.strip()[:50]
        await session.flush()
