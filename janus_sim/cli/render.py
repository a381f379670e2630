"""Terminal presentation with rich: progress, the per-cycle table, runs and events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.table import Table

from janus_sim.app.views import event_dicts
from janus_sim.cli.at_command import schemas_table as schemas_table  # re-exported
from janus_sim.cli.safe_text import safe
from janus_sim.eventlog import EventBatch
from janus_sim.ports import RunInfo
from janus_sim.timefmt import format_ns

if TYPE_CHECKING:  # annotations only: importing the engine here would slow every command
    from janus_sim.app.anomaly_lead import CrashLead
    from janus_sim.app.anomaly_responses import AnomalyResponses
    from janus_sim.app.novelty import NoveltyScore
    from janus_sim.app.run_outcome import RunResult


def cycle_table(result: RunResult, closes: Mapping[str, float] | None = None) -> Table:
    """One row per sleep cycle; with ``closes`` (date -> the day's real close, for a
    market of real bars) also the close and its change from the previous day."""
    table = Table(title=f"Sleep cycles of {safe(result.run_id)}", title_justify="left")
    for name, justify in [
        ("cycle", "right"),
        ("date", "left"),
        ("transitions", "right"),
        ("buffer", "right"),
        ("|TD| before", "right"),
        ("|TD| after", "right"),
        ("TD impr.", "right"),
        ("SatAgg", "right"),
        ("IS w mean", "right"),
        ("replayed", "right"),
        ("PnL %", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if closes is not None:
        table.add_column("close", justify="right")
        table.add_column("day %", justify="right")
    previous: float | None = None
    for cycle, m in sorted(result.metrics.items()):
        extra: list[str] = []
        if closes is not None:
            close = closes.get(result.dates[cycle])
            change = (
                "" if close is None or previous is None else f"{100 * (close / previous - 1):+.2f}"
            )
            extra = ["" if close is None else f"{close:,.2f}", change]
            previous = close
        table.add_row(
            str(cycle),
            safe(result.dates[cycle]),
            f"{m['transitions']:.0f}",
            f"{m['buffer_size']:.0f}",
            f"{m.get('mean_abs_td_before', float('nan')):.4f}",
            f"{m.get('mean_abs_td_after', float('nan')):.4f}",
            f"{100 * m.get('td_improvement', float('nan')):+.1f}%",
            f"{m['sat_agg']:.3f}",
            f"{m.get('mean_is_weight', float('nan')):.3f}",
            f"{100 * m.get('unique_fraction', float('nan')):.0f}%",
            f"{m['day_pnl']:+.2f}",
            *extra,
        )
    return table


def projection_lines(
    result: RunResult,
    lead: CrashLead | None,
    novelty: NoveltyScore | None = None,
    responses: AnomalyResponses | None = None,
    *,
    labelled: bool = True,
) -> list[str]:
    """Phase 3 in the run summary: clusters and anomalies per cycle, whether the ARI was
    left out (unlabelled bars), how well the monitor flagged what was new (``novelty``;
    ``labelled`` False: real bars, which carry no regime to score against), what the
    agent did about its anomalies (``responses``) and, for a run with a crash, how early
    it was flagged before the trough (a secondary figure: any early false alarm
    improves it). Rich markup; every name from the scenario is escaped."""
    cycles = sorted(result.metrics.items())
    if not any("n_clusters" in m for _, m in cycles):
        return []
    clusters = " ".join(f"{m.get('n_clusters', 0):.0f}" for _, m in cycles)
    flagged = " ".join(f"{m.get('anomalies', 0):.0f}" for _, m in cycles)
    lines = [f"map     clusters per cycle {clusters}; anomalies flagged per day {flagged}"]
    if not any("ari_regime" in m for _, m in cycles):
        lines.append(
            "        ari_regime omitted: every buffered bar is unlabelled (no true regime)"
        )
    lines += novelty_lines(novelty, labelled=labelled)
    if responses is not None:
        lines.append(response_line(responses))
    if lead is not None:
        lines.append(
            f"crash   trough at {format_ns(lead.trough_t_ns)} (transition {lead.trough_id}, "
            f"price {lead.trough_price:,.2f}, {-100 * lead.drawdown:+.1f}% from the peak)"
        )
        if lead.bars_before is None or lead.first_anomaly_t_ns is None:
            lines.append("        no anomaly was flagged before the trough")
        else:
            lines.append(
                f"        first anomaly {lead.bars_before} bars before the trough "
                f"({format_ns(lead.first_anomaly_t_ns)}, transition {lead.first_anomaly_id}); "
                f"{lead.anomalies_before} flagged up to the trough"
            )
    return lines


def _share(value: float | None, part: int, whole: int, what: str, empty: str) -> str:
    if value is None:
        return f"- ({empty})"
    return f"{100 * value:.1f}% ({part} of {whole} {what})"


def onset_text(lead: int | None) -> str:
    """An onset's lead in words: when its regime was first flagged on its first day."""
    if lead is None:
        return "never flagged"
    if lead == 0:
        return "flagged at onset"
    return f"flagged {lead} bar{'s' if lead != 1 else ''} after onset"


