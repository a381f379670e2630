"""crash_lead: the trough, the drawdown, and the first anomaly at or before the trough."""

from __future__ import annotations

from dataclasses import replace

from janus_sim.app.anomaly_lead import crash_lead
from janus_sim.core import events as ev
from tests.factories import MINUTE_NS, anomaly, transition


def _bars(prices: list[float], regime: str = "calm") -> list[ev.TransitionRecorded]:
    return [
        replace(transition(i, (i + 1) * MINUTE_NS, [0.0]), price=p, regime=regime)
        for i, p in enumerate(prices)
    ]


def _flag(tid: int) -> ev.AnomalyFlagged:
    return anomaly(tid, (tid + 1) * MINUTE_NS)


PRICES = [100.0, 104.0, 101.0, 95.0, 80.0, 85.0, 90.0]


def test_the_lead_counts_steps_from_the_first_anomaly_to_the_trough() -> None:
    lead = crash_lead([*_bars(PRICES), _flag(2), _flag(5), _flag(4)])
    assert lead is not None
    assert (lead.trough_id, lead.trough_price, lead.peak_price) == (4, 80.0, 104.0)
    assert abs(lead.drawdown - (1 - 80 / 104)) < 1e-15
    assert lead.first_anomaly_id == 2 and lead.bars_before == 2
    assert lead.anomalies_before == 2  # 2 and 4; 5 is after the trough
    assert lead.first_anomaly_t_ns == 3 * MINUTE_NS


def test_no_anomaly_before_the_trough_is_said_so() -> None:
    lead = crash_lead([*_bars(PRICES), _flag(6)])
    assert lead is not None and lead.bars_before is None and lead.anomalies_before == 0


def test_a_run_without_a_crash_has_no_lead() -> None:
    assert crash_lead(_bars([100.0, 99.0, 95.0, 97.0])) is None  # a 5% dip, unlabelled
    assert crash_lead([]) is None
    labelled = crash_lead(_bars([100.0, 99.0, 95.0, 97.0], regime="crash"))
    assert labelled is not None and labelled.trough_id == 2  # a labelled crash counts
