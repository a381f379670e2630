"""The events of a run's frame and of its awake days: the run's start and end, the day's
bars and transitions, the anomaly monitor's flags and the responses they trigger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from janus_sim.core.event_base import Event, Matrix, Payload, Upcaster, Vector

# --- run lifecycle -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """The run's inputs that the fold needs: config hash, seed and initial parameters."""

    KIND: ClassVar[str] = "run_started"
    scenario_name: str
    scenario_hash: str
    seed: int
    feature_names: tuple[str, ...]
    constraint_names: tuple[str, ...]
    capacity: int
    alpha: float
    policy_params: Matrix
    sep_weights: Matrix
    sep_bias: Vector
    config: str = ""
    """The resolved scenario as canonical JSON (v2): every field, defaults filled in, so a
    comparison across code versions can name each default that changed. Run metadata,
    like ``scenario_name`` and ``scenario_hash``; "" when unknown (v1)."""

    VERSION: ClassVar[int] = 2

    @staticmethod
    def upcast_v1(payload: Payload) -> Payload:
        """v1 -> v2: the resolved configuration was not recorded."""
        return {**payload, "config": ""}

    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    KIND: ClassVar[str] = "run_finished"
    n_cycles: int
    n_transitions: int


# --- awake ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayOpened(Event):
    KIND: ClassVar[str] = "day_opened"
    date: str
    n_bars: int
    open_price: float
    regimes: tuple[str, ...]
    """Distinct true regimes of the day's bars, in order of first appearance."""


@dataclass(frozen=True, slots=True)
class TransitionRecorded(Event):
    """One awake step (s, a, r, s', t) with the context the logic needs and its truth.

    ``ctx`` holds the raw market/position quantities the fuzzy predicates read
    (see ``logic.CONTEXT_FIELDS``); ``violation`` is v_i of eq. 7 for the action taken.
    """

    KIND: ClassVar[str] = "transition_recorded"
    transition_id: int
    dt_ns: int
    state: Vector
    action: int
    reward: float
    next_state: Vector
    done: bool
    price: float
    regime: str
    ctx: Vector
    violation: float
    position_after: int


@dataclass(frozen=True, slots=True)
class TransitionEvicted(Event):
    """The buffer was full: the oldest transition leaves (FIFO)."""

    KIND: ClassVar[str] = "transition_evicted"
    transition_id: int


@dataclass(frozen=True, slots=True)
class DayClosed(Event):
    KIND: ClassVar[str] = "day_closed"
    date: str
    n_transitions: int
    close_price: float
    pnl: float
    sat_agg: float
    constraint_truth: Vector
    """Forall (pMeanError) truth of each constraint over the day, in declaration order."""


@dataclass(frozen=True, slots=True)
class AnomalyFlagged(Event):
    """Eq. 32 during the awake day: the projected state is farther than ``threshold``
    (normalized map units) from every reference point of the last night's map
    (``projection.anomaly_reference``), and so were the ``anomaly_persistence - 1``
    states before it that day.

    ``entity`` is ``transition:<id>``; the transition gets the highest priority at the
    next night's replay, and may raise the risk (``RiskRaised``) and alert the operator
    (``OperatorAlerted``).
    """

    KIND: ClassVar[str] = "anomaly_flagged"
    transition_id: int
    coords: Vector
    distance: float
    threshold: float
    nearest_cluster: int
    """The index of the nearest reference point: a cluster, a schema centroid or an
    embedded point, as the scenario's ``projection.anomaly_reference`` says."""


@dataclass(frozen=True, slots=True)
class RiskRaised(Event):
    """Anomaly response (spec 2.2.2, "increase risk threshold temporarily"): from the
    next bar on, the agent takes no new exposure beyond ``position_limit`` (it may hold or
    reduce) until ``span_bars`` bars after the latest anomaly, or the day's close.

    ``entity`` is ``risk``; ``transition_id`` is the anomaly that raised it.
    """

    KIND: ClassVar[str] = "risk_raised"
    transition_id: int
    position_limit: int
    span_bars: int


@dataclass(frozen=True, slots=True)
class RiskRestored(Event):
    """The end of a ``risk_raised`` span: ``t_ns`` is when the usual limit came back
    (the first bar past the span, or the day's last bar), ``raised_t_ns`` when the span
    began; ``n_bars`` awake steps were taken under it and ``n_anomalies`` flagged in it."""

    KIND: ClassVar[str] = "risk_restored"
    raised_t_ns: int
    n_bars: int
    n_anomalies: int


@dataclass(frozen=True, slots=True)
class OperatorAlerted(Event):
    """Anomaly response (spec 2.2.2, "alert human operator if anomaly persists"):
    ``n_anomalies`` flags within the last ``window_bars`` awake steps of one day, from
    ``first_transition_id`` to ``last_transition_id``. The count starts afresh after
    each alert and each day."""

    KIND: ClassVar[str] = "operator_alerted"
    n_anomalies: int
    window_bars: int
    first_transition_id: int
    last_transition_id: int
