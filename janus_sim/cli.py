"""The ``janus-sim`` command line: presentation only; the work is in app/ and core/.

Exit codes: 0 success, 1 a comparison or verification found a difference, 2 bad input
or usage. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from janus_sim import __version__
from janus_sim.adapters.duckdb_store import DuckDBEventStore, open_store
from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.app.diff import diff_states, parse_spec
from janus_sim.app.engine import Engine, RunInterrupted, default_run_id
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, schema_rows, state_at
from janus_sim.app.verify import verify_run
from janus_sim.config import Scenario, json_schema
from janus_sim.errors import ConfigError, JanusError, NotFoundError
from janus_sim.ports import EventQuery
from janus_sim.render import (
    ProgressObserver,
    cycle_table,
    diff_tables,
    event_json_lines,
    events_table,
    runs_table,
    schemas_table,
)
from janus_sim.timefmt import parse_moment

STORE_HELP = "Event store: a directory (holding janus.duckdb) or a .duckdb file."

store_option = click.option(
    "--store",
    "store_path",
    default="store",
    show_default=True,
    envvar="JANUS_SIM_STORE",
    type=click.Path(path_type=Path),
    help=STORE_HELP + " Env: JANUS_SIM_STORE.",
)


def _stdout() -> Console:
    """Tables on stdout; piped output gets a wide console instead of rich's 80 columns."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _open_existing(path: Path) -> DuckDBEventStore:
    target = path if path.suffix == ".duckdb" else path / "janus.duckdb"
    if not target.exists():
        raise NotFoundError(
            f"no event store at {target}: run `janus-sim run SCENARIO --store {path}` first"
        )
    return open_store(path, read_only=True)


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
    "--resume",
    is_flag=True,
    help="Finish a run that stopped early (killed, interrupted, failed): the latest "
    "unfinished run of this scenario and seed, or --run-id.",
)
def run(
    scenario: Path,
    store_path: Path,
    seed: int | None,
    run_id: str | None,
    quiet: bool,
    resume: bool,
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
    sc, text = load_scenario(scenario)
    if seed is not None:
        sc = sc.with_seed(seed)
    if run_id is not None and not run_id.strip():
        raise ConfigError("--run-id", "", "must not be empty")
    store = open_store(store_path)
    err = Console(stderr=True)
    out = _stdout()
    stop = _StopSignals()
    try:
        pick = _run_to_resume if resume else default_run_id
        rid = run_id or pick(store, sc)
        observer = ProgressObserver(err) if not quiet else None
        engine = Engine(
            sc,
            store,
            run_id=rid,
            scenario_source=str(scenario),
            scenario_text=text,
            observer=observer,
            should_stop=stop.pending,
        )
        go = engine.resume if resume else engine.run
        with stop:
            if observer is not None:
                with observer:
                    result = go()
            else:
                result = go()
    except RunInterrupted as e:
        click.echo(
            f"janus-sim: {e}; run {rid!r} is marked interrupted. Finish it with: "
            f"janus-sim run {scenario} --store {store_path} --run-id {rid} --resume",
            err=True,
        )
        sys.exit(130 if e.signal_name == "SIGINT" else 143)
    finally:
        store.close()
    out.print(cycle_table(result))
    out.print(f"run id  [bold]{result.run_id}[/]")
    out.print(f"digest  {result.digest}")
    out.print(f"events  {result.n_events}   store  {store_path}")
    out.print(
        f"[dim]next: janus-sim events --store {store_path} --run {result.run_id} "
        "--kind cycle_metrics --json[/]"
    )


class _StopSignals:
    """Turns SIGINT/SIGTERM into a request the engine honours at its next batch boundary."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._saved: dict[int, Any] = {}

    def pending(self) -> str | None:
        return self._name

    def _handle(self, signum: int, frame: object) -> None:
        self._name = signal.Signals(signum).name

    def __enter__(self) -> _StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


def _run_to_resume(store: DuckDBEventStore, sc: Scenario) -> str:
    digest = sc.scenario_hash()
    open_runs = [
        r for r in store.list_runs() if r.scenario_hash == digest and r.status != "finished"
    ]
    if not open_runs:
        raise NotFoundError(
            f"no unfinished run of scenario {sc.name!r} with seed {sc.seed} to resume"
        )
    return open_runs[-1].run_id


@cli.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "--replay",
    is_flag=True,
    help="Also re-simulate the run from its stored scenario and check every event "
    "(needs the janus-sim version that wrote it).",
)
def verify(store_path: Path, run_id: str | None, replay: bool) -> None:
    """Check a run's log: gap-free sequence, every event decodes and folds, the digest.

    Exit 0 when everything holds; exit 1 naming the first bad sequence number otherwise.
    """
    store = _open_existing(store_path)
    try:
        rid = run_id or _latest_run(store)
        report = verify_run(store, rid, replay=replay)
    finally:
        store.close()
    out = _stdout()
    if report.ok:
        checks = "sequence, fold, digest" + (", replay" if report.replayed else "")
        out.print(f"[green]ok[/]  run {rid}: {report.n_events} events; {checks} verified")
        out.print(f"digest  {report.recomputed_digest}")
        return
    for problem in report.problems:
        out.print(f"[red]FAIL[/] run {rid}: {problem}")
    if report.first_bad_seq is not None:
        out.print(f"first bad sequence number: {report.first_bad_seq}")
    sys.exit(1)


@cli.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def runs(store_path: Path, as_json: bool) -> None:
    """List the runs in the store, oldest first, with status and digest."""
    store = _open_existing(store_path)
    try:
        infos = store.list_runs()
    finally:
        store.close()
    if as_json:
        for r in infos:
            click.echo(json.dumps({k: v for k, v in r.__dict__.items() if k != "scenario_text"}))
        return
    _stdout().print(runs_table(infos))


@cli.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option("--kind", "kinds", multiple=True, help="Only this event kind (repeatable).")
@click.option("--cycle", type=int, help="Only this cycle (trading day number, 1-based).")
@click.option("--since", help="From this simulated date or timestamp (inclusive).")
@click.option("--until", help="Up to this simulated date (end of day) or timestamp.")
@click.option("--entity", help="Only this entity, e.g. transition:42 or policy.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
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
        t_min = parse_moment(since, end_of_day=False) if since else None
        t_max = parse_moment(until, end_of_day=True) if until else None
    except ValueError as e:
        raise ConfigError("--since/--until", "", str(e)) from e
    store = _open_existing(store_path)
    try:
        rid = run_id or _latest_run(store)
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
        _stdout().print(events_table(batch))


def _latest_run(store: DuckDBEventStore) -> str:
    infos = store.list_runs()
    if not infos:
        raise NotFoundError("the store has no runs yet: run `janus-sim run SCENARIO` first")
    return infos[-1].run_id


@cli.command()
@click.argument("when", required=False)
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option("--cycle", type=click.IntRange(0), help="After the night of this cycle.")
@click.option("--seq", type=click.IntRange(0), help="After this event sequence number.")
@click.option("--json", "as_json", is_flag=True, help="The schemas as JSON.")
def at(
    when: str | None,
    store_path: Path,
    run_id: str | None,
    cycle: int | None,
    seq: int | None,
    as_json: bool,
) -> None:
    """The schema state of a run as of WHEN: a date (its end), a timestamp, a cycle or
    a sequence number; the end of the run when none is given. Rebuilt from the log.

    \b
    Examples:
      janus-sim at 2025-12-20
      janus-sim at 2025-12-18T12:00 --json
      janus-sim at --cycle 3
    """
    given = [x for x in (when, cycle, seq) if x is not None]
    if len(given) > 1:
        raise ConfigError("at", "", "give one of WHEN, --cycle or --seq")
    if when is not None:
        try:
            moment = Moment(t_ns=parse_moment(when, end_of_day=True), label=when)
        except ValueError as e:
            raise ConfigError("WHEN", "", str(e)) from e
    elif cycle is not None:
        moment = Moment(cycle=cycle, label=f"cycle {cycle}")
    elif seq is not None:
        moment = Moment(seq=seq, label=f"event {seq}")
    else:
        moment = Moment()
    store = _open_existing(store_path)
    try:
        rid = run_id or _latest_run(store)
        state, last = state_at(store, rid, moment, kinds=SCHEMA_KINDS)
    finally:
        store.close()
    rows = schema_rows(state)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": rid,
                    "as_of": moment.label,
                    "last_seq": last,
                    "cycle": state.cycle,
                    "schemas": rows,
                },
                indent=2,
            )
        )
        return
    _stdout().print(
        schemas_table(
            rows, f"Schemas of {rid} as of {moment.label} (cycle {state.cycle}, event {last})"
        )
    )


@cli.command()
@click.argument("a")
@click.argument("b")
@store_option
@click.option("--run", "run_id", help="Run for A and B when they do not name one.")
@click.option("--json", "as_json", is_flag=True, help="The difference as JSON.")
def diff(a: str, b: str, store_path: Path, run_id: str | None, as_json: bool) -> None:
    """What changed from moment A to moment B: schemas created, pruned, updated (mean
    shift, covariance change, point delta) and the latest cycle metrics' deltas.

    A and B are [RUN@]WHEN, WHEN a date (its end), a timestamp, cycle:N, seq:N or end.

    \b
    Examples:
      janus-sim diff 2025-12-17 2025-12-19
      janus-sim diff cycle:2 end --json
      janus-sim diff runA@end runB@end
    """
    (run_a, moment_a), (run_b, moment_b) = parse_spec(a), parse_spec(b)
    store = _open_existing(store_path)
    try:
        default = run_id or _latest_run(store)
        ra, rb = run_a or default, run_b or default
        state_a, _ = state_at(store, ra, moment_a, kinds=SCHEMA_KINDS)
        state_b, _ = state_at(store, rb, moment_b, kinds=SCHEMA_KINDS)
    finally:
        store.close()
    d = diff_states(state_a, state_b)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "a": {"run_id": ra, "as_of": moment_a.label},
                    "b": {"run_id": rb, "as_of": moment_b.label},
                    "created": d.created,
                    "pruned": d.pruned,
                    "updated": [u.__dict__ for u in d.updated],
                    "metrics": {k: {"a": va, "b": vb} for k, (va, vb) in d.metrics.items()},
                },
                indent=2,
            )
        )
        return
    _stdout().print(diff_tables(d, f"{ra} @ {moment_a.label}", f"{rb} @ {moment_b.label}"))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the scenario file format."""
    click.echo(json.dumps(json_schema(), indent=2))


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI, turning JanusErrors into one line and an exit code."""
    try:
        return cli.main(args=argv, prog_name="janus-sim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("janus-sim: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except JanusError as e:
        click.echo(f"janus-sim: error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("janus-sim: interrupted; the run is marked failed in the store", err=True)
        sys.exit(130)
