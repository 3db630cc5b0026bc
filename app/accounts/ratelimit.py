"""The attempt limits of sign-in and of guest order look-ups (see ``app/kit/ratelimit.py``).

Every attempt is counted before the credential is checked, per key:

- sign-in: per username (``LOGIN_RATE_LIMIT``, 5/minute) and per client address
  (``LOGIN_ADDRESS_RATE_LIMIT``, 20/minute: a station office or a market behind one NAT address
  signs in several people);
- wholesale applications: per client address (``WHOLESALE_APPLICATION_RATE_LIMIT``);
- device enrolment codes: per client address (``DEVICE_ENROL_RATE_LIMIT``, 10/minute). A wrong
  code names no enrolment, so there is nothing else to count on; with 32⁸ possible codes and a few
  live for ten minutes each, guessing one needs far more addresses than anyone has;
- PIN sign-in at a till: per user name (``POS_PIN_RATE_LIMIT``, 5 per 15 minutes) and per till
  (``POS_PIN_TILL_RATE_LIMIT``, 20 per 15 minutes). A PIN is 4–6 digits, so these limits are
  what keeps it from being guessed: 10⁴ PINs at 5 tries per quarter hour is about three weeks of
  uninterrupted guessing on one account, and one till cannot spread its guesses over accounts;
- guest look-up (order number + phone): per order number and per client address
  (``ORDER_LOOKUP_RATE_LIMIT``, 10/minute each). A guest who already proved the phone holds a
  signed cookie for that order and is not counted on it, so one visitor's failures never lock
  another guest out of their own order.

A successful attempt counts too: refunding it would need a decrement that a burst could race.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.kit.ratelimit import Rate, RateLimiter, counter_store


class LoginLimiter:
    def __init__(self, limiter: RateLimiter, per_username: Rate, per_address: Rate) -> None:
        self.limiter = limiter
        self.per_username = per_username
        self.per_address = per_address

    async def attempt(self, username: str, client_ip: str) -> bool:
        """Count one sign-in attempt; False when the username or the address is over its limit."""
        return await self.limiter.hit(
            (f"login-user:{username.strip().lower()}", self.per_username),
            (f"login-ip:{client_ip}", self.per_address),
        )


class LookupLimiter:
    def __init__(self, limiter: RateLimiter, rate: Rate) -> None:
        self.limiter = limiter
        self.rate = rate

    async def attempt(self, order_number: str, client_ip: str) -> bool:
        """Count one guest look-up (number + phone); False when the order or the address is over."""
        return await self.limiter.hit(
            (f"lookup-order:{order_number.strip().upper()}", self.rate), (f"lookup-ip:{client_ip}", self.rate)
        )


class ApplicationLimiter:
    def __init__(self, limiter: RateLimiter, rate: Rate) -> None:
        self.limiter = limiter
        self.rate = rate

    async def attempt(self, client_ip: str) -> bool:
        """Count one wholesale application from this address; False when over the limit."""
        return await self.limiter.hit((f"apply-ip:{client_ip}", self.rate))


class EnrolmentLimiter:
    def __init__(self, limiter: RateLimiter, rate: Rate) -> None:
        self.limiter = limiter
        self.rate = rate

    async def attempt(self, client_ip: str) -> bool:
        """Count one enrolment code sent from this address; False when over the limit."""
        return await self.limiter.hit((f"enrol-ip:{client_ip}", self.rate))


class PinLimiter:
    def __init__(self, limiter: RateLimiter, per_user: Rate, per_till: Rate) -> None:
        self.limiter = limiter
        self.per_user = per_user
        self.per_till = per_till

    async def attempt(self, username: str, till_id: int) -> bool:
        """Count one PIN attempt; False when the user name or the till is over its limit."""
        return await self.limiter.hit(
            (f"pin-user:{username.strip().lower()}", self.per_user), (f"pin-till:{till_id}", self.per_till)
        )


class SmsLoginLimiter:
    """Sign-in codes by SMS: sending costs money and a guess is a guess, so both are limited."""

    def __init__(self, limiter: RateLimiter, send_per_phone: Rate, send_per_address: Rate, verify_per_phone: Rate):
        self.limiter = limiter
        self.send_per_phone = send_per_phone
        self.send_per_address = send_per_address
        self.verify_per_phone = verify_per_phone

    async def send_attempt(self, phone: str, client_ip: str) -> bool:
        return await self.limiter.hit(
            (f"sms-send:{phone}", self.send_per_phone),
            (f"sms-send-ip:{client_ip}", self.send_per_address),
        )

    async def verify_attempt(self, phone: str, client_ip: str) -> bool:
        return await self.limiter.hit(
            (f"sms-verify:{phone}", self.verify_per_phone),
            (f"sms-verify-ip:{client_ip}", self.send_per_address),
        )


@dataclass(frozen=True)
class Limiters:
    login: LoginLimiter
    lookup: LookupLimiter
    application: ApplicationLimiter
    sms_login: SmsLoginLimiter
    enrolment: EnrolmentLimiter
    pin: PinLimiter


def build_limiters(settings: Settings, engine: Callable[[], AsyncEngine]) -> Limiters:
    limiter = RateLimiter(counter_store(settings.rate_limit_storage_url, engine))
    return Limiters(
        login=LoginLimiter(
            limiter, Rate.parse(settings.login_rate_limit), Rate.parse(settings.login_address_rate_limit)
        ),
        lookup=LookupLimiter(limiter, Rate.parse(settings.order_lookup_rate_limit)),
        application=ApplicationLimiter(limiter, Rate.parse(settings.wholesale_application_rate_limit)),
        sms_login=SmsLoginLimiter(
            limiter,
            Rate.parse(settings.sms_code_send_rate_limit),
            Rate.parse(settings.sms_code_address_rate_limit),
            Rate.parse(settings.sms_code_verify_rate_limit),
        ),
        enrolment=EnrolmentLimiter(limiter, Rate.parse(settings.device_enrol_rate_limit)),
        pin=PinLimiter(limiter, Rate.parse(settings.pos_pin_rate_limit), Rate.parse(settings.pos_pin_till_rate_limit)),
    )
