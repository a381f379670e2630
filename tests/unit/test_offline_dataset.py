"""``app.offline_dataset`` on hand-made logs: the episode layout, a day without its night,
and the errors (a run without transitions, a day whose steps do not chain)."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.app.offline_dataset import offline_dataset
from janus_sim.core import events as ev
from janus_sim.core.codec import encode
from janus_sim.errors import ConfigError, StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from tests.factories import MINUTE_NS, run_started, transition
from tests.store_fixtures import run_info


def store_of(events: list[ev.Event]) -> MemoryEventStore:
    store = MemoryEventStore()
    store.create_run(run_info("r"))
    store.append(EventBatch.from_records("r", 0, [encode(e) for e in events]))
    return store


def day(states: list[float]) -> list[ev.Event]:
    """One day's transitions over 1-D states, each next state the following state."""
    n = len(states) - 1
    return [
        transition(i, i * MINUTE_NS, [states[i]], next_state=[states[i + 1]], reward=i / 10)
        for i in range(n)
    ]


def test_a_day_without_its_night_is_one_truncated_episode_without_priorities() -> None:
    data = offline_dataset(store_of([run_started(16, 1), *day([0.0, 1.0, 2.0, 3.0])]), "r")
    (episode,) = data.episodes
    np.testing.assert_array_equal(episode.observations, [[0.0], [1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(episode.rewards, [0.0, 0.1, 0.2])
    assert list(episode.truncations) == [False, False, True] and not episode.terminations.any()
    assert np.isnan(episode.infos["priority"]).all() and np.isnan(episode.infos["is_weight"]).all()
    assert list(episode.infos["regime"]) == ["", "calm", "calm", "calm"]
    assert data.n_actions == 3 and data.total_steps == 3


def test_a_run_without_transitions_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        offline_dataset(store_of([run_started(16, 1)]), "r")
    assert str(caught.value) == "--run: run 'r' has no transitions yet: nothing to export"


def test_steps_that_do_not_chain_are_refused() -> None:
    steps = day([0.0, 1.0, 2.0])
    broken = transition(2, 2 * MINUTE_NS, [5.0], next_state=[6.0])
    with pytest.raises(StoreError) as caught:
        offline_dataset(store_of([run_started(16, 1), *steps, broken]), "r")
    assert str(caught.value) == (
        "run 'r', cycle 1: transition 1's next state is not transition 2's state: "
        "the day's steps do not chain"
    )
