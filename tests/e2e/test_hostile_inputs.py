"""Hostile input through the real command line: one clear line, exit 2, nothing left behind.

Every case hands ``janus-sim run`` a bad scenario or a bad bar file and checks that the
CLI (its entry point ``janus_sim.cli.main.main``, in process for speed; one case also in a
separate process) exits 2 with exactly one line on stderr that names what was wrong,
where, and what was expected - no traceback - and that no store was created.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from janus_sim.cli.main import main
from tests.bar_fixtures import COLUMNS, HEADER, SP500_ROWS
from tests.conftest import TINY
from tests.e2e.test_cli import jsim

pytestmark = pytest.mark.e2e

ROWS = SP500_ROWS[:4]
REAL: dict[str, Any] = {
    "name": "real",
    "calendar": {"bars_per_day": 10},
    "market": {
        "data": {
            "path": "data/bars.csv",
            "columns": COLUMNS,
        }
    },
    "hippocampus": {"capacity": 64, "hidden_dim": 32},
    "replay": {"n_replays": 5, "batch_size": 8},
}


@dataclass(frozen=True)
class Case:
    """A bad input: ``make(dir)`` writes it and returns the scenario path to run."""

    make: Callable[[Path], Path]
    expected: tuple[str, ...]
    """Fragments of the one error line: what was wrong, where, what was expected."""


def _text(text: str | bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / "scenario.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return make


def _tiny(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        doc = yaml.safe_load(yaml.safe_dump(TINY))
        change(doc)
        path = d / "scenario.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            doc = doc.setdefault(key, {})
        doc[last] = value

    return change


def _real(
    csv: str | bytes | None = None,
    change: Callable[[dict[str, Any]], None] | None = None,
    prepare: Callable[[Path], None] | None = None,
) -> Callable[[Path], Path]:
    """A data scenario; ``csv`` is the bar file's content (None: no file written)."""

    def make(d: Path) -> Path:
        (d / "data").mkdir()
        if csv is not None:
            target = d / "data" / "bars.csv"
            if isinstance(csv, bytes):
                target.write_bytes(csv)
            else:
                target.write_text(csv)
        if prepare is not None:
            prepare(d)
        doc = yaml.safe_load(yaml.safe_dump(REAL))
        if change is not None:
            change(doc)
        path = d / "real.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make


def _bars(row_index: int, row: str) -> str:
    rows = list(ROWS)
    rows[row_index] = row
    return HEADER + "\n".join(rows) + "\n"


def _symlink_loop(d: Path) -> None:
    (d / "data" / "bars.csv").symlink_to(d / "data" / "bars.csv")


def _unreadable(d: Path) -> None:
    path = d / "data" / "bars.csv"
    path.write_text(HEADER + "\n".join(ROWS))
    path.chmod(0)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)

