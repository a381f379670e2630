"""The notebook API (``janus_sim.api``): each call's frame (columns and dtypes), equal to
what the command line prints with ``--json`` for the same question, and its errors (the
CLI's one-line messages, raised as ApiError)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import janus_sim as js
from janus_sim import api_frames as frames
from janus_sim.errors import ApiError, ConfigError, JanusError, NotFoundError
from tests.conftest import write_tiny

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str | Path) -> tuple[int, str, str]:
    """The CLI in this process, capturing its output (capsys is function-scoped)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    from janus_sim.cli.main import main

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, scenario file) of one tiny run written by ``janus-sim run``."""
    root = tmp_path_factory.mktemp("api")
    scenario = write_tiny(root / "tiny.yaml")
    store = root / "store"
    code, _, err = _cli("run", scenario, "--store", store, "--quiet", "--no-qdrant")
    assert code == 0, err
    return store, scenario


@pytest.fixture(scope="module")
def run(stored: tuple[Path, Path]) -> Any:
    with js.open(stored[0]) as store:
        yield store.run()


def _json(*args: str | Path) -> Any:
    code, out, err = _cli(*args)
    assert code == 0, err
    return json.loads(out)


def _lines(*args: str | Path) -> list[Any]:
    code, out, err = _cli(*args)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def _schema(frame: pl.DataFrame) -> dict[str, Any]:
    return dict(frame.schema)


def test_import_janus_sim_loads_no_heavy_package() -> None:
    code = (
        "import sys, janus_sim as js; "
        "heavy = [m for m in ('numpy', 'polars', 'duckdb', 'numba') if m in sys.modules]; "
        "assert not heavy, heavy; js.Store; "
        "assert 'polars' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = js.nope
    assert "simulate" in dir(js)


def test_runs_frame_is_runs_json(stored: tuple[Path, Path]) -> None:
    with js.open(stored[0]) as store:
        frame = store.runs()
    assert _schema(frame) == frames.RUNS
    want = _lines("runs", "--store", stored[0], "--json")
    got = [{**r, "versions": json.loads(r["versions"])} for r in frame.to_dicts()]
    assert got == want


def test_store_run_defaults_to_the_latest(stored: tuple[Path, Path]) -> None:
    with js.open(stored[0]) as store:
        assert store.run().run_id == "tiny-s7" == store.run("tiny-s7").run_id
        assert store.run().info["status"] == "finished"


@pytest.mark.parametrize("when", ["cycle:1", "2025-12-18", "seq:200", "end", "2025-12-18T10:00"])
def test_at_schemas_are_at_json(run: Any, stored: tuple[Path, Path], when: str) -> None:
    moment = run.at(when)
    assert _schema(moment.schemas) == frames.SCHEMAS
    want = _json("at", f"tiny-s7@{when}", "--store", stored[0], "--json")
    assert moment.schemas.to_dicts() == want["schemas"]
    assert (moment.label, moment.cycle, moment.last_seq) == (
        want["as_of"],
        want["cycle"],
        want["last_seq"],
    )


def test_at_takes_dates_and_datetimes(run: Any) -> None:
    import datetime as dt

    assert run.at(dt.date(2025, 12, 18)).last_seq == run.at("2025-12-18").last_seq
    stamp = dt.datetime(2025, 12, 18, 10, 0, tzinfo=dt.UTC)
    assert run.at(stamp).last_seq == run.at("2025-12-18T10:00").last_seq


def test_moment_state_and_metrics(run: Any) -> None:
    moment = run.at("cycle:2")
    cycles = run.cycles().filter(pl.col("cycle") == 2).to_dicts()[0]
    assert moment.metrics["sat_agg"] == cycles["sat_agg"]
    # The full fold and the schema fold from the checkpoint agree on the schemas.
    assert list(moment.state.schemas) == moment.schemas["id"].to_list()
    assert moment.state.cycle == 2


def test_cycles_are_the_cycle_metrics_events(run: Any, stored: tuple[Path, Path]) -> None:
    frame = run.cycles()
    assert _schema(frame.select("cycle", "date")) == frames.CYCLES_FIXED
    assert all(dtype == pl.Float64 for dtype in frame.drop("cycle", "date").dtypes)
    events = _lines("events", "--store", stored[0], "--kind", "cycle_metrics", "--json")
    want = [{"cycle": e["cycle"], "date": e["payload"]["date"]} for e in events]
    assert frame.select("cycle", "date").to_dicts() == want
    for row, e in zip(frame.to_dicts(), events, strict=True):
        for name, value in e["payload"]["metrics"]:
            assert row[name] == value, name


EVENT_FILTERS = [
    ({"kind": "cycle_metrics"}, "--kind cycle_metrics --limit 1000"),
    ({"limit": 5, "tail": True}, "--limit 5 --tail"),
    ({"since": "2025-12-18T10:00", "limit": 7}, "--since 2025-12-18T10:00 --limit 7"),
    ({"cycle": 2, "entity": "policy", "limit": 50}, "--cycle 2 --entity policy --limit 50"),
    (
        {"kind": ["schema_created", "schema_pruned"], "until": "2025-12-18", "limit": 100},
        "--kind schema_created --kind schema_pruned --until 2025-12-18 --limit 100",
    ),
]


@pytest.mark.parametrize("api_args, cli_args", EVENT_FILTERS)
def test_events_are_events_json(
    run: Any, stored: tuple[Path, Path], api_args: dict[str, Any], cli_args: str
) -> None:
    frame = run.events(**api_args)
    assert _schema(frame) == frames.EVENTS
    want = _lines("events", "--store", stored[0], "--json", *cli_args.split())
    assert len(want) > 0
    got = frame.to_dicts()
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert json.loads(g.pop("payload")) == w.pop("payload")
        t = g.pop("t")
        assert t.isoformat().removesuffix("+00:00") == w.pop("t")
        assert g == w


def test_events_without_filters_are_every_event(run: Any) -> None:
    frame = run.events()
    assert frame["seq"].to_list() == list(range(run.info["n_events"]))
    assert frame.filter(pl.col("kind") == "nothing").height == 0
    assert _schema(run.events(kind="cycle_metrics", cycle=0)) == frames.EVENTS  # empty


@pytest.mark.parametrize("a, b", [("cycle:0", "cycle:1"), ("cycle:1", "end"), ("end", "cycle:1")])
def test_diff_is_diff_json(run: Any, stored: tuple[Path, Path], a: str, b: str) -> None:
    frame = run.diff(a, b)
    assert _schema(frame) == frames.DIFF
    want = _json("diff", a, b, "--store", stored[0], "--json")
    rows = {r["schema_id"]: r for r in frame.to_dicts()}
    assert frame.filter(change="created")["schema_id"].to_list() == want["created"]
    assert frame.filter(change="pruned")["schema_id"].to_list() == want["pruned"]
    assert [u["schema_id"] for u in want["updated"]] == frame.filter(change="updated")[
        "schema_id"
    ].to_list()
    for sid, n in want["points"].items():
        assert rows[sid]["points"] == n  # created and pruned schemas have their points
    for u in want["updated"]:
        r = rows[u["schema_id"]]
        assert (r["points_before"], r["points_after"]) == (u["points_before"], u["points_after"])
        assert (r["mean_shift"], r["cov_change"]) == (u["mean_shift"], u["cov_change"])
    joined = want["joined"]
    for sid, r in rows.items():
        if joined is None or r["change"] == "pruned":
            assert r["joined"] is None
        else:
            assert r["joined"] == (joined[sid]["count"] if sid in joined else 0)
    metrics = run.diff_metrics(a, b)
    assert _schema(metrics) == frames.DIFF_METRICS
    got = {r["metric"]: (r["a"], r["b"]) for r in metrics.to_dicts()}
    assert list(got) == list(want["metrics"])
    for name, (va, vb) in got.items():
        assert _same(va, want["metrics"][name]["a"]) and _same(vb, want["metrics"][name]["b"])


def _same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def test_created_schemas_have_points_in_the_diff_table(stored: tuple[Path, Path]) -> None:
    """Issue 19 item 5: the table's points column of a created schema is its count."""
    code, out, err = _cli("diff", "cycle:0", "cycle:1", "--store", stored[0])
    assert code == 0, err
    created = [line for line in out.splitlines() if "created" in line and "schema-" in line]
    assert created
    d = _json("diff", "cycle:0", "cycle:1", "--store", stored[0], "--json")
    for line in created:
        cells = [c.strip() for c in line.split("│") if c.strip()]
        sid = cells[1]
        assert cells[2] == str(d["points"][sid]) and int(cells[2]) > 0


