"""SQL lives in repositories (README, "Layout and conventions").

A module builds statements or runs them only if it is a repository: ``repository.py``, a topical
``*_queries.py``, or ``models.py`` / a topical ``*_models.py`` (column defaults and index
expressions are schema, not queries).
This test walks ``app/`` and fails on any other module that imports one of SQLAlchemy's statement
builders or calls ``execute`` / ``scalar`` / ``scalars`` / ``stream`` on a session or connection, so the rule
stays true as the code grows. ``session.get`` (the identity map) and ``flush`` are the unit of work,
not queries, and stay allowed everywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Names whose import means "this module writes SQL".
STATEMENT_BUILDERS = frozenset(
    {
        "select", "update", "insert", "delete", "text", "func", "and_", "or_", "not_", "exists",
        "union", "union_all", "case", "literal", "literal_column", "tuple_", "bindparam", "cast",
        "distinct", "values", "lateral", "any_", "all_", "column", "table", "null", "true", "false",
    }
)  # fmt: skip
RUNNERS = frozenset({"execute", "scalar", "scalars", "stream", "stream_scalars", "exec_driver_sql"})


def is_repository(path: Path) -> bool:
    return path.name in {"repository.py", "models.py"} or path.name.endswith(("_queries.py", "_models.py"))


def _database_handle(node: ast.expr) -> bool:
    """``session.execute`` / ``conn.scalar`` / ``self.session.scalars``: a session or connection by
    its name (a Redis pipeline's ``execute`` is not SQL)."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return "session" in name or "conn" in name or name in {"db", "engine"}


def sql_outside_repositories(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            found += [f"{node.lineno}: imports {a.name}" for a in node.names if a.name in STATEMENT_BUILDERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS:
            if _database_handle(node.func.value):
                found.append(f"{node.lineno}: .{node.func.attr}(...)")
    return found


def test_only_repositories_build_or_run_sql() -> None:
    offenders = {
        str(path.relative_to(APP.parent)): hits
        for path in sorted(APP.rglob("*.py"))
        if not is_repository(path) and (hits := sql_outside_repositories(path))
    }
    assert offenders == {}, "SQL outside repositories:\n" + "\n".join(
        f"  {module}: {'; '.join(hits)}" for module, hits in offenders.items()
    )


def test_the_rule_sees_a_query(tmp_path: Path) -> None:
    """The walker itself: a service that builds a select is caught, one that calls a repository is not."""
    service = tmp_path / "service.py"
    service.write_text("from sqlalchemy import select\nasync def f(session): return await session.scalars(select(1))\n")
    assert len(sql_outside_repositories(service)) == 2
    service.write_text("async def f(conn, stmt): return await conn.execute(stmt)\n")
    assert len(sql_outside_repositories(service)) == 1
    service.write_text("async def f(pipe): return await pipe.execute()\n")  # a Redis pipeline
    assert sql_outside_repositories(service) == []
    service.write_text("from app.orders import repository\nasync def f(s): return await repository.orders(s)\n")
    assert sql_outside_repositories(service) == []
