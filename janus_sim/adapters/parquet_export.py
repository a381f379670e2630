"""Export runs' events from the DuckDB event store to a Hive-partitioned Parquet tree.

Layout: ``<out_dir>/run_id=<run>/kind=<kind>/data_0.parquet``, one zstd file per run and
kind, rows in ``seq`` order, columns ``seq BIGINT, cycle INTEGER, t_ns BIGINT, entity
VARCHAR, version SMALLINT, payload VARCHAR`` (the event's JSON, unchanged) and ``chain
VARCHAR`` (the chain hash as lower-case hex, which Spark and Trino show and compare
without a cast; NULL for rows written before chains existed).

``run_id`` and ``kind`` are only in the directory names, as Hive intends; DuckDB, polars,
pyarrow, Spark and Trino all read them from there. Copies inside the files would not
help: DuckDB still types the column from the path, and pyarrow refuses a tree whose
path and file types differ. Readers infer a partition's type from its text, so only run
ids that read as text are exported (``_check_run_id``).

DuckDB's own ``COPY ... TO`` writes each run into a hidden temporary directory inside
``out_dir`` that is then renamed into place: a run appears whole or not at all, and a
failure removes what it wrote. No timestamps are written, so one log exports to the
same bytes (with one DuckDB version). Readers should glob ``<out_dir>/READ_GLOB``
(``run_id=*/kind=*/*.parquet``): DuckDB's and polars' globs match hidden names, so a
recursive ``**`` also finds an export being written, or the temporary directory of one
killed outright (pyarrow, Spark and Trino skip hidden ones). The writer holds a lock in
its temporary directory; the next export into ``out_dir`` removes any whose lock is
free, its writer gone (``clean_stale_exports``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from janus_sim.adapters.atomic_file import output_dir
from janus_sim.adapters.duckdb_connect import first_line
from janus_sim.adapters.duckdb_store import DuckDBEventStore
from janus_sim.adapters.run_lock import hold_flock
from janus_sim.core.events import EVENT_TYPES
from janus_sim.errors import ConfigError, NotFoundError, StoreError
from janus_sim.store_rules import unknown_run

FILE_NAME = "data_0.parquet"
TMP_PREFIX = ".janus-export-"  # hidden: pyarrow, Spark and Trino skip such directories
WRITER_LOCK = ".writer.lock"
"""In a temporary directory: the file its writer holds a ``flock`` on while it writes."""
READ_GLOB = "run_id=*/kind=*/*.parquet"
"""The files of finished exports under an export directory, and nothing else."""
# Path-safe in every reader (Spark and Trino escape none of these); the first character
# is a letter or digit, so no partition looks hidden to a reader.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_MAX_ID = 200  # "run_id=" plus the id stays well inside a 255-byte file name
# Hive readers infer a partition's type from its text: DuckDB reads "42" as BIGINT and
# "epoch" or "inf" as DATE, polars reads "1e5" as Float64 and "True" as Boolean, pyarrow
# reads "0x1F" as int32. An id DuckDB can cast to any of these is refused.
_TYPED = ("BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIME", "TIMESTAMP")
_COLUMNS = "seq, cycle, t_ns, entity, version, payload, lower(hex(chain)) AS chain"


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_events`` wrote: the runs in the order given, the kinds written
    (sorted), and the number of events and Parquet files."""

    out_dir: Path
    runs: tuple[str, ...]
    kinds: tuple[str, ...]
    n_events: int
    n_files: int


def partition_dir(out_dir: Path, run_id: str) -> Path:
    """The directory that holds run ``run_id`` in the tree at ``out_dir``."""
    return out_dir / f"run_id={run_id}"


