"""Terminal presentation of ``janus-sim diff``: the schema changes, who joined, the
metric deltas."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table

from janus_sim.app.diff import StateDiff
from janus_sim.app.membership import Joined
from janus_sim.cli.safe_text import safe

SHOWN_JOINERS = 8
"""Transition ids listed per schema in the table (``--json`` lists them all)."""


def joined_cells(j: Joined | None) -> tuple[str, str]:
    """(count and regimes, transition ids) of what joined a schema, for the table.

    ``j`` None: nothing joined it in the span. A span with a v1 event (who joined was not
    recorded) says how many joined and, where none is named, "who: not recorded".
    """
    if j is None:
        return "", ""
    regimes = ", ".join(f"{r} {n}" for r, n in j.regime_counts())  # escaped below
    count = f"{j.count}" + (f": {regimes}" if regimes else "")
    if not j.known:
        unnamed = j.count - len(j.joiners)
        count += f" ({unnamed} not recorded)" if j.joiners else " (who: not recorded)"
    ids = [str(x.transition_id) for x in j.joiners[:SHOWN_JOINERS]]
    more = len(j.joiners) - SHOWN_JOINERS
    return safe(count), " ".join(ids) + (f" … +{more}" if more > 0 else "")


def diff_tables(d: StateDiff, a: str, b: str) -> Group:
    """The schema changes and metric deltas of a diff, or one line when nothing changed.

    With the diff's membership (``StateDiff.joined``) the schema table gains a "joined"
    column (how many transitions joined each created or updated schema, by true regime)
    and a "transitions" column (the first ``SHOWN_JOINERS`` of their ids, in order)."""
    if d.empty:
        return Group(f"no difference between {safe(a)} and {safe(b)}")
    schemas = Table(title=f"Schemas: {safe(a)} -> {safe(b)}", title_justify="left")
    names = ["change", "schema", "points", "mean shift", "cov change"]
    if d.joined is not None:
        names += ["joined", "transitions"]
    for name in names:
        left = name in {"change", "schema", "joined", "transitions"}
        schemas.add_column(name, justify="left" if left else "right")

    def row(change: str, sid: str, *cells: str) -> None:
        extra = () if d.joined is None else joined_cells(d.joined.get(sid))
        schemas.add_row(change, safe(sid), *cells, *extra)

    for sid in d.created:
        row("[green]created[/]", sid, str(d.points[sid]), "", "")
    for sid in d.pruned:
        row("[red]pruned[/]", sid, str(d.points[sid]), "", "")
    for u in d.updated:
        row(
            "updated",
            u.schema_id,
            f"{u.points_before} -> {u.points_after} ({u.points_after - u.points_before:+d})",
            f"{u.mean_shift:.4f}",
            f"{u.cov_change:.4f}",
        )
    metrics = Table(title="Latest cycle metrics", title_justify="left")
    for name in ["metric", "A", "B", "delta"]:
        metrics.add_column(name, justify="left" if name == "metric" else "right")
    for name, (va, vb) in d.metrics.items():
        metrics.add_row(safe(name), f"{va:.6g}", f"{vb:.6g}", f"{vb - va:+.6g}")
    summary = (
        f"{len(d.created)} created, {len(d.pruned)} pruned, {len(d.updated)} updated, "
        f"{len(d.metrics)} metrics changed"
    )
    if d.joined is not None:
        n = sum(j.count for j in d.joined.values())
        summary += f"; {n} transitions joined the created and updated schemas"
    return Group(schemas, metrics, summary)
