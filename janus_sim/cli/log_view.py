"""The commands that read a store's log: ``runs`` and ``events``.

Apart from ``log_commands`` (``run``, ``verify``), whose engine, kernels and Qdrant client
they do not need: each starts in well under a second (the root group loads it lazily).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from janus_sim.app.views import event_query, run_dict
from janus_sim.cli.common import WholeNumber, latest_run, open_existing, stdout, store_option
from janus_sim.cli.render import event_json_lines, events_table, runs_table


@click.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def runs(store_path: Path, as_json: bool) -> None:
    """List the runs in the store, oldest first, with status and digest."""
    store = open_existing(store_path)
    try:
        infos = store.list_runs()
    finally:
        store.close()
    if as_json:
        for r in infos:
            click.echo(json.dumps(run_dict(r)))
        return
    stdout().print(runs_table(infos))


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option("--kind", "kinds", multiple=True, help="Only this event kind (repeatable).")
@click.option("--cycle", type=WholeNumber(0), help="Only this cycle (trading day number, 1-based).")
@click.option("--since", help="From this simulated date or timestamp (inclusive).")
@click.option("--until", help="Up to this simulated date (end of day) or timestamp.")
@click.option("--entity", help="Only this entity, e.g. transition:42 or policy.")
@click.option("--limit", type=WholeNumber(1), default=20, show_default=True)
@click.option("--tail", is_flag=True, help="The last LIMIT matches instead of the first.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines with decoded payloads.")
def events(
    store_path: Path,
    run_id: str | None,
    kinds: tuple[str, ...],
    cycle: int | None,
    since: str | None,
    until: str | None,
    entity: str | None,
    limit: int,
    tail: bool,
    as_json: bool,
) -> None:
    """Filter and tail the event log of a run.

    \b
    Examples:
      janus-sim events --kind cycle_metrics --json
      janus-sim events --kind transition_recorded --since 2025-12-18T10:00 --limit 5
      janus-sim events --tail --limit 10
    """
    query = event_query(
        kinds, cycle=cycle, since=since, until=until, entity=entity, limit=limit, tail=tail
    )
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        batch = store.read(rid, query)
    finally:
        store.close()
    if as_json:
        for line in event_json_lines(batch):
            click.echo(line)
    else:
        stdout().print(events_table(batch))