def export_events(
    store: DuckDBEventStore,
    run_ids: Sequence[str],
    out_dir: Path,
    *,
    kinds: Sequence[str] | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write the events of ``run_ids`` (of the kinds in ``kinds``; None: every kind) to
    the Parquet tree at ``out_dir`` (created if missing) and say what was written.

    ``out_dir`` may hold other runs' partitions; they are left alone. A run whose
    partition exists is refused (ConfigError) unless ``overwrite``, which replaces it
    once the new one is complete. Every check (runs exist, ids and kinds are valid,
    ``out_dir`` is a writable directory, no partition is in the way) is made before
    anything is written. Runs are then written one after another, each appearing whole;
    a failure leaves the runs already exported in place and nothing of the failed one.
    A run with no matching events gets an empty partition directory.

    Errors (one line each): NotFoundError for an unknown run; ConfigError for an
    unknown kind, a run id unusable as a partition, or an output problem; StoreError
    when DuckDB fails.
    """
    runs = tuple(dict.fromkeys(run_ids))  # duplicates once, order kept
    if isinstance(run_ids, str) or not runs:
        raise ConfigError("--run", "", "no runs to export: name at least one run id")
    wanted = _check_kinds(kinds)
    out_dir = Path(out_dir)
    with store.session():
        known = [r.run_id for r in store.list_runs()]
        for run_id in runs:
            if run_id not in known:
                missing = unknown_run(run_id, f"event store {store.path}", known)
                raise NotFoundError(f"{missing}; `janus-sim runs` lists them")
            _check_run_id(store.con, run_id)
        _prepare(out_dir)
        clean_stale_exports(out_dir)
        for run_id in runs:
            if partition_dir(out_dir, run_id).exists() and not overwrite:
                raise _taken(out_dir, run_id)
        written: dict[str, int] = {}
        n_files = 0
        for run_id in runs:
            counts = _write_run(store, run_id, wanted, out_dir, overwrite)
            for kind, n in counts.items():
                written[kind] = written.get(kind, 0) + n
            n_files += len(counts)
    return ExportSummary(out_dir, runs, tuple(sorted(written)), sum(written.values()), n_files)


def _check_kinds(kinds: Sequence[str] | None) -> tuple[str, ...] | None:
    if kinds is None:
        return None
    known = [cls.KIND for cls in EVENT_TYPES]
    if isinstance(kinds, str) or not kinds:
        raise ConfigError("--kind", "", "expected one or more kinds (None exports every kind)")
    for kind in kinds:
        if kind not in known:
            raise ConfigError("--kind", "", f"unknown kind {kind!r}; known: {', '.join(known)}")
    return tuple(sorted(set(kinds)))


def _check_run_id(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """ConfigError unless ``run_id`` is safe in a path and every reader types it as text."""
    if not _SAFE.fullmatch(run_id) or len(run_id) > _MAX_ID:
        raise ConfigError(
            "--run",
            "",
            f"run id {run_id!r} cannot name a Parquet partition: export takes ids of at "
            f"most {_MAX_ID} letters, digits, '_', '.' and '-', starting with a letter or "
            "digit (no '/', '=' or spaces)",
        )
    casts = ", ".join(f"TRY_CAST(? AS {t}) IS NOT NULL" for t in _TYPED)
    try:
        typed = con.execute(f"SELECT [{casts}]", [run_id] * len(_TYPED)).fetchall()[0][0]
    except duckdb.Error as e:
        raise StoreError(f"checking run id {run_id!r} failed: {first_line(e)}") from e
    if any(typed):
        raise ConfigError(
            "--run",
            "",
            f"run id {run_id!r} reads as a {_TYPED[typed.index(True)]} value, and Hive "
            "readers (DuckDB, polars, pyarrow) would type the run_id column by it; "
            "export takes only ids that read as text",
        )


def _prepare(out_dir: Path) -> None:
    """Make ``out_dir`` an existing, writable directory, or raise ConfigError."""
    output_dir(out_dir, expected="a directory for the tree")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ConfigError("-o", "", f"directory {out_dir} is not writable")


def _taken(out_dir: Path, run_id: str) -> ConfigError:
    return ConfigError(
        "-o",
        "",
        f"{partition_dir(out_dir, run_id)} already exists (run {run_id!r} was exported "
        "before); --overwrite replaces it",
    )


def _write_run(
    store: DuckDBEventStore,
    run_id: str,
    wanted: tuple[str, ...] | None,
    out_dir: Path,
    overwrite: bool,
) -> dict[str, int]:
    """Write one run's partition and move it into place; {kind: events written}."""
    con = store.con
    final = partition_dir(out_dir, run_id)
    try:
        # The temporary directory sits in out_dir so the final rename stays within one
        # file system, where it is atomic.
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out_dir))
    except OSError as e:
        raise ConfigError("-o", "", f"cannot write in {out_dir}: {e.strerror or e}") from e
    writer: int | None = None
    try:
        # Held until tmp is gone: a later export removes tmp only once this lock is free.
        writer = hold_flock(tmp / WRITER_LOCK, str)
        staged = partition_dir(tmp, run_id)
        counts: dict[str, int] = {}
        try:
            staged.mkdir()
            for kind in _kinds_of(store, run_id, wanted):
                target = staged / f"kind={kind}" / FILE_NAME
                target.parent.mkdir()
                counts[kind] = _copy(con, run_id, kind, target)
        except duckdb.Error as e:
            raise StoreError(
                f"event store {store.path}: export of run {run_id!r} to {out_dir} failed: "
                f"{first_line(e)}"
            ) from e
        _move_into_place(staged, final, tmp / "replaced", overwrite)
        return counts
    except OSError as e:
        raise ConfigError("-o", "", f"cannot write {final}: {e.strerror or e}") from e
    finally:
        # tmp holds at most the old partition, replaced; or, if no partition made it into
        # place and even putting the old one back failed, the only copy of it: kept then.
        if final.exists() or not (tmp / "replaced").exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if writer is not None:
            os.close(writer)


