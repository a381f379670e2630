"""Regression baselines: a scenario's expected per-cycle metrics and run digest, as JSON.

``record`` runs a scenario in memory (``MemoryEventStore``, no vector store: nothing is
written anywhere) and returns a ``Baseline``; ``Baseline.to_json`` is stable (sorted
keys, two-space indent, trailing newline) so a regenerated baseline diffs cleanly in
git. ``load`` reads one back or raises ``BaselineError`` (exit 2) naming the file and
the field. ``check`` re-runs the baseline's scenario with its seed and compares with the
same rule as ``janus-sim compare`` (``compare.compare_cycles``); it also fails when the
digest or the number of events changed (the event log changed) or the scenario file no
longer hashes as recorded.

Scenario paths are stored as given to ``baseline save`` and resolved against the
working directory by ``check``: run both from the repository root.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from janus_sim import __version__, numerics
from janus_sim.app.compare import (
    DEFAULT_TOLERANCES,
    CompareReport,
    CycleRow,
    RunRef,
    Tolerances,
    compare_cycles,
    jsonable,
    reach_of,
    read_cycles,
)
from janus_sim.app.divergence import FINGERPRINT_BYTES, fingerprint_divergence, fingerprints
from janus_sim.app.in_memory import run_in_memory
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.app.run_outcome import Observer, RunResult
from janus_sim.app.scenario_identity import config_changes, file_identity
from janus_sim.config import Scenario
from janus_sim.core.market import ObservedBars
from janus_sim.errors import ConfigError, JanusError
from janus_sim.memory_store import MemoryEventStore

FORMAT = 1
"""Version of the baseline file layout (``format`` in the file)."""

RUN_ID = "baseline"


class BaselineError(JanusError):
    """A baseline file is missing, unreadable or malformed (exit 2)."""


@dataclass(frozen=True)
class Baseline:
    scenario: str
    """The scenario file as given to ``baseline save`` (POSIX separators)."""
    scenario_name: str
    scenario_hash: str
    """``Scenario.scenario_hash`` of the file as written (before any ``--seed``)."""
    seed: int
    janus_sim_version: str
    digest: str
    n_events: int
    cycles: dict[int, CycleRow]
    numerics: dict[str, str] = field(default_factory=dict)
    """The numerics profile it was saved under (``janus_sim.numerics.of``); not compared,
    but named when a check's digest differs (older files have none)."""
    identity: str = ""
    """``scenario_identity.file_identity`` of the scenario file (older files: "")."""
    config: str = ""
    """The resolved configuration, canonical JSON: names each default that changed."""
    fingerprints: bytes = b""
    """``divergence.fingerprints`` of the run's events: locates the first divergent one."""

    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "scenario": self.scenario,
            "scenario_name": self.scenario_name,
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "janus_sim_version": self.janus_sim_version,
            "digest": self.digest,
            "n_events": self.n_events,
            "numerics": dict(sorted(self.numerics.items())),
            "identity": self.identity,
            "config": json.loads(self.config) if self.config else None,
            "event_fingerprints": base64.b64encode(self.fingerprints).decode(),
            # A list, not a mapping: sorted string keys would put cycle 10 before cycle 2.
            "cycles": [
                {
                    "cycle": c,
                    "date": row.date,
                    "metrics": {k: jsonable(v) for k, v in row.metrics.items()},
                }
                for c, row in sorted(self.cycles.items())
            ],
        }
        return json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n"


def _number(value: object) -> float:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a number, got {value!r}")


def display_path(path: str | Path, cwd: Path | None = None) -> str:
    """``path`` relative to ``cwd`` when it lies below it, with POSIX separators."""
    p = Path(path)
    base = (cwd or Path.cwd()).resolve()
    if p.is_absolute():
        with contextlib.suppress(ValueError):  # outside cwd: keep it absolute
            p = p.resolve().relative_to(base)
    return p.as_posix()


