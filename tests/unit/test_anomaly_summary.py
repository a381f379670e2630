"""app.anomaly_summary: one read of a run's log gives the three readers' figures."""

from __future__ import annotations

import copy

from janus_sim.app.anomaly_lead import crash_lead_of_run
from janus_sim.app.anomaly_responses import responses_of_run
from janus_sim.app.anomaly_summary import anomaly_summary_of_run
from janus_sim.app.engine import Engine
from janus_sim.app.novelty import novelty_of_run
from janus_sim.config import Scenario
from janus_sim.core.codec import decode
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY


def test_one_read_gives_each_readers_figures() -> None:
    """TINY with the monitor on and an alert after a single anomaly: every figure is
    there to compare (a lead, a score, alerts and risk spans)."""
    doc = copy.deepcopy(TINY)
    doc["projection"] = {"enabled": True}
    doc["responses"] = {"alert_anomalies": 1}
    store = MemoryEventStore()
    Engine(Scenario.model_validate(doc), store, run_id="r").run()
    kinds = {decode(r.record).KIND for r in store.read("r").records()}
    assert "anomaly_flagged" in kinds and "operator_alerted" in kinds

    summary = anomaly_summary_of_run(store, "r")
    assert summary.lead == crash_lead_of_run(store, "r") and summary.lead is not None
    assert summary.novelty == novelty_of_run(store, "r") and summary.novelty is not None
    assert summary.responses == responses_of_run(store, "r")
    assert summary.responses.alerts and summary.responses.spans