def clean_stale_exports(out_dir: Path) -> list[Path]:
    """Remove the temporary directories of exports into ``out_dir`` whose writer is gone
    (killed: its ``WRITER_LOCK`` is free) and return them. One whose writer still holds
    the lock is left alone, and so is one holding ``replaced`` (the only copy of a
    partition an interrupted ``--overwrite`` could not put back: kept for the user), or
    one without a lock file (an older janus-sim's, or one being created this instant)."""
    removed: list[Path] = []
    for tmp in sorted(out_dir.glob(TMP_PREFIX + "*")):
        lock = tmp / WRITER_LOCK
        if not tmp.is_dir() or not lock.is_file() or (tmp / "replaced").exists():
            continue
        try:
            fd = hold_flock(lock, str)
        except StoreError:
            continue  # its writer is alive
        try:
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(tmp)
    return removed


def _kinds_of(store: DuckDBEventStore, run_id: str, wanted: tuple[str, ...] | None) -> list[str]:
    """The kinds ``run_id`` has events of (of ``wanted`` only, unless None), sorted."""
    rows = store.con.execute(
        "SELECT DISTINCT kind FROM events WHERE run_id = ? ORDER BY kind", [run_id]
    ).fetchall()
    kinds = [str(r[0]) for r in rows if wanted is None or r[0] in wanted]
    for kind in kinds:  # kinds come from the file, which anything may have written
        if not _SAFE.fullmatch(kind):
            raise StoreError(
                f"event store {store.path}: run {run_id!r} has events of kind {kind!r}, "
                "which cannot name a Parquet partition"
            )
    return kinds


def _copy(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, target: Path) -> int:
    """One kind of one run to the file ``target``, in seq order; the rows written."""
    literal = "'" + str(target).replace("'", "''") + "'"
    # Unpartitioned COPY keeps the query's order; DuckDB's PARTITION_BY writer does not.
    rows = con.execute(
        f"COPY (SELECT {_COLUMNS} FROM events WHERE run_id = ? AND kind = ? ORDER BY seq) "
        f"TO {literal} (FORMAT parquet, COMPRESSION zstd)",
        [run_id, kind],
    ).fetchall()
    return int(rows[0][0])


def _move_into_place(staged: Path, final: Path, old: Path, overwrite: bool) -> None:
    """Rename ``staged`` to ``final``; with ``overwrite`` an existing ``final`` is moved to
    ``old`` first (and put back if the second rename fails)."""
    if not (overwrite and final.exists()):
        # Fails (directory not empty) rather than merge with one another export just made.
        staged.rename(final)
        return
    # Two renames leave a moment with no partition at all, never a mixed one.
    final.rename(old)
    try:
        staged.rename(final)
    except OSError as e:
        try:
            old.rename(final)
        except OSError:
            raise ConfigError(
                "-o", "", f"cannot write {final} ({e.strerror or e}); its old copy is in {old}"
            ) from e
        raise


__all__ = [
    "FILE_NAME",
    "TMP_PREFIX",
    "WRITER_LOCK",
    "ExportSummary",
    "clean_stale_exports",
    "export_events",
    "partition_dir",
]
