"""Episodic buffer invariants (eq. 1): capacity, FIFO eviction, time-range queries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.core.buffer import EpisodicBuffer


def _push(buf: EpisodicBuffer, t: int) -> None:
    if buf.is_full():
        buf.evict_oldest(buf.oldest_id)
    buf.push(
        buf.next_id,
        state=np.full(2, float(t)),
        action=1,
        reward=0.0,
        next_state=np.zeros(2),
        done=False,
        t_ns=t,
        dt_ns=1,
        ctx=np.zeros(4),
        violation=0.0,
        regime=0,
    )


@given(capacity=st.integers(1, 40), gaps=st.lists(st.integers(0, 5), max_size=150))
def test_never_exceeds_capacity_and_keeps_the_newest(capacity: int, gaps: list[int]) -> None:
    buf = EpisodicBuffer(capacity, 2)
    t = 0
    for g in gaps:
        t += g
        _push(buf, t)
        assert buf.size <= capacity
    n = len(gaps)
    assert buf.size == min(n, capacity)
    held = sorted(int(i) for i in buf.ids if i >= 0)
    assert held == list(range(max(0, n - capacity), n))  # the oldest were evicted first


@settings(max_examples=60)
@given(
    capacity=st.integers(1, 30),
    gaps=st.lists(st.integers(0, 4), min_size=1, max_size=80),
    lo=st.integers(-5, 200),
    width=st.integers(0, 120),
)
def test_range_query_equals_brute_force(
    capacity: int, gaps: list[int], lo: int, width: int
) -> None:
    buf = EpisodicBuffer(capacity, 2)
    t = 0
    for g in gaps:
        t += g
        _push(buf, t)
    hi = lo + width
    got = buf.range_ids(lo, hi).tolist()
    brute = sorted(
        int(buf.ids[s]) for s in range(capacity) if buf.ids[s] >= 0 and lo <= buf.t_ns[s] <= hi
    )
    assert got == brute


def test_fifo_violation_and_overflow_are_refused() -> None:
    buf = EpisodicBuffer(2, 2)
    _push(buf, 0)
    _push(buf, 1)
    try:
        buf.evict_oldest(1)
    except ValueError as e:
        assert "FIFO violated: evicting 1, oldest is 0" in str(e)
    else:  # pragma: no cover
        raise AssertionError("evicting a non-oldest id must fail")
    try:
        buf.push(
            2,
            state=np.zeros(2),
            action=0,
            reward=0.0,
            next_state=np.zeros(2),
            done=False,
            t_ns=2,
            dt_ns=1,
            ctx=np.zeros(4),
            violation=0.0,
            regime=0,
        )
    except ValueError as e:
        assert "buffer is full" in str(e)
    else:  # pragma: no cover
        raise AssertionError("pushing into a full buffer must fail")
