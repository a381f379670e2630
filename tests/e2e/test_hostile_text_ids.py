"""Hostile text, run ids and moments through the real command line (issue 17, causes 1, 5, 6).

The promise each case checks:

* user text that is printed (run ids, store paths, regime names, SQL cells) comes out
  verbatim and inert (``safe_text.inert``: control characters as visible escapes),
  whatever markup or escapes it holds, and no command crashes on it;
* a bad run id, an out-of-range moment or number, a damaged store: exit 2 with one clear
  line on stderr (what, where, expected), no traceback, and the store unchanged;
* ``runs`` counts what is stored; a run whose store stays locked mid-run is marked
  interrupted and its error says ``--resume``, which then finishes it.

In process (``janus_sim.cli.main.main``) except the one case that needs a second
process to hold a real lock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest
import yaml

from janus_sim.adapters.duckdb_store import DuckDBEventStore, open_store
from janus_sim.app.engine import Engine
from janus_sim.cli.safe_text import inert
from janus_sim.config import Scenario
from janus_sim.config.names import NAME_PATTERN
from janus_sim.errors import ConfigError, StoreLocked
from janus_sim.ports import RunInfo
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.e2e.test_hostile_inputs import (
    _fresh_copy,
    _keep_signal_handlers,
    _one_error_line,
    _snapshot,
    stored,
)
from tests.sweep_fixtures import standard_sweep

pytestmark = pytest.mark.e2e
_FIXTURES = (stored, _keep_signal_handlers)  # the hostile-input suite's, used here by name

PATTERN = NAME_PATTERN[1:-1]  # as the error line states it


def _tiny_file(folder: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    doc = yaml.safe_load(yaml.safe_dump(TINY))
    if change is not None:
        change(doc)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _refused(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """Run the CLI; it must exit 2 with one error line, which is returned."""
    code, out, err = cli(capsys, *args)
    assert code == 2, (out, err)
    line = _one_error_line(err)
    assert line == inert(line), "an error line must be inert"
    return line


# === cause 1: stored runs with odd ids (as an older version let them be) stay readable ===

ODD_IDS = {
    "markup-close": "[/]",
    "markup-tags": "[red]pwn[/red]",
    "newline": "a\nb",
    "ansi": "\x1b[31mred\x1b[0m",
    "emoji-and-bold": ":smile: [bold]x",
    "colon": "x:y",
    "dotdot-slash": "../up",
    "escaped-bracket": "\\[/]\\",
}


@pytest.fixture(scope="module")
def odd_store(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``stored``'s run under each ODD_IDS id, as versions without the id check let a run
    be named (the rows copied: the events, their chain and digest do not hold the id)."""
    folder = tmp_path_factory.mktemp("odd") / "store"
    shutil.copytree(stored, folder)
    con = duckdb.connect(str(folder / "janus.duckdb"))
    try:
        for order, rid in enumerate(ODD_IDS.values(), start=2):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE r AS SELECT * FROM runs WHERE run_id = 'tiny-s7'"
            )
            con.execute("UPDATE r SET run_id = ?, created_order = ?", [rid, order])
            con.execute("INSERT INTO runs SELECT * FROM r")
            con.execute(
                "INSERT INTO events SELECT ? AS run_id, * EXCLUDE (run_id) FROM events "
                "WHERE run_id = 'tiny-s7'",
                [rid],
            )
    finally:
        con.close()
    return folder


def _reader(cmd: str, rid: str) -> list[str]:
    return {
        "runs": ["runs"],
        "verify": ["verify", "--run", rid],
        "at": ["at", "end", "--run", rid],
        "events": ["events", "--run", rid, "--limit", "2"],
        "diff": ["diff", "cycle:1", "end", "--run", rid],
        "compare": ["compare", rid, rid],
    }[cmd]


READ_CASES = [
    pytest.param(cmd, name, id=f"{cmd}-{name}", marks=pytest.mark.hostile(cmd))
    for name in ODD_IDS
    for cmd in ("runs", "verify", "at", "events", "diff", "compare")
    # compare's RUN has no ':' (its grammar splits there): such a run is named by --run
    # in at/diff/events/verify only, as run_ref's docstring says.
    if not (cmd == "compare" and ":" in ODD_IDS[name])
]


