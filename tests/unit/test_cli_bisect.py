"""The bisect command's pieces that need no repository run: a revision that cannot run is
a skip naming its error, and a result that skips leave open lists every candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from janus_sim.adapters.git_repo import Commit, Worktree
from janus_sim.adapters.revision_env import RevisionEnvs, RevisionError
from janus_sim.app.bisect import Criterion, Probe, SearchResult
from janus_sim.app.divergence import Divergence, FieldDiff
from janus_sim.cli import bisect as cb


class _Tree(Worktree):
    def checkout(self, sha: str) -> None:
        pass  # nothing to check out: the environment fails first


class _BrokenEnvs(RevisionEnvs):
    def python_for(self, worktree: Path) -> Path:
        raise RevisionError("pip install (its dependencies differ) failed (exit 1): no index")


def test_a_revision_whose_environment_fails_is_skipped_with_the_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    runs = cb._Runs(
        _Tree(tmp_path, tmp_path / "wt"),
        _BrokenEnvs(tmp_path / "envs", tmp_path),
        tmp_path / "s.yaml",
        None,
        tmp_path / "runs",
    )
    found = runs.probe(Commit("a" * 40, "subject"), Criterion(digest="x"))
    assert found == Probe(
        "skip", reason="pip install (its dependencies differ) failed (exit 1): no index"
    )
    assert runs.probes == {"a" * 40: found}


def test_skips_between_the_last_good_and_the_first_bad_are_all_candidates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = [Commit(c * 40, f"commit {c}") for c in "abcd"]
    probes = {
        line[0].sha: Probe("good", "d0"),
        line[1].sha: Probe("skip", reason="janus-sim run failed (exit 2): boom"),
        line[2].sha: Probe("bad", "d1", "digest d1, good d0"),
        line[3].sha: Probe("bad", "d1", "digest d1, good d0"),
    }
    result = SearchResult(last_good=0, first_bad=2, skipped=(1,))
    div = Divergence(
        5,
        "payload",
        "payload differs (x)",
        kind="schema_updated",
        entity="schema:c1-0",
        cycle=1,
        fields=(FieldDiff("n_points", "3", "4"),),
        n_fields=1,
    )
    cb._report(line, probes, result, div, Criterion(digest="d0"), as_json=True)
    doc = json.loads(capsys.readouterr().out)
    assert doc["exact"] is False and [c["sha"] for c in doc["candidates"]] == [
        line[1].sha,
        line[2].sha,
    ]
    assert doc["divergence"]["seq"] == 5 and doc["divergence"]["field"] == "payload"
    assert doc["divergence"]["detail"] == "payload differs (x)"
    assert doc["tested"][1] == {
        "sha": line[1].sha,
        "subject": "commit b",
        "verdict": "skip",
        "digest": "",
        "reason": "janus-sim run failed (exit 2): boom",
    }
    cb._report(line, probes, result, div, Criterion(digest="d0"), as_json=False)
    out = capsys.readouterr().out
    assert "the first bad commit is one of bbbbbbb, ccccccc (bbbbbbb could not run)" in out
    assert "A = aaaaaaa (last good), B = ccccccc (first bad):" in out
    assert "first divergent event: seq 5: schema_updated schema:c1-0, cycle 1" in out
    assert "n_points: A 3, B 4" in out
