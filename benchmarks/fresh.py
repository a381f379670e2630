"""Helpers for figures taken in a fresh process, and for writing a figure.

``night(...)`` runs ``benchmarks/night.py`` in a new Python process and returns its JSON
object; ``figure(...)`` builds one output line with its anchor and ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def figure(
    name: str, value: float | None, unit: str, anchor: float | None = None, **context: Any
) -> dict[str, Any]:
    """One JSON line: ``name``, ``value``, ``unit``, and with an ``anchor`` (the goal or the
    reference's figure, in ``unit``) the ``ratio`` value / anchor, then the context."""
    out: dict[str, Any] = {"name": name, "value": value, "unit": unit}
    if anchor is not None:
        out["anchor"] = anchor
        out["ratio"] = None if value is None else round(value / anchor, 4)
    out.update(context)
    return out


def run_python(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 3600
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the repository root in a new process; raises with its stderr
    when it fails."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def night(
    transitions: int,
    *,
    replays: int | None = None,
    runs: int = 1,
    warmup: bool = False,
    profile: Path | None = None,
    numba_cache: Path | None = None,
) -> dict[str, Any]:
    """The JSON object of ``benchmarks/night.py`` run with these options in a new process.

    ``numba_cache`` points numba's cache at that folder (``NUMBA_CACHE_DIR``): an empty
    one makes the process compile every kernel, a filled one lets it load them.
    """
    args = [str(HERE / "night.py"), "--transitions", str(transitions), "--runs", str(runs)]
    if replays is not None:
        args += ["--replays", str(replays)]
    if warmup:
        args.append("--warmup")
    if profile is not None:
        args += ["--profile", str(profile)]
    env = {"NUMBA_CACHE_DIR": str(numba_cache)} if numba_cache is not None else None
    result: dict[str, Any] = json.loads(run_python(args, env).stdout.strip().splitlines()[-1])
    return result
