"""Gaussian schemas (eq. 13-16, 21-22): moments, likelihoods and assignment."""

from __future__ import annotations

import numpy as np
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from janus_sim.config import Neocortex
from janus_sim.core.neocortex import (
    Schema,
    assign,
    consolidate,
    create,
    log_likelihoods,
)

EPS = st.sampled_from([1e-6, 1e-3, 0.05, 1.0])
ETA = Neocortex().eta
MODERATE = st.floats(-10.0, 10.0, allow_nan=False)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def state_sequence(draw: st.DrawFn, max_abs: float = 1e100) -> tuple[int, list[np.ndarray]]:
    """(d, states): random, constant, collinear and extreme-magnitude runs mixed together."""
    d = draw(st.integers(1, 5))
    vec = arrays(np.float64, d, elements=MODERATE)
    states: list[np.ndarray] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["random", "constant", "collinear", "extreme"]))
        n = draw(st.integers(1, 40))
        if kind == "random":
            states += [draw(vec) for _ in range(min(n, 8))]
        elif kind == "constant":
            states += [draw(vec)] * n
        elif kind == "collinear":
            a, v = draw(vec), draw(vec)
            ts = draw(st.lists(MODERATE, min_size=1, max_size=n))
            states += [a + t * v for t in ts]
        else:
            scale = draw(st.sampled_from([1e-100, 1e30, 1e60, max_abs]))
            states += [draw(vec) * scale for _ in range(min(n, 4))]
    return d, states


def _run(d: int, states: list[np.ndarray], eps: float) -> list[Schema]:
    out = [create("schema-0-0", states[0], 0.0, 0, eps)]
    for i, s in enumerate(states[1:], start=1):
        out.append(consolidate(out[-1], s, float(i), i, ETA))
    return out


@settings(max_examples=80, deadline=None)
@given(seq=state_sequence(), eps=EPS)
def test_covariance_stays_symmetric_psd(seq: tuple[int, list[np.ndarray]], eps: float) -> None:
    d, states = seq
    for sc in _run(d, states, eps):
        assert np.array_equal(sc.cov, sc.cov.T)
        scale = max(float(np.max(np.abs(sc.cov))), eps)
        assert np.linalg.eigvalsh(sc.cov).min() >= -1e-12 * scale
        assert np.all(np.diag(sc.cov) >= 0.0)


@settings(max_examples=80, deadline=None)
@given(seq=state_sequence(max_abs=1e150), eps=EPS)
def test_mean_update_is_convex(seq: tuple[int, list[np.ndarray]], eps: float) -> None:
    _, states = seq
    sc = create("schema-0-0", states[0], 0.0, 0, eps)
    for i, s in enumerate(states[1:], start=1):
        try:
            new = consolidate(sc, s, 0.0, i, ETA)
        except ValueError:  # covariance overflow beyond |s - mu| ~ 1e153 is refused
            assert float(np.max(np.abs(s - sc.mean))) > 1e150
            return
        assert np.all(new.mean >= np.minimum(sc.mean, s))
        assert np.all(new.mean <= np.maximum(sc.mean, s))
        assert new.n_points == sc.n_points + 1
        sc = new


@settings(max_examples=60, deadline=None)
@given(
    seq=state_sequence(),
    eps=EPS,
    data=st.data(),
)
def test_log_likelihood_finite_for_any_finite_state(
    seq: tuple[int, list[np.ndarray]], eps: float, data: st.DataObject
) -> None:
    d, states = seq
    schemas = _run(d, states, eps)[:: max(1, len(states) // 4)]
    x = data.draw(arrays(np.float64, (data.draw(st.integers(1, 6)), d), elements=FINITE))
    x = np.vstack([x, np.full((1, d), 1e150), np.full((1, d), -1.7e308)])
    ll = log_likelihoods(schemas, x)
    assert ll.shape == (x.shape[0], len(schemas))
    assert np.all(np.isfinite(ll))


@settings(max_examples=60, deadline=None)
@given(
    d=st.integers(1, 6),
    eps=st.sampled_from([1e-2, 0.1, 1.0]),
    n_updates=st.integers(0, 30),
    data=st.data(),
)
def test_log_likelihood_matches_scipy(
    d: int, eps: float, n_updates: int, data: st.DataObject
) -> None:
    vec = arrays(np.float64, d, elements=MODERATE)
    sc = create("schema-0-0", data.draw(vec), 0.0, 0, eps)
    for i in range(n_updates):
        sc = consolidate(sc, data.draw(vec), 0.0, i, eta=0.2)
    x = data.draw(arrays(np.float64, (data.draw(st.integers(1, 5)), d), elements=MODERATE))
    ref = scipy.stats.multivariate_normal(sc.mean, sc.cov + eps * np.eye(d)).logpdf(x)
    got = log_likelihoods([sc], x)[:, 0]
    np.testing.assert_allclose(got, np.atleast_1d(ref), rtol=1e-9, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    d=st.integers(1, 4),
    data=st.data(),
    log_tau=st.floats(-200.0, 10.0),
)
def test_assign_is_argmax_lowest_index_or_none(d: int, data: st.DataObject, log_tau: float) -> None:
    vec = arrays(np.float64, d, elements=st.floats(-3.0, 3.0, allow_nan=False))
    base = [
        create(f"schema-0-{i}", data.draw(vec), 0.0, 0, data.draw(st.sampled_from([0.1, 1.0])))
        for i in range(data.draw(st.integers(0, 4)))
    ]
    # duplicates (identical moments) make exact ties that must go to the first copy
    picks = data.draw(st.lists(st.integers(0, max(len(base) - 1, 0)), max_size=3)) if base else []
    schemas = base + [
        Schema(f"dup-{j}", base[p].mean, base[p].cov, 1, 0.0, 0, 0, base[p].eps)
        for j, p in enumerate(picks)
    ]
    order = data.draw(st.permutations(range(len(schemas))))
    schemas = [schemas[i] for i in order]
    s = data.draw(vec)
    got = assign(schemas, s, log_tau)
    if not schemas:
        assert got is None
        return
    ll = [float(log_likelihoods([sc], s[None, :])[0, 0]) for sc in schemas]
    best = max(ll)
    expected = None if best < log_tau else ll.index(best)  # list.index: first occurrence
    assert got == expected


@given(
    state=arrays(np.float64, st.integers(1, 12), elements=FINITE),
    eps=st.floats(1e-300, 1e300),
    reward=st.floats(-1e6, 1e6),
    t_ns=st.integers(0, 2**62),
)
def test_new_schema_is_exact(state: np.ndarray, eps: float, reward: float, t_ns: int) -> None:
    sc = create("schema-3-1", state, reward, t_ns, eps)
    assert np.array_equal(sc.mean, state)
    assert np.array_equal(sc.cov, eps * np.eye(state.shape[0]))
    assert (sc.n_points, sc.avg_reward, sc.created_ns, sc.updated_ns) == (1, reward, t_ns, t_ns)
    assert sc.id == "schema-3-1"
