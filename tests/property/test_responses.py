"""The anomaly responses (``core/responses.py``) against a brute-force reading of their
rules, over random days of flags; and the raised risk as the agent obeys it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.config import Responses
from janus_sim.core import events as ev
from janus_sim.core.agent import ACTION_DELTA, choose_action
from janus_sim.core.responses import DayResponses

configs = st.builds(
    Responses,
    risk_span_bars=st.integers(0, 12),
    risk_position_limit=st.integers(0, 3),
    alert_anomalies=st.integers(1, 5),
    alert_window_bars=st.integers(1, 15),
)
days = st.lists(st.booleans(), min_size=1, max_size=80)  # flagged or not, per step


def _play(cfg: Responses, flags: list[bool]) -> tuple[list[ev.Event], list[int | None]]:
    """Drive one day: events in order, and the cap in force at each step."""
    r = DayResponses(cfg, cycle=1)
    out: list[ev.Event] = []
    caps: list[int | None] = []
    for step, flagged in enumerate(flags):
        out += r.before_step(step, step)
        caps.append(r.risk_cap)
        if flagged:
            out += r.flagged(step, step, transition_id=step)
    out += r.close(len(flags))
    return out, caps


def _raised_steps(cfg: Responses, flags: list[bool]) -> list[bool]:
    """Under raised risk at step s: some flag at f < s with s <= f + span."""
    span = cfg.risk_span_bars
    return [
        span > 0 and any(flags[f] and s <= f + span for f in range(s)) for s in range(len(flags))
    ]


@settings(max_examples=300, deadline=None)
@given(configs, days)
def test_risk_is_raised_exactly_on_the_steps_the_rule_names(
    cfg: Responses, flags: list[bool]
) -> None:
    events, caps = _play(cfg, flags)
    raised = _raised_steps(cfg, flags)
    assert [c is not None for c in caps] == raised
    assert all(c == cfg.risk_position_limit for c in caps if c is not None)
    # Spans alternate raised/restored, never overlap, and all close by the day's end.
    kinds = [e.KIND for e in events if e.KIND.startswith("risk_")]
    assert kinds == ["risk_raised", "risk_restored"] * (len(kinds) // 2)
    restored = [e for e in events if isinstance(e, ev.RiskRestored)]
    assert sum(e.n_bars for e in restored) == sum(raised)
    assert sum(e.n_anomalies for e in restored) == (sum(flags) if cfg.risk_span_bars else 0)


@settings(max_examples=300, deadline=None)
@given(configs, days)
def test_an_alert_comes_once_per_persistent_episode(cfg: Responses, flags: list[bool]) -> None:
    events, _ = _play(cfg, flags)
    alerts = [e for e in events if isinstance(e, ev.OperatorAlerted)]
    k, w = cfg.alert_anomalies, cfg.alert_window_bars
    # Brute force: count flags in the window since the last alert; after an alert,
    # re-arm only after a window without flags.
    expected: list[int] = []
    quiet_from = -1
    window: list[int] = []
    for s, f in enumerate(flags):
        if not f:
            continue
        if s < quiet_from:
            quiet_from = s + w
            continue
        window = [x for x in window if x > s - w] + [s]
        if len(window) >= k:
            expected.append(s)
            window, quiet_from = [], s + w
    assert [a.last_transition_id for a in alerts] == expected
    for a in alerts:
        assert a.n_anomalies >= k and a.last_transition_id - a.first_transition_id < w


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-3, 3),
    st.integers(0, 3),
    st.floats(0, 1),
    st.integers(0, 2**32 - 1),
)
def test_raised_risk_adds_no_exposure_beyond_the_cap(
    position: int, cap: int, epsilon: float, seed: int
) -> None:
    params = np.random.default_rng(seed).normal(size=(3, 5))
    state = np.random.default_rng(seed + 1).normal(size=4)
    a = choose_action(
        params,
        state,
        epsilon,
        np.random.default_rng(seed),
        position=position,
        limit=3,
        risk_cap=cap,
    )
    after = abs(position + int(ACTION_DELTA[a]))
    assert after <= max(cap, abs(position)) and after <= 3
