"""Proof that the digest does not depend on the machine's numerics, on one machine.

Runs one scenario in fresh processes, each under another numerics setting that changes
what a CPU-dependent computation would give, and collects the digests:

* numpy's SIMD dispatch, from everything this CPU has down to the baseline
  (``NPY_DISABLE_CPU_FEATURES``);
* OpenBLAS kernels this CPU can execute (``OPENBLAS_CORETYPE``: Prescott, Sandybridge,
  Haswell, SkylakeX);
* numba compiling for a generic x86-64 instead of this CPU (``NUMBA_CPU_NAME``);
* the C library's math without FMA and AVX (``GLIBC_TUNABLES=glibc.cpu.hwcaps=...``: glibc
  then loads the exp, log, pow and sin that a CPU without FMA would run, which round
  differently from the FMA variants);
* one thread, and many, for BLAS, OpenMP and numba.

A portable digest is the same in every row. ``tests/e2e/test_portable_digest.py`` runs
this in CI; ``python -m janus_sim.portable_check SCENARIO`` prints one process's
digest and numerics profile as JSON (what each fresh process runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_CORETYPES = (
    ("Prescott", ""),
    ("Sandybridge", "avx"),
    ("Haswell", "avx2"),
    ("SkylakeX", "avx512f"),
)
_NO_FMA = "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX,-AVX512F"


@dataclass(frozen=True)
class Setting:
    name: str
    env: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    setting: Setting
    digest: str
    n_events: int
    error: str = ""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def _numpy_dispatch() -> list[str]:
    """numpy's dispatch targets this CPU supports, lowest first."""
    import importlib

    mu = importlib.import_module("numpy._core._multiarray_umath")
    found = getattr(mu, "__cpu_features__", {})
    return [f for f in getattr(mu, "__cpu_dispatch__", []) if found.get(f)]


def settings() -> list[Setting]:
    """The numerics settings this machine can run (see the module doc), default first."""
    out = [Setting("default", {})]
    dispatch = _numpy_dispatch()
    # Disabling a feature disables nothing below it: each prefix drops the top targets.
    for k in range(len(dispatch)):
        off = dispatch[k:]
        out.append(
            Setting(f"numpy without {','.join(off)}", {"NPY_DISABLE_CPU_FEATURES": ",".join(off)})
        )
    flags = _cpu_flags()
    machine = os.uname().machine
    if machine in ("x86_64", "AMD64"):
        for core, needs in _CORETYPES:
            if not needs or needs in flags:
                out.append(Setting(f"OpenBLAS {core}", {"OPENBLAS_CORETYPE": core}))
        out.append(Setting("libm without FMA/AVX", {"GLIBC_TUNABLES": _NO_FMA}))
    out.append(Setting("numba generic target", {"NUMBA_CPU_NAME": "generic"}))
    one = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    many = {k: "8" for k in one}
    out += [Setting("one thread", one), Setting("eight threads", many)]
    return out


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # Start from this project's defaults, not from whatever the caller's shell pinned.
    for key in (
        "NPY_DISABLE_CPU_FEATURES",
        "NPY_ENABLE_CPU_FEATURES",
        "NUMBA_CPU_NAME",
        "NUMBA_CPU_FEATURES",
        "GLIBC_TUNABLES",
    ):
        env.pop(key, None)
    if "OPENBLAS_CORETYPE" in extra:
        env.pop("OPENBLAS_L2_SIZE", None)
    env.update(extra)
    return env


def run_one(scenario: Path, setting: Setting, timeout: float = 600.0) -> Outcome:
    """The digest of ``scenario`` from a fresh process under ``setting``."""
    done = subprocess.run(
        [sys.executable, "-m", "janus_sim.portable_check", str(scenario)],
        capture_output=True,
        text=True,
        env=_env(setting.env),
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(setting, "", 0, f"exit {done.returncode}: {tail}")
    doc = json.loads(done.stdout.strip().splitlines()[-1])
    return Outcome(setting, str(doc["digest"]), int(doc["n_events"]))


def check(
    scenario: Path,
    chosen: Sequence[Setting] | None = None,
    *,
    workers: int = 2,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every setting's outcome, in the order of ``chosen`` (default: ``settings()``)."""
    todo = list(chosen if chosen is not None else settings())
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_one, scenario, s) for s in todo]
        outcomes = []
        for f in futures:
            outcomes.append(f.result())
            if progress is not None:
                progress(outcomes[-1])
    return outcomes


def _main(argv: Sequence[str]) -> int:
    from janus_sim import numerics
    from janus_sim.app.baseline import record
    from janus_sim.wiring import load_scenario

    base = record(load_scenario(argv[0]))
    doc = {"digest": base.digest, "n_events": base.n_events, "numerics": numerics.profile()}
    print(json.dumps(doc, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
