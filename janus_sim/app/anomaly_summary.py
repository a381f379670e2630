"""A run's anomaly figures from one read of its log: the crash lead, the novelty score
and the anomaly responses, as ``crash_lead_of_run``, ``novelty_of_run`` and
``responses_of_run`` give them.

Each of the three reads its event kinds and ignores every other, in sequence order, so
one read of the union of their kinds, decoded once, gives each the events it would read
alone: the same figures for a third of the reading and decoding (the run summary after
``janus-sim run``, a sweep's trial outcome).
"""

from __future__ import annotations

from dataclasses import dataclass

from janus_sim.app import anomaly_responses, novelty
from janus_sim.app.anomaly_lead import CrashLead, crash_lead
from janus_sim.app.anomaly_responses import AnomalyResponses
from janus_sim.app.novelty import NoveltyScore
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore

LEAD_KINDS = ("transition_recorded", "anomaly_flagged")
"""The event kinds ``crash_lead`` reads."""


@dataclass(frozen=True, slots=True)
class AnomalySummary:
    lead: CrashLead | None
    novelty: NoveltyScore | None
    responses: AnomalyResponses


def anomaly_summary_of_run(store: EventStore, run_id: str) -> AnomalySummary:
    """The three figures of the stored run ``run_id`` (module doc)."""
    kinds = sorted({*LEAD_KINDS, *novelty.KINDS, *anomaly_responses.KINDS})
    batch = store.read(run_id, EventQuery(kinds=kinds))
    events = [decode(r.record) for r in batch.records()]
    return AnomalySummary(
        lead=crash_lead(events),
        novelty=novelty.novelty_score(events),
        responses=anomaly_responses.anomaly_responses(events),
    )
