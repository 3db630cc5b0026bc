"""Device enrolment: how a station PDA (and, with the same code path, a POS till) gets its token.

1. Someone allowed creates an enrolment for one account at one place: an admin for any station's
   operator account, or a station operator for its own station and its own
   account — the device then carries no more than the operator already has, and a station far
   from the county town need not wait for the centre to set up a replacement PDA. An operator
   does it signed in on a page, never with a device token: a stolen PDA must not enrol another.
   A till is enrolled for the till itself (store and till), by an admin or a manager of that
   store signed in on a page; its token's ``user_id`` records who enrolled it, and the token
   acts for the till only — a clerk then signs in on it with a PIN (``app.pos.sessions``).
2. The screen shows a one-time code — 8 characters from an alphabet without look-alikes, typed
   as ``ABCD-EFGH`` — and the same as a QR code. It is valid ``DEVICE_ENROLMENT_TTL_MINUTES``
   (10), for one device; a newer code for the same account and place cancels the older one.
3. The device sends it to ``POST /api/v1/devices/enrol`` with a label of its own and receives
   its device token (kind ``station_pda`` / ``pos_till``, scope ``pda`` / ``pos``, bound to the
   place). Attempts are counted per client address before the code is looked at
   (``DEVICE_ENROL_RATE_LIMIT``), so a burst of guesses gets no more looks than the limit.
4. Devices are listed per station (or store) with their last use; revoking one stops it at the
   next call — for a till, the clerk signed in on it too.

Only an HMAC (keyed with ``SECRET_KEY``) of the code is stored: the code is short, so a plain hash
in a leaked table could be searched through in minutes; the key is not in the table.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors, repository, service
from app.accounts.access import Principal
from app.accounts.models import ApiToken, DeviceEnrolment, Role, TokenKind, User
from app.accounts.ratelimit import EnrolmentLimiter
from app.config import get_settings

# 32 symbols without 0/O, 1/I: read off a screen and typed on a PDA keypad without doubt.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
ENROL_PATH = "/api/v1/devices/enrol"
# A till is a browser: its QR opens the till's enrol page, which redeems the code and keeps the
# device token in an HttpOnly cookie (``app.web.pos_enrol``).
TILL_ENROL_PATH = "/pos/enrol"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """What was typed or scanned → the bare code: case, spaces and dashes do not matter, and a
    scanned QR (the enrol URL with ``?code=``) gives its code."""
    text = typed.strip()
    if "code=" in text:
        text = text.rsplit("code=", 1)[1].split("&", 1)[0]
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def code_digest(code: str) -> str:
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, f"device-enrolment:{code}".encode(), hashlib.sha256).hexdigest()


def qr_text(code: str, base_url: str, path: str = ENROL_PATH) -> str:
    """What the QR holds: the enrol endpoint of this site (``PUBLIC_BASE_URL``) with the code, so a
    PDA app that scans it knows both where to enrol and with what (a till: its enrol page)."""
    return f"{base_url.rstrip('/')}{path}?code={code}"


@dataclass(frozen=True)
class IssuedEnrolment:
    code: str  # shown once; only its HMAC is stored
    record: DeviceEnrolment
    owner: User  # the account the device's token will belong to

    @property
    def display(self) -> str:
        return display_code(self.code)

    def qr(self, base_url: str) -> str:
        return qr_text(self.code, base_url, TILL_ENROL_PATH if self.record.kind is TokenKind.pos_till else ENROL_PATH)


async def _device_account(
    session: AsyncSession,
    actor: Principal,
    kind: TokenKind,
    *,
    user_id: int | None,
    station_id: int | None,
    store_id: int | None,
    till_id: int | None,
) -> User:
    """The account the device's token will belong to, after checking who asks for it.

    An operator enrols only for its own station and its own account. An admin names the account,
    or, for a station with exactly one operator, may leave it to that one. A till's token records
    who enrolled it: an admin, or a manager of the till's store on a page."""
    if kind is TokenKind.pos_till:
        if actor.role not in (Role.admin, Role.store_manager):
            raise errors.RoleNotAllowed()
        if actor.role is Role.store_manager and actor.via != "session":
            # Not from a till: a stolen till must not enrol another.
            raise errors.RoleNotAllowed("请在网页上登录后登记收银机")
        user = await repository.user_by_id(session, actor.user_id)
        if user is None:
            raise errors.UserNotFound()
        await service.check_device_owner(session, user, kind, station_id=None, store_id=store_id, till_id=till_id)
        return user
    if actor.role is Role.station_operator:
        if kind is not TokenKind.station_pda or station_id is None or station_id != actor.station_id:
            raise errors.RoleNotAllowed("站长只能为本站登记 PDA")
        if actor.via != "session":
            # Signed in on a page, not a device: a stolen PDA must not mint a successor that
            # outlives its own revocation.
            raise errors.RoleNotAllowed("请在村站工作台网页上登录后登记设备")
        user_id = actor.user_id
    elif actor.role is not Role.admin:
        raise errors.RoleNotAllowed()
    if user_id is None:
        operators = await repository.operators_of_station(session, station_id) if station_id is not None else []
        if len(operators) != 1:
            raise errors.OperatorMissing(
                "请选择设备所属的站长账号" if operators else "该村站还没有站长账号：请先在“用户与设备”中创建或绑定站长"
            )
        user_id = operators[0].id
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise errors.UserNotFound()
    await service.check_device_owner(session, user, kind, station_id=station_id, store_id=store_id)
    return user


