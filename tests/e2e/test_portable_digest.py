"""One digest on every machine: a small run, projection on, in fresh processes under every
numerics setting this CPU allows (``janus_sim.portable_check``), digests equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from janus_sim import portable_check as pc
from tests.conftest import SMALL_PROJECTION, write_tiny

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _scenario(tmp_path: Path) -> Path:
    # Every phase that computes: the map, clusters, the projector, the anomaly monitor.
    return write_tiny(tmp_path / "portable.yaml", name="portable", projection=SMALL_PROJECTION)


def test_settings_cover_each_kind_of_numerics() -> None:
    names = [s.name for s in pc.settings()]
    assert names[0] == "default"
    for kind in ("numpy without", "numba generic target", "one thread", "eight threads"):
        assert any(n.startswith(kind) for n in names), (kind, names)
    if Path("/proc/cpuinfo").exists() and "x86" in __import__("platform").machine():
        assert "OpenBLAS Prescott" in names and "libm without FMA/AVX" in names


def test_the_digest_is_the_same_under_every_numerics_setting(tmp_path: Path) -> None:
    outcomes = pc.check(_scenario(tmp_path))
    table = "\n".join(
        f"{o.setting.name:32} {o.digest[:16] or o.error} ({o.n_events} events)" for o in outcomes
    )
    assert all(not o.error for o in outcomes), table
    assert len({(o.digest, o.n_events) for o in outcomes}) == 1, table
    assert outcomes[0].n_events > 100, table


_INSPECT = """
import importlib, json, pkgutil, sys
import numba
from numba.core.dispatcher import Dispatcher
import janus_sim.core as core
from janus_sim.app.baseline import record
from janus_sim.wiring import load_scenario
record(load_scenario(sys.argv[1]))  # compiles every kernel a run uses, into the empty cache
found = {}
for info in pkgutil.iter_modules(core.__path__):
    mod = importlib.import_module("janus_sim.core." + info.name)
    for name, obj in sorted(vars(mod).items()):
        if isinstance(obj, Dispatcher) and obj.py_func.__module__ == mod.__name__:
            asm = "".join(obj.inspect_asm().values()).lower() if obj.signatures else ""
            found[mod.__name__ + "." + name] = {
                "fastmath": bool(obj.targetoptions.get("fastmath")),
                "compiled": bool(obj.signatures),
                "fma": any(op in asm for op in ("vfmadd", "vfnmadd", "vfmsub", "vfnmsub")),
            }
print(json.dumps(found))
"""


def test_no_kernel_of_the_core_uses_fastmath_or_fused_multiply_add(tmp_path: Path) -> None:
    """Every numba kernel in janus_sim.core is compiled without fastmath, and the code a run
    compiles for this CPU (which has FMA) holds no fused multiply-add instruction. A fresh
    cache directory, because numba cannot show the assembly of code it loaded from cache."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run(
        [sys.executable, "-c", _INSPECT, str(_scenario(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kernels = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(kernels) >= 10, kernels
    assert not [k for k, v in kernels.items() if v["fastmath"]], kernels
    assert not [k for k, v in kernels.items() if v["fma"]], kernels
    assert sum(v["compiled"] for v in kernels.values()) >= 8, kernels