CASES: dict[str, Case] = {
    # --- the scenario file itself ---------------------------------------------------
    "yaml-unclosed-bracket": Case(
        _text("name: x\ncalendar: [unclosed\n"), ("scenario.yaml", "malformed YAML at line 3")
    ),
    "yaml-tab-indent": Case(
        _text("name: x\ncalendar:\n\tstart: 2025-12-15\n"),
        ("scenario.yaml", "malformed YAML at line 3, column 1", "'\\t'"),
    ),
    "yaml-python-object-apply-tag": Case(
        _text('!!python/object/apply:os.system ["touch PWNED"]\n'),
        ("scenario.yaml", "malformed YAML", "could not determine a constructor", "os.system"),
    ),
    "yaml-python-name-tag": Case(
        _text("name: !!python/name:os.system\n"),
        ("scenario.yaml", "could not determine a constructor", "python/name:os.system"),
    ),
    "yaml-alias-bomb": Case(_text(BOMB), ("scenario.yaml", "expands to more than 1,000,000")),
    "yaml-deep-nesting": Case(
        _text("name: " + "[" * 3000 + "]" * 3000 + "\n"), ("scenario.yaml", "nests too deeply")
    ),
    "yaml-top-level-list": Case(
        _text("- name\n- seed\n"), ("scenario.yaml", "expected a mapping of scenario fields")
    ),
    "yaml-empty-file": Case(_text(""), ("scenario.yaml", "expected a mapping", "NoneType")),
    "scenario-not-utf8": Case(
        _text(b"name: caf\xe9\n"), ("scenario.yaml", "is not UTF-8 text", "invalid continuation")
    ),
    "scenario-is-a-directory": Case(
        lambda d: d, ("is not a file (expected a scenario YAML file)",)
    ),
    "scenario-missing": Case(
        lambda d: d / "nope.yaml", ("nope.yaml", "no such file (expected a scenario YAML file)")
    ),
    "wrong-type-int": Case(
        _tiny(_set("replay.batch_size", "lots")),
        ("replay.batch_size", "valid integer", "'lots'"),
    ),
    "wrong-type-mapping": Case(
        _tiny(_set("calendar", "next week")), ("scenario.yaml: calendar:", "valid dictionary")
    ),
    "unknown-key-top-level": Case(
        _tiny(_set("replya", {"alpha": 0.5})), ("scenario.yaml: replya: unknown key",)
    ),
    "unknown-key-nested": Case(
        _tiny(_set("market.regimes.calm.volatility", 0.1)),
        ("market.regimes.calm.volatility: unknown key",),
    ),
    "nan-alpha": Case(
        _tiny(_set("replay.alpha", float("nan"))), ("replay.alpha:", "finite number", "nan")
    ),
    "nan-drift": Case(
        _tiny(_set("market.regimes.calm.drift", float("nan"))),
        ("market.regimes.calm.drift:", "finite number"),
    ),
    "inf-learning-rate": Case(
        _tiny(_set("agent.learning_rate", float("inf"))), ("agent.learning_rate:", "finite number")
    ),
    "overflowing-float-literal": Case(
        _text(
            yaml.safe_dump(TINY).replace("n_replays: 25", "n_replays: 25\n  compression: 1.0e+999")
        ),
        ("replay.compression:", "finite number"),
    ),
    "huge-capacity": Case(
        _tiny(_set("hippocampus.capacity", 10**30)),
        ("hippocampus.capacity:", "less than or equal to 10000000"),
    ),
    "huge-seed": Case(_tiny(_set("seed", 2**70)), ("seed:", "less than 9223372036854775808")),
    "huge-start-price": Case(
        _tiny(_set("market.start_price", 1e300)),
        ("market.start_price:", "less than or equal to 1000000000000"),
    ),
    "huge-drift": Case(
        _tiny(_set("market.regimes.crash.drift", -50.0)),
        ("market.regimes.crash.drift:", "greater than or equal to -0.1"),
    ),
    "dates-out-of-order": Case(
        _tiny(_set("calendar", {"start": "2025-12-19", "end": "2025-12-15"})),
        ("scenario.yaml: calendar:", "end (2025-12-15) is before start (2025-12-19)"),
    ),
    "bad-date": Case(
        _tiny(_set("calendar.start", "2025-13-45")), ("calendar.start:", "valid date")
    ),
    "data-with-regimes": Case(
        _real(HEADER + "\n".join(ROWS), change=_set("market.default_regime", "calm")),
        ("real.yaml: market:", "default_regime cannot go with data"),
    ),
    "data-unknown-column-key": Case(
        _real(HEADER + "\n".join(ROWS), change=_set("market.data.columns.adj_close", "x")),
        ("market.data.columns.adj_close: unknown key",),
    ),
    # --- the bar file -----------------------------------------------------------------
    "data-file-missing": Case(
        _real(None), ("data/bars.csv: no such file", "market.data.path in", "real.yaml")
    ),
    "data-file-is-a-directory": Case(
        _real(None, prepare=lambda d: (d / "data" / "bars.csv").mkdir()),
        ("data/bars.csv: is not a file",),
    ),
    "data-file-symlink-loop": Case(
        _real(None, prepare=_symlink_loop),
        ("data/bars.csv: is a broken or looping symbolic link", "expected the bars file"),
    ),
    "data-path-nul-byte": Case(
        _real(None, change=_set("market.data.path", "data/bars\0.csv")),
        ("real.yaml: market.data.path:", "holds a control character", "expected a file path"),
    ),
    "data-nan-close": Case(
        _real(_bars(2, "2008-10-08,988.91,1021.06,970.97,NaN,8716330000")),
        ("data/bars.csv: row 3 (2008-10-08): close (column 'Close') is nan", "finite number"),
    ),
    "data-zero-price": Case(
        _real(_bars(1, "2008-10-07,1057.60,1072.91,0,996.23,7069210000")),
        ("row 2 (2008-10-07): low (column 'Low') is 0.0: expected a price > 0",),
    ),
    "data-negative-price": Case(
        _real(_bars(0, "2008-10-06,1097.56,1097.56,1007.97,-1056.89,7956020000")),
        ("row 1 (2008-10-06): close (column 'Close') is -1056.89: expected a price > 0",),
    ),
    "data-zero-volume": Case(
        _real(_bars(3, "2008-10-09,988.42,1005.25,909.19,909.92,0")),
        ("row 4 (2008-10-09): volume (column 'Volume') is 0.0: expected a volume > 0",),
    ),
    "data-high-below-low": Case(
        _real(_bars(3, "2008-10-09,988.42,905.25,1009.19,909.92,6819000000")),
        ("row 4 (2008-10-09): high (905.25) is below low (1009.19): expected low <= high",),
    ),
    "data-open-outside-range": Case(
        _real(_bars(2, "2008-10-08,1088.91,1021.06,970.97,984.94,8716330000")),
        ("row 3 (2008-10-08): open (1088.91) is outside [low 970.97, high 1021.06]",),
    ),
    "data-unsorted-timestamps": Case(
        _real(_bars(2, "2008-10-01,988.91,1021.06,970.97,984.94,8716330000")),
        ("row 3 (2008-10-01): comes before row 2 (2008-10-07)", "ascending time order"),
    ),
    "data-duplicate-timestamps": Case(
        _real(_bars(2, "2008-10-07,988.91,1021.06,970.97,984.94,8716330000")),
        ("row 3 (2008-10-07): repeats row 2's date", "expected one row per date"),
    ),
    "data-bad-timestamp": Case(
        _real(_bars(1, "yesterday,1057.60,1072.91,996.23,996.23,7069210000")),
        ("row 2: timestamp 'yesterday' is not a date or date-time", "ISO 8601"),
    ),
    "data-text-in-number": Case(
        _real(_bars(1, "2008-10-07,1057.60,1072.91,996.23,n/a,7069210000")),
        ("row 2 (2008-10-07): close (column 'Close') is 'n/a': expected a number",),
    ),
    "data-missing-column": Case(
        _real(HEADER.replace("Close", "Adj Close") + "\n".join(ROWS)),
        ("no column 'Close' for the close (market.data.columns.close)", "'Adj Close'"),
    ),
    "data-ragged-row": Case(
        _real(_bars(1, "2008-10-07,1057.60,1072.91,996.23,996.23,7069210000,1,2")),
        ("data/bars.csv: row 2: has 8 fields: expected 6 like the header",),
    ),
    "data-empty-file": Case(_real(""), ("data/bars.csv: is empty: expected a CSV header",)),
    "data-header-only": Case(
        _real(HEADER), ("data/bars.csv: has no rows: expected a header and at least one bar",)
    ),
    "data-not-utf8": Case(
        _real(b"Date,Open,High,Low,Close,Volume\n2008-10-06,\xff\n"),
        ("data/bars.csv: row 1: is not UTF-8 text (byte 43", "expected a UTF-8 CSV"),
    ),
    "data-empty-after-clipping": Case(
        _real(
            HEADER + "\n".join(ROWS),
            change=_set("calendar", {"start": "2009-01-05", "end": "2009-01-09"}),
        ),
        ("no rows between 2009-01-05 and 2009-01-09", "covers 2008-10-06 to 2008-10-09"),
    ),
    "data-sha256-mismatch": Case(
        _real(HEADER + "\n".join(ROWS), change=_set("market.data.sha256", "0" * 64)),
        ("data/bars.csv: content has SHA-256", "market.data.sha256 pins 0000"),
    ),
    "data-not-parquet": Case(
        _real(HEADER + "\n".join(ROWS), change=_set("market.data.format", "parquet")),
        ("data/bars.csv: cannot be read as Parquet",),
    ),
    "data-minute-short-day": Case(
        _real(
            HEADER + "\n".join(f"2008-10-06 09:{31 + k}:00,10,11,9,10,5" for k in range(7)),
            change=_set("market.data.frequency", "minute"),
        ),
        ("row 1 (2008-10-06 09:31:00): 2008-10-06 has 7 bars", "bars_per_day = 10"),
    ),
}


