"""Properties of phase 3's parts: degenerate slices, the projector's wire format, the
anomaly priority rule, cluster numbering."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from janus_sim.config import Projection
from janus_sim.core import events as ev
from janus_sim.core import projector as pj
from janus_sim.core.aligned_map import MIN_UMAP_POINTS
from janus_sim.core.anomaly_monitor import AnomalyMonitor
from janus_sim.core.map_phase import (
    ProjectionModel,
    cluster_centres,
    cluster_labels,
    projection_phase,
)
from janus_sim.core.replay_phase import _raise_anomalies
from janus_sim.core.state import Recorder, SimState, apply
from tests.factories import MINUTE_NS, run_started, transition

D = 4
CFG = Projection(sample_size=12, n_epochs=20, projector_max_iter=20)


def _recorder(states: np.ndarray) -> Recorder:
    state = SimState()
    apply(run_started(capacity=64, state_dim=D), state)
    for tid, s in enumerate(states):
        apply(transition(tid, (tid + 1) * MINUTE_NS, s.tolist()), state)
    return Recorder(state)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    big=st.sampled_from([(), (1,), (0, 2)]),
    seed=st.integers(0, 2**16),
)
def test_degenerate_slices_never_crash(sizes: list[int], big: tuple[int, ...], seed: int) -> None:
    """Nights of 0-4 points, some around UMAP-sized nights (``big``: where), each give a
    finite map; the chain starts at the first UMAP night and continues across the rest."""
    rng = np.random.default_rng(seed)
    model = ProjectionModel(CFG, seed)
    for at in big:
        sizes.insert(min(at, len(sizes)), MIN_UMAP_POINTS + 2)
    chained = False
    for cycle, n in enumerate(sizes, start=1):
        rec = _recorder(rng.normal(size=(n, D)))
        stats = projection_phase(rec, model, cycle=cycle, t_ns=rec.state.t_ns)
        (fit,) = rec.drain()
        assert isinstance(fit, ev.ProjectionFitted)
        assert stats.n_points == n == len(fit.coords) and stats.method == fit.method
        if n == 0:
            assert fit.method == "empty" and fit.projector == "" and not fit.centres
        elif n < MIN_UMAP_POINTS:
            assert fit.method == "pca"
        else:
            assert fit.method == ("aligned_umap" if chained else "aligned_umap_start")
            chained = True
        assert np.isfinite(np.array(fit.coords, dtype=float)).all() and fit.scale > 0
        monitor = AnomalyMonitor.of(fit, CFG.tau_anomaly, "map")
        if monitor is not None:
            y, d, k = monitor.check(np.zeros(D))
            assert y.shape == (3,) and d >= 0 and 0 <= k < len(monitor.points)


@settings(max_examples=50, deadline=None)
@given(
    shapes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_projector_round_trips_bit_for_bit(shapes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    layers = tuple(
        (rng.normal(size=(a, b)), rng.normal(size=b)) for a, b in itertools.pairwise(shapes)
    )
    net = pj.Projector(layers)
    back = pj.decode(pj.encode(net))
    assert back is not None
    for (w, b), (w2, b2) in zip(net.layers, back.layers, strict=True):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)
    x = rng.normal(size=(5, shapes[0]))
    assert np.array_equal(net.project(x), back.project(x))
    # A row's projection depends on that row alone (portable kernels, no BLAS): the
    # awake monitor's one-row projection is the batch's row, bit for bit.
    assert np.array_equal(net.project(x[0]), net.project(x)[0])


@given(
    p=arrays(np.float64, st.integers(1, 30), elements=st.floats(1e-6, 1e3)),
    first=st.integers(0, 50),
    flagged=st.lists(st.integers(-5, 90), max_size=10),
)
def test_flagged_transitions_in_the_buffer_get_the_max_priority(
    p: np.ndarray, first: int, flagged: list[int]
) -> None:
    ids = np.arange(first, first + len(p), dtype=np.int64)
    out = p.copy()
    _raise_anomalies(out, ids, flagged)
    inside = {f for f in flagged if first <= f < first + len(p)}
    for i, tid in enumerate(ids.tolist()):
        assert out[i] == (p.max() if tid in inside else p[i])


@given(
    points=arrays(np.float64, st.tuples(st.integers(0, 40), st.just(3)), elements=st.floats(-3, 3))
)
def test_clusters_are_numbered_by_first_member_and_centred_on_it(points: np.ndarray) -> None:
    labels = cluster_labels(points, CFG)
    assert len(labels) == len(points)
    firsts = [int(lab) for lab in labels if lab >= 0]
    assert list(dict.fromkeys(firsts)) == list(range(len(set(firsts))))
    centres = cluster_centres(points, labels)
    for k, c in enumerate(centres):
        assert np.allclose(c, points[labels == k].mean(axis=0))


def test_hdbscan_finds_the_same_blobs_as_dbscan() -> None:
    rng = np.random.default_rng(3)
    blobs = np.vstack([rng.normal(c, 0.05, size=(20, 3)) for c in (-2.0, 0.0, 2.0)])
    for method in ("dbscan", "hdbscan"):
        labels = cluster_labels(blobs, Projection(cluster_method=method))
        assert labels.tolist() == [k for k in range(3) for _ in range(20)], method
    assert (cluster_labels(blobs[:1], Projection(cluster_method="hdbscan")) == -1).all()
