"""Opening a DuckDB database file, waiting politely while another process holds it.

DuckDB allows one read-write process per file, and while it holds the file no other
process can open it, not even read-only (and readers' shared locks keep a writer out).
``connect_waiting`` retries with a growing pause until ``timeout`` seconds have passed,
tells the caller once that it is waiting (``on_wait``, e.g. a line on stderr), and then
fails with a one-line StoreError that names the process holding the lock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import duckdb

from janus_sim.errors import StoreError, StoreLocked

ALIAS = "janus"  # the attached database's name inside the private DuckDB instance
ROW_GROUP_SIZE = 32_768  # a multiple of DuckDB's vector size (2048); see duckdb_store
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds a session waits for another process's lock
_LOCKED = "Could not set lock"  # DuckDB's message when another process holds the file
_HOLDER = re.compile(r"\(PID (\d+)\)")


def first_line(e: BaseException) -> str:
    """The error's first line, with the two damage cases said plainly."""
    text = str(e).strip()
    line = text.splitlines()[0] if text else type(e).__name__
    if "not a valid DuckDB database file" in line:
        return "the file is not a DuckDB database (expected an event store written by janus-sim)"
    if "Corrupt database file" in line:
        return (
            f"the database file is damaged ({line.split(': ', 1)[-1]}); restore it from a "
            "copy, or re-run the scenario into a new --store"
        )
    return line


def connect_waiting(
    path: Path,
    read_only: bool,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB with ``path`` attached as ``ALIAS`` and in use.

    The file is ATTACHed rather than connected to directly because that is where DuckDB
    takes per-file options such as ROW_GROUP_SIZE.
    """
    literal = "'" + str(path).replace("'", "''") + "'"
    options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    mode = "read-only" if read_only else "read-write"
    deadline: float | None = None
    pause = 0.02
    while True:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {literal} AS {ALIAS} ({options})")
            con.execute(f"USE {ALIAS}")
            return con
        except duckdb.Error as e:
            with suppress(duckdb.Error):
                con.close()
            if _LOCKED not in str(e):
                raise StoreError(f"cannot open event store {path} {mode}: {first_line(e)}") from e
            found = _HOLDER.search(str(e))
            holder = f"process {found.group(1)}" if found else "another process"
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
                if on_wait is not None and timeout > 0:
                    on_wait(f"{path} is in use by {holder}; waiting up to {timeout:g} s for it")
            if now >= deadline:
                raise StoreLocked(str(path), holder, timeout) from e
            time.sleep(min(pause, max(0.0, deadline - now)))
            pause = min(pause * 2, 0.5)
