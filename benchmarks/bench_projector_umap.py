"""Eq. 31's UMAP term in the projector (``core/projector_umap.py``): what it buys, what it
costs, on phase-3-like data.

Per seed: crash_week runs in memory; from its final state, 300 buffered states (through
the scaler, the schemas' columns, as phase 3 samples them) plus the schema centroids are
the training points and 300 other buffered states the held-out ones; the training points,
standardized, are laid out by ``aligned_layout.embed`` with the scenario's map settings
(a first slice: no alignment), normalized as phase 3 does, and the projector is trained on
them with the term at each weight (the scenario's ``projector_max_iter``). Reported per
weight: ``sklearn.manifold.trustworthiness`` (5 neighbours) of the projector's outputs
against the standardized inputs, on the training points and on the held-out ones; the
regression RMSE in normalized units (phase 3's ``projector_rmse``); the CE per edge; the
training time. Two curves: UMAP's 1 / (1 + a d^2b) on normalized distances (``scale`` 1,
the term's default) and on the map's own units (``scale`` = the slice's scale).

    python benchmarks/bench_projector_umap.py           # seeds 1, 2, 3
    JANUS_BENCH_SEEDS=4,5 python benchmarks/bench_projector_umap.py
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.manifold import trustworthiness

from janus_sim.app.engine import Engine
from janus_sim.app.timetravel import Moment, state_at
from janus_sim.core import projector as pj
from janus_sim.core import projector_umap as pu
from janus_sim.core.aligned_layout import embed
from janus_sim.core.codec import decode
from janus_sim.core.events import ProjectionFitted as Fitted
from janus_sim.core.map_phase import normalization
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventQuery
from janus_sim.wiring import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "crash_week.yaml"
WEIGHTS = (0.0, 0.1, 0.3, 1.0)
N_TRAIN = N_HELD = 300
K = 5


@dataclass
class Night:
    x: np.ndarray  # training states (raw, the schemas' columns)
    xs: np.ndarray  # standardized
    held: np.ndarray  # held-out states (raw)
    held_s: np.ndarray  # standardized by the training moments
    coords: np.ndarray
    center: np.ndarray
    scale: float
    map_trust: float
    max_iter: int
    n_neighbors: int
    min_dist: float


def _night(seed: int) -> Night:
    sc = load_scenario(str(SCENARIO)).scenario.with_seed(seed)
    st = MemoryEventStore()
    t0 = time.perf_counter()
    Engine(sc, st, run_id="q").run()
    query = EventQuery(kinds=["projection_fitted"])
    fits = [e for r in st.read("q", query).records() if isinstance(e := decode(r.record), Fitted)]
    last = fits[-1]
    print(
        f"seed {seed}: run {time.perf_counter() - t0:.1f} s, {len(fits)} nights; the last:"
        f" {len(last.point_ids)} points, scale {last.scale:.2f},"
        f" projector_rmse {last.projector_rmse:.3f}"
    )
    state, _ = state_at(st, "q", Moment())
    buf, _ = state.require_buffer()
    chrono = buf.chronological_slots()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(chrono), size=N_TRAIN + N_HELD, replace=False)
    cols = np.array(sc.memory_columns())
    train_slots, held_slots = chrono[np.sort(pick[:N_TRAIN])], chrono[np.sort(pick[N_TRAIN:])]
    centroids = [s.mean for s in state.schemas.values()]
    x = np.vstack([*centroids, state.view(buf.states[train_slots])[:, cols]])
    held = state.view(buf.states[held_slots])[:, cols]
    mu, sd = x.mean(axis=0), pj.spread(x)
    xs = (x - mu) / sd
    p = sc.projection
    coords = embed(xs, rng, n_neighbors=p.n_neighbors, min_dist=p.min_dist, n_epochs=p.n_epochs)
    center, scale = normalization(coords)
    return Night(
        x, xs, held, (held - mu) / sd, coords, center, scale,
        float(trustworthiness(xs, coords, n_neighbors=K)), p.projector_max_iter,
        p.n_neighbors, p.min_dist,
    )  # fmt: skip


def _fit(night: Night, seed: int, term: pu.UmapTerm) -> tuple[pj.Projector, float]:
    t0 = time.perf_counter()
    net = pj.train(
        night.x, night.coords, night.center, night.scale,
        seed=seed, max_iter=night.max_iter, umap=term,
    )  # fmt: skip
    return net, time.perf_counter() - t0


def _measure(night: Night, net: pj.Projector, term: pu.UmapTerm, secs: float) -> dict[str, float]:
    out = net.project(night.x)
    return {
        "trust": float(trustworthiness(night.xs, out, n_neighbors=K)),
        "held": float(trustworthiness(night.held_s, net.project(night.held), n_neighbors=K)),
        "rmse": pj.rmse(net, night.x, night.coords) / night.scale,
        "ce": pu.cross_entropy(term, (out - night.center) / night.scale),
        "secs": secs,
    }


def _line(label: str, r: dict[str, float]) -> str:
    return (
        f"  {label} trust {r['trust']:.4f} held-out {r['held']:.4f} rmse {r['rmse']:.4f}"
        f" ce {r['ce']:.4f} train {r['secs']:.2f} s"
    )


def main() -> None:
    seeds = [int(s) for s in os.environ.get("JANUS_BENCH_SEEDS", "1,2,3").split(",") if s]
    # Compile the kernels once, outside the timings.
    warm = np.random.default_rng(0).normal(size=(40, 2))
    t = pu.umap_term(warm, n_neighbors=5, min_dist=0.1, weight=1.0, rng=np.random.default_rng(0))
    pj.train(warm, warm[:, [0, 1, 0]], np.zeros(3), 1.0, seed=0, max_iter=2, umap=t)
    table: dict[tuple[str, float], list[dict[str, float]]] = {}
    for seed in seeds:
        night = _night(seed)
        print(
            f"  {len(night.x)} training points, d = {night.x.shape[1]}, scale {night.scale:.2f},"
            f" map trustworthiness {night.map_trust:.4f}"
        )
        plain: tuple[pj.Projector, float] | None = None
        for curve, curve_scale in (("normalized", 1.0), ("map units", night.scale)):
            for weight in WEIGHTS:
                term = pu.umap_term(
                    night.xs, n_neighbors=night.n_neighbors, min_dist=night.min_dist,
                    weight=weight, rng=np.random.default_rng([seed, 1]), scale=curve_scale,
                )  # fmt: skip
                if weight == 0.0:  # one net for both curves (the term is not evaluated)
                    plain = plain or _fit(night, seed, term)
                    net, secs = plain
                else:
                    net, secs = _fit(night, seed, term)
                r = _measure(night, net, term, secs)
                table.setdefault((curve, weight), []).append(r)
                print(_line(f"{curve:>10} w={weight:<4}", r))
    print(f"\nmean over seeds {seeds} (trust: trustworthiness, {K} neighbours; ce: per edge):")
    for (curve, weight), rows in table.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(_line(f"{curve:>10} w={weight:<4}", mean))


if __name__ == "__main__":
    main()
