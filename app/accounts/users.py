"""Account administration by the county centre's admins: disable and re-enable, reset a password,
edit name and phone, bind a station operator to a station and a clerk to a store.

What stops working at once (each request checks the account, so nothing waits for an expiry):

- **disable**: the account cannot sign in; its page sessions are ended and its personal API tokens
  revoked. Its device tokens (station PDA, POS till) stop too — every token check requires an
  active account — but are kept, so a re-enabled operator's PDA works again without enrolling it
  anew; revoke them one by one when a device is lost or the person left.
- **password reset**: page sessions ended and personal API tokens revoked (whoever knew the old
  password is signed out); device tokens are untouched — the device was enrolled, not signed in.
- **moving an operator to another station**: the PDA tokens enrolled for the old place are
  revoked, and any enrolment code still open there is cancelled. **Moving a clerk to another
  store** ends its sessions at the old store's tills (the tills themselves belong to the store,
  not to the clerk, and stay enrolled).
  (``principal_from_token`` already refuses a device token whose place is no longer the account's;
  revoking makes it final, so moving the operator back does not revive a device left behind.)

Services only flush; the request commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors, repository
from app.accounts.access import Principal
from app.accounts.models import Role, TokenKind, User
from app.accounts.security import hash_password
from app.accounts.service import check_password, now_utc
from app.stations.errors import StationNotFound
from app.stations.models import Station

# Letters and digits that cannot be misread when a password is read out or copied from a screen
# (no 0/O, 1/l/I).
PASSWORD_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"  # noqa: S105 - an alphabet, not a secret
GENERATED_PASSWORD_LENGTH = 12


def generate_password() -> str:
    """A random password (about 70 bits) to read to the user once; only its hash is kept."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))


async def _locked_user(session: AsyncSession, user_id: int) -> User:
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise errors.UserNotFound()
    return user


async def _sign_out_everywhere(session: AsyncSession, user: User) -> None:
    now = now_utc()
    await repository.end_sessions_of(session, user.id, now)
    await repository.revoke_tokens_of(session, user.id, now, kind=TokenKind.user)
    await repository.revoke_tokens_of(session, user.id, now, kind=TokenKind.pos_clerk)


async def set_active(session: AsyncSession, actor: Principal, user_id: int, *, active: bool) -> User:
    """Disable or re-enable an account (see the module docstring for what stops). Doing it twice
    changes nothing; an admin cannot disable the account it is using (no locking oneself out)."""
    if not active and user_id == actor.user_id:
        raise errors.CannotDisableSelf()
    user = await _locked_user(session, user_id)
    if user.is_active is active:
        return user
    user.is_active = active
    if not active:
        await _sign_out_everywhere(session, user)
    await session.flush()
    return user


@dataclass(frozen=True)
class PasswordReset:
    user: User
    generated: str | None  # shown to the admin once, never stored or logged


async def reset_password(session: AsyncSession, user_id: int, *, password: str | None) -> PasswordReset:
    """Set the password the admin typed, or generate one (``password=None``) to be shown once.
    Every page session and personal API token of the account ends."""
    generated = generate_password() if password is None else None
    new_password = generated or password or ""
    check_password(new_password)
    user = await _locked_user(session, user_id)
    user.password_hash = hash_password(new_password)
    await _sign_out_everywhere(session, user)
    await session.flush()
    return PasswordReset(user, generated)


async def update_profile(session: AsyncSession, user_id: int, *, display_name: str, phone: str | None) -> User:
    user = await _locked_user(session, user_id)
    user.display_name = display_name.strip()
    user.phone = phone
    await session.flush()
    return user


@dataclass(frozen=True)
class Binding:
    user: User
    previous_id: int | None  # the station (store) the account worked at before
    revoked_devices: int  # device tokens of the previous place revoked now


async def bind_station(session: AsyncSession, user_id: int, station_id: int) -> Binding:
    """Bind a station operator to a station; PDAs enrolled at its previous station stop."""
    if await session.get(Station, station_id) is None:
        raise StationNotFound(detail={"station_id": station_id})
    return await _bind(session, user_id, TokenKind.station_pda, station_id)


async def bind_store(session: AsyncSession, user_id: int, store_id: int) -> Binding:
    """Bind a clerk to a brand store; its sessions at tills of its previous store end."""
    if await repository.store_by_id(session, store_id) is None:
        raise errors.StoreNotFound(detail={"store_id": store_id})
    return await _bind(session, user_id, TokenKind.pos_clerk, store_id)


# Which role works at which kind of place, and the user column that names the place.
_PLACES = {
    TokenKind.station_pda: (Role.station_operator, "station_id", "只有村站站长账号可以绑定村站"),
    TokenKind.pos_clerk: (Role.clerk, "store_id", "只有门店店员账号可以绑定门店（店长在门店页面中指定）"),
}


async def _bind(session: AsyncSession, user_id: int, kind: TokenKind, place_id: int) -> Binding:
    role, column, wrong_role = _PLACES[kind]
    user = await _locked_user(session, user_id)
    if user.role is not role:
        raise errors.WrongRoleForBinding(wrong_role)
    previous: int | None = getattr(user, column)
    if previous == place_id:
        return Binding(user, previous, 0)
    setattr(user, column, place_id)
    now = now_utc()
    at_station = kind is TokenKind.station_pda
    revoked = await repository.revoke_tokens_of(
        session,
        user.id,
        now,
        kind=kind,
        keep_station_id=place_id if at_station else None,
        keep_store_id=None if at_station else place_id,
    )
    await repository.cancel_pending_enrolments(
        session,
        kind=kind,
        user_id=user.id,
        station_id=previous if at_station else None,
        store_id=None if at_station else previous,
        now=now,
    )
    await session.flush()
    return Binding(user, previous, revoked)
