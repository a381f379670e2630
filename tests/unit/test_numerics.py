"""numerics: the recorded profile, portability opt-outs, and the one line compare and
baseline check print when two digests and their profiles differ."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from janus_sim import numerics
from janus_sim.app import baseline as bl
from janus_sim.app.compare import CompareReport, RunRef, RunSource, Tolerances, compare_runs
from janus_sim.app.engine import Engine
from janus_sim.cli.compare import render
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY


def _scenario(**projection: Any) -> Scenario:
    d: dict[str, Any] = copy.deepcopy(TINY)
    d["projection"] = {"enabled": True, **projection}
    return Scenario.model_validate(d)


def test_profile_names_every_numerics_source() -> None:
    prof = numerics.profile(Scenario.model_validate(TINY))
    keys = {k.removeprefix(numerics.PREFIX) for k in prof}
    assert keys == {"kernels", "portable", "machine", "numpy_simd", "blas", "numba_target", "libc"}
    assert all(k.startswith(numerics.PREFIX) and v for k, v in prof.items())
    assert prof["numerics.portable"] == "yes"
    assert numerics.of({**prof, "numpy": "2.4"}) == {
        k.removeprefix(numerics.PREFIX): v for k, v in prof.items()
    }


def test_portability_names_each_opt_out() -> None:
    assert numerics.portability(_scenario()) == "yes"
    umap = numerics.portability(_scenario(map_backend="umap-learn"))
    assert umap.startswith("no: ") and "map_backend is umap-learn" in umap
    both = numerics.portability(_scenario(map_backend="umap-learn", cluster_method="hdbscan"))
    assert "umap-learn" in both and "hdbscan" in both
    # Off, the map cannot make the run machine-dependent.
    off = Scenario.model_validate(
        {**TINY, "projection": {"enabled": False, "map_backend": "umap-learn"}}
    )
    assert numerics.portability(off) == "yes"


def test_difference_line_says_only_what_differs() -> None:
    a = {"numpy_simd": "X86_V3", "blas": "openblas Haswell", "machine": "x86_64"}
    b = {"numpy_simd": "X86_V3,X86_V4", "blas": "openblas SkylakeX", "machine": "x86_64"}
    line = numerics.difference_line(a, b)
    assert line is not None and "\n" not in line
    assert "numpy_simd X86_V3 vs X86_V3,X86_V4" in line and "blas openblas Haswell vs" in line
    assert "machine" not in line
    assert numerics.difference_line(a, dict(a)) is None
    assert numerics.difference_line({}, b) is None  # a run from before profiles existed


def _ref(digest: str, prof: dict[str, str]) -> RunRef:
    return RunRef(label="x", run_id="r", digest=digest, n_events=1, code_version="0", numerics=prof)


def test_the_report_names_numerics_only_when_digests_differ() -> None:
    a, b = {"blas": "Haswell"}, {"blas": "SkylakeX"}
    tol = Tolerances()
    assert CompareReport(_ref("d1", a), _ref("d1", b), tol, ()).numerics_line is None
    line = CompareReport(_ref("d1", a), _ref("d2", b), tol, ()).numerics_line
    assert line is not None and "blas Haswell vs SkylakeX" in line
    assert CompareReport(_ref("d1", a), _ref("d2", dict(a)), tol, ()).numerics_line is None


def test_compare_prints_the_numerics_line_before_any_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = MemoryEventStore()
    sc = Scenario.model_validate(TINY)
    Engine(sc, store, run_id="a").run()
    Engine(sc.with_seed(8), store, run_id="b").run()
    # As if b had run on another machine: its recorded profile says another BLAS kernel.
    info = store.get_run("b")
    store._runs["b"] = type(info)(
        **{**info.__dict__, "versions": {**info.versions, "numerics.blas": "openblas 0.3 Prescott"}}
    )
    report = compare_runs(RunSource(store, "a"), RunSource(store, "b"))
    assert report.numerics_line is not None and "Prescott" in report.numerics_line
    render(report, "rich", False, "a vs b")
    out = capsys.readouterr().out
    assert out.index("different numerics") < out.index("per cycle")
    render(report, "markdown", False, "a vs b")
    md = capsys.readouterr().out
    assert md.index("different numerics") < md.index("| cycle")


def test_a_baseline_keeps_its_profile_and_older_files_still_load(tmp_path: Path) -> None:
    prof = numerics.of(numerics.profile())
    base = bl.Baseline("s.yaml", "tiny", "h", 7, "0.1.0", "d" * 64, 10, {}, prof)
    doc = json.loads(base.to_json())
    assert doc["numerics"] == dict(sorted(prof.items()))
    path = tmp_path / "b.json"
    path.write_text(base.to_json())
    assert bl.load(path).numerics == prof
    del doc["numerics"]
    path.write_text(json.dumps(doc))
    assert bl.load(path).numerics == {}
    doc["numerics"] = {"blas": 3}
    path.write_text(json.dumps(doc))
    with pytest.raises(bl.BaselineError, match="numerics"):
        bl.load(path)
