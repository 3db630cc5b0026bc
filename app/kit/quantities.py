"""Exact quantities: Numeric(12, 3) in the database, Decimal in Python, never float.

Produce is sold by the piece, the box, by the kg and by the 斤 (0.5 kg); the unit belongs to the
variant. Three decimals means a weighed kg quantity is exact to the gram.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import Numeric

# What a person (or a client) writes for a quantity: digits with an optional sign and decimal part.
# Python's Decimal also reads "1e3", "1_000", "Infinity" and full-width digits; a cart that took
# "1e3" for 1000 showed a customer a line they never meant to type.
PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
# A Chinese input method may type full-width digits and point (１．５): they mean the same number.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
QUANTITY_SCALE = 3
QUANTITY_QUANTUM = Decimal("0.001")
MAX_QUANTITY = Decimal("999999999.999")

# A column type every quantity uses; asdecimal keeps it Decimal on the way out.
Quantity = Numeric(12, QUANTITY_SCALE, asdecimal=True)


class Unit(StrEnum):
    piece = "piece"
    box = "box"
    kg = "kg"
    jin = "jin"

    @property
    def label_zh(self) -> str:
        return UNIT_LABELS_ZH[self]

    @property
    def is_weight(self) -> bool:
        return self in (Unit.kg, Unit.jin)

    @property
    def default_step(self) -> Decimal:
        """Smallest sellable step: whole pieces and boxes, grams for kg, 0.1 斤 (50 g) for 斤."""
        return {Unit.piece: Decimal(1), Unit.box: Decimal(1), Unit.kg: Decimal("0.001"), Unit.jin: Decimal("0.1")}[self]


UNIT_LABELS_ZH = {Unit.piece: "个", Unit.box: "箱", Unit.kg: "千克", Unit.jin: "斤"}


class QuantityError(ValueError):
    pass


def parse_quantity(raw: str | int | Decimal) -> Decimal:
    """Parse a client quantity (a decimal string) exactly; refuse floats' cousins and junk.

    Returns the value normalised to 3 decimals; more precision than a gram is refused rather than
    silently rounded, so what the customer asked for is what is priced. A string must be a plain
    decimal (``"2"``, ``"1.235"``); a Decimal or int from our own code is taken as it is.
    """
    if isinstance(raw, bool):
        raise QuantityError("数量格式不正确")
    if isinstance(raw, str):
        raw = raw.strip().translate(_FULL_WIDTH)
        if not PLAIN_DECIMAL.fullmatch(raw):
            raise QuantityError("数量请写成普通数字，例如 2 或 1.5（不能用科学计数法等写法）")
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as exc:
        raise QuantityError("数量格式不正确") from exc
    if not value.is_finite():
        raise QuantityError("数量格式不正确")
    if abs(value) > MAX_QUANTITY:
        raise QuantityError("数量过大")
    if value != value.quantize(QUANTITY_QUANTUM, rounding="ROUND_DOWN"):
        raise QuantityError("数量最多三位小数")
    return value.quantize(QUANTITY_QUANTUM)


def is_multiple_of(quantity: Decimal, step: Decimal) -> bool:
    return step > 0 and (quantity % step) == 0


def format_quantity(quantity: Decimal) -> str:
    """``Decimal('2.000')`` → ``"2"``, ``Decimal('1.230')`` → ``"1.23"``."""
    text = format(quantity.normalize(), "f")
    return text
