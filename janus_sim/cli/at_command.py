"""``janus-sim at``: the schema state of a run as of a moment, and its table.

A module of its own, apart from the other memory commands, so that ``janus-sim at``
imports only what it uses (the store, the fold, rich's table): no engine, Qdrant client,
scipy or pydantic scenario models (the CLI's root group loads commands lazily, ``main``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from janus_sim.app.timetravel import Moment
from janus_sim.app.views import pick_run, schemas_at
from janus_sim.cli.common import WholeNumber, open_stores, stdout, store_option
from janus_sim.cli.run_ref import RunRef, parse_run_ref
from janus_sim.cli.safe_text import safe
from janus_sim.errors import ConfigError


@click.command()
@click.argument("ref", required=False, metavar="[REF]")
@store_option
@click.option("--run", "run_id", help="Run, when REF names none (default: the latest run).")
@click.option("--cycle", type=WholeNumber(0), help="After the night of this cycle.")
@click.option("--seq", type=WholeNumber(0), help="After this event sequence number.")
@click.option("--json", "as_json", is_flag=True, help="The schemas as JSON.")
def at(
    ref: str | None,
    store_path: Path,
    run_id: str | None,
    cycle: int | None,
    seq: int | None,
    as_json: bool,
) -> None:
    """The schema state of a run as of a moment, rebuilt from the log; the end of the
    run when none is given.

    REF is [STORE:]RUN@WHEN, or a bare WHEN for the --run run (default: the latest) in
    --store. WHEN is a date (its end), a timestamp, cycle:N, seq:N or end. STORE may
    contain ':' and '@': WHEN follows the last '@', RUN the last ':' before it.

    \b
    Examples:
      janus-sim at 2025-12-20
      janus-sim at 2025-12-18T12:00 --json
      janus-sim at crash_week-s20251220@cycle:3
      janus-sim at store/v1.duckdb:crash_week-s20251220@2025-12-18T12:00
      janus-sim at --cycle 3 --run crash_week-s20251220
    """
    given = [x for x in (ref, cycle, seq) if x is not None]
    if len(given) > 1:
        raise ConfigError("at", "", "give one of WHEN, --cycle or --seq (or RUN@cycle:N)")
    named = RunRef()
    if ref is not None:
        named = parse_run_ref(ref, when="required", command="at")
        moment = named.moment()
    elif cycle is not None:
        moment = Moment(cycle=cycle, label=f"cycle {cycle}")
    elif seq is not None:
        moment = Moment(seq=seq, label=f"event {seq}")
    else:
        moment = Moment()
    with open_stores([named.store or store_path]) as (store,):
        view = schemas_at(store, pick_run(store, named.run or run_id), moment)
    if as_json:
        click.echo(json.dumps(view.as_json(), indent=2))
        return
    where = f"cycle {view.state.cycle}, event {view.last_seq}"
    title = f"Schemas of {view.run_id} as of {moment.label} ({where})"
    stdout().print(schemas_table(view.rows, safe(title)))


def schemas_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_footer=True)
    total_points = sum(int(r["points"]) for r in rows)
    columns = [
        ("id", f"{len(rows)} schemas"),
        ("points", str(total_points)),
        ("avg reward", ""),
        ("created", ""),
        ("updated", ""),
        ("|mean|", ""),
        ("tr Σ", ""),
        ("dominant regime", ""),
    ]
    for name, footer in columns:
        table.add_column(
            name,
            footer=footer,
            justify="left" if name in {"id", "created", "updated", "dominant regime"} else "right",
        )
    for r in rows:
        table.add_row(
            safe(r["id"]),
            str(r["points"]),
            f"{r['avg_reward']:+.4f}",
            safe(r["created"]),
            safe(r["updated"]),
            f"{r['mean_norm']:.3f}",
            f"{r['cov_trace']:.4f}",
            f"{safe(r['dominant_regime'])} ({100 * r['dominant_share']:.0f}%)"
            if r["dominant_regime"]
            else "-",
        )
    return table
