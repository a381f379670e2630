"""Phase 3 across processes and on the real scenario: bit-identical projection events in
two fresh processes, crash_week's anomaly before the crash trough, and the umap-learn
backend's cached aligned optimizer against umap-learn's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.anomaly_lead import crash_lead_of_run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]

_PRINT_PROJECTION = """
import hashlib
from janus_sim.memory_store import MemoryEventStore
from janus_sim.app.engine import Engine
from tests.unit.test_map_phase import projection_scenario

store = MemoryEventStore()
result = Engine(projection_scenario(), store, run_id="r").run()
h = hashlib.sha256()
n = 0
for row in store.read("r").records():
    if row.record.kind in ("projection_fitted", "anomaly_flagged"):
        h.update(row.record.kind.encode() + row.record.payload.encode())
        n += 1
print(n, h.hexdigest(), result.digest)
"""


def test_projection_events_are_identical_across_processes() -> None:
    outs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _PRINT_PROJECTION],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout.split())
    assert outs[0] == outs[1]
    assert int(outs[0][0]) > 3  # three maps and some anomalies were compared


def test_crash_week_flags_an_anomaly_before_the_crash_trough(tmp_path: Path) -> None:
    store = tmp_path / "store"
    args = ["run", "scenarios/crash_week.yaml", "--store", str(store), "--no-qdrant", "--quiet"]
    ran = subprocess.run(
        [sys.executable, "-m", "janus_sim", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    assert "bars before the trough" in ran.stdout, ran.stdout
    assert "novelty precision" in ran.stdout and "respond " in ran.stdout, ran.stdout
    with open_store(store) as s:
        (run,) = s.list_runs()
        lead = crash_lead_of_run(s, run.run_id)
    assert lead is not None and lead.bars_before is not None and lead.bars_before > 0
    assert lead.drawdown > 0.1


def test_the_cached_aligned_optimizer_is_umap_learns_own() -> None:
    """The reference backend's ``aligned_map_umap._optimize_aligned`` (compiled once,
    serial, cached) gives umap-learn's ``optimize_layout_aligned_euclidean`` (compiled
    per call, parallel) bit for bit."""
    import warnings

    from umap import AlignedUMAP, aligned_umap

    from janus_sim.core.aligned_map_umap import _optimize_aligned, _prepare_numba, _seed_numba

    _prepare_numba()
    rng = np.random.default_rng(5)
    x0, x1 = rng.normal(size=(40, 5)), rng.normal(size=(45, 5))
    relations = {i: i + 5 for i in range(30)}
    original = aligned_umap.optimize_layout_aligned_euclidean
    embeddings = []
    for optimizer in (original, _optimize_aligned):
        aligned_umap.optimize_layout_aligned_euclidean = optimizer
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _seed_numba(3)
                m = AlignedUMAP(n_components=3, n_epochs=30, random_state=1, transform_seed=2)
                m.fit([x0, x0], relations=[{i: i for i in range(40)}])
                m.update(x1, relations=relations)
        finally:
            aligned_umap.optimize_layout_aligned_euclidean = original
        embeddings.append([np.array(e) for e in m.embeddings_])
    for a, b in zip(*embeddings, strict=True):
        assert np.array_equal(a, b)
