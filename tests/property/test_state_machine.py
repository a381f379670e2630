"""A stateful test: the fold's buffer + priorities against a naive list model."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from janus_sim.core import events as ev
from janus_sim.core.priorities import draw_batch
from janus_sim.core.state import SimState, apply
from tests.factories import run_started, transition


class BufferAndPriorities(RuleBasedStateMachine):
    @initialize(capacity=st.integers(1, 12), alpha=st.sampled_from([0.0, 0.6, 1.0]))
    def start(self, capacity: int, alpha: float) -> None:
        self.capacity, self.alpha = capacity, alpha
        self.state = SimState()
        apply(run_started(capacity, 2, alpha), self.state)
        self.model: list[list[float]] = []  # [id, t, priority], oldest first
        self.next_id = 0
        self.t = 0

    @rule(gap=st.integers(0, 3))
    def record(self, gap: int) -> None:
        self.t += gap
        if len(self.model) == self.capacity:
            oldest = int(self.model.pop(0)[0])
            apply(
                ev.TransitionEvicted(cycle=1, t_ns=self.t, entity="x", transition_id=oldest),
                self.state,
            )
        apply(transition(self.next_id, self.t, (0.0, 1.0)), self.state)
        self.model.append([self.next_id, self.t, 0.0])
        self.next_id += 1

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def update_priorities(self, data: st.DataObject) -> None:
        picks = data.draw(st.lists(st.integers(0, len(self.model) - 1), min_size=1, max_size=6))
        values = data.draw(
            st.lists(st.floats(1e-6, 50.0), min_size=len(picks), max_size=len(picks))
        )
        ids = tuple(int(self.model[i][0]) for i in picks)
        apply(
            ev.PrioritiesUpdated(
                cycle=1,
                t_ns=self.t,
                entity="buffer",
                iteration=0,
                transition_ids=ids,
                priorities=tuple(values),
            ),
            self.state,
        )
        for i, v in zip(picks, values, strict=True):  # last write wins, as in the fold
            self.model[i][2] = v

    @precondition(lambda self: any(m[2] > 0 for m in self.model))
    @rule(seed=st.integers(0, 2**16))
    def sample(self, seed: int) -> None:
        buf, tree = self.state.require_buffer()
        batch = draw_batch(tree, buf.size, 5, 0.5, np.random.default_rng(seed))
        live = {int(m[0]) for m in self.model if m[2] > 0}
        assert len(batch.indices) == 5
        assert {int(buf.ids[s]) for s in batch.indices} <= live

    @invariant()
    def matches_model(self) -> None:
        buf, tree = self.state.require_buffer()
        assert buf.size == len(self.model) <= self.capacity
        slots = buf.chronological_slots()
        assert buf.ids[slots].tolist() == [int(m[0]) for m in self.model]
        assert self.state.priorities[slots].tolist() == [m[2] for m in self.model]
        expected = math.fsum(m[2] ** self.alpha for m in self.model if m[2] > 0)
        assert math.isclose(tree.total, expected, rel_tol=1e-12, abs_tol=1e-300)
        empty = np.setdiff1d(np.arange(self.capacity), slots)
        assert (tree.get(empty) == 0).all()
        if self.model:
            lo, hi = int(self.model[0][1]), int(self.model[-1][1])
            mid = (lo + hi) // 2
            assert buf.range_ids(lo, mid).tolist() == [int(m[0]) for m in self.model if m[1] <= mid]


BufferAndPriorities.TestCase.settings = settings(max_examples=60, stateful_step_count=40)
TestBufferAndPriorities = BufferAndPriorities.TestCase