def record(
    inputs: ScenarioInput, *, seed: int | None = None, observer: Observer | None = None
) -> Baseline:
    """Run the loaded scenario ``inputs`` (``wiring.load_scenario``) in memory, under
    ``seed`` if given, and return its baseline."""
    file_hash = inputs.scenario.scenario_hash()
    sc = inputs.with_seed(seed).scenario
    store, result = _run(sc, inputs.source, inputs.text, observer, inputs.bars)
    try:
        cycles = read_cycles(store, RUN_ID)
        prints = fingerprints(store.read(RUN_ID))
    finally:
        store.close()
    return Baseline(
        scenario=display_path(inputs.source),
        scenario_name=sc.name,
        scenario_hash=file_hash,
        seed=sc.seed,
        janus_sim_version=__version__,
        digest=result.digest,
        n_events=result.n_events,
        cycles=cycles,
        numerics=numerics.of(numerics.profile(sc)),
        identity=file_identity(inputs.text, sc.canonical_json()),
        config=sc.canonical_json(),
        fingerprints=prints,
    )


def _run(
    sc: Scenario,
    source: str,
    text: str,
    observer: Observer | None,
    bars: ObservedBars | None,
) -> tuple[MemoryEventStore, RunResult]:
    """The run in a fresh in-memory store (no vector store): nothing touches the disk."""
    return run_in_memory(sc, run_id=RUN_ID, source=source, text=text, bars=bars, observer=observer)


