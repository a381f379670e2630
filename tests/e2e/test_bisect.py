"""`janus-sim bisect` on a tiny repository made here: this tree's package, committed, then
one commit that changes a default (the neocortex's eta, 0.01 -> 0.012) and two that change
only comments. Bisect must name the default's commit; its errors are one line each."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from janus_sim.app import baseline as bl
from janus_sim.wiring import load_scenario
from tests.cli_inprocess import cli
from tests.conftest import write_tiny

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ETA = "    eta: Annotated[float, Field(gt=0, le=1)] = 0.01\n"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _commit(repo: Path, path: str, old: str, new: str, message: str) -> str:
    file = repo / path
    text = file.read_text()
    assert old in text, (path, old)
    file.write_text(text.replace(old, new, 1))
    _git(repo, "commit", "-q", "-am", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | Path]:
    """base <- eta 0.012 <- comment <- comment (HEAD); the eta commit is second so that a
    bisection needs one run between the ends (three runs in all)."""
    root = tmp_path_factory.mktemp("bisect") / "repo"
    root.mkdir()
    shutil.copytree(
        ROOT / "janus_sim", root / "janus_sim", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "requirements.lock", "README.md"):
        shutil.copy2(ROOT / name, root / name)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    shas: dict[str, str | Path] = {"root": root, "base": _git(root, "rev-parse", "HEAD")}
    shas["eta"] = _commit(
        root, "janus_sim/config/sleep.py", ETA, ETA.replace("0.01", "0.012"), "neocortex eta 0.012"
    )
    shas["c1"] = _commit(root, "janus_sim/timefmt.py", '"""', '"""Comment. ', "a comment")
    shas["c2"] = _commit(root, "janus_sim/errors.py", '"""', '"""Comment. ', "another comment")
    return shas


@pytest.mark.slow
def test_bisect_names_the_commit_that_changed_a_default(
    repo: dict[str, str | Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_tiny(tmp_path / "t.yaml")  # projection off: the cheapest run
    code, out, err = cli(
        capsys,
        "bisect",
        "--good",
        "HEAD~3",
        "--bad",
        "HEAD",
        "--repo",
        repo["root"],
        scenario,
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["first_bad"] == {"sha": repo["eta"], "subject": "neocortex eta 0.012"}
    assert doc["last_good"]["sha"] == repo["base"] and doc["exact"]
    assert doc["criterion"] == "digest" and doc["reason"].startswith("digest ")
    # The changed default is named, and the first divergence is behavioural (the run's
    # metadata, which carries the resolved configuration, is passed over).
    assert [c["line"] for c in doc["config_changes"]] == ["`neocortex.eta` default 0.01 → 0.012"]
    assert doc["divergence"]["seq"] > 0 and doc["divergence"]["kind"] != "run_started"
    assert [t["verdict"] for t in doc["tested"]] == ["good", "bad", "bad"]
    assert "testing " + str(repo["eta"])[:7] + " (1 left, ~1 steps)" in err
    assert f"bisecting 3 commits from {str(repo['base'])[:7]}" in err


@pytest.mark.slow
def test_a_good_end_that_already_fails_the_baseline_is_refused(
    repo: dict[str, str | Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_tiny(tmp_path / "t.yaml")
    saved = bl.record(load_scenario(scenario))
    path = tmp_path / "b.json"
    path.write_text(saved.to_json().replace(saved.digest, "0" * 64))
    code, _, err = cli(
        capsys,
        "bisect",
        "--good",
        "HEAD~3",
        "--bad",
        "HEAD",
        "--repo",
        repo["root"],
        path,
        "--quiet",
    )
    assert code == 2, err
    (line,) = err.strip().splitlines()
    base = str(repo["base"])[:7]
    assert f"--good {base} already fails the baseline (digest " in line
    assert "baseline 0000000000000000): expected a good commit that passes it" in line


def _error(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    code, _, err = cli(capsys, "bisect", *args)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_bisect_errors_are_one_line(
    repo: dict[str, str | Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo["root"]
    scenario = write_tiny(tmp_path / "t.yaml")
    ends = ("--good", "HEAD~3", "--bad", "HEAD")
    assert "not a git repository" in _error(capsys, *ends, "--repo", tmp_path, scenario)
    assert "no such directory" in _error(capsys, *ends, "--repo", tmp_path / "none", scenario)
    assert "--good nope: unknown revision" in _error(
        capsys, "--good", "nope", "--bad", "HEAD", "--repo", root, scenario
    )
    assert "is not an ancestor of --bad HEAD~1" in _error(
        capsys, "--good", "HEAD", "--bad", "HEAD~1", "--repo", root, scenario
    )
    assert "both name" in _error(
        capsys, "--good", "HEAD", "--bad", "HEAD", "--repo", root, scenario
    )
    assert "no such scenario file" in _error(capsys, *ends, "--repo", root, tmp_path / "x.yaml")
    assert "only apply with a BASELINE.json" in _error(
        capsys, *ends, "--repo", root, scenario, "--metrics-only"
    )
    assert "no such baseline file" in _error(capsys, *ends, "--repo", root, tmp_path / "b.json")
    saved = tmp_path / "b.json"
    saved.write_text(bl.record(load_scenario(scenario)).to_json())
    assert "a baseline runs under its own seed" in _error(
        capsys, *ends, "--repo", root, saved, "--seed", "3"
    )
    assert "--tol nope" in _error(capsys, *ends, "--repo", root, saved, "--tol", "nope=1")
