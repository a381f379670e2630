"""Issue 17, causes 4 and 8: what `verify` finds in a tampered store, and recovery.

Tamper cases edit a stored run's rows (events, chain hashes, the run row) with SQL, as
anyone holding the file could, and check that plain `verify` (no replay) exits 1 naming
the first bad sequence number, and that it changes nothing. Recovery cases damage what
a command leaves or relies on (the embedded Qdrant folder, a store path that does not
exist for `--resume`, the hidden folder of a killed export) and check that the command
recovers, or refuses in one line, and loses nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.parquet_export import TMP_PREFIX, WRITER_LOCK
from janus_sim.adapters.run_lock import hold_flock
from janus_sim.app.chain_check import check_chain
from janus_sim.app.log_sink import _misplaced
from janus_sim.app.verify import VerifyReport, _check_sequence
from janus_sim.core.codec import EncodedEvent
from janus_sim.eventlog import GENESIS, EventBatch, chain_hashes, digest_of, run_genesis
from janus_sim.ports import RunInfo
from tests.bar_fixtures import HEADER
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.e2e.test_hostile_inputs import REAL, ROWS, _one_error_line, _snapshot, stored

pytestmark = pytest.mark.e2e
__all__ = ["stored"]  # the module-scoped store fixture, shared with the input suite

DB = "janus.duckdb"
RUN = "tiny-s7"


@pytest.fixture(autouse=True)
def _keep_signal_handlers() -> Iterator[None]:
    """``run`` installs SIGINT/SIGTERM handlers; in process, put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _main_ok(argv: list[str]) -> None:
    """The command line in process, for a fixture (no capsys): it must succeed."""
    from janus_sim.cli.main import main

    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None), argv


