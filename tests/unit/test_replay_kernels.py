"""The kernels added to phase 1 and phase 2 for speed (``policy_kernel``,
``logic_table._run_tape``, ``gates._recall``) are compiled without FMA: their bits must
not depend on the CPU."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
from llvmlite import binding

from janus_sim.core import gates
from janus_sim.core import logic_table as lt
from janus_sim.core import policy_kernel as pk
from janus_sim.core.agent import compiled_policy_step
from janus_sim.core.logic import ConstraintSet, PredicateParams, parse_formula
from tests.unit.test_projector import _fresh_asm

_FORMULAS = ("crash -> not adds_exposure", "deep_drawdown and not flat -> reduces_exposure")


def _call_every_kernel() -> None:
    cs = ConstraintSet(
        ("a", "b"),
        tuple(parse_formula(f) for f in _FORMULAS),
        (1.0, 2.0),
        PredicateParams(2.0, 0.2, 5.0, 8.0, 2),
    )
    rng = np.random.default_rng(0)
    ctx = np.array([[-3.0, 0.1, 6.0, 1.0], [0.5, 0.3, 0.0, -2.0], [0.1, 0.2, 1.0, 0.0]])
    table = cs.table(ctx)
    rows = np.array([0, 1, 2])
    params, states = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    compiled_policy_step(
        params, states, np.array([0, 1, 2]), rng.normal(size=3), states, np.zeros(3), ctx,
        np.ones(3), cs, gamma=0.9, learning_rate=0.1, logic_weight=1.0, temperature=1.0,
        grad_clip=1.0, target=params, position_limit=2,
        logic=lambda pi: table.truth_and_grad(rows, pi),
    )  # fmt: skip
    # Interpreted once, so that the kernels they call get signatures of their own.
    x = rng.normal(size=300)
    pk._sum(x)
    pk._sum.py_func(x)
    pk._pairwise.py_func(x)  # the stacked path, and its blocks
    pos, acts = np.array([1, -2, 0]), np.array([0, 1, 2])
    head_args = (params, params, states, states, acts, np.ones(3), np.zeros(3), np.ones(3), pos)
    _, _, _, _, grad, pi = pk.head.py_func(*head_args, 2, 0.9, 1.0, True)
    xs = np.column_stack([states, np.ones(3)])
    truth, jac = table.truth_and_grad(rows, pi)
    pk.tail.py_func(
        params, xs, grad, np.ones(3), pi, truth, jac, np.array([1.0, 2.0]), 3.0, 1.0, 1.0,
        True, 1.0, 0.1,
    )  # fmt: skip
    codes = np.abs(rng.normal(size=(12, 7)))
    gates._recall(codes[:4], codes, 3, np.full(4, -1, dtype=np.int64))


def test_the_kernels_hold_no_fma_instruction() -> None:
    if not binding.get_host_cpu_features().get("fma"):
        pytest.skip("this CPU has no FMA: there is nothing to detect")
    _call_every_kernel()
    kernels: dict[str, Any] = {
        name: k
        for name, k in vars(pk).items()
        if isinstance(k, numba.core.registry.CPUDispatcher) and k.py_func.__module__ == pk.__name__
    }  # its own kernels (detmath's exp_s, which it calls, has its own check)
    kernels.update({"_run_tape": lt._run_tape, "_recall": gates._recall})
    assert {"head", "tail", "_pairwise", "_block", "_run_tape", "_recall"} <= set(kernels)
    for name, kernel in kernels.items():
        assert kernel.signatures, f"{name} was never called, so never checked"
        assert not kernel.targetoptions.get("fastmath"), name
        asm = _fresh_asm(kernel)
        assert "ret" in asm, name
        assert "vfmadd" not in asm and "vfmsub" not in asm and "vfnmadd" not in asm, name
