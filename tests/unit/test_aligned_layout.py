"""The portable aligned layout (``core/aligned_layout.py``): bit-for-bit determinism,
finite output on degenerate input, separated blobs, the alignment pull, the a/b fit, no
FMA in the compiled kernels, and exact kNN order and PCA signs as properties."""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba.core.registry import CPUDispatcher

from janus_sim.core import aligned_layout as al
from janus_sim.core import fuzzy_graph as fg
from janus_sim.core.aligned_map import pca_coords


def _embed(
    x: np.ndarray,
    seed: int,
    prev: np.ndarray | None = None,
    related: np.ndarray | None = None,
    lam: float = 0.0,
    n_neighbors: int = 15,
    n_epochs: int = 100,
) -> np.ndarray:
    return al.embed(
        x,
        np.random.default_rng(seed),
        n_neighbors=n_neighbors,
        min_dist=0.1,
        n_epochs=n_epochs,
        prev=prev,
        related=related,
        lambda_align=lam,
    )


def _blobs(seed: int, n_per: int = 50, k: int = 4, d: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """k well-separated Gaussian blobs (centres ~ N(0, 10^2), unit spread) in d dims."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 10.0, size=(k, d))
    x = np.vstack([rng.normal(c, 1.0, size=(n_per, d)) for c in centres])
    return x, np.repeat(np.arange(k), n_per)


def _nn_label_agreement(y: np.ndarray, labels: np.ndarray) -> float:
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(d, np.inf)
    return float((labels[d.argmin(axis=1)] == labels).mean())


def test_same_inputs_and_seed_give_the_same_bits() -> None:
    x, _ = _blobs(0)
    first = [_embed(x, 7) for _ in range(2)]
    assert first[0].dtype == np.float64 and first[0].shape == (len(x), 3)
    assert np.array_equal(first[0], first[1])
    related = np.arange(len(x))[::-1].copy()
    related[::3] = -1
    later = [_embed(x[::-1], 8, prev=first[0], related=related, lam=0.1) for _ in range(2)]
    assert np.array_equal(later[0], later[1])
    assert not np.array_equal(first[0], _embed(x, 9))


def test_the_layout_draws_exactly_one_integer() -> None:
    x, _ = _blobs(1, n_per=5)
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    al.embed(x, rng, n_neighbors=15, min_dist=0.1, n_epochs=10)
    twin.integers(0, 2**63, dtype=np.int64)
    assert rng.random() == twin.random()


def test_degenerate_input_gives_finite_coordinates() -> None:
    rng = np.random.default_rng(2)
    cases = {
        "identical": np.ones((12, 4)),
        "duplicates": np.repeat(rng.normal(size=(4, 3)), 5, axis=0),
        "outlier": np.vstack([rng.normal(size=(20, 5)), np.full((1, 5), 1e6)]),
        "one feature": rng.normal(size=(15, 1)),
        "tiny spread": 1.0 + 1e-300 * rng.normal(size=(15, 3)),
        "no features": np.zeros((11, 0)),
    }
    for name, x in cases.items():
        for k in (1, 2, 15, 40):
            y = _embed(x, 0, n_neighbors=k, n_epochs=30)
            assert y.shape == (len(x), 3) and np.isfinite(y).all(), (name, k)
    # Unrelated points none of whose neighbours is related start at the related mean.
    x = np.vstack([rng.normal(size=(10, 3)), rng.normal(50.0, 1.0, size=(10, 3))])
    related = np.r_[np.arange(10), np.full(10, -1)]
    y = _embed(x, 1, prev=rng.normal(size=(10, 3)), related=related, lam=0.1, n_neighbors=5)
    assert np.isfinite(y).all()


def test_separated_blobs_land_in_separated_clusters() -> None:
    x, labels = _blobs(3)
    assert _nn_label_agreement(_embed(x, 4), labels) > 0.95


def test_the_alignment_term_keeps_a_repeated_slice_close() -> None:
    x, labels = _blobs(5)
    prev = _embed(x, 6)
    same = np.arange(len(x))
    again = {lam: _embed(x, 7, prev=prev, related=same, lam=lam) for lam in (0.0, 0.1)}
    moved = {lam: float(np.sqrt(((y - prev) ** 2).sum(axis=1)).mean()) for lam, y in again.items()}
    assert moved[0.1] < 0.5 * moved[0.0]
    assert _nn_label_agreement(again[0.1], labels) > 0.95


def test_the_curve_fit_gives_umap_learns_parameters() -> None:
    a, b = al.find_ab_params(0.1)
    assert abs(a - 1.577) < 1e-2 and abs(b - 0.895) < 1e-2
    # umap-learn's find_ab_params (scipy's curve_fit) for these min_dist values.
    assert np.allclose(al.find_ab_params(0.1), (1.576943460405378, 0.8950608781227859), atol=1e-5)
    assert np.allclose(al.find_ab_params(0.5), (0.5830300205483709, 1.334166992455648), atol=1e-5)


def _fresh_asm() -> dict[tuple[str, object], str]:
    """The assembly of every kernel of the layout's modules (the layout and its graph),
    for each signature it has been called with (its callees' too), compiled anew with its
    own options: numba cannot show a kernel loaded from its disk cache, and the code
    compiled is the same."""
    kernels = {
        name: k
        for module in (al, fg)
        for name, k in vars(module).items()
        if isinstance(k, CPUDispatcher) and k.py_func.__module__ == module.__name__
    }
    out: dict[tuple[str, object], str] = {}
    while new := [(n, s) for n, k in kernels.items() for s in k.signatures if (n, s) not in out]:
        for name, sig in new:
            opts = kernels[name].targetoptions
            assert "fastmath" not in opts, name
            fresh = numba.njit(**{o: v for o, v in opts.items() if o not in ("cache", "nopython")})(
                kernels[name].py_func
            )
            fresh.compile(sig)
            out[name, sig] = fresh.inspect_asm(sig)
    return out


def test_the_compiled_kernels_hold_no_fma() -> None:
    probe = numba.njit(fastmath=True)(lambda a, b, c: a * b + c)
    probe(1.0, 2.0, 3.0)
    if "vfmadd" not in "\n".join(probe.inspect_asm().values()):
        pytest.skip("this CPU has no FMA: there is nothing to detect")
    x, _ = _blobs(8, n_per=5)
    _embed(x, 1, prev=_embed(x, 0, n_epochs=5), related=np.arange(len(x)), lam=0.1, n_epochs=5)
    asm = _fresh_asm()
    assert {"_optimize", "_move", "knn", "_fuzzy_edges", "_centred_eigh", "_ab_normal"} <= {
        n for n, _ in asm
    }
    for (name, _), code in asm.items():
        assert code and "vfmadd" not in code and not re.search(r"\bvfn?m(add|sub)", code), name


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(2, 24).flatmap(
        lambda n: arrays(np.float64, (n, 3), elements=st.integers(-2, 2).map(float))
    ),
    k_frac=st.floats(0.0, 1.0),
    exponent=st.integers(-40, 40),
)
def test_knn_is_the_exact_stable_order_and_scale_invariant(
    x: np.ndarray, k_frac: float, exponent: int
) -> None:
    """Small integer points (many exact ties; every distance exact): each row is the point
    itself, then the others by (distance, index); scaling by 2^e keeps every index and
    scales every distance exactly."""
    n = len(x)
    k = 1 + int(k_frac * (n - 1))
    idx, dist = fg.knn(x, k)
    for i in range(n):
        sq = ((x - x[i]) ** 2).sum(axis=1)
        others = np.array([j for j in np.lexsort((np.arange(n), sq)) if j != i])
        assert idx[i].tolist() == [i, *others[: k - 1].tolist()]
        assert np.array_equal(dist[i], np.sqrt(sq[idx[i]]))
    scale = 2.0**exponent
    idx2, dist2 = fg.knn(x * scale, k)
    assert np.array_equal(idx, idx2) and np.array_equal(dist2, dist * scale)


@settings(max_examples=60, deadline=None)
@given(
    x=st.tuples(st.integers(1, 20), st.integers(1, 6)).flatmap(
        lambda s: arrays(np.float64, s, elements=st.floats(-1e3, 1e3))
    )
)
def test_principal_axes_are_signed_ordered_and_match_svd(x: np.ndarray) -> None:
    out = pca_coords(x)
    assert out.shape == (len(x), 3) and np.isfinite(out).all()
    for j in range(3):
        col = out[:, j]
        if col.any():
            assert col[np.argmax(np.abs(col))] > 0.0
    var = (out**2).sum(axis=0)
    assert (np.diff(var) <= 1e-9 * max(var[0], 1.0)).all()  # largest variance first
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)[:3]
    assert np.allclose(np.sqrt(var[: len(s)]), s, rtol=1e-6, atol=1e-6 * max(s[0], 1.0))
