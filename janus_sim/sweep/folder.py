"""A sweep's folder on disk: its shards, its attempt log, and its tables.

    OUT/sweep.json           which sweep this folder holds (name, sweep hash, trials)
    OUT/shards/<trial>/      each trial's own event store (an ordinary janus-sim store)
    OUT/events/              every finished trial's events as Parquet, partitioned
                             run_id=<trial>/kind=<kind> (``janus-sim export``'s layout)
    OUT/attempts.jsonl       one line per finished attempt, success or failure
    OUT/trials.parquet       one row per trial: parameters, status, digest, summaries
    OUT/cycles.parquet       one row per finished trial and night: every nightly metric
    OUT/sweep.duckdb         views trials, cycles and events over the files above

The shards are the truth; the tables are rewritten from them (atomically: a temporary
file and a rename) after every trial, so a reader sees either the old or the new table.
A folder belongs to one sweep: running another sweep into it is refused, and two
processes cannot drive the same folder at once (an ``flock``, dropped by the kernel
however the holder ends).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from janus_sim import __version__
from janus_sim.adapters.atomic_file import replacing
from janus_sim.adapters.parquet_export import READ_GLOB
from janus_sim.adapters.run_lock import hold_flock
from janus_sim.errors import ConfigError
from janus_sim.sweep.columns import CYCLES_FILE, MANIFEST_FILE, TRIALS_FILE

ATTEMPTS = "attempts.jsonl"
VIEWS_DB = "sweep.duckdb"
EVENTS = "events"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write(a temporary path)``, then the rename over ``path``."""
    with replacing(path) as tmp:
        write(tmp)


class SweepFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock_fd: int | None = None

    def shard(self, trial_id: str) -> Path:
        return self.root / "shards" / trial_id

    @property
    def events_dir(self) -> Path:
        return self.root / EVENTS

    def bind(self, name: str, sweep_hash: str, source: str, trial_ids: Sequence[str]) -> bool:
        """Claim the folder for this sweep; True when it already held it (a resume).

        Raises ConfigError when the folder holds another sweep, or is not a folder."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(str(self.root), "", "is a file: expected a sweep folder (--out)")
        manifest = self.root / MANIFEST_FILE
        if manifest.is_file():
            try:
                held = json.loads(manifest.read_text())
                held_hash = held["sweep_hash"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ConfigError(str(manifest), "", f"is not a sweep manifest ({e})") from e
            if held_hash != sweep_hash:
                raise ConfigError(
                    str(self.root),
                    "",
                    f"holds another sweep ({held.get('name')!r}, other trials or scenarios): "
                    "choose another --out, or delete the folder to start over",
                )
            return True
        if self.root.is_dir() and any(self.root.iterdir()):
            raise ConfigError(
                str(self.root), "", "is not empty and holds no sweep: choose another --out"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(str(self.root), "", f"cannot be created ({e.strerror})") from e
        doc = {
            "name": name,
            "sweep_hash": sweep_hash,
            "source": source,
            "janus_sim": __version__,
            "trials": list(trial_ids),
        }
        _atomic_write(manifest, lambda p: p.write_text(json.dumps(doc, indent=1) + "\n"))
        return False

    def lock(self) -> None:
        """Hold the folder for this process, or raise StoreError naming the holder."""
        self._lock_fd = hold_flock(
            self.root / ".lock",
            lambda holder: (
                f"sweep folder {self.root} is in use by another janus-sim sweep (PID {holder})"
            ),
        )

    def unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock

    def set_aside(self, trial_id: str) -> Path:
        """Move the trial's shard to ``damaged/<trial_id>[-n]`` (a new name, never over an
        older one) and return where it went: kept for inspection, out of the sweep."""
        target = self.root / "damaged" / trial_id
        n = 1
        while target.exists():
            n += 1
            target = self.root / "damaged" / f"{trial_id}-{n}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.shard(trial_id), target)
        return target

    def log_attempt(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with open(self.root / ATTEMPTS, "ab+") as f:
            # After a torn last line (killed mid-write) start a fresh line, or this
            # record would be glued to the torn one and skipped with it.
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = "\n" + line
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def attempts(self) -> Iterator[dict[str, Any]]:
        """The attempt log; a torn last line (the sweep was killed mid-write) is skipped."""
        path = self.root / ATTEMPTS
        if not path.is_file():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                yield json.loads(line)

    def write_tables(self, trials: pl.DataFrame, cycles: pl.DataFrame) -> None:
        _atomic_write(self.root / TRIALS_FILE, lambda p: trials.write_parquet(p))
        _atomic_write(self.root / CYCLES_FILE, lambda p: cycles.write_parquet(p))

    def write_views(self) -> None:
        """``sweep.duckdb``: views over the tables by absolute path (recreated by every
        sweep run and report, so a moved folder is fixed by running it again)."""

        def build(tmp: Path) -> None:
            con = duckdb.connect(str(tmp))
            try:
                for stmt in view_statements(self.root):
                    con.execute(stmt)
            finally:
                con.close()

        _atomic_write(self.root / VIEWS_DB, build)


def view_statements(root: Path) -> list[str]:
    """CREATE VIEW trials, cycles and (when any trial's events were exported) events."""
    base = root.resolve()

    def lit(p: Path) -> str:
        return "'" + str(p).replace("'", "''") + "'"

    out = [
        f"CREATE OR REPLACE VIEW trials AS SELECT * FROM read_parquet({lit(base / TRIALS_FILE)})",
        f"CREATE OR REPLACE VIEW cycles AS SELECT * FROM read_parquet({lit(base / CYCLES_FILE)})",
    ]
    if any((base / EVENTS).glob(READ_GLOB)):
        # READ_GLOB exactly: DuckDB's ``**`` also enters the hidden folder in which an
        # export is being written (or was, when killed).
        pattern = base / EVENTS / READ_GLOB
        out.append(
            f"CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet({lit(pattern)}, "
            "hive_partitioning = true, union_by_name = true)"
        )
    return out
