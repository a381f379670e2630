"""Our portable DBSCAN (``core/dbscan.py``): scikit-learn's labels up to renumbering, the
boundary rule, border points, degenerate inputs, and invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.cluster import DBSCAN

from janus_sim.core.dbscan import core_points, dbscan
from janus_sim.core.map_phase import _renumber


def _sklearn(x: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(x)
    return _renumber(np.asarray(labels, dtype=np.int64))


def _blobs(seed: int) -> np.ndarray:
    """A few Gaussian blobs of varied spread, plus uniform background noise."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 6))
    centres = rng.uniform(-4.0, 4.0, size=(k, 3))
    members = centres[rng.integers(0, k, size=int(rng.integers(20, 300)))]
    blobs = members + rng.normal(0.0, rng.uniform(0.1, 0.5), size=members.shape)
    noise = rng.uniform(-6.0, 6.0, size=(int(rng.integers(0, 30)), 3))
    return rng.permutation(np.vstack([blobs, noise]))


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_scikit_learn_up_to_renumbering(seed: int) -> None:
    x = _blobs(seed)
    rng = np.random.default_rng(1000 + seed)
    eps, min_samples = float(rng.uniform(0.2, 0.9)), int(rng.integers(1, 12))
    assert np.array_equal(dbscan(x, eps, min_samples), _sklearn(x, eps, min_samples))


def test_noise_points_and_cluster_numbering() -> None:
    rng = np.random.default_rng(3)
    blobs = [rng.normal(c, 0.1, size=(30, 3)) for c in (-2.0, 0.0, 2.0)]
    x = rng.permutation(np.vstack([*blobs, rng.uniform(-6.0, 6.0, size=(15, 3))]))
    labels = dbscan(x, 0.3, 5)
    assert (labels == -1).sum() >= 10 and labels.max() == 2
    assert np.array_equal(labels, _sklearn(x, 0.3, 5))
    firsts = [int(lab) for lab in labels if lab >= 0]
    assert list(dict.fromkeys(firsts)) == list(range(labels.max() + 1))


def test_min_samples_one_makes_every_point_core_and_nothing_noise() -> None:
    x = _blobs(5)
    labels = dbscan(x, 0.4, 1)
    assert (labels >= 0).all() and core_points(x, 0.4, 1).all()
    assert np.array_equal(labels, _sklearn(x, 0.4, 1))
    far = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    assert dbscan(far, 0.5, 1).tolist() == [0, 1]  # isolated points are their own cluster


def test_a_point_exactly_eps_away_is_a_neighbour() -> None:
    line = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    assert dbscan(line, 0.5, 2).tolist() == [0, 0, 0, -1]
    assert dbscan(line, np.nextafter(0.5, 0.0), 2).tolist() == [-1, -1, -1, -1]
    assert np.array_equal(dbscan(line, 0.5, 2), _sklearn(line, 0.5, 2))
    # 3-4-5: the squared distance 25 and eps * eps = 25 are both exact.
    triangle = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert dbscan(triangle, 5.0, 3).tolist() == [0, 0, 0]
    assert core_points(triangle, 5.0, 3).tolist() == [False, True, False]
    assert np.array_equal(dbscan(triangle, 5.0, 3), _sklearn(triangle, 5.0, 3))


def test_a_border_point_joins_the_first_cluster_that_reaches_it() -> None:
    # Two runs of four core points, around 0 and around 2; index 4 (x = 1) lies exactly
    # eps from one core point of each but has three neighbours: a border point.
    x = np.array([-0.375, -0.25, -0.125, 0.0, 1.0, 2.0, 2.125, 2.25, 2.375])
    x = np.column_stack([x, np.zeros((9, 2))])
    assert core_points(x, 1.0, 4).tolist() == [True] * 4 + [False] + [True] * 4
    assert dbscan(x, 1.0, 4).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    # Reversed, the right-hand run founds the first cluster: the border point is its.
    flipped = x[::-1].copy()
    assert dbscan(flipped, 1.0, 4).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert np.array_equal(dbscan(x, 1.0, 4), _sklearn(x, 1.0, 4))
    assert np.array_equal(dbscan(flipped, 1.0, 4), _sklearn(flipped, 1.0, 4))


def test_empty_and_tiny_inputs() -> None:
    assert dbscan(np.zeros((0, 3)), 0.5, 5).shape == (0,)
    assert dbscan(np.zeros((0, 3)), 0.5, 5).dtype == np.int64
    assert dbscan(np.zeros((1, 3)), 0.5, 5).tolist() == [-1]
    assert dbscan(np.zeros((1, 3)), 0.5, 1).tolist() == [0]
    assert dbscan(np.zeros((4, 3)), 0.5, 4).tolist() == [0, 0, 0, 0]  # duplicates


@pytest.mark.parametrize(
    ("points", "eps", "min_samples", "match"),
    [
        (np.array([[0.0, np.nan]]), 0.5, 2, "finite"),
        (np.zeros((2, 3)), 0.0, 2, "eps"),
        (np.zeros((2, 3)), float("inf"), 2, "eps"),
        (np.zeros((2, 3)), 0.5, 0, "min_samples"),
        (np.zeros(3), 0.5, 2, "2-D"),
    ],
)
def test_rejects_bad_input(points: np.ndarray, eps: float, min_samples: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        dbscan(points, eps, min_samples)


# Points on a grid of eighths and offsets of eighths: every coordinate, every translated
# coordinate and every difference is exact, so translation leaves each distance's bits.
_GRID = st.integers(-32, 32).map(lambda k: k / 8.0)


@settings(max_examples=60, deadline=None)
@given(
    points=arrays(np.float64, st.tuples(st.integers(0, 40), st.just(3)), elements=_GRID),
    offset=st.tuples(*[st.integers(-64, 64).map(lambda k: k / 8.0)] * 3),
    eps=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
    min_samples=st.integers(1, 6),
)
def test_labels_are_invariant_to_an_exact_translation(
    points: np.ndarray, offset: tuple[float, float, float], eps: float, min_samples: int
) -> None:
    moved = points + np.array(offset)
    assert np.array_equal(dbscan(moved, eps, min_samples), dbscan(points, eps, min_samples))


@settings(max_examples=60, deadline=None)
@given(
    points=arrays(np.float64, st.tuples(st.integers(1, 40), st.just(3)), elements=_GRID),
    seed=st.integers(0, 2**32 - 1),
    eps=st.sampled_from([0.25, 0.5, 1.0]),
    min_samples=st.integers(1, 6),
)
def test_a_permutation_keeps_the_core_points_and_their_clusters(
    points: np.ndarray, seed: int, eps: float, min_samples: int
) -> None:
    """Core points and their partition into clusters do not depend on the order (border
    points may: they join whichever cluster reaches them first)."""
    perm = np.random.default_rng(seed).permutation(len(points))
    core = core_points(points, eps, min_samples)
    assert np.array_equal(core_points(points[perm], eps, min_samples), core[perm])
    labels, permuted = dbscan(points, eps, min_samples), dbscan(points[perm], eps, min_samples)
    back = np.empty_like(permuted)
    back[perm] = permuted  # the permuted run's label of each original point
    pairs = {(int(a), int(b)) for a, b in zip(labels[core], back[core], strict=True)}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    assert ((labels == -1) == (back == -1)).all()  # noise is not a matter of order