def _copy(stored: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(stored, target)
    return target


def _sql(store: Path, *statements: str, params: list[Any] | None = None) -> None:
    con = duckdb.connect(str(store / DB))
    try:
        for stmt in statements:
            con.execute(stmt, params or [])
    finally:
        con.close()


def _rows(store: Path) -> EventBatch:
    with open_store(store, read_only=True) as s:
        return s.read(RUN)


def _set_chain(store: Path, chain: list[bytes], first: int = 0) -> None:
    con = duckdb.connect(str(store / DB))
    try:
        for i, h in enumerate(chain):
            con.execute(
                "UPDATE events SET chain = ? WHERE run_id = ? AND seq = ?", [h, RUN, first + i]
            )
    finally:
        con.close()


# --- damages ---------------------------------------------------------------------------


def _statements(*sql: str) -> Callable[[Path], None]:
    return lambda store: _sql(store, *sql)


def _edit_and_rechain(upto_digest: bool) -> Callable[[Path], None]:
    """Edit event 300's payload and rewrite every chain hash from it on; with
    ``upto_digest`` the run's digest too (a full rewrite: the documented blind spot)."""

    def damage(store: Path) -> None:
        _sql(store, REWARD)
        batch = _rows(store)
        assert batch.chain is not None
        tail = batch.take(np.arange(300, len(batch)))
        _set_chain(store, chain_hashes(batch.chain[299], tail), first=300)
        if upto_digest:
            _sql(store, "UPDATE runs SET digest = ?", params=[digest_of([_rows(store)])])

    return damage


WHERE = f"run_id = '{RUN}'"
REWARD = (
    "UPDATE events SET payload = regexp_replace(payload, '\"reward\":[^,}]*', "
    f"'\"reward\":0.5') WHERE seq = 300 AND {WHERE}"
)
"""A change that means something: event 300's reward, a number the replay compares."""


def _edit_and_redigest(store: Path) -> None:
    _sql(store, REWARD)
    _sql(store, "UPDATE runs SET digest = ?", params=[digest_of([_rows(store)])])


def _append_forged(store: Path) -> None:
    """A row after run_finished, with a chain hash that fits (the chain has no key)."""
    batch = _rows(store)
    assert batch.chain is not None
    extra = batch.take(np.array([len(batch) - 1]))
    extra = EventBatch(RUN, np.array([len(batch)]), extra.cycle, extra.t_ns, extra.kind,
                       extra.entity, extra.version, extra.payload)  # fmt: skip
    h = chain_hashes(batch.chain[-1], extra)[0]
    _sql(
        store,
        "INSERT INTO events SELECT run_id, ? AS seq, cycle, t_ns, kind, entity, version, "
        f"payload, ? AS chain FROM events WHERE seq = {len(batch) - 1}",
        params=[len(batch), h],
    )


def _random_chain_at(seq: int) -> Callable[[Path], None]:
    return lambda store: _set_chain(store, [b"\x01" * 32], first=seq)


# name: (damage, the first bad seq plain verify must name (None: none), a fragment)
TAMPER: dict[str, tuple[Callable[[Path], None], int | None, str]] = {
    "payload of event 300": (
        _statements(f"UPDATE events SET payload = payload || ' ' WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "kind of event 300": (
        _statements(f"UPDATE events SET kind = 'day_opened' WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "version of event 300": (
        _statements(f"UPDATE events SET version = version + 1 WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "cycle of event 300": (
        _statements(f"UPDATE events SET cycle = cycle + 1 WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "time of event 300": (
        _statements(f"UPDATE events SET t_ns = t_ns + 1 WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "entity of event 300": (
        _statements(f"UPDATE events SET entity = entity || 'x' WHERE seq = 300 AND {WHERE}"),
        300, "breaks the hash chain"),
    "deleted event 300": (
        _statements(f"DELETE FROM events WHERE seq = 300 AND {WHERE}"), 300, "is missing"),
    "duplicated event 300": (
        _statements(f"INSERT INTO events SELECT * FROM events WHERE seq = 300 AND {WHERE}"),
        300, "is stored twice"),
    "events 300 and 301 swapped": (
        _statements(
            f"UPDATE events SET seq = -1 WHERE seq = 300 AND {WHERE}",
            f"UPDATE events SET seq = 300 WHERE seq = 301 AND {WHERE}",
            f"UPDATE events SET seq = 301 WHERE seq = -1 AND {WHERE}",
        ),
        300, "breaks the hash chain"),
    "event 300 moved to the end": (
        _statements(f"UPDATE events SET seq = 10000 WHERE seq = 300 AND {WHERE}"),
        300, "is missing"),
    "a forged event inserted at 300": (
        _statements(
            f"UPDATE events SET seq = seq + 1 WHERE seq >= 300 AND {WHERE}",
            "INSERT INTO events SELECT run_id, 300, cycle, t_ns, kind, entity, version, "
            f"payload, chain FROM events WHERE seq = 299 AND {WHERE}",
        ),
        300, "breaks the hash chain"),
    "first event deleted": (
        _statements(f"DELETE FROM events WHERE seq = 0 AND {WHERE}"), 0, "is missing"),
    "last event deleted": (
        _statements(f"DELETE FROM events WHERE seq = 432 AND {WHERE}"), 432, "is missing"),
    "log truncated at 300": (
        _statements(f"DELETE FROM events WHERE seq >= 300 AND {WHERE}"), 300, "is missing"),
    "run_started payload edited": (
        _statements(
            f"UPDATE events SET payload = replace(payload, '\"seed\":7', '\"seed\":8') "
            f"WHERE seq = 0 AND {WHERE}"
        ),
        0, "run row was edited"),
    "a chain hash replaced": (_random_chain_at(300), 300, "breaks the hash chain"),
    "first chain hash replaced": (_random_chain_at(0), 0, "does not start from the run row"),
    "one chain hash set to NULL": (
        _statements(f"UPDATE events SET chain = NULL WHERE seq = 300 AND {WHERE}"),
        300, "has no chain hash"),
    "chain set to NULL from 300 on": (
        _statements(f"UPDATE events SET chain = NULL WHERE seq >= 300 AND {WHERE}"),
        300, "has no chain hash"),
    "every chain hash set to NULL": (
        _statements(f"UPDATE events SET chain = NULL WHERE {WHERE}"),
        0, "its chain hashes were removed"),
    "the first 10 chain hashes set to NULL": (
        _statements(f"UPDATE events SET chain = NULL WHERE seq < 10 AND {WHERE}"),
        0, "its chain hashes were removed"),
    "a forged event after run_finished": (_append_forged, 433, "follows run_finished"),
    "runs.scenario_text edited": (
        _statements("UPDATE runs SET scenario_text = scenario_text || '# edited'"),
        0, "the run row was edited"),
    "runs.seed edited": (
        _statements("UPDATE runs SET seed = 8"), 0, "seed is 8, run_started records 7"),
    "runs.scenario_hash edited": (
        _statements("UPDATE runs SET scenario_hash = 'ab' || scenario_hash[3:]"),
        0, "scenario_hash is"),
    "runs.scenario_name edited": (
        _statements("UPDATE runs SET scenario_name = 'other'"), 0, "scenario_name is 'other'"),
    "runs.n_events lowered": (
        _statements("UPDATE runs SET n_events = 432"), 432, "is extra"),
    "runs.n_events raised": (
        _statements("UPDATE runs SET n_events = 434"), 433, "is missing"),
    "reward edited": (_statements(REWARD), 300, "breaks the hash chain"),
    "payload edited and the digest rewritten": (
        _edit_and_redigest, 300, "breaks the hash chain"),
    # Rewriting the chain without the digest: found by the digest, not located (README).
    "payload edited, chain rewritten from it": (
        _edit_and_rechain(upto_digest=False), None, "recorded digest does not match"),
    "runs.digest edited": (
        _statements("UPDATE runs SET digest = repeat('0', 64)"),
        None, "recorded digest does not match"),
    "runs.status set to running": (
        _statements("UPDATE runs SET status = 'running'"), None, "the run is running"),
}  # fmt: skip


@pytest.mark.hostile("verify", kind="tamper")
@pytest.mark.parametrize("name", list(TAMPER))
def test_plain_verify_locates_the_first_bad_seq(
    name: str, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, seq, fragment = TAMPER[name]
    store = _copy(stored, tmp_path)
    damage(store)
    before = _snapshot(store)
    code, out, err = cli(capsys, "verify", "--store", store, "--json")
    assert code == 1, (out, err)
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["first_bad_seq"] == seq, report["problems"]
    assert any(fragment in p for p in report["problems"]), report["problems"]
    assert _snapshot(store) == before, "verify must change nothing"


@pytest.mark.hostile("verify", kind="tamper")
def test_the_text_report_names_the_same_seq(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _copy(stored, tmp_path)
    _sql(store, "UPDATE runs SET seed = 8")
    code, out, _ = cli(capsys, "verify", "--store", store)
    assert code == 1
    assert "first bad sequence number: 0" in out and "seed is 8" in out


@pytest.mark.slow
@pytest.mark.hostile("verify", kind="tamper")
@pytest.mark.parametrize(
    "name, damage, seq, fragment",
    [
        ("duplicated row", TAMPER["duplicated event 300"][0], 300, "is stored twice"),
        (
            "full rewrite of chain and digest",
            _edit_and_rechain(upto_digest=True),
            300,
            "payload is different",
        ),
    ],
    ids=["duplicated row", "full rewrite of chain and digest"],
)
def test_replay_names_the_seq_plain_verify_names(
    name: str,
    damage: Callable[[Path], None],
    seq: int,
    fragment: str,
    stored: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A duplicated row is at 300 for `--replay` too; a full rewrite of the chain and the
    digest passes plain `verify` (README) and is found only by the replay."""
    store = _copy(stored, tmp_path)
    damage(store)
    if name.startswith("full"):
        assert cli(capsys, "verify", "--store", store)[0] == 0  # the documented blind spot
    code, out, err = cli(capsys, "verify", "--store", store, "--replay", "--json")
    assert code == 1, (out, err)
    report = json.loads(out)
    assert report["first_bad_seq"] == seq
    assert any(fragment in p for p in report["problems"] if p.startswith(f"event {seq}")), report


# --- stores written by older versions stay verifiable ------------------------------------

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "event_log_v0_1_0.jsonl"


def _fixture_store(tmp_path: Path) -> Path:
    """The v0.1.0 fixture in a DuckDB store as v0.1.0 left it: rows without chain hashes."""
    lines = FIXTURE.read_text().splitlines()
    rows = [json.loads(x) for x in lines[1:]]
    records = [
        EncodedEvent(r["kind"], r["version"], r["cycle"], r["t_ns"], r["entity"], r["payload"])
        for r in rows
    ]
    batch = EventBatch.from_records(RUN, 0, records)
    meta = json.loads(lines[0])
    path = tmp_path / "old"
    with open_store(path) as store:
        store.create_run(RunInfo(RUN, "tiny", "", yaml.safe_dump(TINY), "h", 7, "0.1.0"))
        store.append(batch)
        store.finish_run(RUN, "finished", meta["digest"])
    _sql(path, "UPDATE events SET chain = NULL")
    return path


def test_a_v0_1_0_store_without_chains_verifies_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _fixture_store(tmp_path)
    code, out, err = cli(capsys, "verify", "--store", store, "--json")
    assert code == 0, (out, err)
    report = json.loads(out)
    assert report["notes"] == ["written before hash chains existed: the chain was not checked"]


def test_a_store_chained_before_the_run_row_was_covered_verifies_with_a_note(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chains from 32 zero bytes (janus-sim before ``run_genesis``) are still accepted."""
    store = _copy(stored, tmp_path)
    _set_chain(store, chain_hashes(GENESIS, _rows(store)))
    code, out, _ = cli(capsys, "verify", "--store", store, "--json")
    assert code == 0
    assert any("chain covered the run row" in n for n in json.loads(out)["notes"])


# --- real bars: --replay finds the data file from the scenario's folder -----------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, bars file) of a real-bars run started with a relative scenario path."""
    root = tmp_path_factory.mktemp("real")
    (root / "scen" / "data").mkdir(parents=True)
    bars = root / "scen" / "data" / "bars.csv"
    bars.write_text(HEADER + "\n".join(ROWS) + "\n")
    (root / "scen" / "real.yaml").write_text(yaml.safe_dump(REAL, sort_keys=False))
    cwd = Path.cwd()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    os.chdir(root)
    try:
        _main_ok(["run", "scen/real.yaml", "--store", str(root / "S"), "--no-qdrant", "--quiet"])
    finally:
        os.chdir(cwd)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return root / "S", bars


@pytest.mark.slow
@pytest.mark.hostile("verify", kind="tamper")
def test_replay_reads_bars_beside_the_scenario_and_names_a_changed_file(
    real_store: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, bars = real_store
    monkeypatch.chdir(tmp_path)  # another folder: no data/bars.csv here
    code, out, err = cli(capsys, "verify", "--store", store, "--replay")
    assert code == 0, (out, err)
    assert "replay verified" in out
    original = bars.read_bytes()
    import hashlib

    try:
        bars.write_bytes(original.replace(b"1056.89", b"1056.88"))
        new, old = (hashlib.sha256(b).hexdigest() for b in (bars.read_bytes(), original))
        before = _snapshot(store)
        code, out, err = cli(capsys, "verify", "--store", store, "--replay")
        assert code == 2, (out, err)
        line = _one_error_line(err)
        assert f"the data file data/bars.csv changed (sha256 {new}, expected {old})" in line
        assert _snapshot(store) == before
    finally:
        bars.write_bytes(original)


# --- recovery: rebuild --qdrant over a damaged embedded folder --------------------------


@pytest.fixture(scope="module")
def with_vectors(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stored run with its embedded Qdrant folder built (``rebuild --qdrant``)."""
    folder = tmp_path_factory.mktemp("vectors") / "store"
    shutil.copytree(stored, folder)
    _main_ok(["rebuild", "--qdrant", "--store", str(folder)])
    return folder


def _write(rel: str, data: bytes) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        (store / rel).write_bytes(data)

    return damage


def _replace_with_dir(rel: str) -> Callable[[Path], None]:
    def damage(store: Path) -> None:
        (store / rel).unlink()
        (store / rel).mkdir()

    return damage


def _qdrant_is_a_file(store: Path) -> None:
    shutil.rmtree(store / "qdrant")
    (store / "qdrant").write_text("not a folder\n")


SQLITE = f"qdrant/collection/janus_{RUN}/storage.sqlite"
QDRANT_DAMAGE: dict[str, Callable[[Path], None]] = {
    "meta.json cut off": _write("qdrant/meta.json", b'{"collections": {"janus_tiny-s7": {'),
    "meta.json empty": _write("qdrant/meta.json", b""),
    "meta.json binary garbage": _write("qdrant/meta.json", bytes(range(256))),
    "meta.json a list": _write("qdrant/meta.json", b"[1, 2, 3]"),
    "meta.json collections a number": _write("qdrant/meta.json", b'{"collections": 5}'),
    "meta.json without collections": _write("qdrant/meta.json", b'{"aliases": {}}'),
    "meta.json a directory": _replace_with_dir("qdrant/meta.json"),
    "collection not SQLite": _write(SQLITE, b"garbage\n" * 100),
    "collection half a SQLite header": _write(SQLITE, b"SQLite format 3\x00" + b"\xff" * 50),
    "qdrant is a file": _qdrant_is_a_file,
}


@pytest.mark.hostile("rebuild", kind="tamper")
@pytest.mark.parametrize("name", list(QDRANT_DAMAGE))
def test_rebuild_moves_a_damaged_qdrant_folder_aside_and_rebuilds(
    name: str, with_vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _copy(with_vectors, tmp_path)
    QDRANT_DAMAGE[name](store)
    damaged = _snapshot(store / "qdrant") if (store / "qdrant").is_dir() else None
    events = (store / DB).read_bytes()
    code, out, err = cli(capsys, "rebuild", "--qdrant", "--store", store)
    assert code == 0, (out, err)
    assert "Traceback" not in err
    warning = [ln for ln in err.splitlines() if ln.strip()]
    assert len(warning) == 1 and f"moved to {store}/qdrant.damaged" in warning[0], err
    assert f"rebuilt collection janus_{RUN}: 1 schemas" in out
    aside = store / "qdrant.damaged"
    if damaged is not None:
        assert _snapshot(aside) == damaged, "the damaged folder is kept as it was"
    else:
        assert aside.read_text() == "not a folder\n"
    assert (store / DB).read_bytes() == events
    assert (store / "qdrant" / "collection" / f"janus_{RUN}").is_dir()
    # A second damage is moved aside under a new name, never over the first.
    QDRANT_DAMAGE["meta.json empty"](store)
    assert cli(capsys, "rebuild", "--qdrant", "--store", store)[0] == 0
    assert (store / "qdrant.damaged-2").is_dir() and aside.exists()


@pytest.mark.hostile("rebuild")
def test_rebuild_does_not_move_a_folder_another_client_holds(
    with_vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from janus_sim.adapters.qdrant_store import open_vector_store

    store = _copy(with_vectors, tmp_path)
    before = _snapshot(store)
    with open_vector_store(store):
        code, _, err = cli(capsys, "rebuild", "--qdrant", "--store", store)
    assert code == 2
    assert "already accessed by another instance" in _one_error_line(err)
    assert not (store / "qdrant.damaged").exists()
    assert _snapshot(store) == before


# --- recovery: --resume on a store that does not exist creates nothing -------------------

RESUME_PATHS: dict[str, tuple[str, tuple[str, ...]]] = {
    "a new folder": ("new", ()),
    "a nested new folder": ("a/b/c", ()),
    "a new .duckdb file": ("new.duckdb", ()),
    "a new file in a new folder": ("n/x.duckdb", ()),
    "with --from-checkpoint": ("new", ("--from-checkpoint",)),
    "with --run-id": ("new", ("--run-id", "tiny-s7")),
    "with --seed": ("new", ("--seed", "3")),
    "with --no-qdrant": ("new", ("--no-qdrant",)),
}


@pytest.mark.hostile("run")
@pytest.mark.parametrize("name", list(RESUME_PATHS))
def test_a_failed_resume_on_a_new_path_leaves_no_store(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rel, extra = RESUME_PATHS[name]
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    work = tmp_path / "work"
    work.mkdir()
    target = work / rel
    code, _, err = cli(capsys, "run", scenario, "--store", target, "--resume", *extra, "--quiet")
    assert code == 2
    line = _one_error_line(err)
    assert "nothing to resume" in line and "no event store at" in line, line
    assert list(work.iterdir()) == [], "nothing may be created"


@pytest.mark.hostile("run")
def test_a_failed_resume_in_an_empty_folder_leaves_it_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY))
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "run", scenario, "--store", tmp_path / "empty", "--resume")
    assert code == 2 and "nothing to resume" in _one_error_line(err)
    assert list((tmp_path / "empty").iterdir()) == []


# --- recovery: a killed export's hidden folder ----------------------------------------


def _stale(out: Path, *, lock: str) -> Path:
    """A hidden export folder with a half-written partition; ``lock``: "free" (its writer
    was killed), "held" (a live writer, this test), "none" (no lock file), "replaced"."""
    tmp = out / f"{TMP_PREFIX}abc{lock}"
    (tmp / f"run_id={RUN}" / "kind=day_opened").mkdir(parents=True)
    (tmp / f"run_id={RUN}" / "kind=day_opened" / "data_0.parquet").write_bytes(b"PAR1half")
    if lock != "none":
        (tmp / WRITER_LOCK).write_text("12345")
    if lock == "replaced":
        (tmp / "replaced").mkdir()
    return tmp


def _killed_writer(out: Path) -> Path:
    """A real writer: a process that takes the lock as an export does, then is killed."""
    tmp = out / f"{TMP_PREFIX}killed"
    tmp.mkdir()
    code = (
        "import os, signal, sys; from pathlib import Path; "
        "from janus_sim.adapters.run_lock import hold_flock; "
        f"hold_flock(Path(sys.argv[1]) / {WRITER_LOCK!r}, str); "
        "(Path(sys.argv[1]) / 'run_id=x').mkdir(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp)], check=False)
    assert done.returncode == -signal.SIGKILL
    return tmp


@pytest.mark.parametrize(
    "lock, removed",
    [
        pytest.param("free", True, marks=pytest.mark.hostile("export", kind="kill")),
        pytest.param("killed", True, marks=pytest.mark.hostile("export", kind="kill")),
        pytest.param("held", False, marks=pytest.mark.hostile("export", kind="concurrent")),
        pytest.param("none", False, marks=pytest.mark.hostile("export")),
        pytest.param("replaced", False, marks=pytest.mark.hostile("export")),
    ],
)
def test_the_next_export_removes_a_hidden_folder_whose_writer_is_gone(
    lock: str, removed: bool, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _copy(stored, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    tmp = _killed_writer(out) if lock == "killed" else _stale(out, lock=lock)
    held = hold_flock(tmp / WRITER_LOCK, str) if lock == "held" else None
    try:
        code, _, err = cli(capsys, "export", "--store", store, "-o", out, "--quiet")
    finally:
        if held is not None:
            os.close(held)
    assert code == 0, err
    assert tmp.exists() != removed
    assert (out / f"run_id={RUN}").is_dir()
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == ([] if removed else [tmp.name])


# --- properties: any one-row tamper is located at its row, by plain verify and replay -----


INFO = RunInfo(RUN, "tiny", "", "name: tiny\n", "h" * 64, 7, "0")


def _chained(n: int) -> EventBatch:
    records = [EncodedEvent("run_started" if i == 0 else "day_opened", 1, i // 10, i, "e",
                            f'{{"i":{i}}}') for i in range(n)]  # fmt: skip
    batch = EventBatch.from_records(RUN, 0, records)
    genesis = run_genesis(INFO.scenario_name, INFO.scenario_text, INFO.scenario_hash, INFO.seed)
    return replace(batch, chain=chain_hashes(genesis, batch))


FIELDS = ("kind", "version", "cycle", "t_ns", "entity", "payload", "chain")


def _edit(batch: EventBatch, i: int, name: str) -> EventBatch:
    """``batch`` with field ``name`` of row ``i`` changed."""
    col: Any = getattr(batch, name)
    col = col.copy() if isinstance(col, np.ndarray) else list(col)
    if isinstance(col, np.ndarray):
        col[i] += 1
    elif name == "chain":
        col[i] = b"\x01" * 32
    else:
        col[i] = col[i] + "x"
    return replace(batch, **{name: col})


@pytest.mark.hostile("verify", kind="tamper")
@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
       st.sampled_from(FIELDS))  # fmt: skip
def test_any_one_field_edit_is_located_at_its_row(ni: tuple[int, int], name: str) -> None:
    n, i = ni
    found = [f for f in check_chain(_edit(_chained(n), i, name), INFO) if not f.note]
    assert found and min(f.seq for f in found if f.seq is not None) == i, found


@pytest.mark.hostile("verify", kind="tamper")
@settings(max_examples=80, deadline=None)
@given(st.integers(3, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
       st.sampled_from(["delete", "duplicate", "swap"]))  # fmt: skip
def test_plain_verify_and_replay_name_the_same_seq(ni: tuple[int, int], how: str) -> None:
    """For a deleted, duplicated or swapped row, the gap-free check of plain `verify` and
    the replay check name the same sequence number: the damaged row's."""
    n, i = ni
    seq = list(range(n))
    if how == "delete":
        del seq[i]
    elif how == "duplicate":
        seq.insert(i, i)
    else:
        j = min(i + 1, n - 1)
        if i == j:
            return
        seq[i], seq[j] = seq[j], seq[i]
    stored = np.array(seq, dtype=np.int64)
    report = VerifyReport(RUN, "finished", len(stored), None, "")
    batch = _chained(n).take(np.zeros(len(stored), dtype=np.int64))
    _check_sequence(report, replace(batch, seq=stored))
    # A deleted last row leaves the sequence gap-free: the run row's count locates it.
    assert report.first_bad_seq == (None if how == "delete" and i == n - 1 else i)
    assert _misplaced(stored, np.arange(n, dtype=np.int64))[0] == i
