"""The reliability figure: every hostile case in the test suite, tallied by command.

Runs ``pytest -m hostile`` (the cases marked ``hostile(command, kind=...)``: bad input,
SIGKILLs with resume, tampering, concurrent access) and counts, by command and by kind,
the cases that held their promise and those that broke it. ``quick`` runs only the
input cases (no kills). The figures and the machine go into RELIABILITY.md.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def tally(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Per command and per kind: cases tried, held, broken (a case is its nodeid; a
    failure in setup, call or teardown breaks it)."""
    cases: dict[str, dict[str, Any]] = {}
    for line in lines:
        case = cases.setdefault(line["nodeid"], {**line, "outcome": "held"})
        if line["outcome"] == "broken" or (
            line["outcome"] == "skipped" and case["outcome"] == "held"
        ):
            case["outcome"] = line["outcome"]
    by: dict[str, dict[str, collections.Counter[str]]] = {"command": {}, "kind": {}}
    for case in cases.values():
        for key in ("command", "kind"):
            by[key].setdefault(case[key], collections.Counter())[case["outcome"]] += 1
    total = collections.Counter(c["outcome"] for c in cases.values())
    return {
        "tried": sum(total.values()),
        "held": total["held"],
        "broken": total["broken"],
        "skipped": total["skipped"],
        "broken_cases": sorted(n for n, c in cases.items() if c["outcome"] == "broken"),
        "by_command": {k: dict(v) for k, v in sorted(by["command"].items())},
        "by_kind": {k: dict(v) for k, v in sorted(by["kind"].items())},
    }


def run(quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "hostile.jsonl"
        marker = "hostile and not slow" if quick else "hostile"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-m", marker, "-n", "2"]
            if _xdist()
            else [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-m", marker],
            cwd=ROOT,
            env={**os.environ, "JANUS_HOSTILE_LOG": str(log)},
            check=False,
        )
        seconds = time.perf_counter() - start
        lines = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    t = tally(lines)
    return [
        {"name": "hostile_cases", "value": t["tried"], "unit": "cases", "anchor": 300},
        {
            "name": "hostile_broken",
            "value": t["broken"],
            "unit": "cases",
            "anchor": 0,
            "broken_cases": t["broken_cases"],
        },
        {"name": "hostile_held", "value": t["held"], "unit": "cases", "skipped": t["skipped"]},
        {
            "name": "hostile_by_command",
            "value": len(t["by_command"]),
            "unit": "commands",
            "by_command": t["by_command"],
        },
        {
            "name": "hostile_by_kind",
            "value": len(t["by_kind"]),
            "unit": "kinds",
            "by_kind": t["by_kind"],
            "seconds": round(seconds, 1),
        },
    ]


def _xdist() -> bool:
    try:
        import xdist  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(json.dumps(figure))