def novelty_lines(novelty: NoveltyScore | None, *, labelled: bool = True) -> list[str]:
    """The novelty score (``app.novelty``) in the run summary: precision, recall and the
    familiar-bar false-positive rate, then each novel regime's onset and its lead."""
    if not labelled:
        return [
            "novelty not scored: the score needs labelled regimes "
            "(these are real bars, which carry none)"
        ]
    if novelty is None:
        return [
            "novelty not scored: no trading day opened with last night's map "
            "(the monitor is live from the second day on)"
        ]
    n = novelty
    precision = _share(n.precision, n.flagged_novel, n.flagged, "flags novel", "nothing flagged")
    recall = _share(n.recall, n.flagged_novel, n.novel, "novel bars flagged", "no novel bar")
    fpr = _share(
        n.familiar_fpr, n.flagged_familiar, n.familiar, "familiar bars flagged", "no familiar bar"
    )
    lines = [f"novelty [bold]precision {precision}, recall {recall}[/], familiar FPR {fpr}"]
    if not n.onsets:
        lines.append("        no novel regime appeared on a scored day")
    for o in n.onsets:
        text = onset_text(o.lead)
        lines.append(
            f"        {safe(o.regime)}: "
            + (f"[yellow]{text}[/]" if o.lead is None else text)
            + f" ({safe(o.date)}, {o.n_bars} novel bar{'s' if o.n_bars != 1 else ''})"
        )
    return lines


def response_line(responses: AnomalyResponses) -> str:
    """The anomaly responses in the run summary: risk spans (bars under raised risk) and
    operator alerts, with the first alert's time."""
    r = responses
    n = len(r.spans)
    if n:
        still = f", {r.n_open} still raised" if r.n_open else ""
        risk = (
            f"{n} risk span{'s' if n != 1 else ''} "
            f"({r.bars_under_risk} bar{'s' if r.bars_under_risk != 1 else ''} "
            f"under raised risk{still})"
        )
    else:
        risk = "risk never raised"
    first = r.first_alert
    if first is None:
        alerts = "no operator alert"
    else:
        k = len(r.alerts)
        alerts = (
            f"{k} operator alert{'s' if k != 1 else ''}, first at {format_ns(first.t_ns)} "
            f"({first.n_anomalies} anomalies within {first.window_bars} bars, transitions "
            f"{first.first_transition_id}-{first.last_transition_id})"
        )
    return f"respond {risk}; {alerts}"


def runs_table(runs: list[RunInfo]) -> Table:
    table = Table(title="Runs (oldest first)", title_justify="left")
    for name in ["run id", "scenario", "seed", "status", "events", "digest", "started (UTC)"]:
        table.add_column(name)
    style = {"finished": "green", "failed": "red", "running": "yellow"}
    for r in runs:
        table.add_row(
            safe(r.run_id),
            safe(r.scenario_name),
            str(r.seed),
            f"[{style.get(r.status, '')}]{safe(r.status)}[/]",
            str(r.n_events),
            safe((r.digest or "-")[:16]),
            safe(r.started_at),
        )
    return table


def _preview(payload: str, width: int = 90) -> str:
    return payload if len(payload) <= width else payload[: width - 3] + "..."


def events_table(batch: EventBatch) -> Table:
    table = Table(title=f"Events of {safe(batch.run_id)}", title_justify="left")
    for name in ["seq", "cycle", "sim time", "kind", "entity", "payload"]:
        table.add_column(name, overflow="fold" if name == "payload" else "ellipsis")
    for e in batch.records():
        r = e.record
        table.add_row(
            str(e.seq),
            str(r.cycle),
            format_ns(r.t_ns),
            safe(r.kind),
            safe(r.entity),
            safe(_preview(r.payload)),
        )
    return table


def event_json_lines(batch: EventBatch) -> list[str]:
    """``events --json``: one compact JSON line per event (``views.event_dicts``)."""
    return [json.dumps(obj, separators=(",", ":")) for obj in event_dicts(batch)]
