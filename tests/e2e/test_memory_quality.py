"""The memory works on the shipped scenarios (issue 13): the logic gate blocks the episodes
where the agent broke a rule and passes those where it kept them, the recall gate tells a
never-seen regime from a familiar one, the anomaly monitor flags what is new to the
memory (``app.novelty``), and the quality bounds that the code reaches hold on a few
seeds no figure was tuned on (``python benchmarks/run.py quality`` measures them over
many random seeds). A bound the code does not reach on these seeds is an xfail (strict)
whose reason gives the measured figure."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.app.engine import Engine
from janus_sim.app.quality import (
    CRASH_ONSET_SHARE_MIN,
    FAMILIAR_FPR_MAX,
    NOVELTY_PRECISION_MIN,
    ONSET_BARS,
    measure,
    run_quality,
    summarize,
)
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.core.gates import episode_ids, episode_logic_gate, recall_gate
from janus_sim.core.hippocampus import sparse_code
from janus_sim.core.state import fold
from janus_sim.core.world import World
from janus_sim.memory_store import MemoryEventStore

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SEEDS = (901, 4417)
"""Seeds outside every figure quoted in the docs (the benchmark draws its own at random)."""


def _scenario(name: str, seed: int, projection: bool = False) -> Scenario:
    sc, _ = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    sc = sc.with_seed(seed)
    proj = sc.projection.model_copy(update={"enabled": projection})
    return sc.model_copy(update={"projection": proj})


def test_the_logic_gate_blocks_rule_breaking_episodes_and_passes_clean_ones() -> None:
    sc = _scenario("crash_week", SEEDS[0])
    store = MemoryEventStore()
    Engine(sc, store, run_id="r").run()
    events = [decode(r.record) for r in store.read("r").records()]
    world = World.build(sc)
    lg, tau = sc.logic, sc.neocortex.logic_threshold
    broken = clean = 0
    for i, e in enumerate(events):
        if not isinstance(e, ev.ConsolidationGated):
            continue
        state = fold(events[:i])
        buf, _ = state.require_buffer()
        ids = np.arange(buf.next_id - state.day_transitions, buf.next_id)
        slots = buf.slots_of(ids)
        ctx, actions = buf.ctx[slots], buf.actions[slots]
        episodes = episode_ids(lg.episode, np.rint(ctx[:, 3]), lg.episode_bars)
        g = episode_logic_gate(
            world.constraints, ctx, actions, episodes, lg.p_episode, lg.p_sat_agg
        )
        truths = world.constraints.truth_of_actions(ctx, actions).min(axis=1)
        for k in np.unique(episodes):
            members = episodes == k
            if truths[members].min() <= 0.05:  # a rule fully broken in this episode
                broken += 1
                assert (g[members] <= tau).all(), f"night {e.cycle}: episode {k} passed"
            elif truths[members].min() >= 0.9:  # every rule kept throughout
                clean += 1
                assert (g[members] > tau).all(), f"night {e.cycle}: episode {k} blocked"
        waiting = e.candidates - len(ids)  # held back last night: they passed then
        assert e.logic_passed == waiting + int((g > tau).sum())
    assert broken > 0 and clean > 0, (broken, clean)


@pytest.mark.parametrize("seed", SEEDS)
def test_calm_week_consolidates_and_its_recall_gate_gates(seed: int) -> None:
    store = MemoryEventStore()
    Engine(_scenario("calm_week", seed), store, run_id="r").run()
    q = run_quality(store, "r")
    assert q.consolidating / q.nights >= 0.8
    assert all(0.2 <= p <= 0.9 for p in q.recall_pass), q.recall_pass
    assert all(n <= 3 for n in q.schemas_per_regime.values()), q.schemas_per_regime
    # Not pinned, because the code does not reach them across random seeds (BENCHMARKS.md,
    # "Does the memory work?"): TD fell on >= 95 % of nights, and median ARI >= 0.8.


NOVEL = {
    "name": "novel",
    "calendar": {"start": "2025-12-01", "end": "2025-12-04"},
    "market": {
        "default_regime": "calm",
        "regimes": {
            "calm": {"drift": 0.00001, "vol": 0.0006, "volume_mean": 1000, "volume_sigma": 0.3},
            "crash": {
                "drift": -0.0005,
                "vol": 0.003,
                "jump_rate": 0.03,
                "jump_mean": -0.006,
                "jump_std": 0.006,
                "volume_mean": 4000,
                "volume_sigma": 0.5,
            },
        },
        # Three calm days, then a regime the memory has never seen.
        "days": [
            {
                "date": "2025-12-04",
                "segments": [
                    {"regime": "calm", "fraction": 0.5},
                    {"regime": "crash", "fraction": 0.5},
                ],
            }
        ],
    },
    "replay": {"n_replays": 100},
    "projection": {"enabled": False},
}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_recall_gate_tells_a_never_seen_regime_from_a_familiar_one(seed: int) -> None:
    from sklearn.metrics import roc_auc_score

    sc = Scenario.model_validate({**NOVEL, "seed": seed})
    store = MemoryEventStore()
    Engine(sc, store, run_id="r").run()
    events = [decode(r.record) for r in store.read("r").records()]
    last = max(i for i, e in enumerate(events) if isinstance(e, ev.ConsolidationGated))
    state = fold(events[:last])  # the state phase 2 of the crash night saw
    buf, _ = state.require_buffer()
    world = World.build(sc)
    day_start = buf.next_id - state.day_transitions
    today = buf.slots_of(np.arange(day_start, buf.next_id))
    earlier = buf.slots_of(np.arange(buf.oldest_id, day_start))
    rho = sc.hippocampus.sparsity

    def code(slots: np.ndarray) -> np.ndarray:
        x = state.view(buf.states[slots])[:, world.memory_cols]
        return sparse_code(state.sep_weights, state.sep_bias, x, rho)

    g, _, _ = recall_gate(
        code(today), code(earlier), sc.neocortex.recall_sharpness, sc.neocortex.recall_quantile
    )
    novel = np.array([state.regime_names[r] == "crash" for r in buf.regimes[today]])
    assert novel.any() and (~novel).any()
    auc = roc_auc_score(~novel, g)  # familiar transitions should score higher
    assert auc >= 0.8, auc


# --- the anomaly monitor against the truth (app.novelty) -----------------------------------


@functools.cache
def _novelty(name: str) -> dict[str, object]:
    """``summarize``'s figures of ``name`` with projection on (the default) over SEEDS."""
    runs = [measure((_scenario(name, seed, projection=True), seed)) for seed in SEEDS]
    s = summarize(runs)
    keys = ("familiar_fpr", "novelty_precision", "novelty_recall", "familiar_bars",
            "novel_bars", "crash_onset_share", "crash_onset_lead_by_seed",
            "onset_lead_median_per_regime", "onsets_flagged_per_regime")  # fmt: skip
    print(f"\n{name} seeds {SEEDS}: " + ", ".join(f"{k} {s[k]}" for k in keys))
    return s


def _figure(s: dict[str, object], key: str) -> float:
    value = s[key]
    assert isinstance(value, float), f"{key} is {value!r}"
    return value


@pytest.mark.parametrize("name", ["calm_week", "crash_week"])
def test_the_monitor_rarely_flags_familiar_bars(name: str) -> None:
    fpr = _figure(_novelty(name), "familiar_fpr")
    assert fpr <= FAMILIAR_FPR_MAX, fpr


@pytest.mark.parametrize("name", ["calm_week", "crash_week"])
def test_most_flags_are_on_novel_bars(name: str) -> None:
    precision = _figure(_novelty(name), "novelty_precision")
    assert precision >= NOVELTY_PRECISION_MIN, precision


def test_the_crash_onset_is_flagged_within_onset_bars() -> None:
    s = _novelty("crash_week")
    assert s["crash_onset_seeds"] == len(SEEDS)  # the crash day is never the first
    share = _figure(s, "crash_onset_share")
    assert share >= CRASH_ONSET_SHARE_MIN, (ONSET_BARS, s["crash_onset_lead_by_seed"])