@pytest.fixture(autouse=True)
def _keep_signal_handlers() -> Iterator[None]:
    """``run`` installs SIGINT/SIGTERM handlers; in process, put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("janus-sim: error: ")
    return lines[0]


@pytest.mark.hostile("run")
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_scenario_or_data(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    work = tmp_path / "in"
    work.mkdir()
    scenario = case.make(work)
    store = tmp_path / "store"
    monkeypatch.chdir(work)  # a relative tag payload (touch PWNED) would land here
    with pytest.raises(SystemExit) as exited:
        main(["run", str(scenario), "--store", str(store), "--quiet"])
    out, err = capsys.readouterr()
    assert exited.value.code == 2, (out, err)
    line = _one_error_line(err)
    for fragment in case.expected:
        assert fragment in line, line
    assert not store.exists(), "a bad input must leave no store behind"
    assert not (work / "PWNED").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
@pytest.mark.hostile("run")
def test_unreadable_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _real(None, prepare=_unreadable)(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["run", str(scenario), "--store", str(tmp_path / "store"), "--quiet"])
    assert exited.value.code == 2
    assert "data/bars.csv: cannot be read (Permission denied)" in _one_error_line(
        capsys.readouterr().err
    )
    assert not (tmp_path / "store").exists()


@pytest.mark.hostile("run")
def test_object_tag_in_a_separate_process(tmp_path: Path) -> None:
    """The same refusal through the installed entry point, in its own process."""
    sentinel = tmp_path / "PWNED"
    scenario = tmp_path / "evil.yaml"
    scenario.write_text(f'!!python/object/apply:os.system ["touch {sentinel}"]\n')
    p = jsim("run", scenario, "--store", tmp_path / "store")
    assert p.returncode == 2
    line = _one_error_line(p.stderr)
    assert "evil.yaml: malformed YAML at line 1" in line
    assert "could not determine a constructor" in line
    assert not sentinel.exists() and not (tmp_path / "store").exists()


# ===================================================================================
# Store-side hostile inputs (unknown run id, a store that does not exist, a file that
# is not DuckDB, a read-only store folder, a corrupted store) belong below this line;
# they are added with the store work (issue 5). Reuse ``_one_error_line``.
# ===================================================================================


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one finished tiny run, ``tiny-s7`` (copied, never modified)."""
    from janus_sim.adapters.duckdb_store import open_store
    from janus_sim.app.engine import Engine
    from janus_sim.config import Scenario

    folder = tmp_path_factory.mktemp("stored")
    with open_store(folder) as store:
        Engine(Scenario.model_validate(TINY), store, run_id="tiny-s7").run()
    return folder


