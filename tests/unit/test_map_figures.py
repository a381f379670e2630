"""Phase 3's figures beside the map: trustworthiness (against scikit-learn's), eq. 26's
schema members, the clusters' night-to-night stability, eq. 32's reference points."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.manifold import trustworthiness as sk_trustworthiness

from janus_sim.core import events as ev
from janus_sim.core import projector as pj
from janus_sim.core.anomaly_monitor import AnomalyMonitor, reference_points
from janus_sim.core.map_phase import cluster_stability, schema_members
from janus_sim.core.trust import trustworthiness


@settings(max_examples=40, deadline=None)
@given(n=st.integers(11, 60), d=st.integers(3, 12), seed=st.integers(0, 2**32 - 1))
def test_trustworthiness_is_scikit_learns(n: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    high = rng.normal(size=(n, d))
    low = high[:, :3] + rng.normal(scale=0.7, size=(n, 3))
    assert trustworthiness(high, low) == pytest.approx(
        sk_trustworthiness(high, low, n_neighbors=5), abs=1e-12
    )


def test_trustworthiness_of_a_faithful_picture_is_one_and_of_noise_is_lower() -> None:
    rng = np.random.default_rng(3)
    high = rng.normal(size=(80, 6))
    assert trustworthiness(high, high * 2.0) == 1.0
    assert trustworthiness(high, rng.normal(size=(80, 3))) < 0.7  # type: ignore[operator]


def test_trustworthiness_needs_k_below_half_the_points() -> None:
    x = np.zeros((10, 3))
    assert trustworthiness(x, x) is None
    with pytest.raises(ValueError, match="same points"):
        trustworthiness(np.zeros((12, 3)), np.zeros((11, 3)))


def test_schema_members_are_the_points_within_tau_of_each_centroid() -> None:
    norm = np.array(
        [[0.0, 0, 0], [5.0, 0, 0], [0.3, 0, 0], [0.0, 0.49, 0], [0.0, 0.5, 0], [5.2, 0, 0]]
    )
    # Two centroids first (rows 0 and 1), then four states.
    assert schema_members(norm, 2, 0.5) == [(2, 3), (5,)]
    assert schema_members(norm, 2, 0.1) == [(), ()]
    assert schema_members(norm, 0, 0.5) == []


def test_cluster_stability_is_the_ari_over_the_points_of_both_nights() -> None:
    last = {"a": 0, "b": 0, "c": 1, "d": 1, "gone": 2}
    ids = ["a", "b", "c", "d", "new"]
    same = np.array([5, 5, 7, 7, 0])  # renamed clusters, same partition
    assert cluster_stability(ids, same, last) == 1.0
    split = np.array([0, 1, 2, 3, 0])
    assert cluster_stability(ids, split, last) < 1.0  # type: ignore[operator]
    assert cluster_stability(["a", "new"], np.array([0, 0]), last) is None


def _fit(ids: tuple[str, ...], coords: ev.Matrix, centres: ev.Matrix) -> ev.ProjectionFitted:
    return ev.ProjectionFitted(
        cycle=1, t_ns=0, entity="map", method="pca", params=(), point_ids=ids,
        coords=coords, labels=(-1,) * len(ids), centres=centres, center=(0.0, 0.0, 0.0),
        scale=1.0, projector="", projector_rmse=0.0,
    )  # fmt: skip


def test_reference_points_follow_the_setting() -> None:
    fit = _fit(
        ("schema:a", "transition:1", "schema:b"),
        ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (2.0, 2.0, 2.0)),
        ((9.0, 9.0, 9.0),),
    )
    assert reference_points(fit, "map").tolist() == [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    assert reference_points(fit, "schemas").tolist() == [[0, 0, 0], [2, 2, 2]]
    assert reference_points(fit, "clusters").tolist() == [[9, 9, 9]]
    with pytest.raises(ValueError, match="unknown anomaly reference"):
        reference_points(fit, "nearest")
    with pytest.raises(ValueError, match="unknown anomaly reference 'nearest': one of"):
        AnomalyMonitor.of(fit, 0.6, "nearest")
    with pytest.raises(ValueError, match="needs the buffered states"):
        AnomalyMonitor.of(_with_projector(fit), 0.6, "memory")


def _with_projector(fit: ev.ProjectionFitted) -> ev.ProjectionFitted:
    net = pj.train(np.eye(4), np.eye(4)[:, :3], np.zeros(3), 1.0, seed=0, max_iter=3)
    return dataclasses.replace(fit, projector=pj.encode(net))


def test_the_memory_reference_is_the_buffer_as_the_projector_places_it() -> None:
    fit = _with_projector(_fit(("schema:a",), ((50.0, 50.0, 50.0),), ()))
    net = pj.decode(fit.projector)
    assert net is not None
    memory = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    monitor = AnomalyMonitor.of(fit, 0.6, "memory", memory)
    assert monitor is not None and np.array_equal(monitor.points, net.project(memory))
    _, d, k = monitor.check(memory[1])
    assert (d, k) == (0.0, 1)  # a buffered state is at distance 0 from itself
    assert AnomalyMonitor.of(fit, 0.6, "memory", np.zeros((0, 4))) is None
