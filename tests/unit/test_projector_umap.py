"""Eq. 31's UMAP term in the projector's training (``core/projector_umap.py``): the
gradient of the combined objective, the CE against its formula, weight 0 changing no bit
(and not evaluating the term), determinism, what the term does to trustworthiness, and
no FMA instruction in its kernels."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

from janus_sim.core import aligned_layout as al
from janus_sim.core import fuzzy_graph as fg
from janus_sim.core import projector as pj
from janus_sim.core import projector_umap as pu
from tests.portable_process import BASELINE_X86_64, digest_in_a_process
from tests.unit.test_projector import _fresh_asm


def _digest(p: pj.Projector) -> str:
    return hashlib.sha256(pj.encode(p).encode()).hexdigest()


def _blobs(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """States around four centres (uneven scales), and their standardized form."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 4.0, size=(4, d))
    x = (centres[rng.integers(0, 4, n)] + rng.normal(size=(n, d))) * rng.uniform(0.5, 2.0, d)
    return x, (x - x.mean(axis=0)) / pj.spread(x)


def _noisy_picture(xs: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A poor map of ``xs``: its principal axes plus noise; with its (center, scale)."""
    coords = al.principal_coords(xs, 3) + np.random.default_rng(seed).normal(size=(len(xs), 3))
    center = coords.mean(axis=0)
    return coords, center, float(np.sqrt(np.mean((coords - center) ** 2)))


def _term(
    xs: np.ndarray, weight: float, *, seed: int = 2, n_neighbors: int = 8, scale: float = 1.0
) -> pu.UmapTerm:
    rng = np.random.default_rng(seed)
    return pu.umap_term(
        xs, n_neighbors=n_neighbors, min_dist=0.1, weight=weight, rng=rng, scale=scale
    )


def _args(t: pu.UmapTerm) -> tuple[Any, ...]:
    return (t.heads, t.tails, t.weights, t.neg_heads, t.neg_tails, t.a, t.b, t.weight)


def test_the_term_is_built_from_the_fuzzy_graph() -> None:
    _, xs = _blobs(60, 4, seed=1)
    rng = np.random.default_rng(3)
    t = pu.umap_term(xs, n_neighbors=8, min_dist=0.1, weight=0.5, rng=rng, negatives=4)
    heads, tails, w = fg.fuzzy_graph(xs, 8, pu.GRAPH_EPOCHS)
    assert np.array_equal(t.heads, heads) and np.array_equal(t.tails, tails)
    assert np.array_equal(t.weights, w) and t.heads.dtype == t.neg_tails.dtype == np.int64
    assert (t.a, t.b) == al.find_ab_params(0.1) and t.weight == 0.5
    assert np.array_equal(t.neg_heads, np.repeat(heads, 4))
    assert (t.neg_tails != t.neg_heads).all() and t.neg_tails.min() >= 0
    assert t.neg_tails.max() < 60 and len(np.unique(t.neg_tails)) > 50  # spread over all
    # Exactly one draw from the caller's generator, whatever the input.
    for x in (xs, xs[:1], xs[:0]):
        mine, ref = np.random.default_rng(9), np.random.default_rng(9)
        pu.umap_term(x, n_neighbors=8, min_dist=0.1, weight=1.0, rng=mine)
        ref.integers(0, 2**63, dtype=np.int64)
        assert mine.random() == ref.random()
    again = pu.umap_term(xs, n_neighbors=8, min_dist=0.1, weight=0.5, rng=np.random.default_rng(3))
    assert np.array_equal(again.neg_tails, pu.umap_term(
        xs, n_neighbors=8, min_dist=0.1, weight=0.5, rng=np.random.default_rng(3)
    ).neg_tails)  # fmt: skip
    scaled = _term(xs, 1.0, scale=2.5)
    assert scaled.a == pytest.approx(t.a * 2.5 ** (2 * t.b), rel=1e-14) and scaled.b == t.b
    assert _term(xs[:1], 1.0).heads.size == 0 == _term(xs[:1], 1.0).neg_heads.size


def test_bad_terms_are_refused() -> None:
    _, xs = _blobs(30, 3, seed=2)
    with pytest.raises(ValueError, match="weight"):
        _term(xs, -0.1)
    with pytest.raises(ValueError, match="scale"):
        _term(xs, 0.1, scale=0.0)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        _term(xs[0], 0.1)
    t = _term(xs, 0.1)
    with pytest.raises(ValueError, match="outside"):
        pu.cross_entropy(t, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="one entry per edge"):
        pu.UmapTerm(t.heads[:-1], t.tails, t.weights, t.neg_heads, t.neg_tails, 1.0, 1.0, 0.1)


def _reference_ce(t: pu.UmapTerm, y: np.ndarray) -> float:
    """The module doc's formula in numpy (libm's log and pow: a check, not portable)."""

    def q(h: np.ndarray, tl: np.ndarray) -> np.ndarray:
        d2 = np.sum((y[h] - y[tl]) ** 2, axis=1)
        return 1.0 / (1.0 + t.a * np.power(d2, t.b))

    pos = -t.weights * np.log(np.clip(q(t.heads, t.tails), pu.EPS, 1.0))
    neg = -np.log(np.clip(1.0 - q(t.neg_heads, t.neg_tails), pu.EPS, 1.0))
    return float((pos.sum() + neg.sum()) / len(t.heads))


def test_the_ce_is_the_documented_formula() -> None:
    assert abs(pu.LOG_INV_EPS - math.log(1e4)) <= math.ulp(pu.LOG_INV_EPS)
    _, xs = _blobs(50, 4, seed=3)
    t = _term(xs, 1.0)
    y = np.random.default_rng(4).normal(size=(50, 3))
    assert pu.cross_entropy(t, y) == pytest.approx(_reference_ce(t, y), rel=1e-12)
    # Both clips: coincident points (1 - q = 0 for a negative pair) and far ones (q < EPS).
    y[t.neg_tails[0]] = y[t.neg_heads[0]]
    y[t.tails[3]] = y[t.heads[3]] + 1e4
    assert pu.cross_entropy(t, y) == pytest.approx(_reference_ce(t, y), rel=1e-12)
    assert pu.cross_entropy(_term(xs[:1], 1.0), y[:1]) == 0.0


def test_the_ce_gradient_is_the_ces() -> None:
    """The output-space gradient against central differences, clipped pairs included."""
    _, xs = _blobs(40, 3, seed=5)
    t = _term(xs, 1.0)
    y = np.random.default_rng(6).normal(size=(40, 3))
    y[t.neg_tails[1]] = y[t.neg_heads[1]]  # a clipped negative pair, gradient 0
    args = (t.heads, t.tails, t.weights, t.neg_heads, t.neg_tails, t.a, t.b)
    g = np.zeros_like(y)
    pu._ce_grad(y, *args, g)
    scratch = np.zeros_like(y)
    for i, c in [(i, c) for i in range(0, 40, 3) for c in range(3)]:
        e = np.zeros_like(y)
        e[i, c] = 1e-6
        up = pu._ce_grad(y + e, *args, scratch)
        down = pu._ce_grad(y - e, *args, scratch)
        assert (up - down) / 2e-6 == pytest.approx(g[i, c], rel=1e-5, abs=1e-7)


def test_the_gradient_is_the_combined_objectives() -> None:
    """Backpropagation of regression + weight * CE against central differences, on a
    small network (two chunks and a remainder: the edges couple samples across chunks)."""
    rng = np.random.default_rng(7)
    n, d, h1, h2 = 45, 3, 7, 5
    _, xs = _blobs(n, d, seed=8)
    y = rng.normal(size=(n, 3))
    t = _term(xs, 0.7)
    theta = pj._init([d, h1, h2, 3], seed=1)
    grad, scratch = np.empty_like(theta), np.empty_like(theta)
    loss = pu._loss_grad_umap(theta, xs, y, h1, h2, grad, *_args(t))
    plain = pj._loss_grad(theta, xs, y, h1, h2, scratch)
    assert loss == pytest.approx(plain + 0.7 * pu.cross_entropy(t, _outputs(theta, xs, h1, h2)))
    for at in rng.choice(theta.size, size=30, replace=False).tolist():
        e = np.zeros_like(theta)
        e[at] = 1e-6
        up = pu._loss_grad_umap(theta + e, xs, y, h1, h2, scratch, *_args(t))
        down = pu._loss_grad_umap(theta - e, xs, y, h1, h2, scratch, *_args(t))
        assert (up - down) / 2e-6 == pytest.approx(grad[at], rel=1e-4, abs=1e-7)


def _outputs(theta: np.ndarray, xs: np.ndarray, h1: int, h2: int) -> np.ndarray:
    d = xs.shape[1]
    sizes, h, at = [d, h1, h2, 3], xs, 0
    for k in range(3):
        fan_in, fan_out = sizes[k], sizes[k + 1]
        w = theta[at : at + fan_in * fan_out].reshape(fan_in, fan_out)
        b = theta[at + fan_in * fan_out : at + fan_in * fan_out + fan_out]
        at += fan_in * fan_out + fan_out
        h = (pj._dense_relu if k < 2 else pj._dense)(h, w, b)
    return h


def test_weight_zero_gives_the_same_bits_without_evaluating_the_term(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, xs = _blobs(70, 5, seed=9)
    coords, center, scale = _noisy_picture(xs, seed=10)
    plain = _digest(pj.train(x, coords, center, scale, seed=3, max_iter=15))

    def refuse(*args: object) -> object:
        raise AssertionError("the UMAP term was evaluated at weight 0")

    zero = _term(xs, 0.0)
    monkeypatch.setattr(pu, "objective", refuse)
    got = pj.train(x, coords, center, scale, seed=3, max_iter=15, umap=zero)
    assert _digest(got) == plain
    monkeypatch.undo()
    # No edge (a single point): the term is zero, and so is its effect.
    one = pj.train(x[:1], coords[:1], coords[0], 1.0, seed=3, max_iter=5)
    lone = pj.train(x[:1], coords[:1], coords[0], 1.0, seed=3, max_iter=5, umap=_term(xs[:1], 1.0))
    assert _digest(lone) == _digest(one)
    assert (
        _digest(pj.train(x, coords, center, scale, seed=3, max_iter=15, umap=_term(xs, 0.3)))
        != plain
    )


def test_same_arguments_same_bits() -> None:
    x, xs = _blobs(70, 5, seed=11)
    coords, center, scale = _noisy_picture(xs, seed=12)
    runs = [
        pj.train(x, coords, center, scale, seed=3, max_iter=15, umap=_term(xs, 0.5, seed=s))
        for s in (4, 4, 5)
    ]
    assert _digest(runs[0]) == _digest(runs[1])
    assert _digest(runs[0]) != _digest(runs[2])  # other negatives
    assert np.array_equal(runs[0].project(x), runs[1].project(x))


def test_the_term_lowers_the_ce_and_raises_trustworthiness() -> None:
    """A noisy target map: the regression alone reproduces its noise; the term pulls the
    outputs towards the inputs' neighbourhoods (measured: trustworthiness 0.896 -> 0.959
    at weight 1, the CE 1.31 -> 1.01, with the map's scale)."""
    from sklearn.manifold import trustworthiness

    x, xs = _blobs(120, 5, seed=0)
    coords, center, scale = _noisy_picture(xs, seed=0)
    trust, ce = {}, {}
    for weight in (0.0, 1.0):
        t = _term(xs, weight, n_neighbors=10, scale=scale)
        net = pj.train(x, coords, center, scale, seed=3, max_iter=60, umap=t)
        out = net.project(x)
        trust[weight] = trustworthiness(xs, out, n_neighbors=5)
        ce[weight] = pu.cross_entropy(t, (out - center) / scale)
    assert ce[1.0] < 0.9 * ce[0.0]
    assert trust[1.0] > trust[0.0] + 0.02


