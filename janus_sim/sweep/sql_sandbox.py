"""``sweep sql``: one read-only query over a sweep folder's views, and nothing else.

The query runs in a private in-memory DuckDB that can read files under the sweep folder
only (``allowed_directories``, with ``enable_external_access`` off), will not load or
install extensions, and whose configuration is locked before the user's text runs, so
the query cannot lift those limits. Only SELECT (and EXPLAIN) statements run: ATTACH,
COPY, INSERT, CREATE, SET, PRAGMA and the rest are refused before anything executes,
since a statement may write inside the folder it is allowed to read (a shard, a table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from janus_sim.errors import ConfigError
from janus_sim.sweep.folder import view_statements

ALLOWED = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
"""The statement types a query may hold."""

_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _checked(query: str) -> None:
    """ConfigError naming the first statement of ``query`` that is not a read."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as e:
        raise ConfigError("QUERY", "", _first_line(e)) from e
    if not statements:
        raise ConfigError("QUERY", "", "is empty: expected one SELECT")
    for stmt in statements:
        if stmt.type not in ALLOWED:
            kind = stmt.type.name
            raise ConfigError(
                "QUERY",
                "",
                f"{kind} statements are not allowed: sweep sql is read-only (expected SELECT)",
            )


def run_query(root: Path, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of ``query`` over the views of the sweep folder ``root``;
    ([], []) for a statement that returns no table. ConfigError (one line) for a query
    that is not a read or that DuckDB refuses (a file outside the folder included)."""
    _checked(query)
    base = Path(root).resolve()
    con = duckdb.connect(config={"threads": 1})
    try:
        folder = "'" + (str(base) + "/").replace("'", "''") + "'"
        con.execute(f"SET allowed_directories = [{folder}]")
        for stmt in _LOCKDOWN:
            con.execute(stmt)
        for stmt in view_statements(base):
            con.execute(stmt)
        try:
            cur = con.execute(query)
            if cur.description is None:
                return [], []
            return [d[0] for d in cur.description], cur.fetchall()
        except duckdb.Error as e:
            raise ConfigError("QUERY", "", _first_line(e)) from e
    finally:
        con.close()