def load(path: str | Path) -> Baseline:
    """The baseline in the JSON file at ``path``; BaselineError naming what is wrong."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise BaselineError(f"{where}: no such baseline file") from e
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise BaselineError(f"{where}: cannot read the baseline ({reason})") from e
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise BaselineError(
            f"{where}: not valid JSON at line {e.lineno}, column {e.colno} ({e.msg})"
        ) from e
    try:
        return _from_doc(doc)
    except (KeyError, TypeError, ValueError) as e:
        problem = f"missing field {e.args[0]!r}" if isinstance(e, KeyError) else str(e)
        raise BaselineError(f"{where}: not a janus-sim baseline: {problem}") from e


def _text(doc: dict[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected text, got {value!r}")
    return value


def _int(doc: dict[str, Any], key: str) -> int:
    value = doc[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{key}: expected a whole number, got {value!r}")
    return value


def _from_doc(doc: object) -> Baseline:
    if not isinstance(doc, dict):
        raise TypeError(f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise ValueError(f"format: expected {FORMAT}, got {doc.get('format')!r}")
    rows = doc["cycles"]
    if not isinstance(rows, list):
        raise TypeError("cycles: expected a list")
    cycles: dict[int, CycleRow] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("metrics"), dict):
            raise TypeError(f"cycles[{i}]: expected {{cycle, date, metrics}}")
        try:
            metrics = {str(k): _number(v) for k, v in row["metrics"].items()}
        except ValueError as e:
            raise ValueError(f"cycles[{i}].metrics: {e}") from e
        cycles[_int(row, "cycle")] = CycleRow(date=_text(row, "date"), metrics=metrics)
    return Baseline(
        scenario=_text(doc, "scenario"),
        scenario_name=_text(doc, "scenario_name"),
        scenario_hash=_text(doc, "scenario_hash"),
        seed=_int(doc, "seed"),
        janus_sim_version=_text(doc, "janus_sim_version"),
        digest=_text(doc, "digest"),
        n_events=_int(doc, "n_events"),
        cycles=cycles,
        numerics=_numerics(doc),
        identity=_optional_text(doc, "identity"),
        config=_config(doc),
        fingerprints=_fingerprints(doc),
    )


def _optional_text(doc: dict[str, Any], key: str) -> str:
    return _text(doc, key) if doc.get(key) is not None else ""


def _config(doc: dict[str, Any]) -> str:
    raw = doc.get("config")
    if raw is None:
        return ""
    if not isinstance(raw, dict):
        raise TypeError(f"config: expected an object, got {raw!r}")
    return json.dumps(raw, sort_keys=True, separators=(",", ":"))


def _fingerprints(doc: dict[str, Any]) -> bytes:
    text = _optional_text(doc, "event_fingerprints")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise ValueError(f"event_fingerprints: not base64 ({e})") from e
    if len(raw) % FINGERPRINT_BYTES:
        raise ValueError(f"event_fingerprints: not a multiple of {FINGERPRINT_BYTES} bytes")
    return raw


def _numerics(doc: dict[str, Any]) -> dict[str, str]:
    raw = doc.get("numerics", {})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise TypeError("numerics: expected an object of strings")
    return {str(k): v for k, v in raw.items()}


@dataclass(frozen=True)
class Prepared:
    """A loaded baseline whose scenario file exists and parses: ready to re-run."""

    path: str
    baseline: Baseline
    scenario: Scenario
    scenario_text: str
    scenario_hash: str
    bars: ObservedBars | None = None


def prepare(path: str | Path, load_scenario: Callable[[Path], ScenarioInput]) -> Prepared:
    """Load the baseline, and its scenario through ``load_scenario`` (the composition
    root's, ``wiring.load_scenario``); exit-2 errors for anything missing or bad.

    Done for every baseline before any is re-run, so bad input fails fast.
    """
    base = load(path)
    scenario_file = Path(base.scenario)
    if not scenario_file.is_file():
        raise ConfigError(
            str(path),
            "scenario",
            f"scenario file {base.scenario} not found (a baseline's scenario path is "
            f"relative to the directory `baseline check` runs in: the repository root)",
        )
    inputs = load_scenario(scenario_file)
    sc = inputs.scenario
    return Prepared(
        str(path), base, sc.with_seed(base.seed), inputs.text, sc.scenario_hash(), inputs.bars
    )


@dataclass(frozen=True)
class BaselineCheck:
    path: str
    baseline: Baseline
    report: CompareReport
    """A = the baseline, B = the fresh run; no schema states or event scan."""
    problems: tuple[str, ...]
    """Failures beyond the metrics: changed digest, event count or scenario file."""

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.problems


def check(
    prepared: Prepared, tol: Tolerances = DEFAULT_TOLERANCES, observer: Observer | None = None
) -> BaselineCheck:
    """Re-run a prepared baseline's scenario and compare it with the baseline."""
    base = prepared.baseline
    store, result = _run(
        prepared.scenario, base.scenario, prepared.scenario_text, observer, prepared.bars
    )
    digest, n_events = result.digest, result.n_events
    try:
        fresh = read_cycles(store, RUN_ID)
        events = store.read(RUN_ID) if digest != base.digest and base.fingerprints else None
    finally:
        store.close()
    cycles = compare_cycles(base.cycles, fresh, tol)
    config = prepared.scenario.canonical_json()
    identity = file_identity(prepared.scenario_text, config)
    problems = []
    same_file = identity == base.identity if base.identity else False
    if prepared.scenario_hash != base.scenario_hash and not same_file:
        problems.append(
            f"the scenario file {base.scenario} changed since the baseline was saved "
            f"(hash {prepared.scenario_hash[:12]}, baseline {base.scenario_hash[:12]})"
        )
    elif prepared.scenario_hash != base.scenario_hash:
        changes = config_changes(base.config, config, prepared.scenario_text)
        text = "; ".join(c.line() for c in changes) or "settings not recorded in the baseline"
        problems.append(f"this code resolves the scenario file differently: {text}")
    divergence = None
    if events is not None:
        divergence = fingerprint_divergence(base.fingerprints, events)
        if divergence is not None:
            divergence = divergence.with_reach(reach_of(cycles, divergence))
    if digest != base.digest:
        problems.append(f"the event log changed: digest {digest[:16]}, baseline {base.digest[:16]}")
    if n_events != base.n_events:
        problems.append(f"the run has {n_events} events, the baseline {base.n_events}")
    report = CompareReport(
        a=RunRef(
            label=f"baseline {prepared.path}",
            run_id=RUN_ID,
            digest=base.digest,
            n_events=base.n_events,
            code_version=base.janus_sim_version,
            where=prepared.path,
            numerics=base.numerics,
            scenario_hash=base.scenario_hash,
            seed=base.seed,
            identity=base.identity,
            config=base.config,
        ),
        b=RunRef(
            label="this code",
            run_id=RUN_ID,
            digest=digest,
            n_events=n_events,
            code_version=__version__,
            where="memory",
            numerics=numerics.of(numerics.profile(prepared.scenario)),
            scenario_hash=prepared.scenario_hash,
            seed=prepared.scenario.seed,
            identity=identity if base.identity else "",
            config=config,
            scenario_text=prepared.scenario_text,
        ),
        tolerances=tol,
        cycles=cycles,
        first_divergence=divergence,
    )
    return BaselineCheck(prepared.path, base, report, tuple(problems))