def test_the_kernels_hold_no_fma_instruction() -> None:
    _, xs = _blobs(40, 3, seed=13)
    t = _term(xs, 0.5)
    pu.cross_entropy(t, np.zeros((40, 3)))
    theta = pj._init([3, 6, 5, 3], seed=0)
    pu._loss_grad_umap(theta, xs, np.zeros((40, 3)), 6, 5, np.empty_like(theta), *_args(t))
    # Interpreted, so that the callees (projector's kernels, detmath's) get signatures.
    pu._loss_grad_umap.py_func(theta, xs, np.zeros((40, 3)), 6, 5, np.empty_like(theta), *_args(t))
    y = np.random.default_rng(14).normal(size=(40, 3))
    heads, tails, w, neg_heads, neg_tails, a, b, _ = _args(t)
    pu._ce_grad.py_func(y, heads, tails, w, neg_heads, neg_tails, a, b, np.zeros((40, 3)))
    kernels = {
        name: k for name, k in vars(pu).items() if isinstance(k, numba.core.registry.CPUDispatcher)
    }
    expected = {"_ce_grad", "_loss_grad_umap", "_dense", "_dense_relu", "exp_s", "log_s"}
    assert expected <= set(kernels)
    for name, kernel in kernels.items():
        assert kernel.signatures, f"{name} was never called, so never checked"
        assert not kernel.targetoptions.get("fastmath"), name
        asm = _fresh_asm(kernel)
        assert "ret" in asm, name
        assert "vfmadd" not in asm and "vfmsub" not in asm and "vfnmadd" not in asm, name


