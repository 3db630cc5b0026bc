"""The embedded PostgreSQL's database name goes into psql's SQL text (psql takes no parameters), so
anything but a plain identifier is refused before a server is started or a statement is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import start_embedded_postgres


@pytest.mark.parametrize("name", ["np'; DROP DATABASE postgres; --", 'a"b', "", "1abc", "x" * 64, "名字"])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="plain identifier"):
        start_embedded_postgres(tmp_path / "pg", name)
    assert not (tmp_path / "pg").exists()  # refused before anything was started
