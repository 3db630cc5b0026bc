"""Customers' personal data (PIPL, 个人信息保护法): how names and phones are masked for staff, and
what an anonymised (注销) customer's rows hold instead of them.

Masking keeps what a person serving the customer needs to match them (the surname, the last four
digits of the phone) and nothing that identifies them on its own. An erased customer's orders keep
their amounts for the accounts but no name and no number: the contact phone becomes
``deleted-<user id>``, which no normaliser accepts as a phone (so no SMS, guest look-up or pickup
check can ever match it) and which still tells the station reports one person from another.
"""

from __future__ import annotations

import re

ERASED_NAME = "已注销用户"
ERASED_PHONE_PREFIX = "deleted-"
ERASED_PHONE_SHOWN = "已注销"


def erased_phone(user_id: int) -> str:
    return f"{ERASED_PHONE_PREFIX}{user_id}"


def is_erased_phone(phone: str | None) -> bool:
    return bool(phone) and str(phone).startswith(ERASED_PHONE_PREFIX)


def mask_name(name: str) -> str:
    """``李小红`` → ``李**``: the first character, then one asterisk per further character (at most
    three, so a long name does not print a row of stars). An erased customer's name stays as it is
    (it names nobody)."""
    name = name.strip()
    if not name:
        return "—"
    if name == ERASED_NAME:
        return name
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def phone_last4(phone: str) -> str:
    """The last four digits a station checks at handover (``8000``), ``—`` when there are none."""
    if is_erased_phone(phone):
        return "—"
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else "—"


_LONG_DIGIT_RUN = re.compile(r"\d{7,}")


def mask_digit_runs(text: str) -> str:
    """``m13800138000`` → ``m138****8000``: a username made from a mobile number (SMS sign-up)
    shown in a staff list without the number."""
    return _LONG_DIGIT_RUN.sub(lambda m: m.group()[:3] + "*" * (len(m.group()) - 7) + m.group()[-4:], text)
