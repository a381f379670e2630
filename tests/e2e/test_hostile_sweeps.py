"""Issue 17, cause 7: a sweep's folder is read by `sweep sql` and nothing more, a resumed
sweep trusts no damaged shard, and no worker outlives a killed driver.

`sweep sql` cases are hostile queries (write, attach, escape the folder, lift the
limits): each exits 2 with one line and leaves the folder byte for byte as it was.
Shard cases damage a finished trial's shard: the next sweep moves it aside, says where,
and runs the trial again to the digest it had. Kill cases SIGKILL a driver and check
that its workers, and the multiprocessing resource tracker, are gone within seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from janus_sim.errors import StoreError
from janus_sim.sweep.executors import InlineExecutor
from janus_sim.sweep.folder import SweepFolder
from janus_sim.sweep.plan import load_sweep
from janus_sim.sweep.run import run_sweep
from janus_sim.sweep.trial import DamagedShardError, read_outcome
from tests.cli_inprocess import cli
from tests.e2e.test_hostile_inputs import _one_error_line, _snapshot
from tests.e2e.test_sweep import make_sweep

pytestmark = pytest.mark.e2e
TRIAL = "tiny-s1"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sweep file, folder) of a finished one-trial sweep (copied, never modified)."""
    root = tmp_path_factory.mktemp("swept")
    path = make_sweep(root, {"seeds": [1]})
    folder = root / "out"
    run_sweep(load_sweep(path), SweepFolder(folder), InlineExecutor())
    return path, folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(folder, target)
    return target


# --- sweep sql is read-only ----------------------------------------------------------

SHARD = f"{{folder}}/shards/{TRIAL}/janus.duckdb"
# name: (query, with {folder} for the folder; fragments of the one error line)
QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ATTACH a shard": (f"ATTACH '{SHARD}' AS s", ("ATTACH statements are not allowed",)),
    "ATTACH then DELETE": (
        f"ATTACH '{SHARD}' AS s; DELETE FROM s.events WHERE seq > 10",
        ("ATTACH statements are not allowed",),
    ),
    "DELETE after a SELECT": (
        "SELECT 1; DELETE FROM trials", ("DELETE statements are not allowed",)),
    "COPY over trials.parquet": (
        "COPY (SELECT * FROM trials LIMIT 0) TO '{folder}/trials.parquet' (FORMAT parquet)",
        ("COPY statements are not allowed",),
    ),
    "COPY to /tmp": ("COPY (SELECT 1) TO '/tmp/janus-hostile.csv'", ("COPY",)),
    "EXPORT DATABASE": ("EXPORT DATABASE '{folder}/dump'", ("EXPORT statements",)),
    "IMPORT DATABASE": ("IMPORT DATABASE '{folder}'", ("not allowed",)),
    "CREATE TABLE": ("CREATE TABLE x AS SELECT 1", ("CREATE statements are not allowed",)),
    "CREATE VIEW over a shard": (
        f"CREATE VIEW v AS SELECT * FROM '{SHARD}'", ("CREATE statements are not allowed",)),
    "INSERT": ("INSERT INTO trials SELECT * FROM trials", ("INSERT statements",)),
    "UPDATE": ("UPDATE trials SET seed = 0", ("UPDATE statements",)),
    "DROP VIEW": ("DROP VIEW trials", ("DROP statements",)),
    "SET enable_external_access": (
        "SET enable_external_access = true", ("SET statements are not allowed",)),
    "SET allowed_directories": ("SET allowed_directories = ['/']", ("SET statements",)),
    "RESET lock_configuration": ("RESET lock_configuration", ("not allowed",)),
    "PRAGMA": ("PRAGMA database_list", ("PRAGMA statements are not allowed",)),
    "INSTALL httpfs": ("INSTALL httpfs", ("not allowed",)),
    "LOAD httpfs": ("LOAD httpfs", ("LOAD statements are not allowed",)),
    "CALL": ("CALL pragma_version()", ("CALL statements are not allowed",)),
    "DETACH": ("DETACH memory", ("DETACH statements",)),
    "USE": ("USE system", ("not allowed",)),
    "CHECKPOINT": ("CHECKPOINT", ("not allowed",)),
    "VACUUM": ("VACUUM", ("not allowed",)),
    "BEGIN": ("BEGIN TRANSACTION", ("not allowed",)),
    "read_text /etc/shadow": (
        "SELECT * FROM read_text('/etc/shadow')", ("QUERY", "/etc/shadow", "disabled")),
    "read_text /etc/passwd": ("SELECT content FROM read_text('/etc/passwd')", ("disabled",)),
    "read_csv /etc/passwd": ("SELECT * FROM read_csv('/etc/passwd')", ("disabled",)),
    "read_blob of the home folder": ("SELECT * FROM read_blob('~/.bashrc')", ("QUERY",)),
    "a path out of the folder with ..": (
        "SELECT * FROM read_text('{folder}/../../../../etc/passwd')", ("disabled",)),
    "glob of /etc": ("SELECT * FROM glob('/etc/*')", ("disabled",)),
    "read_parquet outside the folder": (
        "SELECT * FROM read_parquet('/usr/**/*.parquet')", ("disabled",)),
    "a table function over a URL": (
        "SELECT * FROM read_csv('https://example.com/x.csv')", ("QUERY",)),
    "getenv": ("SELECT getenv('HOME')", ("QUERY",)),
    "a symlink in the folder to /etc/passwd": (
        "SELECT * FROM read_text('{folder}/passwd-link')", ("passwd-link", "disabled")),
    "COPY inside query()": (
        "SELECT * FROM query('COPY (SELECT 1) TO ''{folder}/x.csv''')",
        ("single SELECT statement",)),
    "ATTACH inside query()": (
        f"SELECT * FROM query('ATTACH ''{SHARD}'' AS s')", ("single SELECT statement",)),
    "CREATE inside query()": (
        "SELECT * FROM query('CREATE TABLE z AS SELECT 1')", ("single SELECT statement",)),
    "a syntax error": ("SELEC 1", ("QUERY", "syntax error")),
    "an empty query": ("  ;  ", ("QUERY", "empty")),
}  # fmt: skip


