"""The run commands: ``run``, ``verify``, ``schema`` (``runs`` and ``events`` are in
``log_view``, which does not import the engine).

Presentation only: a run is assembled by ``janus_sim.wiring`` and the work is in app/ and
core/. The root group (``janus_sim.cli.main``) imports this module only when one of these
commands runs (or ``--help`` of one of them), since it pulls in the engine and its kernels.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from janus_sim.adapters.duckdb_store import DuckDBEventStore, store_file
from janus_sim.adapters.stop_signals import StopFlag
from janus_sim.app.anomaly_summary import anomaly_summary_of_run
from janus_sim.app.run_outcome import RunInterrupted, RunStalled, default_run_id
from janus_sim.app.verify import verify_run
from janus_sim.cli.common import (
    latest_run,
    lock_timeout,
    open_existing,
    say_waiting,
    stderr,
    stdout,
    stopped_exit_code,
    store_option,
)
from janus_sim.cli.compile_notice import compile_notice
from janus_sim.cli.divergence_view import config_lines, divergence_lines, verify_dict
from janus_sim.cli.progress import ProgressObserver
from janus_sim.cli.render import (
    cycle_table,
    projection_lines,
)
from janus_sim.cli.safe_text import inert, safe
from janus_sim.config import Scenario, json_schema
from janus_sim.config.names import check_run_id
from janus_sim.errors import ConfigError, NotFoundError, StoreError
from janus_sim.wiring import load_scenario, open_run, stored_scenario


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@store_option
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option("--run-id", help="Name of the run (default: <scenario>-s<seed>[-N]).")
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress bars, and no line when a first run compiles the numerical kernels.",
)
@click.option(
    "--qdrant-url",
    envvar="JANUS_QDRANT_URL",
    help="Qdrant server for the schema collection (env JANUS_QDRANT_URL; API key from "
    "JANUS_QDRANT_API_KEY). Default: embedded Qdrant under the store folder.",
)
@click.option("--no-qdrant", is_flag=True, help="Do not keep the schema collection (phase 4).")
@click.option(
    "--resume",
    is_flag=True,
    help="Finish a run that stopped early (killed, interrupted, failed): the latest "
    "unfinished run of this scenario and seed, or --run-id.",
)
@click.option(
    "--from-checkpoint",
    is_flag=True,
    help="With --resume: restore the last nightly checkpoint instead of re-simulating and "
    "re-checking the stored nights (faster on long runs; `verify --replay` checks them).",
)
def run(
    scenario: Path,
    store_path: Path,
    seed: int | None,
    run_id: str | None,
    quiet: bool,
    qdrant_url: str | None,
    no_qdrant: bool,
    resume: bool,
    from_checkpoint: bool,
) -> None:
    """Simulate every trading day of SCENARIO and its nightly sleep cycle.

    Each day the agent trades one-minute bars (the awake path); each night phase 1
    replays the episodic buffer by priority and updates the policy. All events go to
    the store. At the end: a table per sleep cycle, the run id and the run digest
    (equal digests mean bit-identical runs).

    Ctrl-C or SIGTERM stops at the next batch boundary and marks the run interrupted
    (exit 130 / 143); `--resume` then finishes it with the digest an uninterrupted run
    would have had.

    The first run after an install compiles the numerical kernels (numba; 11-21 s on two cores)
    and says so in one line on stderr; later runs load them from numba's cache.

    \b
    Examples:
      janus-sim run scenarios/crash_week.yaml --seed 7 --store store/
      janus-sim run scenarios/crash_week.yaml --resume
    """
    if run_id is not None and not run_id.strip():
        raise ConfigError("--run-id", "", "must not be empty")
    if run_id is not None and not resume:  # a new run; --resume names a stored one
        check_run_id(run_id)
    if from_checkpoint and not resume:
        raise ConfigError("--from-checkpoint", "", "only applies with --resume")
    err = stderr()
    out = stdout()
    # A cold numba cache (the first run after an install) compiles for tens of seconds:
    # say so in one line, unless --quiet. From here on a SIGINT/SIGTERM only asks the
    # engine to stop at its next batch boundary (setup included), so no half-written
    # state can come of it.
    notice = compile_notice(lambda line: err.print(line, markup=False, highlight=False))
    with notice if not quiet else contextlib.nullcontext(), StopFlag() as stop:
        inputs = load_scenario(scenario).with_seed(seed)
        sc = inputs.scenario
        pick = _run_to_resume(sc) if resume else lambda store: default_run_id(store, sc)
        if resume and not store_file(store_path).is_file():
            # Checked before open_run, which would create the store it then finds empty.
            raise NotFoundError(
                f"no event store at {store_file(store_path)}: nothing to resume "
                "(expected the --store of the interrupted run)"
            )
        observer = ProgressObserver(err) if not quiet else None
        with open_run(
            inputs,
            store_path,
            run_id=run_id or pick,
            keep_vectors=not no_qdrant,
            qdrant_url=qdrant_url,
            observer=observer,
            should_stop=stop.pending,
            lock_timeout=lock_timeout(),
            on_wait=say_waiting,
        ) as opened:
            engine, rid = opened.engine, opened.engine.run_id
            try:
                with observer if observer is not None else contextlib.nullcontext():
                    result = (
                        engine.resume(from_checkpoint=from_checkpoint) if resume else engine.run()
                    )
            except RunInterrupted as e:
                click.echo(
                    inert(
                        f"janus-sim: {e}; run {rid!r} is marked interrupted. Finish it with: "
                        f"janus-sim run {scenario} --store {store_path} --run-id {rid} --resume"
                    ),
                    err=True,
                )
                sys.exit(stopped_exit_code(e.signal_name))
            except RunStalled as e:  # the store stayed locked mid-run: resume, not retry
                raise StoreError(
                    f"{e}. Finish it with: janus-sim run {scenario} --store {store_path} "
                    f"--run-id {rid} --resume"
                ) from e
            lead = novelty = responses = None
            if sc.projection.enabled:
                summary = anomaly_summary_of_run(opened.store, rid)
                lead, novelty, responses = summary.lead, summary.novelty, summary.responses
    bars = inputs.bars
    out.print(cycle_table(result, closes=None if bars is None else bars.daily_closes()))
    for line in projection_lines(result, lead, novelty, responses, labelled=bars is None):
        out.print(line)
    run_text, store_text = safe(result.run_id), safe(store_path)
    if engine.vector_error is not None:
        err.print(
            f"[yellow]warning:[/] the schema collection was not kept in sync "
            f"({safe(engine.vector_error)}); the events are complete: recreate it with "
            f"`janus-sim rebuild --qdrant --run {run_text}`"
        )
    out.print(f"run id  [bold]{run_text}[/]")
    out.print(f"digest  {result.digest}")
    out.print(f"events  {result.n_events}   store  {store_text}")
    out.print(
        f"[dim]next: janus-sim events --store {store_text} --run {run_text} "
        "--kind cycle_metrics --json[/]"
    )


def _run_to_resume(sc: Scenario) -> Callable[[DuckDBEventStore], str]:
    """Picks the latest unfinished run of ``sc`` (same scenario hash and seed) in a store."""

    def pick(store: DuckDBEventStore) -> str:
        digest = sc.scenario_hash()
        open_runs = [
            r for r in store.list_runs() if r.scenario_hash == digest and r.status != "finished"
        ]
        if not open_runs:
            raise NotFoundError(
                f"no unfinished run of scenario {sc.name!r} with seed {sc.seed} to resume"
            )
        return open_runs[-1].run_id

    return pick


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "--replay",
    is_flag=True,
    help="Also re-simulate the run from its stored scenario and check every event "
    "(needs the janus-sim version that wrote it).",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
def verify(store_path: Path, run_id: str | None, replay: bool, as_json: bool) -> None:
    """Check a run's log: gap-free sequence, the hash chain, every event decodes and
    folds (each nightly checkpoint is compared with the state the events before it
    build), and the recorded digest.

    With --replay, a difference is reported as the first divergent event: its seq, kind,
    entity, cycle and time, a field-level log/replay diff of its payload, and the later
    cycles it reached; a default this code resolves differently is named.

    Exit 0 when everything holds; exit 1 naming the first bad sequence number otherwise.
    """
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        inputs = stored_scenario(store.get_run(rid)) if replay else None
        report = verify_run(store, rid, replay=inputs)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(verify_dict(report), indent=2))
        if not report.ok:
            sys.exit(1)
        return
    out = stdout()
    for note in report.notes:
        out.print(f"[yellow]note[/] run {safe(rid)}: {safe(note)}")
    if report.ok:
        chain = "" if any("not checked" in n for n in report.notes) else "hash chain, "
        checks = f"sequence, {chain}fold, checkpoints, digest" + (
            ", replay" if report.replayed else ""
        )
        out.print(f"[green]ok[/]  run {safe(rid)}: {report.n_events} events; {checks} verified")
        out.print(f"digest  {report.recomputed_digest}")
        return
    for problem in report.problems:
        out.print(f"[red]FAIL[/] run {safe(rid)}: {safe(problem)}")
    for line in config_lines(report.config_changes):
        out.print(safe(line))
    if report.divergence is not None:
        for line in divergence_lines(report.divergence, expected="log", actual="replay"):
            out.print(safe(line))
    if report.first_bad_seq is not None:
        out.print(f"first bad sequence number: {report.first_bad_seq}")
    sys.exit(1)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the scenario file format."""
    click.echo(json.dumps(json_schema(), indent=2))
