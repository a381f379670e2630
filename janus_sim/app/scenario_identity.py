"""What makes two runs "the same scenario" across code versions, and what else changed.

The scenario hash (``Scenario.scenario_hash``) covers the *resolved* configuration, every
default filled in: right for a digest, wrong for identity, since a new default or a new
config field would make every stored run "another scenario". The identity of a scenario
is the user's file instead: the fields it sets, as parsed, and the content of the data
file it names (its sha256, from the resolved ``market.data``). With the seed, that is
what ``compare``, ``run --resume``, ``verify --replay`` and ``baseline check`` match on.

When two runs share the identity but not the scenario hash, the code resolved the same
file differently; ``config_changes`` names each difference ("`neocortex.eta` default
0.01 → 0.012", "new config field `x.y` (= 3)") from the resolved configurations that
``run_started`` records (v2; ``""`` for runs written before it did).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore

NOT_COMPARED = frozenset({"seed"})
"""Resolved fields that are not configuration (the seed is matched on its own)."""


def _load(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return text


def _config(config_json: str) -> dict[str, Any]:
    try:
        value = json.loads(config_json) if config_json else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def file_identity(text: str, config_json: str = "") -> str:
    """sha256 of the user's scenario file ``text`` (its fields, not its formatting) and of
    the data it names (``market.data.sha256`` of the resolved ``config_json``, if any)."""
    data = (_config(config_json).get("market") or {}).get("data") or {}
    doc = [_load(text), data.get("sha256") if isinstance(data, dict) else None]
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _data_file(config_json: str) -> tuple[str, str] | None:
    """(``market.data.path``, its ``sha256``) of a resolved configuration, if it has both."""
    data = (_config(config_json).get("market") or {}).get("data") or {}
    if not isinstance(data, dict):
        return None
    path, sha = data.get("path"), data.get("sha256")
    return (str(path), str(sha)) if path and sha else None


def data_change(stored_text: str, stored_config: str, text: str, config_json: str) -> str | None:
    """What to say when the scenario file is the stored one but its data file is not:
    "the data file P changed (sha256 X, expected Y)"; None otherwise (or when the stored
    run did not record the file's sha256: runs written before ``run_started`` v2)."""
    was, now = _data_file(stored_config), _data_file(config_json)
    if was is None or now is None or was[1] == now[1]:
        return None
    if file_identity(stored_text) != file_identity(text):
        return None  # another scenario file: the caller says so
    return (
        f"the data file {now[0]} changed (sha256 {now[1]}, expected {was[1]}): "
        "restore the bars the run was made from"
    )


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_flat(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class ConfigChange:
    """One resolved setting that differs between two runs (A, then B)."""

    path: str
    a: Any
    b: Any
    in_file: bool
    """Whether the user's file sets it (else a default changed)."""
    only: str = ""
    """"a" or "b" when only that side has the field (a field added or removed)."""

    def line(self) -> str:
        if self.only == "b":
            return f"new config field `{self.path}` (= {_show(self.b)})"
        if self.only == "a":
            return f"config field `{self.path}` removed (was {_show(self.a)})"
        what = "" if self.in_file else " default"
        return f"`{self.path}`{what} {_show(self.a)} → {_show(self.b)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "a": self.a,
            "b": self.b,
            "in_file": self.in_file,
            "only": self.only,
            "line": self.line(),
        }


def config_changes(config_a: str, config_b: str, text: str = "") -> tuple[ConfigChange, ...]:
    """Every resolved setting in which ``config_a`` and ``config_b`` (canonical JSON of
    resolved scenarios) differ, by dotted path; ``text`` (the user's file) tells a setting
    from a default. Empty when either configuration is unknown."""
    if not config_a or not config_b:
        return ()
    fa, fb = _flat(_config(config_a)), _flat(_config(config_b))
    user = _flat(_load(text)) if isinstance(_load(text), dict) else {}
    out = []
    for path in sorted(set(fa) | set(fb)):
        if path.split(".", 1)[0] in NOT_COMPARED:
            continue
        only = "b" if path not in fa else "a" if path not in fb else ""
        a, b = fa.get(path), fb.get(path)
        if only or a != b:
            out.append(ConfigChange(path, a, b, path in user, only))
    return tuple(out)


def resolved_config(store: EventStore, run_id: str) -> str:
    """The resolved configuration a run's ``run_started`` records ("" if unknown)."""
    for stored in store.read(run_id, EventQuery(kinds=["run_started"], limit=1)).records():
        event = decode(stored.record)
        if isinstance(event, ev.RunStarted):
            return event.config
    return ""