def test_diff_across_runs(run: Any, stored: tuple[Path, Path]) -> None:
    other = js.simulate(stored[1], seed=8)
    frame = run.diff("end", "end", other=other)
    assert frame["joined"].null_count() == frame.height  # no membership across runs
    same = run.diff("end", "end")
    assert same.height == 0 and _schema(same) == frames.DIFF


def test_compare_is_compare_json(run: Any, stored: tuple[Path, Path]) -> None:
    other = js.simulate(stored[1], seed=8)
    frame = js.compare(run, other)
    assert _schema(frame) == frames.COMPARE
    report = js.compare_report(run, other)
    assert frame.filter(~pl.col("ok"))["cycle"].unique().sort().to_list() == list(
        report.flagged_cycles
    )
    same = js.compare(run, js.simulate(stored[1]))
    assert same["ok"].all()
    with js.open(stored[0]) as store:
        twin = store.run()
        want = _json("compare", "tiny-s7", "tiny-s7", "--store", stored[0], "--json")
        frame = js.compare(run, twin)
    got = [(r["cycle"], r["metric"], r["a"], r["ok"]) for r in frame.to_dicts()]
    assert got == [
        (c["cycle"], m["name"], m["a"], m["ok"]) for c in want["cycles"] for m in c["metrics"]
    ]


