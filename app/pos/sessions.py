"""Who is at the till: a clerk (or a store manager) signs in on an enrolled till with the user
name and a short PIN, and gets a session token bound to that store and that till.

- The till proves itself with its device token (``X-Till-Token``, or the ``np_till`` cookie the
  till's browser got at ``/pos/enrol``): kind ``pos_till``, live, of an active till. That token
  opens this sign-in and nothing else (``principal_from_token`` resolves it to no one).
- The attempt is counted per user name and per till (``POS_PIN_RATE_LIMIT`` /
  ``POS_PIN_TILL_RATE_LIMIT``) before the PIN is looked at, in the project's atomic counter, so a
  burst of guesses sent at once gets no more checks than the limit. An unknown user, a wrong PIN,
  a user with no PIN, a disabled account and someone of another store are one answer.
- The session token (kind ``pos_clerk``, scope ``pos``, ``POS_SESSION_TTL_HOURS``) rides on the
  till's token: revoking the till, deactivating it or moving the clerk away ends it at the next
  request. Signing in ends the session of whoever was signed in at that till before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repository
from app.accounts import service as accounts_service
from app.accounts.access import Principal
from app.accounts.models import ApiToken, Role, User
from app.accounts.ratelimit import PinLimiter
from app.accounts.security import token_hash, verify_password
from app.config import get_settings
from app.kit import clock
from app.pos import errors, repository
from app.pos.models import Store, Till

TILL_COOKIE = "np_till"
TILL_HEADER = "X-Till-Token"


@dataclass(frozen=True)
class AtTill:
    """A signed-in session at a till, with what a till screen shows."""

    token: str | None  # only when just issued
    record: ApiToken
    user: User
    store: Store
    till: Till


async def enrolled_till(session: AsyncSession, raw: str | None) -> ApiToken:
    """The till's live device token, or 401 ``till_not_enrolled``."""
    device = await repository.live_till_token(session, token_hash(raw), clock.now()) if raw else None
    if device is None:
        raise errors.TillNotEnrolled()
    return device


async def sign_in(
    session: AsyncSession, limiter: PinLimiter, *, till_token: str | None, username: str, pin: str
) -> AtTill:
    device = await enrolled_till(session, till_token)
    assert device.till_id is not None and device.store_id is not None  # a till token names both
    user = await user_with_pin(session, limiter, username=username, pin=pin, till_id=device.till_id)
    if (
        user is None
        or user.role not in (Role.clerk, Role.store_manager)
        or not await _works_at(session, user, device.store_id)
    ):
        raise errors.PinSignInFailed()
    now = clock.now()
    # One person at a till: whoever was signed in here before is signed out.
    await repository.end_clerk_sessions(session, device.id, now)
    issued = await accounts_service.issue_till_session(
        session,
        user,
        device,
        ttl=timedelta(hours=get_settings().pos_session_ttl_hours),
        label=f"till:{device.till_id}",
    )
    device.last_used_at = now
    user.last_login_at = now
    await session.flush()
    return await _at_till(session, issued.record, user, token=issued.token)


async def user_with_pin(
    session: AsyncSession, limiter: PinLimiter, *, username: str, pin: str, till_id: int
) -> User | None:
    """The active user with this user name and PIN, or None (an unknown user, a wrong PIN and no PIN
    are one answer). The attempt is counted per user name and till first: over the limit is 429
    ``pin_rate_limited`` whatever the PIN."""
    if not await limiter.attempt(username, till_id):
        raise errors.PinRateLimited()
    user = await accounts_repository.user_by_username(session, username.strip())
    ok = verify_password(user.pin_hash if user is not None else None, pin)
    return user if user is not None and ok and user.is_active else None


async def _works_at(session: AsyncSession, user: User, store_id: int) -> bool:
    if user.role is Role.clerk:
        return user.store_id == store_id
    return await accounts_repository.manages_store(session, user.id, store_id)


async def _at_till(session: AsyncSession, record: ApiToken, user: User, *, token: str | None) -> AtTill:
    assert record.till_id is not None
    till = await repository.till_by_id(session, record.till_id)
    assert till is not None
    store = await session.get(Store, till.store_id)
    assert store is not None
    return AtTill(token, record, user, store, till)


async def current(session: AsyncSession, principal: Principal) -> AtTill:
    """The caller's session at its till (the rule ``AT_TILL`` has checked it holds)."""
    assert principal.token_id is not None
    record = await repository.clerk_session(session, principal.token_id)
    user = await accounts_repository.user_by_id(session, principal.user_id)
    assert record is not None and user is not None
    return await _at_till(session, record, user, token=None)


async def sign_out(session: AsyncSession, principal: Principal) -> None:
    assert principal.token_id is not None
    await accounts_repository.revoke_token(session, principal.token_id, clock.now())
    await session.flush()