def _fresh_copy(stored: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "store"
    shutil.copytree(stored, target)
    return target


def _not_duckdb(store: Path) -> None:
    (store / "janus.duckdb").write_bytes(b"definitely not a database\n" * 100)


def _corrupt(store: Path) -> None:
    db = store / "janus.duckdb"
    size = db.stat().st_size
    with db.open("r+b") as f:  # scribble over the middle: data blocks, not the header
        f.seek(size // 2)
        f.write(bytes(range(256)) * (size // 3 // 256))


def _empty_duckdb(store: Path) -> None:
    import duckdb

    (store / "janus.duckdb").unlink()
    duckdb.connect(str(store / "janus.duckdb")).close()


def _directory_in_place(store: Path) -> None:
    (store / "janus.duckdb").unlink()
    (store / "janus.duckdb").mkdir()


# (command line with {store} for the store folder, a damage to do first, expected fragments)
STORE_CASES: dict[str, tuple[list[str], Callable[[Path], None] | None, tuple[str, ...]]] = {
    "unknown run id": (
        ["at", "2025-12-18", "--store", "{store}", "--run", "nope"],
        None,
        ("no run 'nope'", "known runs: 'tiny-s7'"),
    ),
    "unknown run id in events": (
        ["events", "--store", "{store}", "--run", "nope"],
        None,
        ("no run 'nope'",),
    ),
    "unknown run id in verify": (
        ["verify", "--store", "{store}", "--run", "x"],
        None,
        ("no run 'x'",),
    ),
    "malformed date": (
        ["at", "2025-13-45", "--store", "{store}"],
        None,
        ("at: '2025-13-45': is not a date or timestamp", "expected YYYY-MM-DD"),
    ),
    "date before the run": (
        ["at", "2024-01-01", "--store", "{store}"],
        None,
        ("2024-01-01 is before run 'tiny-s7' starts",),
    ),
    "date after the run": (
        ["at", "2026-06-01", "--store", "{store}"],
        None,
        ("is after run 'tiny-s7' ends",),
    ),
    "malformed diff moment": (
        ["diff", "2025-12-17", "cycle:x", "--store", "{store}"],
        None,
        ("diff B: 'cycle:x': expected cycle:N with N a whole number",),
    ),
    "store that does not exist": (
        ["events", "--store", "{store}/nowhere"],
        None,
        ("no event store at", "nowhere/janus.duckdb"),
    ),
    "compare with a store file that does not exist": (
        ["compare", "tiny-s7", "{store}/other.duckdb:tiny-s7", "--store", "{store}"],
        None,
        ("no event store at", "other.duckdb"),
    ),
    "store file that is not DuckDB": (
        ["runs", "--store", "{store}"],
        _not_duckdb,
        ("janus.duckdb", "is not a DuckDB database", "expected an event store"),
    ),
    "run into a store file that is not DuckDB": (
        ["run", "{scenario}", "--store", "{store}", "--no-qdrant"],
        _not_duckdb,
        ("janus.duckdb", "is not a DuckDB database"),
    ),
    "corrupted store": (
        ["at", "2025-12-18", "--store", "{store}"],
        _corrupt,
        ("janus.duckdb", "damaged", "restore it from a copy"),
    ),
    "DuckDB file without janus tables": (
        ["runs", "--store", "{store}"],
        _empty_duckdb,
        ("is not a janus-sim event store",),
    ),
    "a directory where the database file belongs": (
        ["events", "--store", "{store}"],
        _directory_in_place,
        ("no event store at",),
    ),
    "bad JANUS_STORE_WAIT": (
        ["runs", "--store", "{store}", "--env", "JANUS_STORE_WAIT=soon"],
        None,
        ("JANUS_STORE_WAIT", "expected seconds"),
    ),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile(STORE_CASES[n][0][0])) for n in STORE_CASES]
)
def test_hostile_store_input(
    name: str,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv, damage, expected = STORE_CASES[name]
    store = _fresh_copy(stored, tmp_path)
    if damage is not None:
        damage(store)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    args = [a.format(store=store, scenario=scenario) for a in argv]
    if "--env" in args:
        i = args.index("--env")
        key, value = args[i + 1].split("=", 1)
        monkeypatch.setenv(key, value)
        del args[i : i + 2]
    before = _snapshot(store)
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    line = _one_error_line(capsys.readouterr().err)
    for fragment in expected:
        assert fragment in line, line
    assert _snapshot(store) == before, "a refused command must change nothing"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _immutable(folder: Path) -> bool:
    import subprocess

    try:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    except FileNotFoundError:
        return False
    return done.returncode == 0


@pytest.mark.hostile("run")
def test_read_only_store_folder(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder nobody may write (immutable, which binds root too): `run` is refused in
    one line and writes nothing; reading commands still work."""
    import subprocess

    store = _fresh_copy(stored, tmp_path)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    before = _snapshot(store)
    if not _immutable(store):
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(SystemExit) as exited:
            main(["run", str(scenario), "--store", str(store), "--no-qdrant", "--quiet"])
        assert exited.value.code == 2
        line = _one_error_line(capsys.readouterr().err)
        assert f"cannot write event store in {store}: permission denied" in line
        main(["at", "2025-12-18", "--store", str(store), "--json"])
        assert '"run_id": "tiny-s7"' in capsys.readouterr().out
    finally:
        subprocess.run(["chattr", "-i", str(store)], check=True)
    assert _snapshot(store) == before
