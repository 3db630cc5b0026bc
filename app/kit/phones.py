"""Phone numbers through Google's libphonenumber port: parse, validate, store as E.164."""

from __future__ import annotations

import phonenumbers

from app.kit.personal import ERASED_PHONE_SHOWN, is_erased_phone


def normalise_cn_phone(raw: str) -> str:
    """Parse a phone number (mainland China by default) and return it in E.164 (``+8613800138000``).

    Raises ValueError with a Chinese message when it is not a valid number.
    """
    try:
        number = phonenumbers.parse(raw.strip(), "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("手机号码格式不正确") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("手机号码无效")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MOBILE_REQUIRED = "请填写中国大陆手机号（11 位，1 开头）：取货码和订单通知只通过短信发送"


def normalise_cn_mobile(raw: str) -> str:
    """Like :func:`normalise_cn_phone`, but only a mainland China mobile number passes: where an SMS
    is the only channel (a pickup order's pickup code), a landline, a Hong Kong or a foreign number
    would take the order and never receive the code.

    Raises ValueError with a Chinese message saying what kind of number it is and why it is refused.
    """
    e164 = normalise_cn_phone(raw)
    number = phonenumbers.parse(e164, None)
    if number.country_code != 86:
        raise ValueError(f"暂不支持中国大陆以外的号码（+{number.country_code}），{MOBILE_REQUIRED}")
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise ValueError(f"固定电话收不到短信，{MOBILE_REQUIRED}")
    return e164


def last_four(e164: str) -> str:
    if is_erased_phone(e164):
        return "----"
    return e164[-4:]


def mask_phone(e164: str) -> str:
    """How pages show a stored number: country code, first three and last four digits
    (``+86 138****8000``), so staff can match a caller without the page exposing the number.
    An erased customer's placeholder (``app.kit.personal``) shows as ``已注销``."""
    if is_erased_phone(e164):
        return ERASED_PHONE_SHOWN
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "****" + e164[-4:]
    national = phonenumbers.national_significant_number(number)
    if len(national) <= 7:
        masked = "*" * max(len(national) - 4, 0) + national[-4:]
    else:
        masked = national[:3] + "*" * (len(national) - 7) + national[-4:]
    return f"+{number.country_code} {masked}"
