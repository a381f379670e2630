"""What a run starts from: its scenario input, first event, generators, library versions.

Split from the engine so that tests and tools can drive the same steps by hand
(``tests/property/test_fold_vs_live.py``) without an engine.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import metadata

import numpy as np

from janus_sim import __version__
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.agent import init_params
from janus_sim.core.hippocampus import init_separation
from janus_sim.core.market import ObservedBars
from janus_sim.core.rng import component_rng
from janus_sim.core.world import World


@dataclass(frozen=True)
class ScenarioInput:
    """A scenario as a run takes it, loaded once by the composition root (``wiring``).

    ``scenario`` has its bars' sha256 pinned into it (a data-backed market), so the
    scenario hash names the data too; ``text`` is the file's text as read (stored with the
    run, so ``verify --replay`` can re-simulate from the log); ``source`` names the file
    in messages and in the run row; ``bars`` are the real bars, or None for a synthetic
    market."""

    scenario: Scenario
    text: str
    source: str
    bars: ObservedBars | None = None

    def with_seed(self, seed: int | None) -> ScenarioInput:
        """The same input under another seed (None: unchanged)."""
        return self if seed is None else replace(self, scenario=self.scenario.with_seed(seed))


NUMERIC_PACKAGES = (
    "numpy",
    "scipy",
    "numba",
    "polars",
    "duckdb",
    "pyarrow",
    "pydantic",
    "threadpoolctl",
    "umap-learn",
    "pynndescent",
    "scikit-learn",
    "hdbscan",
)


def library_versions(packages: Sequence[str] = NUMERIC_PACKAGES) -> dict[str, str]:
    """Versions of Python, janus-sim and ``packages`` ("absent" when not installed); by
    default the numeric libraries a run records as its metadata."""
    out = {"python": platform.python_version(), "janus-sim": __version__}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def initial_event(sc: Scenario, world: World) -> ev.RunStarted:
    """The run's first event: its inputs and seeded initial parameters."""
    init = component_rng(sc.seed, "init")
    d = len(sc.agent.features)
    params = init_params(d, init)
    # Pattern separation codes the market situation schemas see (neocortex.features).
    sep_w, sep_b = init_separation(len(sc.neocortex.features), sc.hippocampus.hidden_dim, init)
    return ev.RunStarted(
        cycle=0,
        t_ns=int(world.bars.t_ns[0] - world.bars.bar_ns),
        entity="run",
        scenario_name=sc.name,
        scenario_hash=sc.scenario_hash(),
        seed=sc.seed,
        feature_names=sc.agent.features,
        constraint_names=world.constraints.names,
        capacity=sc.hippocampus.capacity,
        alpha=sc.replay.alpha,
        policy_params=ev.as_matrix(params),
        sep_weights=ev.as_matrix(sep_w),
        sep_bias=tuple(sep_b.tolist()),
        config=sc.canonical_json(),
    )


def run_generators(seed: int) -> dict[str, np.random.Generator]:
    """The generators the days and nights draw from (checkpointed every night)."""
    return {name: component_rng(seed, name) for name in ("agent", "replay")}
