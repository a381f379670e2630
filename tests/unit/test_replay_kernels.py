"""The phase 1 and phase 2 kernels added for speed (``logic_table._run_tape``,
``gates._recall``) are compiled without FMA: their bits must not depend on the CPU."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from llvmlite import binding

from janus_sim.core import gates
from janus_sim.core import logic_table as lt
from janus_sim.core.logic import ConstraintSet, PredicateParams, parse_formula
from tests.unit.test_projector import _fresh_asm

_FORMULAS = ("crash -> not adds_exposure", "deep_drawdown and not flat -> reduces_exposure")


def test_the_kernels_hold_no_fma_instruction() -> None:
    if not binding.get_host_cpu_features().get("fma"):
        pytest.skip("this CPU has no FMA: there is nothing to detect")
    cs = ConstraintSet(
        ("a", "b"),
        tuple(parse_formula(f) for f in _FORMULAS),
        (1.0, 2.0),
        PredicateParams(2.0, 0.2, 5.0, 8.0, 2),
    )
    ctx = np.array([[-3.0, 0.1, 6.0, 1.0], [0.5, 0.3, 0.0, -2.0]])
    cs.table(ctx).truth_and_grad(np.array([0, 1, 1]), np.full((3, 3), 1 / 3))
    codes = np.abs(np.random.default_rng(0).normal(size=(12, 7)))
    gates._recall(codes[:4], codes, 3, np.full(4, -1, dtype=np.int64))
    for kernel in (lt._run_tape, gates._recall):
        assert isinstance(kernel, numba.core.registry.CPUDispatcher) and kernel.signatures
        assert not kernel.targetoptions.get("fastmath")
        asm = _fresh_asm(kernel)
        assert "ret" in asm
        assert "vfmadd" not in asm and "vfmsub" not in asm and "vfnmadd" not in asm
