"""Hostile text and run ids through the real command line (issue 17, causes 1 and 5).

The promise each case checks:

* user text that is printed (run ids, store paths, regime names, SQL cells, what an
  error line quotes) comes out verbatim and inert (``safe_text.inert``: control
  characters as visible escapes), whatever markup or escapes it holds, and no command
  crashes on it;
* a bad run id: exit 2 with one clear line on stderr (what, where, the pattern), no
  traceback, and the store unchanged.

Moments are in ``test_hostile_moments``, what ``runs`` says in ``test_hostile_runs_status``
(both share ``_tiny_file`` and ``_refused`` from here). In process throughout.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.cli.safe_text import inert
from janus_sim.config import Scenario
from janus_sim.config.names import NAME_PATTERN
from janus_sim.errors import ConfigError
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


USAGE_ERRORS = [
    pytest.param(["\x1b[2Jboom"], "No such command '\\x1b[2Jboom'", id="command-ansi"),
    pytest.param(["events", "--no\nsuch"], "No such option '--no\\nsuch'", id="option-newline"),
    pytest.param(["at", "--cycle"], "Option '--cycle' requires an argument", id="missing-value"),
    pytest.param(["events", "--kind"], "Option '--kind' requires an argument", id="missing-kind"),
    pytest.param(["runs", "[/]extra"], "Got unexpected extra argument ([/]extra)", id="extra"),
]


@pytest.mark.hostile("usage")
@pytest.mark.parametrize(("argv", "expected"), USAGE_ERRORS)
def test_usage_error_is_one_inert_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Click's usage errors quote what was typed: one inert line like any other error."""
    line = _refused(capsys, *argv)
    assert expected in line and "--help" in line, line


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
