"""``export_events``: the Parquet tree holds exactly the store's rows, for every reader."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_sim.adapters import parquet_export
from janus_sim.adapters.duckdb_store import DuckDBEventStore, open_store
from janus_sim.adapters.parquet_export import READ_GLOB, TMP_PREFIX, export_events
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.core.events import EVENT_KINDS
from janus_sim.errors import ConfigError, NotFoundError, StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventQuery, RunInfo
from tests.conftest import TINY

COLUMNS = ["run_id", "seq", "cycle", "t_ns", "kind", "entity", "version", "payload", "chain"]
FILE_COLUMNS = ["seq", "cycle", "t_ns", "entity", "version", "payload", "chain"]
ODD_IDS = ["x/y", "k=v", "two words", ".hidden", "42", "2025-12-18", "inf", "True", "1e5"]


def _info(run_id: str) -> RunInfo:
    return RunInfo(run_id, "tiny", "test", "", "", 0, "test")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs "a" (seed 7) and "b" (seed 8) of TINY; "legacy", a prefix of "a" whose rows
    have no chain (as before chains existed); and runs whose ids cannot be exported."""
    path = tmp_path_factory.mktemp("export") / "store"
    store = open_store(path)
    sc = Scenario.model_validate(TINY)
    Engine(sc, store, run_id="a").run()
    Engine(sc.with_seed(8), store, run_id="b").run()
    head = store.read("a", EventQuery(limit=50)).to_arrow().drop_columns(["run_id"])
    store.create_run(_info("legacy"))
    store.append(EventBatch.from_arrow("legacy", head))
    for run_id in ODD_IDS:
        store.create_run(_info(run_id))
    with store.session():
        store.con.execute("UPDATE events SET chain = NULL WHERE run_id = 'legacy'")
    store.close()
    return path


@pytest.fixture
def store(store_path: Path) -> Iterator[DuckDBEventStore]:
    """Opened as the CLI opens it: read-only, one session held."""
    s = open_store(store_path, read_only=True, hold=True)
    yield s
    s.close()


def store_rows(store: DuckDBEventStore, run_ids: list[str]) -> list[tuple[Any, ...]]:
    """The store's rows through its own read path, chain as hex, by (run_id, seq)."""
    rows = []
    for rid in sorted(run_ids):
        b = store.read(rid)
        chains: list[bytes | None] = list(b.chain) if b.chain else [None] * len(b)
        for i in range(len(b)):
            chain = chains[i]
            row = (rid, int(b.seq[i]), int(b.cycle[i]), int(b.t_ns[i]), b.kind[i], b.entity[i])
            rows.append((*row, int(b.version[i]), b.payload[i], chain and chain.hex()))
    return rows