_DIGEST = """
import hashlib, numpy as np
from janus_sim.core import projector as pj, projector_umap as pu
rng = np.random.default_rng(11)
x = rng.normal(size=(90, 6)) * rng.uniform(0.5, 3.0, 6)
xs = (x - x.mean(axis=0)) / pj.spread(x)
coords = np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2] / 3, np.cos(x[:, 3])], axis=1)
t = pu.umap_term(xs, n_neighbors=10, min_dist=0.1, weight=0.5, rng=np.random.default_rng(1))
net = pj.train(x, coords, coords.mean(axis=0), 1.3, seed=5, max_iter=25, umap=t)
h = hashlib.sha256(pj.encode(net).encode())
h.update(np.float64(pu.cross_entropy(t, net.project(x))).tobytes())
print(h.hexdigest())
"""


@pytest.mark.slow
def test_a_baseline_x86_64_build_gives_the_same_bits(tmp_path: Path) -> None:
    """Training with the term compiled for plain x86-64 (no AVX, no FMA) with numpy's
    AVX2/FMA/AVX-512 loops off gives this machine's bits."""
    here = digest_in_a_process(_DIGEST, tmp_path / "host")
    baseline = digest_in_a_process(_DIGEST, tmp_path / "baseline", **BASELINE_X86_64)
    assert len(here) == 64 and baseline == here
