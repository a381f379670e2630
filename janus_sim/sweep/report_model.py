"""The sweep report's data model: plain frozen dataclasses, no HTML, no polars.

``sweep_report_data.build_sweep_report`` fills it from a sweep's ``trials.parquet`` and
``cycles.parquet``; ``adapters.sweep_report_html`` renders it. Every field is a plain
Python value (str, int, float, None, lists of them) so ``dataclasses.asdict`` of a
``SweepReport`` is JSON as it stands. A part with nothing to show has empty lists and a
``note`` saying why.

Orders (all total): scenarios and settings by their first trial in trial order (the
sweep file's grid order); groups by (scenario, setting) in those orders; a group's
values by (seed, trial index); trials by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from janus_sim.sweep.trial import TrialStatus

STATUSES: tuple[TrialStatus, ...] = ("finished", "failed", "pending")
"""Every status a trial can have (``sweep.trial.TrialStatus``), in the order the report
counts them."""


@dataclass(frozen=True)
class Stats:
    """Summary of ``n >= 1`` values. Quartiles and the median interpolate linearly
    between order statistics (numpy's default, Hyndman-Fan type 7); ``sd`` is the sample
    standard deviation (n - 1 in the denominator), ``None`` when ``n < 2``."""

    n: int
    mean: float
    sd: float | None
    median: float
    q1: float
    q3: float
    min: float
    max: float


@dataclass(frozen=True)
class MetricValues:
    """One quality metric over the finished trials of one group: one value per trial
    that measured it (``seeds``/``trial_ids`` alongside), ``missing`` finished trials
    that did not (null in ``trials.parquet``), ``stats`` ``None`` when no value."""

    metric: str
    seeds: list[int]
    trial_ids: list[str]
    values: list[float]
    missing: int
    stats: Stats | None


@dataclass(frozen=True)
class Group:
    """The trials of one (scenario_name, setting): counts by status and, per quality
    metric (in ``QUALITY_METRICS`` order), the finished trials' values."""

    scenario_name: str
    setting: str
    n_trials: int
    n_finished: int
    n_failed: int
    n_pending: int
    metrics: list[MetricValues]


@dataclass(frozen=True)
class MetricInfo:
    """A quality metric of ``trials.parquet``: its column, label, what it means, how
    many finished trials measured it and, when none did, why (``note``)."""

    key: str
    label: str
    help: str
    n_values: int
    note: str | None


@dataclass(frozen=True)
class NightBand:
    """A nightly metric of one group across its seeds: per night ``cycles[i]``, the
    median and inter-quartile band of the ``n[i]`` trials that recorded it."""

    scenario_name: str
    setting: str
    cycles: list[int]
    n: list[int]
    median: list[float]
    q1: list[float]
    q3: list[float]


@dataclass(frozen=True)
class NightMetric:
    metric: str
    label: str
    bands: list[NightBand]


@dataclass(frozen=True)
class NightSection:
    """Per-night bands of ``NIGHT_METRICS`` that some finished trial recorded."""

    metrics: list[NightMetric]
    note: str | None = None


@dataclass(frozen=True)
class ParamSensitivity:
    """Finished trials that set the numeric swept parameter ``param`` (column
    ``param:<param>``): its value ``x`` and ``y[m][i]``, quality metric ``metrics[m]`` of
    trial ``i`` (``None``: not measured). Only metrics some point measured are listed."""

    param: str
    n_distinct: int
    trial_ids: list[str]
    scenario_name: list[str]
    seed: list[int]
    setting: list[str]
    x: list[float]
    metrics: list[str]
    y: list[list[float | None]]


@dataclass(frozen=True)
class SensitivitySection:
    params: list[ParamSensitivity]
    note: str | None = None


@dataclass(frozen=True)
class Trial:
    """One row of the trials table (``digest`` in full; the page shows a prefix)."""

    trial_id: str
    index: int
    scenario_name: str
    seed: int
    setting: str
    status: TrialStatus
    attempts: int
    digest: str | None
    n_events: int | None
    elapsed_s: float | None
    error: str | None


@dataclass(frozen=True)
class SweepHeader:
    """``counts[s]``: trials with status ``STATUSES[s]``."""

    name: str
    sweep_hash: str | None
    n_trials: int
    counts: list[int]
    scenarios: list[str]
    settings: list[str]
    seeds: list[int]
    params: list[str]
    code_version: str


@dataclass(frozen=True)
class SweepReport:
    header: SweepHeader
    metrics: list[MetricInfo]
    groups: list[Group]
    nights: NightSection
    sensitivity: SensitivitySection
    failed: list[Trial]
    trials: list[Trial]
    note: str | None = None
    """Why there are no distributions (no trial finished yet), else ``None``."""
