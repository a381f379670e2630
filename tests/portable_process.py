"""Run a digest script in a fresh Python process, on this CPU as it is or as a plain
x86-64 one: the portability tests of the numba kernels compare the two."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASELINE_X86_64 = {
    "NUMBA_CPU_NAME": "x86-64",
    "NUMBA_CPU_FEATURES": "",
    "NPY_DISABLE_CPU_FEATURES": "AVX2,FMA3,AVX512F,AVX512_SKX",
}
"""numba compiling for plain x86-64 (SSE2: no AVX, no FMA) and numpy's AVX2 / FMA /
AVX-512 loops switched off."""


def digest_in_a_process(script: str, numba_cache: Path, **env: str) -> str:
    """What ``script`` prints, run by ``python -c`` with its own numba cache and ``env``."""
    run_env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache), **env}
    out = subprocess.run(
        [sys.executable, "-c", script], env=run_env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()
