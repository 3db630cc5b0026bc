"""``in_statement`` writes an enum value into the SQL text (for a partial index's predicate), and
only a plain identifier-like value: nothing it writes needs quoting."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from app.kit.models import in_statement
from app.stations.models import Parcel, ParcelStatus


def test_the_value_is_in_the_statements_text_not_a_parameter() -> None:
    compiled = (
        select(Parcel.id)
        .where(Parcel.status == in_statement(ParcelStatus.at_station))
        .compile(dialect=postgresql.dialect())
    )
    assert "parcels.status = 'at_station'" in str(compiled) and compiled.params == {}


def test_a_value_that_would_need_quoting_is_refused() -> None:
    class Odd(StrEnum):
        quoted = "it's"

    with pytest.raises(ValueError, match="not a plain enum value"):
        in_statement(Odd.quoted)
