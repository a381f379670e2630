"""anomaly_responses: risk spans paired from risk_raised / risk_restored, and alerts."""

from __future__ import annotations

from janus_sim.app.anomaly_responses import Alert, RiskSpan, anomaly_responses
from janus_sim.core import events as ev


def _raised(t: int, tid: int) -> ev.RiskRaised:
    return ev.RiskRaised(1, t, "risk", tid, 1, 30)


def _restored(t: int, raised_t: int, n_bars: int, n: int) -> ev.RiskRestored:
    return ev.RiskRestored(1, t, "risk", raised_t, n_bars, n)


def test_spans_pair_in_order_and_alerts_are_kept() -> None:
    alert = ev.OperatorAlerted(1, 15, "operator", 5, 30, 3, 9)
    r = anomaly_responses(
        [_raised(10, 3), alert, _restored(40, 10, 30, 5), _raised(50, 12), _restored(60, 50, 10, 1)]
    )
    assert r.spans == (
        RiskSpan(1, 10, 40, 3, 1, 30, 5),
        RiskSpan(1, 50, 60, 12, 1, 10, 1),
    )
    assert r.alerts == (Alert(1, 15, 5, 30, 3, 9),) and r.first_alert == r.alerts[0]
    assert (r.bars_under_risk, r.n_open) == (40, 0)


def test_an_open_span_and_a_restore_without_its_raise() -> None:
    r = anomaly_responses([_restored(40, 10, 30, 2), _raised(50, 12)])
    assert r.spans[0] == RiskSpan(1, 10, 40, None, None, 30, 2)
    assert r.spans[1].is_open and r.spans[1].n_bars is None
    assert (r.bars_under_risk, r.n_open) == (30, 1)


def test_a_run_without_responses() -> None:
    r = anomaly_responses([])
    assert r.spans == () and r.alerts == () and r.first_alert is None
    assert r.bars_under_risk == 0
