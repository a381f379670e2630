"""A sweep file read and expanded into its trials, each an ordinary, fully resolved run.

``load_sweep(path)`` reads the sweep file and every scenario it names (their market
data too, so a missing file fails here, once, rather than in every trial) and returns a
``SweepPlan``: the trials in sweep order, each with the exact scenario it runs. A trial
run alone (``janus-sim run`` of its scenario with its seed) gives the same digest, since
the digest depends only on the resolved scenario (``Scenario.scenario_hash``), its
seed and the code.

Trial ids are ``<scenario name>-s<seed>`` plus, when fields are swept, the first eight
hex digits of the SHA-256 of the setting's canonical JSON: stable across runs of the
same sweep file, and readable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from janus_sim.adapters.scenario_file import read_yaml_file
from janus_sim.config import Scenario
from janus_sim.config.names import check_run_id
from janus_sim.errors import ConfigError
from janus_sim.scenario_text import (
    DUPLICATE,
    describe_error,
    field_path,
    load_yaml,
    too_long,
)
from janus_sim.sweep.spec import (
    Setting,
    SweepSpec,
    apply_setting,
    params_json,
    setting_label,
)
from janus_sim.wiring import load_scenario


@dataclass(frozen=True)
class Trial:
    """One run of a sweep. ``scenario_json`` is the resolved scenario as JSON (a valid
    scenario file), seed included: the fields its file set plus the setting's, so that
    it validates again (``scenario_of``) to the scenario with ``scenario_hash``."""

    trial_id: str
    index: int
    scenario_path: str
    """The scenario file as the sweep names it (relative to the sweep file)."""
    scenario_file: Path
    """The same file, resolved: its folder is where market data paths start."""
    scenario_name: str
    seed: int
    setting: Setting
    scenario_json: str
    scenario_hash: str

    @property
    def params(self) -> str:
        return params_json(self.setting)

    @property
    def label(self) -> str:
        return setting_label(self.setting)


@dataclass(frozen=True)
class SweepPlan:
    name: str
    source: Path
    spec: SweepSpec
    trials: tuple[Trial, ...]

    @property
    def sweep_hash(self) -> str:
        """Identity of the sweep's trials: their ids and resolved scenarios (not retries,
        not the description). A sweep folder holds one sweep hash."""
        doc = [[t.trial_id, t.scenario_hash] for t in self.trials]
        return hashlib.sha256(json.dumps(doc).encode()).hexdigest()

    @property
    def swept_fields(self) -> tuple[str, ...]:
        return self.spec.swept_fields()


_BRANCH_MISMATCH = ("tuple_type", "list_type", "model_type", "model_attributes_type", "dict_type")


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The location without pydantic's union branch tags ('SeedRange', 'tuple[...]')."""
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and not p[:1].isupper()))


def parse_sweep(text: str, source: str) -> SweepSpec:
    """Validate sweep YAML ``text``; errors name ``source`` and the field."""
    if (big := too_long(text, source)) is not None:
        raise big
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None)
        if problem and problem.startswith(DUPLICATE):
            raise ConfigError(source, "", problem) from e
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(source, "", f"malformed YAML{where}") from e
    if not isinstance(raw, dict):
        raise ConfigError(
            source, "", f"expected a mapping of sweep fields, got {type(raw).__name__}"
        )
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as e:
        errors = e.errors()
        # A value that fits no branch of a union (seeds: a list, or {start, count}) gets an
        # error per branch; the one about the branch's own fields says what is wrong.
        first = next((x for x in errors if x["type"] not in _BRANCH_MISMATCH), errors[0])
        first = {**first, "loc": _clean_loc(first["loc"])}
        problem = describe_error(first)
        if first["type"] == "extra_forbidden":
            problem = (
                "unknown key (a sweep file has name, description, scenarios, seeds, "
                "grid or sample, retries)"
            )
        raise ConfigError(source, field_path(tuple(first["loc"])), problem) from e


def _resolve(base: Scenario, setting: Setting, seed: int, where: str) -> Scenario:
    """``base`` with ``setting`` and ``seed`` applied, validated as a scenario."""
    full = base.model_dump(mode="json", by_alias=True)
    doc = base.model_dump(mode="json", by_alias=True, exclude_unset=True)
    try:
        doc = apply_setting(doc, setting, full)
    except KeyError as e:
        path, problem = e.args
        raise ConfigError(where, path, problem) from None
    try:
        sc = Scenario.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        shown = ", ".join(f"{p}={v!r}" for p, v in setting)
        raise ConfigError(
            where, field_path(tuple(first["loc"])), f"{describe_error(first)} (with {shown})"
        ) from e
    return sc.with_seed(seed)


def _transport(sc: Scenario) -> str:
    """``sc`` as JSON that validates back to it. Only the fields set are written: a
    scenario's validators may refuse defaults written out (real bars refuse the
    synthetic market's fields), and the canonical JSON writes every field."""
    text = json.dumps(sc.model_dump(mode="json", exclude_unset=True), sort_keys=True)
    if Scenario.model_validate_json(text).scenario_hash() != sc.scenario_hash():
        raise AssertionError(f"scenario {sc.name!r} does not survive its JSON round trip")
    return text


def trial_id(scenario_name: str, seed: int, setting: Setting) -> str:
    base = f"{scenario_name}-s{seed}"
    if not setting:
        return base
    return f"{base}-{hashlib.sha256(params_json(setting).encode()).hexdigest()[:8]}"


def load_sweep(path: Path) -> SweepPlan:
    """The plan of the sweep file at ``path``; one-line ConfigError for any problem."""
    text = read_yaml_file(path, "sweep")  # missing, unreadable, not UTF-8, over 1 MiB
    spec = parse_sweep(text, str(path))
    trials: list[Trial] = []
    settings = spec.settings()
    for i, rel in enumerate(spec.scenarios):
        file = (path.parent / rel).resolve()
        if not file.is_file():
            raise ConfigError(
                str(path), f"scenarios[{i}]", f"no scenario file {rel!r} next to the sweep file"
            )
        base = load_scenario(file).scenario  # the data's hash pinned, like any run's
        for k, setting in enumerate(settings):
            where = f"{path} (setting {k + 1} of {len(settings)}, scenario {rel})"
            for seed in spec.seed_list():
                sc = _resolve(base, setting, seed, where)
                trials.append(
                    Trial(
                        # The trial's run id: refused here, before any trial runs.
                        trial_id=check_run_id(trial_id(sc.name, seed, setting), where),
                        index=len(trials),
                        scenario_path=rel,
                        scenario_file=file,
                        scenario_name=sc.name,
                        seed=seed,
                        setting=setting,
                        scenario_json=_transport(sc),
                        scenario_hash=sc.scenario_hash(),
                    )
                )
    seen: dict[str, Trial] = {}
    for t in trials:
        if t.trial_id in seen:
            other = seen[t.trial_id]
            raise ConfigError(
                str(path),
                "scenarios",
                f"{other.scenario_path} and {t.scenario_path} are both named "
                f"{t.scenario_name!r}: trials need distinct scenario names",
            )
        seen[t.trial_id] = t
    return SweepPlan(name=spec.name or path.stem, source=path, spec=spec, trials=tuple(trials))


def scenario_of(trial: Trial) -> Scenario:
    """The trial's resolved scenario (validated again: the JSON crossed a process)."""
    return Scenario.model_validate_json(trial.scenario_json)
