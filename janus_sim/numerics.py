"""The numerics profile a run ran under, and whether its digest is portable.

The digest is portable by construction, not by pinning: every computation whose result
enters the event log goes through ``core/detmath.py`` (our exp, log, pow and matrix
products from correctly rounded IEEE operations) or through numba kernels compiled
without ``fastmath``; no BLAS, LAPACK, SIMD-dispatched transcendental or CPU-specific
libm result is hashed. So nothing has to be set before numpy is imported, and a notebook
that imported numpy first gets the same digest as the command line.

What is still recorded, for a reader comparing two runs: numpy's SIMD dispatch, the BLAS
kernel, numba's code target, the C library and the machine. None of it is hashed (it
lives beside the run, in ``RunInfo.versions`` under ``numerics.*`` keys, and in a
baseline file), so two machines' digests can still agree; when they do not, ``compare``
and ``baseline check`` name the profile differences in one line.

A scenario can opt out of portability: ``projection.map_backend: umap-learn`` (umap-learn's
fastmath kernels, compiled for the host CPU) and ``projection.cluster_method: hdbscan``
(compiled tree code). ``portability`` says so, and the run records ``numerics.portable``
as ``no: <why>``.

Residue, stated honestly: numpy's ``Generator`` uses the C library's exp and log in the
rare accept/reject steps of its normal, gamma and Poisson samplers. A machine whose libm
rounds differently changes a draw only if a variate falls within one ULP of its rejection
boundary, which no test has met.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Mapping
from typing import Any

PREFIX = "numerics."
PORTABLE_KERNELS = "janus_sim.core.detmath (IEEE basic operations; numba without fastmath)"


def portability(scenario: Any) -> str:
    """``"yes"``, or ``"no: <reason>"`` when the scenario selects a CPU-dependent part."""
    reasons = []
    proj = getattr(scenario, "projection", None)
    if proj is not None and getattr(proj, "enabled", False):
        if getattr(proj, "map_backend", "portable") != "portable":
            reasons.append(f"projection.map_backend is {proj.map_backend} (host-CPU fastmath)")
        if getattr(proj, "cluster_method", "dbscan") == "hdbscan":
            reasons.append("projection.cluster_method is hdbscan (compiled tree code)")
    return "no: " + "; ".join(reasons) if reasons else "yes"


def _numpy_simd() -> str:
    mu = importlib.import_module("numpy._core._multiarray_umath")
    found = getattr(mu, "__cpu_features__", {})
    dispatch = list(getattr(mu, "__cpu_dispatch__", []))
    on = [f for f in dispatch if found.get(f)]
    return ",".join(on) if on else "baseline only"


def _blas() -> str:
    from threadpoolctl import threadpool_info

    parts = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        parts.append(
            f"{lib.get('internal_api', '?')} {lib.get('version', '?')} "
            f"{lib.get('architecture', '?')}"  # not the thread count: nothing hashed uses BLAS
        )
    return "; ".join(sorted(parts)) or "none loaded"


def _numba_target() -> str:
    import numba
    from llvmlite import binding

    name = getattr(numba.config, "CPU_NAME", None) or binding.get_host_cpu_name()
    return f"{name} (llvmlite {binding.llvm_version_info[0]})"


def profile(scenario: Any = None) -> dict[str, str]:
    """The process's numerics, as ``numerics.*`` keys (strings, stable order)."""
    libc, libc_version = platform.libc_ver()
    out = {
        "kernels": PORTABLE_KERNELS,
        "portable": portability(scenario) if scenario is not None else "yes",
        "machine": platform.machine(),
        "numpy_simd": _numpy_simd(),
        "blas": _blas(),
        "numba_target": _numba_target(),
        "libc": f"{libc} {libc_version}".strip() or "unknown",
    }
    return {PREFIX + k: v for k, v in out.items()}


def of(versions: Mapping[str, str]) -> dict[str, str]:
    """The ``numerics.*`` entries of a run's recorded versions (prefix dropped)."""
    return {k[len(PREFIX) :]: v for k, v in sorted(versions.items()) if k.startswith(PREFIX)}


def difference_line(a: Mapping[str, str], b: Mapping[str, str]) -> str | None:
    """One line naming how two profiles (as ``of`` returns them) differ; None when they
    agree or either is unknown (a run recorded before profiles existed)."""
    if not a or not b:
        return None
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if not keys:
        return None
    parts = [f"{k} {a.get(k, '-')!s} vs {b.get(k, '-')!s}" for k in keys]
    return "the runs had different numerics (A vs B): " + "; ".join(parts)