def test_simulate_is_the_run_the_cli_writes(run: Any, stored: tuple[Path, Path]) -> None:
    simulated = js.simulate(stored[1])
    assert simulated.store.where == "memory"
    assert simulated.digest == run.digest
    assert simulated.cycles().equals(run.cycles())
    short = js.simulate(stored[1], days=2, run_id="short")
    assert short.run_id == "short" and short.cycles()["cycle"].to_list() == [1, 2]


# --- errors: the CLI's one line, as an ApiError ----------------------------------------


def _message(*args: str | Path) -> str:
    code, _, err = _cli(*args)
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    return line.removeprefix("janus-sim: error: ")


def _raises(call: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    e = info.value
    assert isinstance(e, JanusError) and isinstance(e.cause, JanusError)
    assert e.__cause__ is e.cause and e.exit_code == 2 and "\n" not in str(e)
    return e


def test_unknown_run_names_the_known_runs(stored: tuple[Path, Path]) -> None:
    with js.open(stored[0]) as store:
        e = _raises(lambda: store.run("nope"))
    assert isinstance(e.cause, NotFoundError)
    assert str(e) == _message("events", "--store", stored[0], "--run", "nope")
    assert "known runs: 'tiny-s7'" in str(e)


def test_no_store_and_an_empty_store(tmp_path: Path) -> None:
    e = _raises(lambda: js.open(tmp_path / "missing"))
    assert str(e) == _message("runs", "--store", tmp_path / "missing")
    from janus_sim.adapters.duckdb_store import open_store

    open_store(tmp_path / "empty").close()
    with js.open(tmp_path / "empty") as store:
        assert store.runs().height == 0 and _schema(store.runs()) == frames.RUNS
        e = _raises(lambda: store.run())
    assert str(e) == _message("events", "--store", tmp_path / "empty")


@pytest.mark.parametrize("when", ["cycle:9", "seq:99999", "2026-01-05", "2025-01-01"])
def test_moment_outside_the_run(run: Any, stored: tuple[Path, Path], when: str) -> None:
    e = _raises(lambda: run.at(when))
    assert isinstance(e.cause, NotFoundError)
    assert str(e) == _message("at", f"tiny-s7@{when}", "--store", stored[0])


@pytest.mark.parametrize("when", ["cycle:x", "2025-13-01", "yesterday", "seq:²"])
def test_bad_when_is_the_cli_message(run: Any, stored: tuple[Path, Path], when: str) -> None:
    e = _raises(lambda: run.at(when))
    assert isinstance(e.cause, ConfigError)
    assert str(e).startswith("at: ")
    # The CLI adds how to name a run, which a Run does not need.
    assert _message("at", when, "--store", stored[0]).startswith(str(e))


def test_bad_when_type_and_empty_when(run: Any) -> None:
    e = _raises(lambda: run.at(3))
    assert str(e) == "at: 3: expected a WHEN: a date, cycle:N, seq:N or end"
    e = _raises(lambda: run.at(""))
    assert str(e) == "at: '': empty: expected a WHEN: a date, cycle:N, seq:N or end"


def test_diff_names_the_side(run: Any) -> None:
    assert str(_raises(lambda: run.diff("cycle:x", "end"))).startswith("diff A: ")
    assert "after run 'tiny-s7' ends" in str(_raises(lambda: run.diff("end", "cycle:9")))


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"kind": "bogus"}, ["--kind", "bogus"]),
        ({"since": "soon"}, ["--since", "soon"]),
        ({"limit": 0}, ["--limit", "0"]),
        ({"cycle": -1}, ["--cycle", "-1"]),
    ],
)
def test_event_filters_are_the_cli_messages(
    run: Any, stored: tuple[Path, Path], kwargs: dict[str, Any], option: list[str]
) -> None:
    e = _raises(lambda: run.events(**kwargs))
    assert str(e) == _message("events", "--store", stored[0], *option)


def test_simulate_errors(tmp_path: Path, stored: tuple[Path, Path]) -> None:
    e = _raises(lambda: js.simulate(tmp_path / "none.yaml"))
    assert str(e) == _message("run", tmp_path / "none.yaml", "--store", tmp_path / "s")
    assert "--days: '0': is out of range" in str(_raises(lambda: js.simulate(stored[1], days=0)))
    assert "--seed: '-1': is out of range" in str(_raises(lambda: js.simulate(stored[1], seed=-1)))


def test_closed_store(stored: tuple[Path, Path]) -> None:
    store = js.open(stored[0])
    run = store.run()
    store.close()
    store.close()  # idempotent
    assert str(_raises_plain(lambda: run.cycles())) == f"the store {stored[0]} is closed"
    assert "closed" in repr(store)


def _raises_plain(call: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    return info.value
