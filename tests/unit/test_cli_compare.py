"""compare and baseline on the command line: bad input is one line and exit 2; a
baseline round-trips; a changed baseline fails with exit 1 and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from tests.cli_inprocess import cli
from tests.conftest import TINY


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cmp") / "store"
    store = open_store(path)
    try:
        Engine(Scenario.model_validate(TINY), store, run_id="r").run()
    finally:
        store.close()
    return path


def _bad(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("janus-sim: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_run(capsys: pytest.CaptureFixture[str], store_dir: Path) -> None:
    _bad(*cli(capsys, "compare", "r", "nope", "--store", store_dir), "no run 'nope'", "'r'")


def test_missing_store_file(
    capsys: pytest.CaptureFixture[str], store_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "v1.duckdb"
    result = cli(capsys, "compare", "r", f"{missing}:r", "--store", store_dir)
    _bad(*result, f"no event store at {missing}")


@pytest.mark.parametrize("spec", [":r", "store:", ":", ""])
def test_malformed_run_spec(capsys: pytest.CaptureFixture[str], store_dir: Path, spec: str) -> None:
    _bad(*cli(capsys, "compare", "r", spec, "--store", store_dir), "expected [STORE:]RUN")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--tol", "sat_agg"], "expected NAME=TOL or NAME=RTOL,ATOL"),
        (["--tol", "no_such_metric=1"], "--tol no_such_metric: no such metric"),
        (["--rtol", "-1"], "--rtol: expected a finite number >= 0"),
        (["--json", "--markdown"], "give at most one"),
    ],
)
def test_bad_options(
    capsys: pytest.CaptureFixture[str], store_dir: Path, args: list[str], fragment: str
) -> None:
    _bad(*cli(capsys, "compare", "r", "r", "--store", store_dir, *args), fragment)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a scenario, as the repository root would be."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_baseline_round_trip_and_a_change_fails(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    code, out, err = cli(
        capsys, "baseline", "save", "scenarios/tiny.yaml", "-o", "baselines/tiny.json"
    )
    assert code == 0, err
    text = (repo / "baselines" / "tiny.json").read_text()
    doc = json.loads(text)
    assert text.endswith("}\n") and text == json.dumps(doc, sort_keys=True, indent=2) + "\n"
    assert doc["scenario"] == "scenarios/tiny.yaml" and doc["seed"] == TINY["seed"]
    assert [c["cycle"] for c in doc["cycles"]] == [1, 2, 3] and len(doc["digest"]) == 64
    assert not (repo / "store").exists()  # nothing was written to a store

    code, out, err = cli(capsys, "baseline", "check", "--quiet")
    assert code == 0, out + err
    assert "identical within tolerance" in out

    doc["cycles"][1]["metrics"]["sat_agg"] += 1e-6
    (repo / "baselines" / "tiny.json").write_text(json.dumps(doc))
    code, out, err = cli(capsys, "baseline", "check", "--quiet", "--json")
    assert code == 1, err
    res = json.loads(out)["baselines"][0]
    assert res["flagged_cycles"] == [2] and not res["ok"] and not res["problems"]
    # A looser per-metric tolerance accepts the change.
    code, out, err = cli(capsys, "baseline", "check", "--quiet", "--tol", "sat_agg=1e-5")
    assert code == 0, out + err

    doc["digest"] = "0" * 64
    (repo / "baselines" / "tiny.json").write_text(json.dumps(doc))
    code, out, err = cli(capsys, "baseline", "check", "--quiet", "--markdown")
    assert code == 1, err
    assert out.startswith("### baseline baselines/tiny.json") and "the event log changed" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{", "not valid JSON at line 1"),
        ('{"format": 1}', "not a janus-sim baseline: missing field 'cycles'"),
        ("[1, 2]", "not a janus-sim baseline: expected a JSON object"),
        (b"\xff\xfe", "cannot read the baseline (not UTF-8 text)"),
    ],
)
def test_unreadable_baseline(
    capsys: pytest.CaptureFixture[str], repo: Path, content: str | bytes, fragment: str
) -> None:
    path = repo / "broken.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    _bad(*cli(capsys, "baseline", "check", path), f"{path}: {fragment}")


def test_missing_baseline_file_and_no_baselines(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    _bad(*cli(capsys, "baseline", "check", "nowhere.json"), "nowhere.json: no such baseline file")
    _bad(*cli(capsys, "baseline", "check"), "no baselines/*.json here")


def test_baseline_whose_scenario_file_is_missing(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    code, _, err = cli(
        capsys, "baseline", "save", "scenarios/tiny.yaml", "-o", "baselines/tiny.json", "--quiet"
    )
    assert code == 0, err
    (repo / "scenarios" / "tiny.yaml").unlink()
    _bad(
        *cli(capsys, "baseline", "check", "--quiet"),
        "baselines/tiny.json: scenario: scenario file scenarios/tiny.yaml not found",
    )
    _bad(
        *cli(capsys, "baseline", "save", "scenarios/tiny.yaml", "-o", "b.json"),
        "scenarios/tiny.yaml: no such file",
    )
