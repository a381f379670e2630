"""``janus-sim export`` as a user drives it: run, export, query the tree; bad input."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.parquet_export import READ_GLOB
from tests.conftest import TINY
from tests.e2e.test_cli import jsim

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli_export")
    scenario = base / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY, sort_keys=False))
    ran = jsim("run", scenario, "--store", base / "store", "--run-id", "mine", "--quiet")
    assert ran.returncode == 0, ran.stderr
    return base / "store"


def store_counts(store: Path) -> dict[tuple[str, str], int]:
    s = open_store(store, read_only=True, hold=True)
    try:
        rows = s.con.sql("SELECT run_id, kind, count(*) FROM events GROUP BY ALL").fetchall()
    finally:
        s.close()
    return {(r, k): n for r, k, n in rows}


def tree_counts(out: Path) -> dict[tuple[str, str], int]:
    sql = (
        f"SELECT run_id, kind, count(*) FROM read_parquet('{out}/{READ_GLOB}', "
        "hive_partitioning = true) GROUP BY ALL"
    )
    return {(r, k): n for r, k, n in duckdb.execute(sql).fetchall()}


def test_export_then_query_with_duckdb(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "events"
    done = jsim("export", "--store", store, "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}\n"
    want = store_counts(store)
    n, files = sum(want.values()), len(want)
    assert f"exported 1 run(s), {n:,} events in {files} files (" in done.stderr
    assert tree_counts(out) == want

    again = jsim("export", "--store", store, "-o", out)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == (
        f"janus-sim: error: -o: {out}/run_id=mine already exists (run 'mine' was exported "
        "before); --overwrite replaces it\n"
    )
    only = jsim("export", "--store", store, "--all", "-o", out, "--overwrite", "--quiet")
    assert only.returncode == 0 and only.stderr == "" and only.stdout == f"{out}\n"
    some = tmp_path / "some"
    kinds = jsim("export", "--store", store, "--run", "mine", "--kind", "cycle_metrics", "-o", some)
    assert kinds.returncode == 0, kinds.stderr
    assert tree_counts(some) == {("mine", "cycle_metrics"): want["mine", "cycle_metrics"]}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--run", "nope"], "janus-sim: error: no run 'nope' in event store "),
        (["--kind", "nope"], "janus-sim: error: --kind: unknown kind 'nope'; known: "),
        (["--all", "--run", "mine"], "janus-sim: error: --all: name runs with --run or "),
        (["-o", "FILE"], "janus-sim: error: -o: "),
        (["--store", "MISSING"], "janus-sim: error: no event store at "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    store: Path, tmp_path: Path, args: list[str], line: str
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    named = {"FILE": str(a_file), "MISSING": str(tmp_path / "missing")}
    args = [named.get(a, a) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    done = jsim("export", "--store", store, *args)  # a later --store wins
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_output_is_required() -> None:
    done = jsim("export")
    assert done.returncode == 2 and "Missing option '-o' / '--output'" in done.stderr


def test_help_teaches_the_layout_and_queries() -> None:
    done = jsim("export", "--help")
    assert done.returncode == 0
    for text in ("DIR/run_id=<run>/kind=<kind>/data_0.parquet", "read_parquet(", "scan_parquet("):
        assert text in done.stdout
    assert "Spark" in done.stdout and "Trino" in done.stdout
