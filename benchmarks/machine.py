"""What the figures were measured on: CPU, cores, memory, Python, libraries, load.

``describe()`` returns one JSON-ready dict (the suite prints it once, as the ``machine``
line); ``load_average()`` is printed again at the end, so a reader can tell whether the
machine was busy while the figures were taken. Linux reads ``/proc``; elsewhere the
fields it cannot learn are empty.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from janus_sim.app.run_inputs import library_versions

LIBRARIES = (
    "numpy",
    "scipy",
    "numba",
    "duckdb",
    "pyarrow",
    "polars",
    "pydantic",
    "qdrant-client",
    "cpprb",
    "umap-learn",
    "scikit-learn",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages (empty where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def versions() -> dict[str, str]:
    return library_versions(LIBRARIES)


def describe() -> dict[str, Any]:
    """The machine line: CPU model, logical cores (all and usable), RAM, OS, versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "name": "machine",
        "value": _cpu_model(),
        "unit": "",
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "ram_gib": _ram_gib(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load_average": load_average(),
        "versions": versions(),
    }