@pytest.mark.parametrize(("cmd", "name"), READ_CASES)
def test_odd_stored_id_prints_verbatim(
    cmd: str, name: str, odd_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rid = ODD_IDS[name]
    before = _snapshot(odd_store)
    code, out, err = cli(capsys, *_reader(cmd, rid), "--store", odd_store)
    assert code == 0, (out, err)
    assert "Traceback" not in err and not err.strip(), err
    assert inert(rid) in out, out
    assert "\x1b" not in out, "an escape in a run id must not reach the terminal"
    assert _snapshot(odd_store) == before


# === cause 1: what `run` prints: the store path and the next: hint, verbatim ==============

HOSTILE_PATHS = {
    "markup-close": "st[/]ore",
    "markup-tags": "[red]s[/red]",
    "emoji-code": "a:smile:b",
    "ansi": "es\x1bc",
    "bold-open": "[bold]b",
}


@pytest.mark.hostile("run")
@pytest.mark.parametrize("name", list(HOSTILE_PATHS))
def test_run_prints_store_path_and_hint_verbatim(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative path: the hint stays on one line
    path = HOSTILE_PATHS[name]
    code, out, err = cli(capsys, "run", _tiny_file(tmp_path), "--store", path, "--quiet")
    assert code == 0, (out, err)
    assert f"store  {inert(path)}" in out
    assert f"next: janus-sim events --store {inert(path)} --run tiny-s7 --kind" in out
    assert "\x1b" not in out


@pytest.mark.hostile("at")
@pytest.mark.parametrize("regime", ["[/]", "[red]crash[/red]", "a\x1b[2Jb"])
def test_regime_names_print_verbatim(
    regime: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regime name is scenario text: it reaches the schemas table of `at`."""

    def rename(doc: dict[str, Any]) -> None:
        market = doc["market"]
        market["regimes"][regime] = market["regimes"].pop("crash")
        market["days"][0]["segments"][1]["regime"] = regime

    store = tmp_path / "store"
    code, out, err = cli(capsys, "run", _tiny_file(tmp_path, rename), "--store", store, "--quiet")
    assert code == 0, (out, err)
    code, out, err = cli(capsys, "at", "end", "--store", store)
    assert code == 0 and not err, (out, err)
    rows = json.loads(cli(capsys, "at", "end", "--store", store, "--json")[1])["schemas"]
    if any(r["dominant_regime"] == regime for r in rows):
        assert inert(regime) in out, out
    assert "\x1b" not in out


SQL_TEXT = {
    "cell-markup-close": ("SELECT '[/]' AS c", "[/]"),
    "cell-markup-tags": ("SELECT '[red]pwn[/red]' AS c", "[red]pwn[/red]"),
    "cell-ansi": ("SELECT chr(27) || '[31mred' AS c", "\x1b[31mred"),
    "cell-newline": ("SELECT 'a' || chr(10) || 'b' AS c", "a\nb"),
    "header-markup": ('SELECT 1 AS "[bold]h[/bold]"', "[bold]h[/bold]"),
    "cell-emoji-code": ("SELECT ':smile:' AS c", ":smile:"),
}


@pytest.mark.hostile("sweep sql")
@pytest.mark.parametrize("name", list(SQL_TEXT))
def test_sweep_sql_cells_print_verbatim(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query, shown = SQL_TEXT[name]
    folder = standard_sweep(tmp_path / "sweep")
    code, out, err = cli(capsys, "sweep", "sql", folder, query)
    assert code == 0 and not err, (out, err)
    assert inert(shown) in out, out
    assert "\x1b" not in out


# Error lines quote user text too: a newline or an escape in it must not forge a line.
PATH_ERRORS = [
    pytest.param(cmd, path, id=f"{cmd}-{label}", marks=pytest.mark.hostile(cmd))
    for cmd in ("runs", "events", "at", "verify")
    for label, path in (("newline", "no\nwhere"), ("ansi", "no\x1b[2Jwhere"), ("markup", "[/]x"))
]


@pytest.mark.parametrize(("cmd", "path"), PATH_ERRORS)
def test_error_line_quotes_a_store_path_inertly(
    cmd: str, path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(capsys, cmd, "--store", tmp_path / path)
    assert "no event store at" in line and inert(path) in line, line


# === cause 5: run ids are checked where a run is created ====================================

BAD_IDS = {
    "colon": "x:y",
    "at-sign": "a@b",
    "slash": "a/b",
    "dotdot": "..",
    "dotdot-slash": "../etc",
    "dot": ".",
    "leading-dot": ".hidden",
    "leading-dash": "-x",
    "leading-underscore": "_x",
    "space": "a b",
    "leading-space": " a",
    "newline": "a\nb",
    "trailing-newline": "ab\n",
    "tab": "a\tb",
    "ansi": "\x1b[31mred",
    "bell": "a\x07",
    "nul": "a\x00b",
    "rtl-override": "abc\u202edef",
    "zero-width-space": "a\u200bb",
    "line-separator": "a\u2028b",
    "markup-close": "[/]",
    "markup-tags": "[red]pwn[/red]",
    "emoji-code": ":smile:",
    "non-ascii": "café",
    "fullwidth-digit": "\uff11",
    "surrogate": "a\udcff",
    "glob": "a*",
    "shell": "$(touch PWNED)",
    "semicolon": "a;b",
    "backslash": "a\\b",
    "quote": "a'b",
    "too-long": "a" * 256,
}


@pytest.mark.hostile("run")
@pytest.mark.parametrize("name", list(BAD_IDS))
def test_run_refuses_a_bad_run_id(
    name: str,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    rid = BAD_IDS[name]
    store = _fresh_copy(stored, tmp_path)
    before = _snapshot(store)
    scenario = _tiny_file(tmp_path)
    line = _refused(capsys, "run", scenario, "--store", store, f"--run-id={rid}", "--quiet")
    assert line.startswith("janus-sim: error: --run-id: "), line
    assert PATTERN in line and "at most 255 characters" in line, line
    assert ("is too long" if len(rid) > 255 else f"{inert(repr(rid))}: is not a run id") in line
    assert _snapshot(store) == before, "a refused run id must write nothing"
    line = _refused(capsys, "run", scenario, "--store", "new", f"--run-id={rid}", "--quiet")
    assert not (tmp_path / "new").exists() and not (tmp_path / "PWNED").exists()


@pytest.mark.hostile("run")
@pytest.mark.parametrize("rid", ["x.y-z_1", "9" * 255, "A"])
def test_run_accepts_ids_at_the_edge_of_the_pattern(
    rid: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    code, out, err = cli(
        capsys, "run", _tiny_file(tmp_path), "--store", store, "--run-id", rid, "--quiet"
    )
    assert code == 0, (out, err)
    assert json.loads(cli(capsys, "runs", "--store", store, "--json")[1])["run_id"] == rid


@pytest.mark.hostile("run")
@pytest.mark.parametrize("rid", ["x:y", "a/b", "\x1b[0m"])
def test_engine_refuses_a_bad_run_id_before_writing(rid: str, tmp_path: Path) -> None:
    """Every run is created by Engine.run (sweep trials and baselines too): checked there."""
    with open_store(tmp_path / "store") as store:
        with pytest.raises(ConfigError, match=r"run id: .* is not a run id"):
            Engine(Scenario.model_validate(TINY), store, run_id=rid).run()
        assert store.list_runs() == []


@pytest.mark.hostile("sweep")
def test_sweep_refuses_a_trial_id_too_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario name near the limit plus the setting's suffix: refused at plan time."""
    _tiny_file(tmp_path, lambda doc: doc.update(name="n" * 250))
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {"scenarios": ["tiny.yaml"], "seeds": [7], "grid": {"replay.alpha": [0.2, 0.6]}}
        )
    )
    line = _refused(capsys, "sweep", sweep, "--dry-run")
    assert "s.yaml (setting 1 of 2, scenario tiny.yaml)" in line, line
    assert "is too long" in line and PATTERN in line, line


# === cause 5: moments and numbers out of range =============================================

MOMENTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "at --cycle beyond": (
        ["at", "--cycle", "1000000000000"],
        ("cycle 1000000000000 is after run 'tiny-s7' ends (its last cycle is 3)",),
    ),
    "at cycle:N one past": (["at", "cycle:4"], ("cycle 4 is after run 'tiny-s7' ends",)),
    "at seq:N huge": (
        ["at", "tiny-s7@seq:99999999999999999999999"],
        ("event 99999999999999999999999 is after run 'tiny-s7' ends (its last event is 429)",),
    ),
    "at seq:N one past": (["at", "seq:430"], ("event 430 is after run", "last event is 429")),
    "at --seq huge": (
        ["at", "--seq", "99999999999999999999"],
        ("--seq: '99999999999999999999': is out of range", "from 0 to 9223372036854775807"),
    ),
    "at --seq past the run": (["at", "--seq", "5000"], ("event 5000 is after run",)),
    "at --cycle negative": (["at", "--cycle=-1"], ("--cycle: '-1': is out of range",)),
    "at --cycle not a number": (["at", "--cycle", "3.5"], ("--cycle: '3.5': is not a whole",)),
    "at --cycle superscript": (["at", "--cycle", "²"], ("--cycle: '²': is not a whole number",)),
    "at --cycle 60 digits": (["at", "--cycle", "9" * 60], ("--cycle", "is out of range")),
    "at year 3000": (["at", "3000-01-01"], ("'3000-01-01': is outside the times an event",)),
    "at year 1000": (["at", "1000-06-01"], ("'1000-06-01': is outside the times",)),
    "at just past int64": (["at", "tiny-s7@2262-04-12"], ("is outside the times",)),
    "diff B cycle beyond": (
        ["diff", "cycle:1", "cycle:99"],
        ("cycle 99 is after run 'tiny-s7' ends",),
    ),
    "diff A seq huge": (
        ["diff", "seq:999999999999999999999999999", "end"],
        ("event 999999999999999999999999999 is after run",),
    ),
    "events --limit huge": (
        ["events", "--limit", "99999999999999999999"],
        ("--limit: '99999999999999999999': is out of range", "from 1 to 9223372036854775807"),
    ),
    "events --limit zero": (["events", "--limit", "0"], ("--limit: '0': is out of range",)),
    "events --limit negative": (["events", "--limit=-5"], ("--limit: '-5': is out of range",)),
    "events --limit float": (["events", "--limit", "1e3"], ("--limit: '1e3': is not a whole",)),
    "events --cycle huge": (
        ["events", "--cycle", "99999999999999999999"],
        ("--cycle: '99999999999999999999': is out of range",),
    ),
    "events --since year 3000": (
        ["events", "--since", "3000-01-01"],
        ("--since/--until: '3000-01-01' is outside the times an event can have",),
    ),
    "events --until year 1": (["events", "--until", "0001-01-01"], ("is outside the times",)),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile(MOMENTS[n][0][0])) for n in MOMENTS]
)
def test_out_of_range_moment_is_an_error(
    name: str, stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = MOMENTS[name]
    before = _snapshot(stored)
    line = _refused(capsys, *argv, "--store", stored)
    for fragment in expected:
        assert fragment in line, line
    assert _snapshot(stored) == before


@pytest.fixture(scope="module")
def eventless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose run 'z' was created and never wrote an event."""
    folder = tmp_path_factory.mktemp("eventless")
    sc = Scenario.model_validate(TINY)
    with open_store(folder) as store:
        store.create_run(RunInfo("z", sc.name, "tiny.yaml", "", sc.scenario_hash(), sc.seed, "0"))
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["at", "--run", "z"], marks=pytest.mark.hostile("at"), id="at"),
        pytest.param(["at", "z@cycle:1"], marks=pytest.mark.hostile("at"), id="at-cycle"),
        pytest.param(["diff", "cycle:0", "end", "--run", "z"], marks=pytest.mark.hostile("diff")),
    ],
)
def test_run_without_events_says_so(
    argv: list[str], eventless: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(capsys, *argv, "--store", eventless)
    assert "run 'z' has no events yet" in line, line
    assert "(no events)" not in line and "before run" not in line


@pytest.mark.hostile("runs")
def test_runs_lists_a_run_without_events(
    eventless: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "runs", "--store", eventless, "--json")
    assert code == 0 and json.loads(out)["n_events"] == 0


# === cause 6: what runs says ================================================================


def _set_row(store: Path, sql: str) -> None:
    con = duckdb.connect(str(store / "janus.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.mark.hostile("runs", kind="kill")
@pytest.mark.parametrize(
    "row",
    [
        pytest.param("status = 'running', n_events = 0", id="killed-never-finished"),
        pytest.param("status = 'running', n_events = 100", id="killed-after-a-resume"),
        pytest.param("status = 'failed', n_events = 7", id="failed-stale-count"),
    ],
)
def test_runs_counts_what_is_stored(
    row: str, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed run's row keeps the count of its last finish (or 0): count the events."""
    store = _fresh_copy(stored, tmp_path)
    _set_row(store, f"UPDATE runs SET {row}, digest = NULL WHERE run_id = 'tiny-s7'")
    code, out, _ = cli(capsys, "runs", "--store", store, "--json")
    assert code == 0 and json.loads(out)["n_events"] == 430
    code, out, _ = cli(capsys, "runs", "--store", store)
    assert code == 0 and "│ 430 " in out, out


class _Locked:
    """Makes the store look locked by another process from the ``at``-th append on (and,
    with ``hold_marking``, also when the run is marked interrupted)."""

    def __init__(self, at: int, hold_marking: bool) -> None:
        self.at, self.hold_marking, self.calls = at, hold_marking, 0
        self.append, self.finish = DuckDBEventStore.append, DuckDBEventStore.finish_run

    def patched_append(self, store: DuckDBEventStore, batch: Any) -> None:
        self.calls += 1
        if self.calls >= self.at:
            raise StoreLocked(str(store.path), "process 4242", 0.1)
        self.append(store, batch)

    def patched_finish(self, store: DuckDBEventStore, run_id: str, status: Any, *a: Any) -> None:
        if self.hold_marking and status == "interrupted":
            raise StoreLocked(str(store.path), "process 4242", 0.1)
        self.finish(store, run_id, status, *a)


@pytest.mark.hostile("run", kind="concurrent")
@pytest.mark.parametrize("hold_marking", [False, True], ids=["marked", "still-locked"])
@pytest.mark.parametrize("at", [2, 4])
def test_lock_timeout_mid_run_says_resume(
    at: int,
    hold_marking: bool,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "store"
    scenario = _tiny_file(tmp_path)
    locked = _Locked(at, hold_marking)
    with (
        mock.patch.object(DuckDBEventStore, "append", lambda s, b: locked.patched_append(s, b)),
        mock.patch.object(
            DuckDBEventStore, "finish_run", lambda s, *a: locked.patched_finish(s, *a)
        ),
    ):
        line = _refused(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet")
    assert f"event store {store}/janus.duckdb stayed locked by process 4242" in line, line
    assert "of run 'tiny-s7'" in line and "try again" not in line, line
    assert f"--store {store} --run-id tiny-s7 --resume" in line, line
    marked = "still locked" not in line
    assert marked is not hold_marking, line
    with open_store(store, read_only=True) as s:
        info = s.get_run("tiny-s7")
    assert info.status == ("running" if hold_marking else "interrupted")
    code, out, err = cli(
        capsys, "run", scenario, "--store", store, "--run-id", "tiny-s7", "--resume", "--quiet"
    )
    assert code == 0, (out, err)
    with open_store(stored, read_only=True) as s:
        assert f"digest  {s.get_run('tiny-s7').digest}" in out


HOLD = """
import duckdb, pathlib, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.02)
con.close()
"""


@pytest.mark.slow
@pytest.mark.hostile("run", kind="concurrent")
def test_real_lock_held_mid_run_marks_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process really holds the file past JANUS_STORE_WAIT at the third batch,
    and lets go when the run marks itself interrupted."""
    monkeypatch.setenv("JANUS_STORE_WAIT", "0.3")
    store, release = tmp_path / "store", tmp_path / "release"
    scenario = _tiny_file(tmp_path)
    append, finish = DuckDBEventStore.append, DuckDBEventStore.finish_run
    holder: list[subprocess.Popen[str]] = []
    calls = [0]

    def hold_then_append(self: DuckDBEventStore, batch: Any) -> None:
        calls[0] += 1
        if calls[0] == 3:
            p = subprocess.Popen(
                [sys.executable, "-c", HOLD, str(self.path), str(release)],
                stdout=subprocess.PIPE,
                text=True,
            )
            holder.append(p)
            assert p.stdout is not None and p.stdout.readline().strip() == "held"
        append(self, batch)

    def release_then_finish(self: DuckDBEventStore, run_id: str, status: Any, *a: Any) -> None:
        if holder and status == "interrupted":
            release.touch()
            holder[0].wait(timeout=30)
        finish(self, run_id, status, *a)

    try:
        with (
            mock.patch.object(DuckDBEventStore, "append", hold_then_append),
            mock.patch.object(DuckDBEventStore, "finish_run", release_then_finish),
        ):
            code, _, err = cli(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet")
    finally:
        release.touch()
        for p in holder:
            p.wait(timeout=30)
    # The one line, after the note that the run waits (the same note as any wait's).
    waiting, _, rest = err.partition("janus-sim: error: ")
    assert code == 2 and waiting.startswith("waiting:"), err
    line = _one_error_line("janus-sim: error: " + rest)
    assert "stayed locked by process" in line and "for 0.3 s after event" in line, line
    assert "the run is marked interrupted" in line and "--resume" in line, line
    with open_store(store, read_only=True) as s:
        assert s.get_run("tiny-s7").status == "interrupted"


def _damage_events_block(store: Path) -> None:
    """Scribble over a block that holds events but nothing of the runs table (DuckDB's
    storage info names them), so listing runs works and only a read of old events, or
    a check of every block, finds the checksum mismatch."""
    db = store / "janus.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:

        def blocks(table: str) -> set[int]:
            sql = (
                f"SELECT DISTINCT block_id FROM pragma_storage_info('{table}') WHERE block_id >= 0"
            )
            return {int(r[0]) for r in con.execute(sql).fetchall()}

        only_events = sorted(blocks("events") - blocks("runs"))
        (size,) = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0]
        block_size = int(size)
    finally:
        con.close()
    assert only_events, "no block holds events alone"
    with db.open("r+b") as f:  # the file starts with three 4 KiB headers
        f.seek(3 * 4096 + only_events[0] * block_size + 100)
        f.write(b"\xff" * 64)
    with open_store(store, read_only=True, hold=True) as s:
        assert [r.run_id for r in s.list_runs()] == ["tiny-s7"]


@pytest.fixture(scope="module")
def damaged(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``stored`` with a checksum mismatch in an events block (template: copy it)."""
    folder = tmp_path_factory.mktemp("damaged") / "store"
    shutil.copytree(stored, folder)
    _damage_events_block(folder)
    return folder


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="new-run"),
        pytest.param(["--run-id", "fresh"], id="named-run"),
        pytest.param(["--run-id", "tiny-s7", "--resume"], id="resume"),
    ],
)
@pytest.mark.hostile("run", kind="tamper")
def test_run_refuses_a_damaged_store(
    extra: list[str], damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    shutil.copytree(damaged, store)
    before = _snapshot(store)
    scenario = _tiny_file(tmp_path)
    line = _refused(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet", *extra)
    assert f"event store {store}/janus.duckdb is damaged, so no run is written" in line, line
    assert "checksum" in line and "restore it from a copy" in line, line
    assert _snapshot(store) == before
