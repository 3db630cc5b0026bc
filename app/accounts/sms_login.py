"""Sign-in (and sign-up) of consumers by mobile number and a one-time SMS code — the usual way in
China.

- The number must be a mainland mobile: the code travels by SMS only.
- A code is 6 digits from ``secrets``, kept only as an HMAC (keyed by ``SECRET_KEY``, bound to the
  phone), valid ``SMS_LOGIN_CODE_TTL_MINUTES``, used once (compare-and-set on ``used_at``); asking
  for a new code replaces the old one.
- Sending is limited per phone (one a minute, ``SMS_CODE_SEND_RATE_LIMIT`` an hour) and per client
  address; checking is limited per phone (``SMS_CODE_VERIFY_RATE_LIMIT``) and per address. Both
  count the attempt before anything is looked at (``app/kit/ratelimit.py``), so a burst of guesses
  sent at once gets no more checks than the limit — 5 guesses in a space of a million.
- The first sign-in of a number creates its customer account (that is the registration); a
  number that belongs to a staff or buyer account gets no code (they sign in with a password), and
  the answer does not say so.
- In demo the code is readable in ``/admin/notifications``; elsewhere that page masks it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors, repository
from app.accounts.models import LoginCode, Role, User
from app.accounts.ratelimit import SmsLoginLimiter
from app.accounts.security import hash_password
from app.config import get_settings
from app.kit import clock
from app.notifications.service import notify

CODE_DIGITS = 6
# A new code for the same phone no sooner than this after the last one (on top of the hourly limit).
RESEND_INTERVAL = timedelta(seconds=60)


def mainland_mobile(raw: str) -> str:
    """A mainland China mobile number in E.164, else ``NotAMainlandMobile`` (landlines, Hong Kong
    and foreign numbers cannot receive our SMS)."""
    try:
        number = phonenumbers.parse(raw.strip(), "CN")
    except phonenumbers.NumberParseException as exc:
        raise errors.NotAMainlandMobile(detail={"field": "phone"}) from exc
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in kinds
    ):
        raise errors.NotAMainlandMobile(detail={"field": "phone"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _code_hash(phone: str, code: str) -> str:
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, f"login-code:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeSent:
    phone: str
    ttl_minutes: int


async def send_code(session: AsyncSession, limiter: SmsLoginLimiter, *, phone: str, client_ip: str) -> CodeSent:
    """Send a sign-in code to ``phone`` (queued in the caller's transaction, sent after commit)."""
    e164 = mainland_mobile(phone)
    ttl = get_settings().sms_login_code_ttl_minutes
    await repository.lock_phone(session, e164)  # two sends at once: the second sees the first's code
    last = await repository.latest_login_code(session, e164)
    if last is not None and clock.now() - last.created_at < RESEND_INTERVAL:
        # Not counted: nothing is sent, and a double tap should not eat the hour's allowance.
        raise errors.SmsCodeRateLimited("验证码已发送，请 1 分钟后再重新获取")
    if not await limiter.send_attempt(e164, client_ip):
        raise errors.SmsCodeRateLimited()
    accounts = await repository.users_by_phone(session, e164)
    if any(user.role is not Role.customer for user in accounts):
        return CodeSent(e164, ttl)  # staff and buyers sign in with a password; say nothing
    await repository.supersede_login_codes(session, e164)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    expires_at = clock.now() + timedelta(minutes=ttl)
    session.add(LoginCode(phone=e164, code_hash=_code_hash(e164, code), expires_at=expires_at, created_at=clock.now()))
    await notify(session, template="login_code", recipient=e164, params={"code": code, "minutes": ttl})
    await session.flush()
    return CodeSent(e164, ttl)


async def sign_in_with_code(
    session: AsyncSession, limiter: SmsLoginLimiter, *, phone: str, code: str, client_ip: str
) -> User:
    """The customer account of ``phone`` (created on its first sign-in) once ``code`` is proven."""
    e164 = mainland_mobile(phone)
    if not await limiter.verify_attempt(e164, client_ip):
        raise errors.SmsCodeRateLimited()
    typed = "".join(code.split())
    await repository.lock_phone(session, e164)
    sent = await repository.latest_login_code(session, e164)
    now = clock.now()
    if sent is None or sent.used_at is not None:
        raise errors.SmsCodeInvalid()
    if not hmac.compare_digest(sent.code_hash, _code_hash(e164, typed)):
        raise errors.SmsCodeInvalid()
    if sent.expires_at <= now:
        raise errors.SmsCodeExpired()
    if not await repository.use_login_code(session, sent.id, now):
        raise errors.SmsCodeInvalid()
    accounts = await repository.users_by_phone(session, e164)
    if any(user.role is not Role.customer for user in accounts):
        raise errors.SmsCodeInvalid()  # no code is ever sent to these; belt and braces
    user = accounts[0] if accounts else await _new_customer(session, e164)
    if not user.is_active:
        raise errors.InvalidCredentials()
    user.last_login_at = now
    await session.flush()
    return user


async def _new_customer(session: AsyncSession, e164: str) -> User:
    national = e164.removeprefix("+86")
    username = f"m{national}"
    if await repository.user_by_username(session, username) is not None:
        username = f"m{national}-{secrets.token_hex(2)}"
    user = User(
        username=username,
        # No password until the customer sets one: a random one nobody knows.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        role=Role.customer,
        display_name="",
        phone=e164,
    )
    session.add(user)
    await session.flush()
    await session.refresh(user, ["company"])
    return user
