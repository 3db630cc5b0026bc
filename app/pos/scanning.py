"""What a scanner typed at the till: classify and decode it (pure functions, no database).

A keyboard-wedge scanner types digits and Enter. Three things arrive:

- a **product barcode**: EAN-13, EAN-8 or UPC-A (12 digits). Its GS1 check digit is verified
  (``stdnum.ean``) and it is normalised to its 13-digit form (UPC-A gets one leading 0, EAN-8
  five: the GTIN-13 form, which is how ``variants.barcode`` stores codes).
- a **scale label**: an EAN-13 whose two-digit prefix (20–29, GS1 variable measure) is listed in
  ``POS_SCALE_LABEL_LAYOUT``. The layout of that prefix says how many digits are the item code
  (the variant's PLU), whether the value is a weight in grams or a price in fen, how many digits
  the value has and whether an inner price check digit (GS1 4- or 5-digit price check) sits just
  before the value::

      2P IIIII VVVVV C        weight / price, 5 + 5      e.g. "20-24:weight:5:5"
      2P IIII K VVVVV C       price with check, 4 + 1 + 5 e.g. "27:price:4:5:check"

  Both check digits are verified. A 2x code whose prefix is not configured is a store's own
  product barcode and is looked up like any other.
- anything else (letters, a wrong length) is refused as unreadable.

Quantities: a weight in grams becomes the variant's unit of sale exactly — kg: grams / 1000,
斤: grams / 500 (500 g is 1 斤 or 0.5 kg, never a silent ×2). A price label's quantity is
label price ÷ the list's unit price, half-up to 3 decimals (the scale computed the price; the
line total is the label's price, the quantity is shown for the receipt and the stock).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache

from app.config import get_settings
from app.kit.quantities import QUANTITY_QUANTUM, Unit
from app.pos import errors

_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
GRAMS_PER_UNIT = {Unit.kg: 1000, Unit.jin: 500}


class LabelValue(StrEnum):
    weight = "weight"  # grams
    price = "price"  # fen


class ScanKind(StrEnum):
    product = "product"  # a product barcode (EAN-13 / EAN-8 / UPC-A)
    weight_label = "weight_label"  # a scale label with the weight inside
    price_label = "price_label"  # a scale label with the price inside


@dataclass(frozen=True)
class LabelLayout:
    prefixes: frozenset[str]
    value: LabelValue
    item_digits: int
    value_digits: int
    price_check: bool


@dataclass(frozen=True)
class Scan:
    kind: ScanKind
    code: str  # the 13-digit form
    plu: int | None = None
    grams: int | None = None
    price_minor: int | None = None


def parse_layouts(text: str) -> tuple[LabelLayout, ...]:
    """``POS_SCALE_LABEL_LAYOUT`` → layouts; a ValueError names what is wrong."""
    layouts: list[LabelLayout] = []
    seen: set[str] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        fields = entry.split(":")
        if len(fields) not in (4, 5) or (len(fields) == 5 and fields[4] != "check"):
            raise ValueError(f"POS_SCALE_LABEL_LAYOUT 条目应为 前缀:weight|price:品号位数:数值位数[:check]：{entry}")
        prefixes = _prefixes(fields[0], entry)
        try:
            value = LabelValue(fields[1])
            item_digits, value_digits = int(fields[2]), int(fields[3])
        except ValueError as exc:
            raise ValueError(f"POS_SCALE_LABEL_LAYOUT 条目无法识别：{entry}") from exc
        check = len(fields) == 5
        if item_digits < 1 or value_digits < 1 or item_digits + value_digits + int(check) != 10:
            raise ValueError(f"POS_SCALE_LABEL_LAYOUT 品号位数 + 数值位数（+ 校验位）应为 10：{entry}")
        if check and (value is not LabelValue.price or value_digits not in (4, 5)):
            raise ValueError(f"POS_SCALE_LABEL_LAYOUT 内校验位只用于 4 或 5 位价格：{entry}")
        if prefixes & seen:
            raise ValueError(f"POS_SCALE_LABEL_LAYOUT 前缀重复：{entry}")
        seen |= prefixes
        layouts.append(LabelLayout(prefixes, value, item_digits, value_digits, check))
    return tuple(layouts)


def _prefixes(text: str, entry: str) -> frozenset[str]:
    low, _, high = text.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError as exc:
        raise ValueError(f"POS_SCALE_LABEL_LAYOUT 前缀应为 20–29 或其范围，如 20-24：{entry}") from exc
    if not 20 <= first <= last <= 29:
        raise ValueError(f"POS_SCALE_LABEL_LAYOUT 前缀应为 20–29 或其范围，如 20-24：{entry}")
    return frozenset(str(n) for n in range(first, last + 1))


@lru_cache(maxsize=8)
def _layouts_of(text: str) -> tuple[LabelLayout, ...]:
    return parse_layouts(text)


def configured_layouts() -> tuple[LabelLayout, ...]:
    return _layouts_of(get_settings().pos_scale_label_layout)


# GS1 price check digit weights (General Specifications 7.9.3): each maps a digit to its product.
_W2M = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)  # "2-"
_W3 = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)  # "3"
_W5P = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)  # "5+"
_W5M = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)  # "5-"


def price_check_digit(value: str) -> str:
    """The GS1 check digit of a 4- or 5-digit price field."""
    digits = [int(c) for c in value]
    if len(digits) == 4:
        total = _W2M[digits[0]] + _W2M[digits[1]] + _W3[digits[2]] + _W5M[digits[3]]
        return str(total * 3 % 10)
    if len(digits) == 5:
        weights = (_W5P, _W2M, _W5M, _W5P, _W2M)
        total = sum(w[d] for w, d in zip(weights, digits, strict=True))
        return str(_W5M.index((10 - total % 10) % 10))
    raise ValueError("price check digits are defined for 4 or 5 digits")


def decode(raw: str, layouts: tuple[LabelLayout, ...] | None = None) -> Scan:
    """Classify and decode a scanned code, verifying every check digit."""
    code = raw.strip().translate(_FULL_WIDTH)
    if not code.isascii() or not code.isdigit() or len(code) not in (8, 12, 13):
        raise errors.BarcodeUnreadable(detail={"code": raw[:40]})
    from stdnum import ean  # on first use: python-stdnum imports pydoc and its whole tree (issue 15's memory)

    if not ean.is_valid(code):
        raise errors.BarcodeCheckDigitWrong(detail={"code": code})
    gtin = code.zfill(13)
    if len(code) == 13:
        for layout in configured_layouts() if layouts is None else layouts:
            if code[:2] in layout.prefixes:
                return _label(gtin, layout)
    return Scan(ScanKind.product, gtin)


def _label(code: str, layout: LabelLayout) -> Scan:
    start = 2 + layout.item_digits
    item = code[2:start]
    if layout.price_check:
        value = code[start + 1 : start + 1 + layout.value_digits]
        if code[start] != price_check_digit(value):
            raise errors.ScalePriceCheckDigitWrong(detail={"code": code})
    else:
        value = code[start : start + layout.value_digits]
    plu, amount = int(item), int(value)
    if plu == 0 or amount == 0:
        raise errors.ScaleLabelUnreadable(detail={"code": code})
    if layout.value is LabelValue.weight:
        return Scan(ScanKind.weight_label, code, plu=plu, grams=amount)
    return Scan(ScanKind.price_label, code, plu=plu, price_minor=amount)


def quantity_from_grams(grams: int, unit: Unit) -> Decimal:
    """A weight in grams in the unit of sale, exact: kg = g / 1000, 斤 = g / 500."""
    per_unit = GRAMS_PER_UNIT.get(unit)
    if per_unit is None:
        raise errors.ScaleItemNotWeighed(detail={"unit": unit.value})
    return (Decimal(grams) / per_unit).quantize(QUANTITY_QUANTUM)


def quantity_from_price(price_minor: int, unit_price_minor: int) -> Decimal:
    """What a price label's amount buys at the unit price, half-up to 3 decimals (at least 0.001)."""
    quantity = (Decimal(price_minor) / Decimal(unit_price_minor)).quantize(QUANTITY_QUANTUM, rounding=ROUND_HALF_UP)
    return max(quantity, QUANTITY_QUANTUM)
