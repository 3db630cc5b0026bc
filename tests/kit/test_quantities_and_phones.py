"""What a person types as a quantity or a phone: plain decimals only; a mobile where SMS is the
only channel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.kit.phones import normalise_cn_mobile, normalise_cn_phone
from app.kit.quantities import QuantityError, parse_quantity

PLAIN = "数量请写成普通数字，例如 2 或 1.5（不能用科学计数法等写法）"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2", "2.000"), (" 1.235 ", "1.235"), (".5", "0.500"), ("3.", "3.000"), ("-1", "-1.000"), ("１．５", "1.500")],
)
def test_plain_decimals_are_read_exactly(raw: str, expected: str) -> None:
    assert parse_quantity(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["1e3", "1E3", "5e-1", "Infinity", "NaN", "1_000", "0x10", "1,5", "", " ", "二"])
def test_anything_else_is_refused_with_a_clear_message(raw: str) -> None:
    with pytest.raises(QuantityError, match=PLAIN):
        parse_quantity(raw)


def test_our_own_decimals_and_ints_pass_as_they_are() -> None:
    assert parse_quantity(Decimal("1E+3")) == Decimal("1000.000")
    assert parse_quantity(7) == Decimal("7.000")


def test_a_mainland_mobile_is_required_where_sms_is_the_only_channel() -> None:
    assert normalise_cn_mobile("138 0013 8000") == "+8613800138000"
    assert normalise_cn_mobile("+86 199-1234-5678") == "+8619912345678"
    # The same landline is a valid phone for a farmer's household record, never for an SMS.
    assert normalise_cn_phone("0751-1234567") == "+867511234567"
    with pytest.raises(ValueError, match=r"^固定电话收不到短信，请填写中国大陆手机号"):
        normalise_cn_mobile("0751-1234567")
    with pytest.raises(ValueError, match=r"^暂不支持中国大陆以外的号码（\+852）"):
        normalise_cn_mobile("+852 6123 4567")
    with pytest.raises(ValueError, match=r"^暂不支持中国大陆以外的号码（\+1）"):
        normalise_cn_mobile("+1 650 253 0000")
    with pytest.raises(ValueError, match=r"^手机号码无效$"):
        normalise_cn_mobile("1380013800")
