"""Properties of hostile text, run ids and moments (issue 17, causes 1 and 5).

* ``safe_text``: whatever text goes in, ``inert`` gives one visible line and ``safe``
  prints as exactly that; every renderer of user text (runs, events, schemas of ``at``,
  ``diff``, ``compare`` lines) prints it verbatim and never raises.
* Run ids: the validator accepts exactly the pattern, and an accepted id never breaks the
  ``[STORE:]RUN@WHEN`` grammar; a refusal is one line naming the pattern.
* Moments and numbers: a moment past a run's end is an error, never its end; a numeric
  option either gives a number in range or one error line.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console, RenderableType

from janus_sim.app.diff import StateDiff, parse_when
from janus_sim.app.engine import Engine
from janus_sim.app.timetravel import Moment, state_at
from janus_sim.cli.common import WholeNumber
from janus_sim.cli.compare import _rich
from janus_sim.cli.render import events_table, runs_table, schemas_table
from janus_sim.cli.render_diff import diff_tables
from janus_sim.cli.run_ref import parse_run_ref
from janus_sim.cli.safe_text import inert, safe
from janus_sim.config import Scenario
from janus_sim.config.names import NAME_PATTERN, RUN_ID_MAX, check_run_id, is_run_id
from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import RunInfo
from tests.conftest import TINY

LIVE = {"Cc", "Cf", "Zl", "Zp", "Cs"}

# Any text, hostile bits made likely: markup, escapes, emoji codes, newlines.
hostile_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                *("[/]", "[red]", "[/red]", "[bold]", "\\", "[", "]", ":smile:", "\x1b[31m"),
                *("\n", "\r", "\t", "\u202e", "\u2028", "\x00", "\udcff", "a", " ", "é"),
                "[link=x]",
            ]
        ),
        max_size=8,  # at most 66 characters: the events table previews 90 of a payload
    ).map("".join),
)
# Shown inside a table cell, whose edges rich trims: text with something at both ends.
cell_text = hostile_text.map(lambda t: f"<{t}>")


def _printed(renderable: RenderableType) -> str:
    """What the command line's consoles print (emoji codes off), wide enough for any
    cell to fit on one line."""
    out = io.StringIO()
    Console(file=out, width=100_000, emoji=False, color_system=None).print(renderable)
    return out.getvalue()


# --- the escaper -------------------------------------------------------------------------


@pytest.mark.hostile("runs")
@given(hostile_text)
def test_inert_is_one_visible_line(text: str) -> None:
    shown = inert(text)
    assert not any(unicodedata.category(ch) in LIVE for ch in shown)
    assert len(shown.splitlines()) <= 1
    assert inert(shown) == shown  # already inert: nothing left to change
    if not any(unicodedata.category(ch) in LIVE for ch in text):
        assert shown == text  # ordinary text is kept as it is


@pytest.mark.hostile("runs")
@given(hostile_text)
def test_safe_prints_exactly_inert(text: str) -> None:
    assert _printed(f"[bold]{safe(text)}[/]") == inert(text) + "\n"


# --- every renderer of user text ---------------------------------------------------------


def _info(run_id: str, name: str) -> RunInfo:
    return RunInfo(run_id, name, "s.yaml", "", "h" * 64, 7, "0", status="finished")


def _batch(run_id: str, kind: str, entity: str, payload: str) -> EventBatch:
    return EventBatch(
        run_id=run_id,
        seq=np.array([0], dtype=np.int64),
        cycle=np.array([1], dtype=np.int64),
        t_ns=np.array([0], dtype=np.int64),
        kind=[kind],
        entity=[entity],
        version=np.array([1], dtype=np.int64),
        payload=[payload],
    )


def _schema_row(sid: str, regime: str) -> dict[str, Any]:
    return {
        "id": sid,
        "points": 3,
        "avg_reward": 0.5,
        "created": 1,
        "updated": 2,
        "mean_norm": 1.0,
        "cov_trace": 0.1,
        "dominant_regime": regime,
        "dominant_share": 1.0,
    }


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", text)


RENDERERS: dict[str, Callable[[str, str], RenderableType]] = {
    "runs": lambda a, b: runs_table([_info(a, b)]),
    "events": lambda a, b: events_table(_batch(a, b, b, b)),
    "at": lambda a, b: schemas_table([_schema_row(b, b)], safe(a)),
    "diff": lambda a, b: diff_tables(StateDiff(created=[b], pruned=[b], points={b: 3}), a, b),
    "compare": lambda a, b: _rich(a, (["metric", "A"], [[b, b]])),
}


@pytest.mark.parametrize(
    "command", [pytest.param(c, marks=pytest.mark.hostile(c)) for c in RENDERERS]
)
@settings(max_examples=60)
@given(title=cell_text, cell=cell_text)
def test_renderer_prints_user_text_verbatim(command: str, title: str, cell: str) -> None:
    """A run id (or title) and a cell (scenario name, kind, entity, payload, schema id,
    regime, metric) of arbitrary text: printed verbatim after escaping, and no raise.
    (Rich wraps a title to its table's width: there, the text is compared without the
    whitespace the wrapping adds.)"""
    out = _printed(RENDERERS[command](title, cell))
    assert inert(cell) in out, out
    assert _squeezed(inert(title)) in _squeezed(out), out
    assert "\x1b" not in out


# --- run ids -------------------------------------------------------------------------------


@pytest.mark.hostile("run")
@given(st.one_of(hostile_text, st.from_regex(NAME_PATTERN, fullmatch=True)))
def test_run_id_validator_is_the_pattern(text: str) -> None:
    expected = re.fullmatch(NAME_PATTERN[1:-1], text) is not None and len(text) <= RUN_ID_MAX
    assert is_run_id(text) == expected
    if expected:
        assert check_run_id(text) == text
        # An accepted id never collides with the reference grammar's separators.
        assert parse_run_ref(f"{text}@end", when="required", command="at").run == text
        ref = parse_run_ref(f"store/x:{text}", when="forbidden", command="compare")
        assert (ref.store, ref.run) == (Path("store/x"), text)
        assert text not in {".", ".."} and "/" not in text
        return
    with pytest.raises(ConfigError) as refused:
        check_run_id(text)
    message = str(refused.value)
    assert message.startswith("--run-id: ") and NAME_PATTERN[1:-1] in message
    assert len(inert(message).splitlines()) == 1


# --- moments and numbers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> tuple[MemoryEventStore, int, int]:
    """(a memory store holding run 'r', its last seq, its last cycle)."""
    store = MemoryEventStore()
    Engine(Scenario.model_validate(TINY), store, run_id="r").run()
    last = store.read("r").seq
    cycles = store.read("r").cycle
    return store, int(last[-1]), int(max(cycles))


@pytest.mark.hostile("at")
@settings(max_examples=60)
@given(n=st.one_of(st.integers(0, 600), st.integers(0, 10**30)), by_seq=st.booleans())
def test_moment_past_the_end_is_an_error(
    tiny_run: tuple[MemoryEventStore, int, int], n: int, by_seq: bool
) -> None:
    store, last_seq, last_cycle = tiny_run
    moment = Moment(seq=n, label=f"event {n}") if by_seq else Moment(cycle=n, label=f"cycle {n}")
    if n > (last_seq if by_seq else last_cycle):
        with pytest.raises(NotFoundError, match=r"is after run 'r' ends \(its last"):
            state_at(store, "r", moment)
        return
    state, seq = state_at(store, "r", moment)
    assert seq == n if by_seq else state.cycle == n


@pytest.mark.hostile("at")
@given(st.one_of(st.integers(), st.text(max_size=30), st.from_regex(r"[+-]?[0-9]{1,45}")))
def test_parse_when_is_a_moment_or_a_value_error(text: Any) -> None:
    when = f"seq:{text}"
    try:
        moment = parse_when(when)
    except ValueError as e:
        assert len(inert(str(e)).splitlines()) == 1
        return
    assert moment.seq is not None and moment.seq >= 0 and str(moment.seq) in when


@pytest.mark.hostile("events")
@given(st.one_of(st.integers(), st.from_regex(r"\s*[+-]?[0-9]{1,50}\s*"), hostile_text))
def test_whole_number_option_is_in_range_or_one_line(value: int | str) -> None:
    option = click.Option(["--limit"])
    try:
        number = WholeNumber(1).convert(value, option, None)
    except ConfigError as e:
        line = inert(str(e))
        assert line.startswith("--limit: ") and "expected a whole number from 1 to" in line
        assert len(line.splitlines()) == 1
        return
    assert 1 <= number <= 2**63 - 1