async def create_enrolment(
    session: AsyncSession,
    actor: Principal,
    *,
    kind: TokenKind,
    user_id: int | None = None,
    station_id: int | None = None,
    store_id: int | None = None,
    till_id: int | None = None,
) -> IssuedEnrolment:
    """A one-time code for one device of ``kind`` at the station (or the store's till); see the
    module doc."""
    user = await _device_account(
        session, actor, kind, user_id=user_id, station_id=station_id, store_id=store_id, till_id=till_id
    )
    now = service.now_utc()
    await repository.cancel_pending_enrolments(
        session, kind=kind, user_id=user.id, station_id=station_id, store_id=store_id, till_id=till_id, now=now
    )
    code = new_code()
    record = DeviceEnrolment(
        code_hash=code_digest(code),
        kind=kind,
        user_id=user.id,
        station_id=station_id,
        store_id=store_id,
        till_id=till_id,
        created_by_id=actor.user_id,
        expires_at=now + timedelta(minutes=get_settings().device_enrolment_ttl_minutes),
    )
    session.add(record)
    await session.flush()
    return IssuedEnrolment(code, record, user)


async def redeem(
    session: AsyncSession, limiter: EnrolmentLimiter, *, code: str, label: str, client_ip: str
) -> service.IssuedToken:
    """Trade a live code for a device token, once. The attempt is counted before the code is
    looked at; a code that is unknown, spent or expired is refused with its own reason (only
    someone holding a real code learns which)."""
    if not await limiter.attempt(client_ip):
        raise errors.EnrolmentRateLimited()
    bare = normalise_code(code)
    if len(bare) != CODE_LENGTH:
        raise errors.EnrolmentCodeInvalid()
    digest = code_digest(bare)
    record = await repository.claim_enrolment(session, digest, service.now_utc())
    if record is None:
        found = await repository.enrolment_by_digest(session, digest)
        if found is None:
            raise errors.EnrolmentCodeInvalid()
        if found.redeemed_at is not None:
            raise errors.EnrolmentCodeUsed()
        raise errors.EnrolmentCodeExpired()
    # The account may have moved or been disabled since the code was made: the token's own checks
    # refuse it then, and the request rolls back with the code unspent.
    issued = await service.issue_device_token(
        session,
        kind=record.kind,
        user_id=record.user_id,
        label=label.strip(),
        station_id=record.station_id,
        store_id=record.store_id,
        till_id=record.till_id,
    )
    record.token_id = issued.record.id
    await session.flush()
    return issued


def _may_manage(actor: Principal, *, station_id: int | None) -> bool:
    """Admins manage every device; an operator its own station's PDAs (tills: admins only, for
    now — a store manager's console comes with the manager's pages)."""
    if actor.role is Role.admin:
        return True
    return actor.role is Role.station_operator and station_id is not None and station_id == actor.station_id


def _elsewhere(record: DeviceEnrolment | ApiToken, station_id: int | None, till_id: int | None) -> bool:
    """The code (device) is not of the station (till) whose page the button was on."""
    return (station_id is not None and record.station_id != station_id) or (
        till_id is not None and record.till_id != till_id
    )


async def cancel_enrolment(
    session: AsyncSession,
    actor: Principal,
    enrolment_id: int,
    *,
    station_id: int | None = None,
    till_id: int | None = None,
) -> DeviceEnrolment:
    """Void a code not used yet (shown to the wrong person, or not needed after all). With
    ``station_id`` (``till_id``), only a code of that station (till): the page it was clicked on."""
    record = await repository.enrolment_by_id(session, enrolment_id)
    if (
        record is None
        or not _may_manage(actor, station_id=record.station_id)
        or _elsewhere(record, station_id, till_id)
    ):
        raise errors.EnrolmentNotFound()
    await repository.cancel_enrolment(session, enrolment_id, service.now_utc())
    await session.flush()
    return record


async def revoke_device(
    session: AsyncSession,
    actor: Principal,
    token_id: int,
    *,
    station_id: int | None = None,
    till_id: int | None = None,
) -> ApiToken:
    """Revoke a device token: an admin any, an operator its own station's PDAs (whoever enrolled
    them). The next call the device makes is refused (a till's: the clerk's session on it too).
    With ``station_id`` (``till_id``), only a device of that station (till): the page the button
    was on."""
    record = await repository.token_by_id(session, token_id)
    # A till token has no station, so an operator never reaches one.
    if (
        record is None
        or record.kind not in (TokenKind.station_pda, TokenKind.pos_till)
        or not _may_manage(actor, station_id=record.station_id)
        or _elsewhere(record, station_id, till_id)
    ):
        raise errors.TokenNotFound()
    await repository.revoke_token(session, token_id, service.now_utc())
    await session.flush()
    return record


@dataclass(frozen=True)
class TillDevices:
    devices: Sequence[ApiToken]
    pending: Sequence[DeviceEnrolment]


async def till_devices(session: AsyncSession, till_id: int) -> TillDevices:
    """A till's tokens (live, expired and revoked, newest first) and its open codes."""
    return TillDevices(
        devices=await repository.device_tokens(session, till_id=till_id),
        pending=await repository.pending_enrolments(session, service.now_utc(), till_id=till_id),
    )


@dataclass(frozen=True)
class StationDevices:
    devices: Sequence[ApiToken]
    pending: Sequence[DeviceEnrolment]
    operators: Sequence[User]


async def station_devices(session: AsyncSession, station_id: int) -> StationDevices:
    """A station's PDAs (live, expired and revoked, newest first), its open codes and the operator
    accounts a new PDA may belong to."""
    return StationDevices(
        devices=await repository.device_tokens(session, station_id=station_id),
        pending=await repository.pending_enrolments(session, service.now_utc(), station_id=station_id),
        operators=await repository.operators_of_station(session, station_id),
    )
