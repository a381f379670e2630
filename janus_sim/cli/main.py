"""The ``janus-sim`` root group, its entry point and its one-line errors.

Every command lives in its own module (the run and log commands in ``log_commands``)
and is imported only when it runs: ``COMMANDS`` names each one's ``module:attribute``
and its one-line help, so ``janus-sim --help`` imports no command and ``janus-sim at``
only what ``at`` uses (``lazy_group``). Presentation only: a run is assembled by
``janus_sim.wiring`` and the work is in app/ and core/.

Exit codes: 0 success, 1 a comparison or verification found a difference, 2 bad input
or usage. Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from janus_sim import __version__
from janus_sim.adapters.stop_signals import Stopped, StopRule, exit_code, stopped_line
from janus_sim.cli.lazy_group import LazyCommand, LazyGroup
from janus_sim.cli.safe_text import inert
from janus_sim.errors import JanusError


def _lazy(target: str, help: str) -> LazyCommand:
    return LazyCommand(f"janus_sim.cli.{target}", help)


COMMANDS: dict[str, LazyCommand] = {
    "at": _lazy(
        "at_command:at",
        "The schema state of a run as of a moment, rebuilt from the log; the end of the run "
        "when none is given.",
    ),
    "baseline": _lazy(
        "baseline:baseline",
        "Regression baselines: a scenario's expected per-cycle metrics and run digest.",
    ),
    "bisect": _lazy(
        "bisect:bisect",
        "Find the first commit between --good and --bad that changes the run: with a "
        "SCENARIO, the first whose digest differs from the good commit's; with a "
        "BASELINE.json (a `.json` file), the first that fails it as `baseline check` does "
        "(digest, event count or a metric beyond tolerance; --metrics-only: metrics alone).",
    ),
    "compare": _lazy(
        "compare:compare",
        "Compare the sleep cycles of runs A and B, cycle by cycle: every cycle metric (within "
        "--rtol/--atol; counts exact), the schema states (paired by id, else by nearest "
        "centroid) and, when the digests differ, the first diverging event.",
    ),
    "diff": _lazy(
        "memory:diff",
        "What changed from moment A to moment B: schemas created, pruned, updated (mean "
        "shift, covariance change, point delta) and the latest cycle metrics' deltas. "
        "Within one run (B not before A), also which transitions joined each created or "
        'updated schema, with their true regimes ("?" who: the log is older than that '
        "record).",
    ),
    "doctor": _lazy(
        "doctor:doctor",
        "Re-run SCENARIO under perturbations that must not change a deterministic run and "
        "report whether every run gives the same digest, else each run's first divergent "
        "event.",
    ),
    "events": _lazy("log_view:events", "Filter and tail the event log of a run."),
    "export": _lazy(
        "export:export",
        "Export runs' events to Parquet files partitioned by run and kind, for DuckDB, "
        "polars, Spark or Trino.",
    ),
    "rebuild": _lazy(
        "memory:rebuild",
        "Recreate a derived store from the event log: `--qdrant`, the run's schema "
        "collection (idempotent: the same log always gives the same collection).",
    ),
    "restore": _lazy(
        "memory:restore",
        "Restore a run's schema collection as of night N from that night's snapshot "
        "(store/snapshots/<collection>/cycle-NNNN.jsonl), after checking the snapshot's "
        "checksum against the log's vector_store_synced event; the same points as "
        "`rebuild --qdrant` gives from the log as of that night.",
    ),
    "report": _lazy(
        "report:report",
        "Write an HTML report of a run: the 3-D map per night (cycle slider; colour by "
        "schema, cluster or true regime), the schema timeline, replay priorities per night, "
        "a constraint x day heatmap, the price path with true regimes and anomalies, the "
        "anomalies' novelty score with the operator alerts and risk spans, a schema browser "
        "and the quality metrics.",
    ),
    "run": _lazy(
        "log_commands:run", "Simulate every trading day of SCENARIO and its nightly sleep cycle."
    ),
    "runs": _lazy(
        "log_view:runs", "List the runs in the store, oldest first, with status and digest."
    ),
    "schema": _lazy("log_commands:schema", "Print the JSON Schema of the scenario file format."),
    "search": _lazy(
        "memory:search",
        "The K schemas most similar (cosine, eq. 33) to a state or a transition's state.",
    ),
    "sweep": _lazy(
        "sweep:sweep",
        "Run many trials - scenarios x parameter settings x seeds - and compare them.",
    ),
    "verify": _lazy(
        "log_commands:verify",
        "Check a run's log: gap-free sequence, the hash chain, every event decodes and folds "
        "(each nightly checkpoint is compared with the state the events before it build), "
        "and the recorded digest.",
    ),
}
"""Every command: name -> where it lives and the first paragraph of its help, from which
click takes the one-line help of the listing (a test checks both against the command)."""


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="janus-sim")
def cli() -> None:
    """Replay a trading agent's sleep (memory consolidation) deterministically.

    Every transition, priority update and policy step of a simulated run is an event
    in a DuckDB log (the source of truth). Start with:

      janus-sim run scenarios/crash_week.yaml

    then look at what happened with `janus-sim runs` and `janus-sim events`.
    """


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
            sys.exit(exit_code(stopped))
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
    except JanusError as e:
        if _is_replay_mismatch(e):  # run --resume: the one line, then the divergence report
            _explain_mismatch(e)
        # One line whatever the message quotes: a newline or an ANSI escape in user text
        # would forge or hide output (safe_text).
        click.echo(inert(f"janus-sim: error: {e}"), err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("janus-sim: interrupted; the run is marked failed in the store", err=True)
        sys.exit(130)


def _is_replay_mismatch(error: JanusError) -> bool:
    # Only ``run --resume`` raises it, and then its module is loaded: no import needed.
    log_sink = sys.modules.get("janus_sim.app.log_sink")
    return log_sink is not None and isinstance(error, log_sink.ReplayMismatch)


def _explain_mismatch(e: Any) -> None:
    """A ReplayMismatch's line, its configuration changes and divergence report; exits."""
    from janus_sim.cli.divergence_view import config_lines, divergence_lines

    click.echo(inert(f"janus-sim: error: {e}"), err=True)
    for line in config_lines(e.changes):
        click.echo(inert(line), err=True)
    if e.divergence is not None:
        for line in divergence_lines(e.divergence, expected="log", actual="replay"):
            click.echo(inert(line), err=True)
    sys.exit(e.exit_code)
