"""Money is an integer in minor units (fen for CNY, cents for USD), always with its currency.

Never float: amounts computed from decimal quantities are rounded once, half-up, to the minor unit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Currency(StrEnum):
    CNY = "CNY"
    USD = "USD"


def round_minor(value: Decimal) -> int:
    """Round a decimal amount of minor units to a whole minor unit, half-up (商业四舍五入)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_total_minor(unit_price_minor: int, quantity: Decimal) -> int:
    """Price ``quantity`` units at ``unit_price_minor`` each, rounded once to the minor unit.

    1.235 kg at ¥18.00/kg is 1800 × 1.235 = 2223 fen exactly; 1.235 kg at ¥18.50/kg is
    2284.75 fen, which becomes 2285 fen.
    """
    return round_minor(Decimal(unit_price_minor) * quantity)


def format_minor(amount_minor: int, currency: Currency | str = Currency.CNY) -> str:
    """Human form for pages: ``¥18.00`` / ``US$3.50``."""
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 100)
    symbol = "¥" if str(currency) == Currency.CNY else "US$"
    return f"{sign}{symbol}{whole:,}.{frac:02d}"


def parse_major(text: str) -> int:
    """Parse ``"18.5"`` yuan into 1850 fen; refuses more than two decimals and negatives."""
    value = Decimal(text.strip())
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("金额最多两位小数")
    if value < 0:
        raise ValueError("金额不能为负")
    return int(value * 100)
