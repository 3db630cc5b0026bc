"""Scanning at the till (issue 14, item 2), the pure part: product barcodes and GS1 variable-measure
scale labels are classified and decoded, every check digit verified, weights turned into the unit
of sale exactly (500 g is 1 斤 or 0.5 kg)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum import ean

from app.kit.errors import AppError
from app.kit.quantities import Unit
from app.pos import errors
from app.pos.scanning import (
    LabelValue,
    ScanKind,
    decode,
    parse_layouts,
    price_check_digit,
    quantity_from_grams,
    quantity_from_price,
)

DEFAULT = parse_layouts("20-24:weight:5:5,25-29:price:5:5")
WITH_CHECK = parse_layouts("21:weight:5:5,27:price:4:5:check,28:price:5:4:check")


def with_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


def refused(code: str, error: type[AppError], layouts: object = DEFAULT) -> None:
    with pytest.raises(error):
        decode(code, layouts)  # type: ignore[arg-type]


# ---- product barcodes ---------------------------------------------------------------------------------


def test_product_barcodes_are_normalised_to_thirteen_digits() -> None:
    ean13 = with_check("697405180001")
    assert decode(ean13, DEFAULT).kind is ScanKind.product and decode(ean13, DEFAULT).code == ean13
    ean8 = with_check("9638507")
    assert decode(ean8, DEFAULT).code == "00000" + ean8
    upc = with_check("03600029145")
    assert decode(upc, DEFAULT).code == "0" + upc
    # What a wedge scanner or an IME may add around the digits is not part of the code.
    assert decode(f" {ean13}\n", DEFAULT).code == ean13
    assert decode(ean13.translate(str.maketrans("0123456789", "０１２３４５６７８９")), DEFAULT).code == ean13


def test_a_wrong_digit_or_a_transposition_is_refused() -> None:
    good = with_check("697405180001")
    one_wrong = good[:5] + str((int(good[5]) + 1) % 10) + good[6:]
    refused(one_wrong, errors.BarcodeCheckDigitWrong)
    # 6974… → 9674…: adjacent digits swapped (they differ by 3, which the EAN weights 1/3 catch).
    swapped = good[1] + good[0] + good[2:]
    assert swapped != good
    refused(swapped, errors.BarcodeCheckDigitWrong)
    refused(good[:-1] + str((int(good[-1]) + 1) % 10), errors.BarcodeCheckDigitWrong)


@pytest.mark.parametrize("code", ["ABC123", "12345", "6974051800011X", "12345678901234", ""])
def test_what_is_not_a_barcode_is_unreadable(code: str) -> None:
    refused(code, errors.BarcodeUnreadable)


# ---- scale labels ------------------------------------------------------------------------------------------


def test_a_weight_label_gives_the_plu_and_the_grams() -> None:
    scan = decode(with_check("200010101234"), DEFAULT)
    assert (scan.kind, scan.plu, scan.grams, scan.price_minor) == (ScanKind.weight_label, 101, 1234, None)


def test_a_price_label_gives_the_plu_and_the_fen() -> None:
    scan = decode(with_check("250010102520"), DEFAULT)
    assert (scan.kind, scan.plu, scan.price_minor, scan.grams) == (ScanKind.price_label, 101, 2520, None)


def test_a_prefix_not_configured_is_a_store_barcode() -> None:
    code = with_check("290010102520")
    assert decode(code, WITH_CHECK).kind is ScanKind.product


def test_the_gs1_price_check_digit() -> None:
    # The worked examples of the GS1 General Specifications (4-digit and 5-digit price check).
    assert price_check_digit("2875") == "9"
    assert price_check_digit("14685") == "6"


def test_a_price_label_with_an_inner_check_digit() -> None:
    five = with_check("270101" + price_check_digit("02520") + "02520")
    scan = decode(five, WITH_CHECK)
    assert (scan.kind, scan.plu, scan.price_minor) == (ScanKind.price_label, 101, 2520)
    four = with_check("2800101" + price_check_digit("2875") + "2875")
    assert (decode(four, WITH_CHECK).plu, decode(four, WITH_CHECK).price_minor) == (101, 2875)
    # The outer check digit is right, the inner one is not: the price was misprinted or altered.
    wrong_inner = str((int(price_check_digit("02520")) + 1) % 10)
    refused(with_check("270101" + wrong_inner + "02520"), errors.ScalePriceCheckDigitWrong, WITH_CHECK)


def test_a_label_with_no_item_or_no_weight_is_unreadable() -> None:
    refused(with_check("200000001234"), errors.ScaleLabelUnreadable)
    refused(with_check("200010100000"), errors.ScaleLabelUnreadable)


@pytest.mark.parametrize(
    "text",
    [
        "20:weight:5:4",  # 9 digits, not 10
        "20-24:weight:5:5,24:price:5:5",  # prefix 24 twice
        "20:weight:4:5:check",  # an inner check digit on a weight
        "20:price:6:3:check",  # 3-digit price: no GS1 check digit
        "19:weight:5:5",  # not a variable-measure prefix
        "20:volume:5:5",
        "20:weight:5",
    ],
)
def test_a_bad_layout_setting_is_refused_with_its_entry(text: str) -> None:
    with pytest.raises(ValueError, match="POS_SCALE_LABEL_LAYOUT"):
        parse_layouts(text)


def test_the_layout_setting_is_read() -> None:
    weight, price = DEFAULT
    assert (sorted(weight.prefixes), weight.value, weight.item_digits, weight.value_digits) == (
        ["20", "21", "22", "23", "24"],
        LabelValue.weight,
        5,
        5,
    )
    assert price.value is LabelValue.price and not price.price_check
    assert WITH_CHECK[1].price_check and WITH_CHECK[1].item_digits == 4


# ---- quantities --------------------------------------------------------------------------------------------


def test_grams_become_the_unit_of_sale_exactly() -> None:
    assert quantity_from_grams(500, Unit.jin) == Decimal("1.000")
    assert quantity_from_grams(500, Unit.kg) == Decimal("0.500")
    assert quantity_from_grams(1234, Unit.jin) == Decimal("2.468")
    assert quantity_from_grams(1, Unit.kg) == Decimal("0.001")
    with pytest.raises(errors.ScaleItemNotWeighed):
        quantity_from_grams(500, Unit.box)


def test_a_price_label_quantity_is_price_over_unit_price_to_three_decimals() -> None:
    assert quantity_from_price(2520, 1680) == Decimal("1.500")
    assert quantity_from_price(2000, 1680) == Decimal("1.190")  # 1.19047…
    assert quantity_from_price(1, 99999) == Decimal("0.001")  # never zero


def test_a_bad_layout_stops_the_start() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="POS_SCALE_LABEL_LAYOUT"):
        Settings(pos_scale_label_layout="20:weight:5:4")
    assert Settings(pos_scale_label_layout="21:weight:5:5,27:price:4:5:check").pos_scale_label_layout
