"""The ``janus-sim`` group and its run and log commands (``run``, ``verify``, ``runs``,
``events``, ``schema``); the other families register from their own modules. Presentation
only: a run is assembled by ``janus_sim.wiring`` and the work is in app/ and core/.

Exit codes: 0 success, 1 a comparison or verification found a difference, 2 bad input
or usage. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from janus_sim import __version__
from janus_sim.adapters.duckdb_store import DuckDBEventStore, store_file
from janus_sim.adapters.stop_signals import StopFlag, Stopped, StopRule, stopped_line
from janus_sim.app.anomaly_lead import crash_lead_of_run
from janus_sim.app.anomaly_responses import responses_of_run
from janus_sim.app.engine import RunInterrupted, RunStalled, default_run_id
from janus_sim.app.log_sink import ReplayMismatch
from janus_sim.app.novelty import novelty_of_run
from janus_sim.app.verify import verify_run
from janus_sim.cli.baseline import baseline
from janus_sim.cli.bisect import bisect
from janus_sim.cli.common import (
    WholeNumber,
    latest_run,
    lock_timeout,
    open_existing,
    say_waiting,
    stderr,
    stdout,
    stopped_exit_code,
    store_option,
)
from janus_sim.cli.compare import compare
from janus_sim.cli.divergence_view import config_lines, divergence_lines, verify_dict
from janus_sim.cli.doctor import doctor
from janus_sim.cli.export import export
from janus_sim.cli.memory import at, diff, rebuild, restore, search
from janus_sim.cli.render import (
    ProgressObserver,
    cycle_table,
    event_json_lines,
    events_table,
    projection_lines,
    runs_table,
)
from janus_sim.cli.report import report
from janus_sim.cli.safe_text import inert, safe
from janus_sim.cli.sweep import sweep
from janus_sim.config import Scenario, json_schema
from janus_sim.config.names import check_run_id
from janus_sim.errors import ConfigError, JanusError, NotFoundError, StoreError
from janus_sim.ports import EventQuery
from janus_sim.timefmt import parse_event_time
from janus_sim.wiring import load_scenario, open_run, stored_scenario


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="janus-sim")
def cli() -> None:
    """Replay a trading agent's sleep (memory consolidation) deterministically.

    Every transition, priority update and policy step of a simulated run is an event
    in a DuckDB log (the source of truth). Start with:

      janus-sim run scenarios/crash_week.yaml

    then look at what happened with `janus-sim runs` and `janus-sim events`.
    """


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@store_option
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option("--run-id", help="Name of the run (default: <scenario>-s<seed>[-N]).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
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
    # From here on a SIGINT/SIGTERM only asks the engine to stop at its next batch
    # boundary (setup included), so no half-written state can come of it.
    with StopFlag() as stop:
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
                lead = crash_lead_of_run(opened.store, rid)
                novelty = novelty_of_run(opened.store, rid)
                responses = responses_of_run(opened.store, rid)
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


@cli.command()
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


@cli.command()
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
            click.echo(json.dumps({k: v for k, v in r.__dict__.items() if k != "scenario_text"}))
        return
    stdout().print(runs_table(infos))


@cli.command()
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
    from janus_sim.core.events import EVENT_KINDS

    for k in kinds:
        if k not in EVENT_KINDS:
            raise ConfigError("--kind", "", f"unknown kind {k!r}; known: {', '.join(EVENT_KINDS)}")
    try:
        t_min = parse_event_time(since, end_of_day=False) if since else None
        t_max = parse_event_time(until, end_of_day=True) if until else None
    except ValueError as e:
        raise ConfigError("--since/--until", "", str(e)) from e
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        batch = store.read(
            rid,
            EventQuery(
                kinds=kinds or None,
                cycle_min=cycle,
                cycle_max=cycle,
                t_min=t_min,
                t_max=t_max,
                entity=entity,
                limit=limit,
                tail=tail,
            ),
        )
    finally:
        store.close()
    if as_json:
        for line in event_json_lines(batch):
            click.echo(line)
    else:
        stdout().print(events_table(batch))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the scenario file format."""
    click.echo(json.dumps(json_schema(), indent=2))


for _command in (at, diff, search, rebuild, restore):
    cli.add_command(_command)
for _command in (compare, baseline):
    cli.add_command(_command)
cli.add_command(report)
cli.add_command(export)
cli.add_command(sweep)
cli.add_command(doctor)
cli.add_command(bisect)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turning JanusErrors into one line and an exit code.

    Under the stop rule (``StopRule``): once a SIGINT/SIGTERM has arrived the outcome is
    exit 130 / 143 with one line, whatever exception carried the signal out (DuckDB
    reports an interrupted query as a RuntimeError) and even if the command returned."""
    result: Any = None
    with StopRule() as rule:
        try:
            try:
                result = cli.main(args=argv, prog_name="janus-sim", standalone_mode=False)
            except BaseException as e:
                if rule.pending() is None:
                    _explain(e)  # exits with the error's code, or re-raises what it does not know
        except Stopped:
            pass  # the signal came while an error was being explained: the signal wins
        stopped = rule.pending()
        if stopped is not None:
            click.echo(stopped_line(stopped), err=True)
            sys.exit(stopped_exit_code(stopped))
    return result


def _explain(failure: BaseException) -> None:
    """One line on stderr and the exit code for a command that raised ``failure``;
    anything unexpected is raised again."""
    try:
        raise failure
    except click.exceptions.Abort:
        click.echo("janus-sim: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        # Usage errors too are one inert line: click's message quotes what was typed.
        hint = ""
        if isinstance(e, click.UsageError):
            path = e.ctx.command_path if e.ctx is not None else "janus-sim"
            hint = f" (see `{path} --help`)"
        click.echo(inert(f"janus-sim: error: {e.format_message()}{hint}"), err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except ReplayMismatch as e:  # run --resume: the one line, then the divergence report
        click.echo(inert(f"janus-sim: error: {e}"), err=True)
        for line in config_lines(e.changes):
            click.echo(inert(line), err=True)
        if e.divergence is not None:
            for line in divergence_lines(e.divergence, expected="log", actual="replay"):
                click.echo(inert(line), err=True)
        sys.exit(e.exit_code)
    except JanusError as e:
        # One line whatever the message quotes: a newline or an ANSI escape in user text
        # would forge or hide output (safe_text).
        click.echo(inert(f"janus-sim: error: {e}"), err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("janus-sim: interrupted; the run is marked failed in the store", err=True)
        sys.exit(130)