def duckdb_read(out: Path) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    con = duckdb.connect()
    source = f"read_parquet('{out}/{READ_GLOB}', hive_partitioning = true)"
    rows = con.sql(f"SELECT {', '.join(COLUMNS)} FROM {source} ORDER BY run_id, seq").fetchall()
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    return rows, types


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_every_reader_gets_the_store_rows_and_types(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    summary = export_events(store, ["a", "b", "legacy"], out)
    expected = store_rows(store, ["a", "b", "legacy"])
    assert summary.runs == ("a", "b", "legacy") and summary.n_events == len(expected)
    assert summary.kinds == tuple(sorted({r[4] for r in expected}))
    assert summary.n_files == len(list(out.glob("*/*/*.parquet")))
    assert any(r[-1] is None for r in expected) and any(r[-1] for r in expected)
    # What an export killed mid-way leaves: its hidden folder, holding a run's files.
    # DuckDB's and polars' ``**`` enter hidden folders; the documented glob must not.
    killed = out / f"{TMP_PREFIX}killed"
    shutil.copytree(out / "run_id=a", killed / "run_id=a")
    looser = f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet')"
    assert duckdb.execute(looser).fetchall() != [(len(expected),)]  # the trap is real

    rows, types = duckdb_read(out)
    assert rows == expected
    assert types == {
        "seq": "BIGINT", "cycle": "INTEGER", "t_ns": "BIGINT", "entity": "VARCHAR",
        "version": "SMALLINT", "payload": "VARCHAR", "chain": "VARCHAR",
        "run_id": "VARCHAR", "kind": "VARCHAR",
    }  # fmt: skip

    frame = pl.scan_parquet(out / READ_GLOB, hive_partitioning=True).collect()
    assert frame.select(COLUMNS).sort("run_id", "seq").rows() == expected
    assert dict(frame.schema) == {
        "seq": pl.Int64, "cycle": pl.Int32, "t_ns": pl.Int64, "entity": pl.String,
        "version": pl.Int16, "payload": pl.String, "chain": pl.String,
        "run_id": pl.String, "kind": pl.String,
    }  # fmt: skip

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    table = table.select(COLUMNS).sort_by([("run_id", "ascending"), ("seq", "ascending")])
    assert [tuple(r.values()) for r in table.to_pylist()] == expected
    assert {f.name: f.type for f in table.schema} == {
        "seq": pa.int64(), "cycle": pa.int32(), "t_ns": pa.int64(), "entity": pa.string(),
        "version": pa.int16(), "payload": pa.string(), "chain": pa.string(),
        "run_id": pa.string(), "kind": pa.string(),
    }  # fmt: skip


def test_files_are_zstd_sorted_by_seq_and_hold_no_partition_columns(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    export_events(store, ["a"], tmp_path)
    files = sorted(tmp_path.glob("run_id=a/kind=*/data_0.parquet"))
    assert len(files) == len({r[4] for r in store_rows(store, ["a"])})
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert meta.schema.names == FILE_COLUMNS
        assert {meta.row_group(0).column(i).compression for i in range(7)} == {"ZSTD"}
        seq = pq.read_table(f, partitioning=None).column("seq").to_pylist()
        assert seq == sorted(seq) and len(set(seq)) == len(seq)


def test_same_log_same_bytes(store: DuckDBEventStore, tmp_path: Path) -> None:
    export_events(store, ["a"], tmp_path / "one")
    export_events(store, ["a"], tmp_path / "two")
    assert tree(tmp_path / "one") == tree(tmp_path / "two") != {}


def test_a_second_run_leaves_the_first_untouched(store: DuckDBEventStore, tmp_path: Path) -> None:
    export_events(store, ["a"], tmp_path)
    before = tree(tmp_path)
    stats = {p: p.stat().st_ino for p in tmp_path.rglob("*")}
    export_events(store, ["b"], tmp_path)
    assert {k: v for k, v in tree(tmp_path).items() if k.startswith("run_id=a/")} == before
    assert all(p.stat().st_ino == ino for p, ino in stats.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_id=a", "run_id=b"]
    assert duckdb_read(tmp_path)[0] == store_rows(store, ["a", "b"])


def test_existing_run_is_refused_then_replaced_with_overwrite(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    export_events(store, ["a"], tmp_path, kinds=["cycle_metrics"])
    with pytest.raises(ConfigError) as e:
        export_events(store, ["b", "a"], tmp_path)
    assert str(e.value) == (
        f"-o: {tmp_path}/run_id=a already exists (run 'a' was exported before); "
        "--overwrite replaces it"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_id=a"]  # b not written either
    summary = export_events(store, ["a"], tmp_path, overwrite=True)
    assert summary.n_events == len(store_rows(store, ["a"]))
    assert duckdb_read(tmp_path)[0] == store_rows(store, ["a"])
    assert leftovers(tmp_path) == []


def test_kinds_filter(store: DuckDBEventStore, tmp_path: Path) -> None:
    # anomaly_flagged is a known kind that TINY (projection off) never writes.
    summary = export_events(store, ["a"], tmp_path, kinds=["day_opened", "anomaly_flagged"])
    assert summary.kinds == ("day_opened",) and summary.n_files == 1
    assert [p.name for p in (tmp_path / "run_id=a").iterdir()] == ["kind=day_opened"]
    assert duckdb_read(tmp_path)[0] == [r for r in store_rows(store, ["a"]) if r[4] == "day_opened"]


def test_a_run_with_no_matching_events_gets_an_empty_partition(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    summary = export_events(store, ["a"], tmp_path, kinds=["anomaly_flagged"])
    assert (summary.kinds, summary.n_events, summary.n_files) == ((), 0, 0)
    assert list((tmp_path / "run_id=a").iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"run_ids": ["zz"]}, NotFoundError, "no run 'zz' in event store "),
        ({"run_ids": []}, ConfigError, "--run: no runs to export: name at least one run id"),
        ({"kinds": ["nope"]}, ConfigError, "--kind: unknown kind 'nope'; known: run_started, "),
        ({"kinds": []}, ConfigError, "--kind: expected one or more kinds"),
        ({"kinds": "day_opened"}, ConfigError, "--kind: expected one or more kinds"),
    ],
)
def test_bad_arguments(
    store: DuckDBEventStore,
    tmp_path: Path,
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    args: dict[str, Any] = {"run_ids": ["a"], **kwargs}
    with pytest.raises(error) as e:
        export_events(store, out_dir=tmp_path / "out", **args)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()  # checked before anything is made


def test_unknown_run_lists_the_runs_and_the_command(
    store: DuckDBEventStore, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match=r"known runs: 'a', 'b', .*`janus-sim runs` lists"):
        export_events(store, ["a", "zz"], tmp_path)


@pytest.mark.parametrize("run_id", ODD_IDS)
def test_run_ids_that_cannot_be_partitions_are_refused(
    store: DuckDBEventStore, tmp_path: Path, run_id: str
) -> None:
    with pytest.raises(ConfigError) as e:
        export_events(store, [run_id], tmp_path / "out")
    text = str(e.value)
    if any(c in run_id for c in "/= .") or run_id.startswith("."):
        assert text.startswith(f"--run: run id {run_id!r} cannot name a Parquet partition: ")
    else:
        assert text.startswith(f"--run: run id {run_id!r} reads as a ")
        assert "export takes only ids that read as text" in text
    assert not (tmp_path / "out").exists()


def test_output_problems(store: DuckDBEventStore, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match=r"^-o: .*/file is a file: expected a directory"):
        export_events(store, ["a"], a_file)
    with pytest.raises(ConfigError) as e:
        export_events(store, ["a"], a_file / "sub")
    assert str(e.value) == (
        f"-o: cannot create directory {a_file}/sub: a path component is a file, not a directory"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_output(store: DuckDBEventStore, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ConfigError, match=r"^-o: directory .*/locked is not writable$"):
        export_events(store, ["a"], locked)


def _failing_copy(after: int, error: BaseException) -> Any:
    """A ``_copy`` that writes ``after`` files, then fails having written the next one."""
    real = parquet_export._copy
    calls: list[int] = []

    def copy(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, target: Path) -> int:
        n = real(con, run_id, kind, target)
        calls.append(n)
        if len(calls) > after:
            raise error
        return n

    return copy


@pytest.mark.parametrize(
    ("error", "raised", "message"),
    [
        (OSError(28, "No space left on device"), ConfigError, "-o: cannot write "),
        (duckdb.IOException("disk full"), StoreError, "event store "),
        (KeyboardInterrupt(), KeyboardInterrupt, ""),
    ],
)
def test_a_failure_mid_export_leaves_nothing_behind(
    store: DuckDBEventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    raised: type[BaseException],
    message: str,
) -> None:
    export_events(store, ["b"], tmp_path)
    before = tree(tmp_path)
    monkeypatch.setattr(parquet_export, "_copy", _failing_copy(3, error))
    with pytest.raises(raised) as e:
        export_events(store, ["a"], tmp_path)
    assert str(e.value).startswith(message)
    assert tree(tmp_path) == before and leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_id=b"]


def test_a_failed_overwrite_keeps_the_old_partition(
    store: DuckDBEventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_events(store, ["a"], tmp_path, kinds=["cycle_metrics"])
    before = tree(tmp_path)
    real = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if self.parent.name.startswith(TMP_PREFIX) and self.name in failing:
            raise OSError(28, "No space left on device")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    failing = {"run_id=a"}  # the new partition cannot move into place
    with pytest.raises(ConfigError, match=r"^-o: cannot write .*/run_id=a: No space left"):
        export_events(store, ["a"], tmp_path, overwrite=True)
    assert tree(tmp_path) == before and leftovers(tmp_path) == []

    failing.add("replaced")  # nor can the old one move back: it is kept, hidden
    with pytest.raises(ConfigError) as e:
        export_events(store, ["a"], tmp_path, overwrite=True)
    [kept] = leftovers(tmp_path)
    assert str(e.value) == (
        f"-o: cannot write {tmp_path}/run_id=a (No space left on device); "
        f"its old copy is in {tmp_path}/{kept}/replaced"
    )
    assert not (tmp_path / "run_id=a").exists()
    old = {k.removeprefix("run_id=a/"): v for k, v in before.items()}
    assert tree(tmp_path / kept / "replaced") == old


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.sampled_from(sorted(EVENT_KINDS)), min_size=1))
def test_any_kinds_export_the_stores_count_per_kind(store_path: Path, kinds: set[str]) -> None:
    store = open_store(store_path, read_only=True, hold=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            summary = export_events(store, ["a", "b"], out, kinds=sorted(kinds))
            sql = (
                "SELECT run_id, kind, count(*) FROM read_parquet("
                f"'{out}/{READ_GLOB}', hive_partitioning = true) GROUP BY ALL"
            )
            got = (
                {(r, k): n for r, k, n in duckdb.execute(sql).fetchall()} if summary.n_files else {}
            )
        want: dict[tuple[str, str], int] = {}
        for row in store_rows(store, ["a", "b"]):
            if row[4] in kinds:
                want[row[0], row[4]] = want.get((row[0], row[4]), 0) + 1
        assert got == want
        assert summary.n_events == sum(want.values())
        assert summary.kinds == tuple(sorted({k for _, k in want}))
    finally:
        store.close()