@pytest.mark.hostile("sweep sql")
@pytest.mark.parametrize("name", list(QUERIES))
def test_sweep_sql_refuses_writes_and_files_outside_the_folder(
    name: str, swept: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query, expected = QUERIES[name]
    folder = _copy(swept[1], tmp_path)
    (folder / "passwd-link").symlink_to("/etc/passwd")
    before = _snapshot(folder)
    code, out, err = cli(capsys, "sweep", "sql", folder, query.format(folder=folder))
    assert code == 2, (out, err)
    line = _one_error_line(err)
    for fragment in expected:
        assert fragment in line, line
    assert "root:" not in out and "root:" not in line  # nothing of /etc/passwd
    assert _snapshot(folder) == before, "sweep sql must change nothing"
    assert not Path("/tmp/janus-hostile.csv").exists()


@pytest.mark.hostile("sweep sql")
def test_sweep_sql_still_reads_its_views(
    swept: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = swept[1]
    code, out, err = cli(
        capsys,
        "sweep", "sql", folder, "--json",
        "WITH t AS (SELECT trial_id FROM trials) SELECT t.trial_id, count(*) AS n "
        "FROM t JOIN events e ON e.run_id = t.trial_id GROUP BY 1",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["trial_id"] == TRIAL
    code, out, _ = cli(capsys, "sweep", "sql", folder, "EXPLAIN SELECT * FROM cycles")
    assert code == 0


# --- a resumed sweep checks each finished shard before it trusts it ----------------------


def _on_shard(*sql: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        con = duckdb.connect(str(folder / "shards" / TRIAL / "janus.duckdb"))
        try:
            for stmt in sql:
                con.execute(stmt)
        finally:
            con.close()

    return damage


SHARD_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "events deleted (ATTACH + DELETE)": (
        _on_shard("DELETE FROM events WHERE seq > 100"), "do not give the recorded digest"),
    "a payload edited": (
        _on_shard("UPDATE events SET payload = payload || ' ' WHERE seq = 50"),
        "event 50: breaks the hash chain"),
    "the digest edited": (
        _on_shard("UPDATE runs SET digest = repeat('0', 64)"), "recorded digest"),
    "the seed edited": (_on_shard("UPDATE runs SET seed = 2"), "event 0:"),
    "chain hashes removed": (_on_shard("UPDATE events SET chain = NULL"), "event 0:"),
    "an event duplicated": (
        _on_shard("INSERT INTO events SELECT * FROM events WHERE seq = 7"), "event 7:"),
}  # fmt: skip


@pytest.mark.hostile("sweep", kind="tamper")
@pytest.mark.parametrize("name", list(SHARD_DAMAGE))
def test_a_damaged_shard_is_never_read_as_finished(
    name: str, swept: tuple[Path, Path], tmp_path: Path
) -> None:
    damage, fragment = SHARD_DAMAGE[name]
    folder = _copy(swept[1], tmp_path)
    damage(folder)
    before = _snapshot(folder)
    with pytest.raises(DamagedShardError) as e:
        read_outcome(folder / "shards" / TRIAL, TRIAL, folder / "events")
    assert f"trial {TRIAL!r} is damaged" in str(e.value) and fragment in str(e.value)
    assert isinstance(e.value, StoreError)
    assert _snapshot(folder) == before


@pytest.mark.slow
@pytest.mark.hostile("sweep", kind="tamper")
def test_a_resumed_sweep_sets_a_damaged_shard_aside_and_reruns_it(
    swept: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, original = swept
    folder = _copy(original, tmp_path)
    digest = pl.read_parquet(folder / "trials.parquet")["digest"][0]
    SHARD_DAMAGE["events deleted (ATTACH + DELETE)"][0](folder)
    damaged = _snapshot(folder / "shards" / TRIAL)
    code, out, err = cli(capsys, "sweep", path, "--out", folder, "--executor", "inline", "--quiet")
    assert code == 0, (out, err)
    warning = [ln for ln in err.splitlines() if "damaged" in ln]
    assert len(warning) == 1 and f"moved to {folder}/damaged/{TRIAL}" in warning[0], err
    assert "1 finished (0 were already)" in out
    assert _snapshot(folder / "damaged" / TRIAL) == damaged, "kept as found"
    assert pl.read_parquet(folder / "trials.parquet")["digest"][0] == digest
    # The rerun shard is intact: a second resume reuses it.
    code, out, err = cli(capsys, "sweep", path, "--out", folder, "--executor", "inline", "--quiet")
    assert code == 0 and "1 were already" in out and "damaged" not in err


# --- no worker outlives its driver ------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    out: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p}
        todo.extend(kids - out)
        out |= kids
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _kill_all(pids: set[int]) -> None:
    """Clean up after a failed check: these tests' own processes only, by PID."""
    for p in _alive(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _wait_gone(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


pytestmark_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
)


@pytestmark_linux
@pytest.mark.slow
@pytest.mark.hostile("sweep", kind="kill")
def test_a_sigkilled_sweep_leaves_no_process_and_resumes(
    swept: tuple[Path, Path], tmp_path: Path
) -> None:
    """`janus-sim sweep --workers 2` SIGKILLed mid-trial (the driver alone, not its
    process group): its workers and the resource tracker follow; the sweep resumes."""
    path = make_sweep(tmp_path, {"seeds": [1, 2, 3]})
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus_sim", "sweep", str(path), "--out", str(out),
         "--workers", "2", "--quiet"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any((out / "shards").glob("*/janus.duckdb")):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.1)
        time.sleep(0.5)  # both workers past their initializer
        family = _children(proc.pid)
        assert len(family) >= 3, family  # two workers and the resource tracker
        os.kill(proc.pid, signal.SIGKILL)  # the driver alone, not its process group
        proc.wait(timeout=10)
        left = _wait_gone(family, within=20)
        assert not left, f"orphans after the sweep's SIGKILL: {sorted(left)}"
    finally:
        _kill_all(family | {proc.pid})
    run_sweep(load_sweep(path), SweepFolder(out), InlineExecutor())
    trials = pl.read_parquet(out / "trials.parquet")
    assert trials["status"].to_list() == ["finished"] * 3
    assert (
        trials.filter(pl.col("trial_id") == TRIAL)["digest"][0]
        == (pl.read_parquet(swept[1] / "trials.parquet")["digest"][0])
    )


@pytestmark_linux
@pytest.mark.slow
@pytest.mark.hostile("sweep", kind="kill")
def test_a_worker_whose_driver_is_already_gone_exits_at_once() -> None:
    code = "from janus_sim.sweep.executors import _die_with; _die_with(1); print('lived')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "lived" not in done.stdout
