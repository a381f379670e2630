"""Frozen, versioned event records: the only way state changes.

Every event carries its cycle, its simulated time (integer nanoseconds since the Unix
epoch, UTC: ``timefmt``'s one rule) and an entity id; the rest of its fields are the payload.
``KIND`` names the event in the log, ``VERSION`` is the payload schema version. When a
payload changes shape, bump ``VERSION`` and give the class an upcaster from the old
version: a static method ``upcast_v<old>`` beside the fields it changed, registered in the
class's ``UPCASTS``, so logs written by older versions still read (``codec.decode``
applies the chain).

Vectors are tuples of Python floats so that events are hashable, comparable and encode
to JSON exactly (``repr`` of a float round-trips).

The classes live in ``event_base`` (``Event`` and the value types), ``events_day`` (the
run's frame, the awake day, anomalies and responses) and ``events_night`` (the sleep
phases, checkpoints, metrics); this module names them all and keeps the registry.
"""

from __future__ import annotations

from janus_sim.core.event_base import Event, Matrix, Payload, Upcaster, Vector, as_matrix
from janus_sim.core.events_day import (
    AnomalyFlagged,
    DayClosed,
    DayOpened,
    OperatorAlerted,
    RiskRaised,
    RiskRestored,
    RunFinished,
    RunStarted,
    TransitionEvicted,
    TransitionRecorded,
)
from janus_sim.core.events_night import (
    ConsolidationGated,
    CycleMetrics,
    PolicyConsolidated,
    PolicyUpdated,
    PrioritiesComputed,
    PrioritiesUpdated,
    ProjectionFitted,
    ReplayBatchSampled,
    ScalerFitted,
    SchemaCheckpoint,
    SchemaCreated,
    SchemaPruned,
    SchemaRow,
    SchemaUpdated,
    SeparationTrained,
    StateCheckpoint,
    TargetSynced,
    VectorStoreSynced,
)

EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    RunFinished,
    DayOpened,
    TransitionRecorded,
    TransitionEvicted,
    DayClosed,
    PrioritiesComputed,
    ReplayBatchSampled,
    PolicyUpdated,
    TargetSynced,
    ScalerFitted,
    PrioritiesUpdated,
    SeparationTrained,
    ConsolidationGated,
    SchemaCreated,
    SchemaUpdated,
    SchemaPruned,
    PolicyConsolidated,
    ProjectionFitted,
    AnomalyFlagged,
    RiskRaised,
    RiskRestored,
    OperatorAlerted,
    SchemaCheckpoint,
    StateCheckpoint,
    VectorStoreSynced,
    CycleMetrics,
)

EVENT_KINDS: dict[str, type[Event]] = {cls.KIND: cls for cls in EVENT_TYPES}

__all__ = [
    "EVENT_KINDS",
    "EVENT_TYPES",
    "AnomalyFlagged",
    "ConsolidationGated",
    "CycleMetrics",
    "DayClosed",
    "DayOpened",
    "Event",
    "Matrix",
    "OperatorAlerted",
    "Payload",
    "PolicyConsolidated",
    "PolicyUpdated",
    "PrioritiesComputed",
    "PrioritiesUpdated",
    "ProjectionFitted",
    "ReplayBatchSampled",
    "RiskRaised",
    "RiskRestored",
    "RunFinished",
    "RunStarted",
    "ScalerFitted",
    "SchemaCheckpoint",
    "SchemaCreated",
    "SchemaPruned",
    "SchemaRow",
    "SchemaUpdated",
    "SeparationTrained",
    "StateCheckpoint",
    "TargetSynced",
    "TransitionEvicted",
    "TransitionRecorded",
    "Upcaster",
    "Vector",
    "VectorStoreSynced",
    "as_matrix",
]
