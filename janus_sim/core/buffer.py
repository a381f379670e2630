"""The episodic buffer B_STM (eq. 1): a FIFO ring of transitions, indexed by time.

Transition ids are consecutive integers from 0, so transition ``i`` lives in slot
``i % capacity`` and the buffer always holds the ids ``oldest .. next_id - 1``. Times are
non-decreasing in id order, which makes a time-range query two binary searches over the
chronological view. The buffer is mutated only by the state fold (``state.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

CTX_DIM = 4


class EpisodicBuffer:
    """Fixed-capacity FIFO of transitions stored as column arrays."""

    def __init__(self, capacity: int, state_dim: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be > 0, got {capacity}")
        self.capacity = capacity
        self.state_dim = state_dim
        self.ids = np.full(capacity, -1, dtype=np.int64)
        self.states = np.zeros((capacity, state_dim))
        self.next_states = np.zeros((capacity, state_dim))
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity)
        self.dones = np.zeros(capacity)
        self.t_ns = np.zeros(capacity, dtype=np.int64)
        self.dt_ns = np.zeros(capacity, dtype=np.int64)
        self.ctx = np.zeros((capacity, CTX_DIM))
        self.violations = np.zeros(capacity)
        self.regimes = np.zeros(capacity, dtype=np.int16)
        self.next_id = 0
        self.size = 0

    @property
    def oldest_id(self) -> int:
        return self.next_id - self.size

    def is_full(self) -> bool:
        return self.size == self.capacity

    def slot(self, transition_id: int) -> int:
        return transition_id % self.capacity

    def slots_of(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(ids, dtype=np.int64) % self.capacity

    def chronological_slots(self) -> np.ndarray:
        """Occupied slots, oldest first."""
        return self.slots_of(np.arange(self.oldest_id, self.next_id, dtype=np.int64))

    def push(
        self,
        transition_id: int,
        *,
        state: Any,
        action: int,
        reward: float,
        next_state: Any,
        done: bool,
        t_ns: int,
        dt_ns: int,
        ctx: Any,
        violation: float,
        regime: int,
    ) -> int:
        """Write the next transition; the caller must have evicted the oldest if full."""
        if transition_id != self.next_id:
            raise ValueError(f"expected transition id {self.next_id}, got {transition_id}")
        if self.is_full():
            raise ValueError("buffer is full: evict the oldest transition first")
        if self.size and t_ns < self.t_ns[self.slot(transition_id - 1)]:
            raise ValueError("transitions must arrive in time order")
        s = self.slot(transition_id)
        self.ids[s] = transition_id
        self.states[s] = state
        self.next_states[s] = next_state
        self.actions[s] = action
        self.rewards[s] = reward
        self.dones[s] = float(done)
        self.t_ns[s] = t_ns
        self.dt_ns[s] = dt_ns
        self.ctx[s] = ctx
        self.violations[s] = violation
        self.regimes[s] = regime
        self.next_id += 1
        self.size += 1
        return s

    def evict_oldest(self, transition_id: int) -> int:
        """Remove the oldest transition, which must be ``transition_id`` (FIFO)."""
        if self.size == 0 or transition_id != self.oldest_id:
            raise ValueError(
                f"FIFO violated: evicting {transition_id}, oldest is "
                f"{self.oldest_id if self.size else None}"
            )
        s = self.slot(transition_id)
        self.ids[s] = -1
        self.size -= 1
        return s

    def range_ids(self, t_from: int, t_to: int) -> np.ndarray:
        """Ids of the transitions with ``t_from <= t_ns <= t_to``, oldest first."""
        slots = self.chronological_slots()
        times = self.t_ns[slots]
        lo = int(np.searchsorted(times, t_from, side="left"))
        hi = int(np.searchsorted(times, t_to, side="right"))
        return self.ids[slots[lo:hi]]
