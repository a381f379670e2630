"""Commands that look at a run's memory: diff, search, rebuild, restore (``at`` is in
``at_command``, which imports much less: ``janus-sim at`` starts in under a second)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from rich.table import Table

from janus_sim.adapters.qdrant_store import open_vector_store
from janus_sim.app.vector_sync import (
    collection_name,
    schema_space,
    search_schemas,
)
from janus_sim.app.views import diff_views, pick_run
from janus_sim.cli.common import (
    WholeNumber,
    latest_run,
    open_existing,
    open_stores,
    stdout,
    store_dir,
    store_option,
)
from janus_sim.cli.render_diff import diff_tables
from janus_sim.cli.run_ref import parse_run_ref
from janus_sim.cli.safe_text import inert, safe
from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.ports import EventQuery
from janus_sim.wiring import rebuild_vectors, restore_vectors


@click.command()
@click.argument("a")
@click.argument("b")
@store_option
@click.option("--run", "run_id", help="Run for A and B when they name none (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="The difference as JSON.")
def diff(a: str, b: str, store_path: Path, run_id: str | None, as_json: bool) -> None:
    """What changed from moment A to moment B: schemas created, pruned, updated (mean
    shift, covariance change, point delta) and the latest cycle metrics' deltas. Within
    one run (B not before A), also which transitions joined each created or updated
    schema, with their true regimes ("?" who: the log is older than that record).

    A and B are each [STORE:]RUN@WHEN, or a bare WHEN for the --run run (default: the
    latest) in --store; A and B may name different runs and stores. WHEN is a date (its
    end), a timestamp, cycle:N, seq:N or end. STORE may contain ':' and '@': WHEN
    follows the last '@', RUN the last ':' before it.

    \b
    Examples:
      janus-sim diff 2025-12-17 2025-12-19
      janus-sim diff cycle:2 end --json
      janus-sim diff runA@end runB@end
      janus-sim diff store/v1.duckdb:runA@cycle:3 store/v2:runA@cycle:3
    """
    refs = [
        parse_run_ref(text, when="required", command="diff", arg=name)
        for name, text in (("A", a), ("B", b))
    ]
    moment_a, moment_b = (r.moment() for r in refs)
    locations = [r.store or store_path for r in refs]
    with open_stores(locations) as stores:
        ra, rb = (pick_run(store, r.run or run_id) for r, store in zip(refs, stores, strict=True))
        view = diff_views(stores[0], ra, moment_a, stores[1], rb, moment_b)
    d = view.diff
    # A store is shown only where the ref named one: the common case stays as it was.
    name_a, name_b = (ra if r.store is None else f"{r.store}:{ra}" for r in refs)
    if as_json:
        sides = {
            "a": {"run_id": ra, "as_of": moment_a.label, "store": str(locations[0])},
            "b": {"run_id": rb, "as_of": moment_b.label, "store": str(locations[1])},
        }
        click.echo(json.dumps({**sides, **d.as_json()}, indent=2))
        return
    stdout().print(diff_tables(d, f"{name_a} @ {moment_a.label}", f"{name_b} @ {moment_b.label}"))


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "--qdrant", "qdrant", is_flag=True, required=True, help="Recreate the schema collection."
)
@click.option("--qdrant-url", envvar="JANUS_QDRANT_URL", help="Qdrant server (default: embedded).")
def rebuild(store_path: Path, run_id: str | None, qdrant: bool, qdrant_url: str | None) -> None:
    """Recreate a derived store from the event log: `--qdrant`, the run's schema
    collection (idempotent: the same log always gives the same collection)."""
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        n, aside = rebuild_vectors(store, store_dir(store_path), rid, qdrant_url)
    finally:
        store.close()
    if aside is not None:
        click.echo(
            f"janus-sim: warning: the embedded Qdrant store could not be read: moved to "
            f"{inert(str(aside))} (rebuild other runs' collections with rebuild --qdrant --run ID)",
            err=True,
        )
    stdout().print(safe(f"rebuilt collection {collection_name(rid)}: {n} schemas of run {rid}"))


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "--state",
    "state_text",
    help="A vector in the schemas' space (the scaled neocortex.features): comma-separated.",
)
@click.option(
    "--transition", "transition_id", type=click.IntRange(0), help="Use this transition's state."
)
@click.option("-k", "k", type=click.IntRange(1), default=5, show_default=True)
@click.option("--qdrant-url", envvar="JANUS_QDRANT_URL", help="Qdrant server (default: embedded).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines: schema id and score.")
def search(
    store_path: Path,
    run_id: str | None,
    state_text: str | None,
    transition_id: int | None,
    k: int,
    qdrant_url: str | None,
    as_json: bool,
) -> None:
    """The K schemas most similar (cosine, eq. 33) to a state or a transition's state.

    A transition's raw state is first seen as the schemas see it: through the run's feature
    scaler, cut to its neocortex.features."""
    if (state_text is None) == (transition_id is None):
        raise ConfigError("search", "", "give exactly one of --state or --transition")
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        if transition_id is not None:
            found = store.read(
                rid,
                EventQuery(
                    kinds=["transition_recorded"], entity=f"transition:{transition_id}", limit=1
                ),
            )
            if not len(found):
                raise NotFoundError(f"run {rid!r} has no transition {transition_id}")
            raw = np.array(json.loads(found.payload[0])["state"])
            vector = schema_space(store, rid, raw)
        else:
            try:
                vector = np.array([float(x) for x in str(state_text).split(",")])
            except ValueError as e:
                raise ConfigError("--state", "", "expected comma-separated numbers") from e
        with open_vector_store(store_dir(store_path), qdrant_url) as vectors:
            try:
                hits = search_schemas(vectors, rid, vector, k)
            except ValueError as e:  # a vector of the wrong dimension
                raise ConfigError("--state", "", str(e)) from e
    finally:
        store.close()
    if as_json:
        for sid, score in hits:
            click.echo(json.dumps({"schema_id": sid, "score": score}))
        return
    table = Table(
        title=safe(f"Top {k} schemas of {rid} by cosine similarity"), title_justify="left"
    )
    table.add_column("schema")
    table.add_column("cosine", justify="right")
    for sid, score in hits:
        table.add_row(safe(sid), f"{score:.6f}")
    stdout().print(table)


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "--qdrant", "qdrant", is_flag=True, required=True, help="Restore the schema collection."
)
@click.option(
    "--cycle", type=WholeNumber(1), required=True, help="The night whose snapshot to restore."
)
@click.option("--qdrant-url", envvar="JANUS_QDRANT_URL", help="Qdrant server (default: embedded).")
def restore(
    store_path: Path, run_id: str | None, qdrant: bool, cycle: int, qdrant_url: str | None
) -> None:
    """Restore a run's schema collection as of night N from that night's snapshot
    (store/snapshots/<collection>/cycle-NNNN.jsonl), after checking the snapshot's
    checksum against the log's vector_store_synced event; the same points as
    `rebuild --qdrant` gives from the log as of that night.

    \b
    Examples:
      janus-sim restore --qdrant --cycle 3
      janus-sim restore --qdrant --cycle 3 --run crash_week-s20251220 --store store/
    """
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        done = restore_vectors(store, store_dir(store_path), rid, cycle, qdrant_url)
    finally:
        store.close()
    stdout().print(
        safe(
            f"restored collection {done.collection} as of cycle {done.cycle}: "
            f"{done.n_points} schemas of run {rid} from {done.snapshot}"
        )
    )
