"""How well the schemas recover the true regimes: the adjusted Rand index (phase 5).

Every transition in the episodic buffer is assigned to its maximum-likelihood schema (eq.
16, in the schemas' space) and compared with the regime the synthetic market generated it
in. The whole buffer, not a sample, so the figure does not wobble with a draw; and the
same computation whether or not phase 3 runs. ARI is 1 for a perfect recovery up to
renaming, about 0 for a chance one; with no schema at all every transition is in one
group and the ARI is 0 unless the buffer holds a single regime (then 1). Markets of real
bars carry no regime (``UNLABELLED``): no figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from janus_sim.core.market import UNLABELLED
from janus_sim.core.neocortex import log_likelihoods
from janus_sim.core.state import SimState


def _comb2(x: np.ndarray) -> float:
    return float(np.sum(x * (x - 1)) / 2.0)


def adjusted_rand_index(truth: Sequence[int], found: Sequence[int]) -> float:
    """Hubert and Arabie's ARI of two labelings of the same items (1.0 when both put
    every item in one group, or both are identical up to renaming)."""
    a = np.asarray(truth, dtype=np.int64)
    b = np.asarray(found, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("two labelings of the same items are needed")
    n = a.size
    if n < 2:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    index = _comb2(table.astype(np.float64))
    rows = _comb2(table.sum(axis=1).astype(np.float64))
    cols = _comb2(table.sum(axis=0).astype(np.float64))
    expected = rows * cols / _comb2(np.array([float(n)]))
    best = (rows + cols) / 2.0
    if best == expected:
        return 1.0
    return (index - expected) / (best - expected)


def schema_regime_ari(state: SimState, memory_cols: np.ndarray) -> float | None:
    """ARI(schema of each buffered transition, its true regime); None without labels."""
    buf, _ = state.require_buffer()
    slots = buf.chronological_slots()
    names = state.regime_names
    regimes = buf.regimes[slots]
    if len(slots) == 0 or all(names[r] == UNLABELLED for r in set(regimes.tolist())):
        return None
    schemas = list(state.schemas.values())
    if schemas:
        x = np.ascontiguousarray(state.view(buf.states[slots])[:, memory_cols])
        found = np.argmax(log_likelihoods(schemas, x), axis=1)
    else:
        found = np.zeros(len(slots), dtype=np.int64)
    return adjusted_rand_index(regimes, found)
