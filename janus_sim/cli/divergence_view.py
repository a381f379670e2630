"""The divergence report as text and as JSON: one rendering for every command.

``compare``, ``baseline check``, ``run --resume``, ``verify --replay``, ``doctor`` and
``bisect`` print a ``Divergence`` (``janus_sim.app.divergence``) and the configuration
changes behind it with these functions, so the report reads the same everywhere. Lines
are plain text: callers that print through rich escape them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from janus_sim.app.divergence import Divergence
from janus_sim.app.scenario_identity import ConfigChange
from janus_sim.app.verify import VerifyReport

INDENT = "  "


def config_lines(changes: Sequence[ConfigChange]) -> list[str]:
    """``configuration resolved differently: `neocortex.eta` default 0.01 → 0.012``."""
    if not changes:
        return []
    head = "the same scenario file, resolved differently by the two code versions:"
    return [head, *(INDENT + c.line() for c in changes)]


def divergence_lines(d: Divergence, *, expected: str = "A", actual: str = "B") -> list[str]:
    """The first divergent event, its fields (expected vs actual) and what it reached."""
    out = [f"first divergent event: {d.headline()}"]
    if d.metadata:
        paths = sorted({f.path.split(".", 1)[0] for f in d.metadata})
        out.append(
            f"{INDENT}(run metadata passed over: run_started {', '.join(paths)} differ; "
            "the first behavioural difference is shown)"
        )
    if d.field == "length":
        out.append(INDENT + d.detail)
    for f in d.fields:
        out.append(INDENT + _sides(f.line(), expected, actual))
    if d.n_fields > len(d.fields):
        out.append(f"{INDENT}... and {d.n_fields - len(d.fields)} more differing fields")
    if d.reached:
        shown = []
        for r in d.reached:
            names = ", ".join(r.metrics[:4]) + (", ..." if len(r.metrics) > 4 else "")
            shown.append(f"cycle {r.cycle} ({names})" if names else f"cycle {r.cycle}")
        out.append(f"{INDENT}it reached {len(d.reached)} cycle(s): " + "; ".join(shown))
    elif d.reached is not None:
        out.append(f"{INDENT}no cycle's metrics moved beyond tolerance")
    return out


def _sides(text: str, expected: str, actual: str) -> str:
    if (expected, actual) == ("A", "B"):
        return text.replace("expected ", "A ").replace("actual ", "B ")
    return text.replace("expected ", f"{expected} ").replace("actual ", f"{actual} ")


def divergence_json(
    d: Divergence | None, changes: Sequence[ConfigChange] = ()
) -> dict[str, Any] | None:
    """The divergence (and configuration changes) as JSON-ready data; None when none."""
    if d is None and not changes:
        return None
    out: dict[str, Any] = {} if d is None else d.as_dict()
    out["config_changes"] = [c.as_dict() for c in changes]
    return out


def verify_dict(report: VerifyReport) -> dict[str, Any]:
    """``verify --json``: the checks' outcome and, after a replay, the divergence."""
    return {
        "ok": report.ok,
        "run_id": report.run_id,
        "status": report.status,
        "n_events": report.n_events,
        "stored_digest": report.stored_digest,
        "recomputed_digest": report.recomputed_digest,
        "replayed": report.replayed,
        "problems": list(report.problems),
        "notes": list(report.notes),
        "first_bad_seq": report.first_bad_seq,
        "divergence": divergence_json(report.divergence, report.config_changes),
    }
