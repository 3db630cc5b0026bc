"""Shared Pydantic building blocks: exact decimal quantities in JSON, strict input models."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from app.kit.quantities import QuantityError, format_quantity, parse_quantity


def _quantity(value: Any) -> Decimal:
    # A JSON float has already lost exactness: quantities travel as decimal strings (or integers).
    if isinstance(value, float):
        raise ValueError('数量请以字符串形式提交，例如 "1.235"')
    try:
        return parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(str(exc)) from exc


QuantityValue = Annotated[
    Decimal, BeforeValidator(_quantity), PlainSerializer(format_quantity, return_type=str, when_used="json")
]


class InputModel(BaseModel):
    """Write models refuse unknown fields, so a typo is a 422 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
