"""Hostile moments and numbers through the real command line (issue 17, cause 5).

A moment past a run's end (``at --cycle 1000000000000``, ``RUN@seq:99999999999999999999999``,
``cycle:N`` beyond the run), a date no event can have, a count no store column can hold
(``events --limit 99999999999999999999``) and a run with no events yet: each exit 2 with
one clear line (what, where, expected), no traceback, and the store unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.config import Scenario
from janus_sim.ports import RunInfo
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.e2e.test_hostile_inputs import _snapshot, stored
from tests.e2e.test_hostile_text_ids import _refused

pytestmark = pytest.mark.e2e
_FIXTURES = (stored,)  # the hostile-input suite's, used here by name


MOMENTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "at --cycle beyond": (
        ["at", "--cycle", "1000000000000"],
        ("cycle 1000000000000 is after run 'tiny-s7' ends (its last cycle is 3)",),
    ),
    "at cycle:N one past": (["at", "cycle:4"], ("cycle 4 is after run 'tiny-s7' ends",)),
    "at seq:N huge": (
        ["at", "tiny-s7@seq:99999999999999999999999"],
        ("event 99999999999999999999999 is after run 'tiny-s7' ends (its last event is 432)",),
    ),
    "at seq:N one past": (["at", "seq:433"], ("event 433 is after run", "last event is 432")),
    "at --seq huge": (
        ["at", "--seq", "99999999999999999999"],
        ("--seq: '99999999999999999999': is out of range", "from 0 to 9223372036854775807"),
    ),
    "at --seq past the run": (["at", "--seq", "5000"], ("event 5000 is after run",)),
    "at --cycle negative": (["at", "--cycle=-1"], ("--cycle: '-1': is out of range",)),
    "at --cycle not a number": (["at", "--cycle", "3.5"], ("--cycle: '3.5': is not a whole",)),
    "at --cycle superscript": (["at", "--cycle", "²"], ("--cycle: '²': is not a whole number",)),
    "at --cycle 60 digits": (["at", "--cycle", "9" * 60], ("--cycle", "is out of range")),
    "at year 3000": (["at", "3000-01-01"], ("'3000-01-01': is outside the times an event",)),
    "at year 1000": (["at", "1000-06-01"], ("'1000-06-01': is outside the times",)),
    "at just past int64": (["at", "tiny-s7@2262-04-12"], ("is outside the times",)),
    "diff B cycle beyond": (
        ["diff", "cycle:1", "cycle:99"],
        ("cycle 99 is after run 'tiny-s7' ends",),
    ),
    "diff A seq huge": (
        ["diff", "seq:999999999999999999999999999", "end"],
        ("event 999999999999999999999999999 is after run",),
    ),
    "events --limit huge": (
        ["events", "--limit", "99999999999999999999"],
        ("--limit: '99999999999999999999': is out of range", "from 1 to 9223372036854775807"),
    ),
    "events --limit zero": (["events", "--limit", "0"], ("--limit: '0': is out of range",)),
    "events --limit negative": (["events", "--limit=-5"], ("--limit: '-5': is out of range",)),
    # Found by the property test: a doubled sign once reached int() and raised.
    "events --limit doubled sign": (["events", "--limit=--0"], ("'--0': is not a whole",)),
    "at --seq mixed signs": (["at", "--seq=+-1"], ("--seq: '+-1': is not a whole number",)),
    "events --limit float": (["events", "--limit", "1e3"], ("--limit: '1e3': is not a whole",)),
    "events --cycle huge": (
        ["events", "--cycle", "99999999999999999999"],
        ("--cycle: '99999999999999999999': is out of range",),
    ),
    "events --since year 3000": (
        ["events", "--since", "3000-01-01"],
        ("--since/--until: '3000-01-01' is outside the times an event can have",),
    ),
    "events --until year 1": (["events", "--until", "0001-01-01"], ("is outside the times",)),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.hostile(MOMENTS[n][0][0])) for n in MOMENTS]
)
def test_out_of_range_moment_is_an_error(
    name: str, stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, expected = MOMENTS[name]
    before = _snapshot(stored)
    line = _refused(capsys, *argv, "--store", stored)
    for fragment in expected:
        assert fragment in line, line
    assert _snapshot(stored) == before


@pytest.fixture(scope="module")
def eventless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose run 'z' was created and never wrote an event."""
    folder = tmp_path_factory.mktemp("eventless")
    sc = Scenario.model_validate(TINY)
    with open_store(folder) as store:
        store.create_run(RunInfo("z", sc.name, "tiny.yaml", "", sc.scenario_hash(), sc.seed, "0"))
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["at", "--run", "z"], marks=pytest.mark.hostile("at"), id="at"),
        pytest.param(["at", "z@cycle:1"], marks=pytest.mark.hostile("at"), id="at-cycle"),
        pytest.param(["diff", "cycle:0", "end", "--run", "z"], marks=pytest.mark.hostile("diff")),
    ],
)
def test_run_without_events_says_so(
    argv: list[str], eventless: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(capsys, *argv, "--store", eventless)
    assert "run 'z' has no events yet" in line, line
    assert "(no events)" not in line and "before run" not in line


@pytest.mark.hostile("runs")
def test_runs_lists_a_run_without_events(
    eventless: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "runs", "--store", eventless, "--json")
    assert code == 0 and json.loads(out)["n_events"] == 0
