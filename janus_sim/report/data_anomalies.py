"""The report's anomaly parts, from a run's log: the novelty score against the regime
labels, the anomaly responses (risk spans, operator alerts) and the crash lead.

``report.data`` assembles them with the other sections; each part says in a note why
it is empty when the log cannot fill it.
"""

from __future__ import annotations

from janus_sim.app.anomaly_lead import crash_lead
from janus_sim.app.anomaly_responses import responses_of_run
from janus_sim.app.novelty import NoveltyScore, novelty_of_run
from janus_sim.core import events as ev
from janus_sim.core.market import UNLABELLED
from janus_sim.ports import EventStore
from janus_sim.report.model import AlertRow, Lead, NoveltySection, OnsetRow, RiskSpanRow
from janus_sim.timefmt import format_ns

NO_LABELS = (
    "The novelty score needs labelled regimes: this run's bars are real and carry none "
    "(no bar can be called novel or familiar)."
)
NO_ALERTS = (
    "No operator_alerted events in this run's log: the operator was never alerted (or "
    "the run was written before the anomaly responses existed)."
)
NO_SPANS = (
    "No risk_raised events in this run's log: the risk was never raised (or the run was "
    "written before the anomaly responses existed)."
)


def novelty_section(
    store: EventStore, run_id: str, trans: list[ev.TransitionRecorded], has_projection: bool
) -> NoveltySection:
    score = novelty_of_run(store, run_id)
    responses = responses_of_run(store, run_id)
    time_of = {t.transition_id: format_ns(t.t_ns) for t in trans}
    alerts = [
        AlertRow(
            cycle=a.cycle,
            time=format_ns(a.t_ns),
            n_anomalies=a.n_anomalies,
            window_bars=a.window_bars,
            first_transition_id=a.first_transition_id,
            last_transition_id=a.last_transition_id,
        )
        for a in responses.alerts
    ]
    spans = [
        RiskSpanRow(
            cycle=s.cycle,
            start=format_ns(s.raised_t_ns),
            end=None if s.restored_t_ns is None else format_ns(s.restored_t_ns),
            n_bars=s.n_bars,
            n_anomalies=s.n_anomalies,
            transition_id=s.transition_id,
            position_limit=s.position_limit,
        )
        for s in responses.spans
    ]
    onsets = [] if score is None else _onset_rows(score, time_of)
    return NoveltySection(
        scored=score is not None,
        scored_bars=score.scored if score else 0,
        novel=score.novel if score else 0,
        flagged_novel=score.flagged_novel if score else 0,
        familiar=score.familiar if score else 0,
        flagged_familiar=score.flagged_familiar if score else 0,
        precision=score.precision if score else None,
        recall=score.recall if score else None,
        familiar_fpr=score.familiar_fpr if score else None,
        onsets=onsets,
        alerts=alerts,
        spans=spans,
        bars_under_risk=responses.bars_under_risk,
        novelty_note=None if score else _novelty_note(trans, has_projection),
        alerts_note=None if alerts else NO_ALERTS,
        spans_note=None if spans else NO_SPANS,
        note=None if trans else "This run has no recorded transitions.",
    )


def _onset_rows(score: NoveltyScore, time_of: dict[int, str]) -> list[OnsetRow]:
    return [
        OnsetRow(
            regime=o.regime,
            date=o.date,
            first_transition_id=o.first_id,
            start=time_of.get(o.first_id, ""),
            n_bars=o.n_bars,
            lead=o.lead,
            first_flag_transition_id=o.first_flag_id,
            first_flag=None if o.first_flag_id is None else time_of.get(o.first_flag_id, ""),
        )
        for o in score.onsets
    ]


def _novelty_note(trans: list[ev.TransitionRecorded], has_projection: bool) -> str:
    """Why a run has no novelty score."""
    if not trans:
        return "No bars: no novelty score."
    if any(t.regime == UNLABELLED for t in trans):
        return NO_LABELS
    if not has_projection:
        return (
            "This run's log has no projection_fitted events: the anomaly monitor never ran, "
            "so there is no novelty score."
        )
    return (
        "No trading day of this run opened with last night's map (the monitor is live from "
        "the second day on): no novelty score yet."
    )


def lead_of(events: list[ev.Event], bar_of: dict[int, int]) -> Lead | None:
    """``crash_lead`` (the definition the run summary uses too) in bar positions."""
    found = crash_lead(events)
    if found is None:
        return None
    first = None if found.first_anomaly_id is None else bar_of[found.first_anomaly_id]
    trough = bar_of[found.trough_id]
    return Lead(
        trough=trough,
        trough_price=found.trough_price,
        drawdown=found.drawdown,
        first_anomaly=first,
        lead_bars=None if first is None else trough - first,
        before_trough=found.anomalies_before,
    )


def lead_note(lead: Lead | None, has_bars: bool) -> str:
    if not has_bars:
        return "No bars: no anomaly lead."
    if lead is None:
        return "This run has no crash (no crash regime, no 10% drawdown): no anomaly lead."
    trough = (
        f"the crash trough (bar {lead.trough}, price {lead.trough_price:.4g}, "
        f"{100 * lead.drawdown:.1f}% below the peak before it)"
    )
    if lead.lead_bars is None:
        return f"No anomaly was flagged before {trough}."
    return (
        f"First anomaly at bar {lead.first_anomaly}, {lead.lead_bars} bars before {trough}; "
        f"{lead.before_trough} anomalies flagged up to the trough."
    )
