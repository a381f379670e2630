"""``janus-sim compare A B`` and the report rendering it shares with ``baseline check``.

Presentation only: the comparison is ``janus_sim.app.compare``. A report renders three
ways from the same rows: a rich table (default), ``--json`` and ``--markdown``
(GitHub-flavoured, for a CI comment). Exit 0 when everything is within tolerance, 1
beyond, 2 bad input (a JanusError, reported by ``cli.main``).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from janus_sim.app.compare import (
    CompareReport,
    CycleComparison,
    MetricDelta,
    RunSource,
    Tolerances,
    compare_runs,
    jsonable,
    parse_tol,
)
from janus_sim.app.run_outcome import Observer
from janus_sim.cli.common import open_stores, stdout, store_option
from janus_sim.cli.divergence_view import config_lines, divergence_lines
from janus_sim.cli.run_ref import parse_run_ref
from janus_sim.cli.safe_text import inert, safe
from janus_sim.errors import ConfigError

Rows = tuple[list[str], list[list[str]]]
"""(headers, rows) of one table, rendered as rich or Markdown."""


def tolerances_of(rtol: float, atol: float, tol: tuple[str, ...]) -> Tolerances:
    return Tolerances(rtol=rtol, atol=atol, per_metric=tuple(parse_tol(t) for t in tol))


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--rtol/--atol/--tol, --json/--markdown, --all-metrics and --quiet."""
    for option in reversed(
        [
            click.option(
                "--rtol", type=float, default=1e-9, show_default=True, help="Relative tolerance."
            ),
            click.option(
                "--atol", type=float, default=1e-12, show_default=True, help="Absolute tolerance."
            ),
            click.option(
                "--tol",
                "tol",
                multiple=True,
                metavar="NAME=TOL",
                help="Per-metric tolerance: NAME=TOL (relative and absolute) or "
                "NAME=RTOL,ATOL; repeatable. Counts are exact unless named here.",
            ),
            click.option("--json", "as_json", is_flag=True, help="The report as JSON."),
            click.option(
                "--markdown", is_flag=True, help="GitHub-flavoured Markdown (a CI comment)."
            ),
            click.option(
                "--all-metrics", is_flag=True, help="List every metric, not only differences."
            ),
            click.option("--quiet", is_flag=True, help="No progress line on stderr."),
        ]
    ):
        f = option(f)
    return f


def check_format(as_json: bool, markdown: bool) -> None:
    if as_json and markdown:
        raise ConfigError("--json/--markdown", "", "give at most one of them")


@contextlib.contextmanager
def status_line(quiet: bool, text: str) -> Iterator[Callable[[str], None]]:
    """A transient rich status line on stderr; yields a function that updates it."""
    if quiet:
        yield lambda _: None
        return
    with Console(stderr=True, emoji=False).status(safe(text)) as status:
        yield lambda msg: status.update(safe(f"{text}: {msg}"))


class StatusObserver(Observer):
    """Feeds the engine's progress into a status line: day i/n, replay j/m."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.n_days = 0
        self.day = ""

    def run_started(self, run_id: str, n_days: int, n_replays: int) -> None:
        self.n_days = n_days

    def day_started(self, day: int, date: str) -> None:
        self.day = f"day {day + 1}/{self.n_days} ({date})"
        self.say(self.day)

    def replay_progress(self, done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            self.say(f"{self.day}, replay {done}/{total}")


# --- rows shared by every output format ------------------------------------------------


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.10g}"


def _rel_value(m: MetricDelta) -> float:
    """|B - A| / max(|A|, |B|); infinite when one side is missing."""
    if m.a is None or m.b is None or m.delta is None:
        return float("inf")
    scale = max(abs(m.a), abs(m.b))
    return abs(m.delta) / scale if scale > 0 else 0.0


def _rel(m: MetricDelta) -> str:
    return "missing" if m.a is None or m.b is None else f"{_rel_value(m):.3g}"


def _summary(report: CompareReport) -> Rows:
    schemas = any(c.schemas is not None for c in report.cycles)
    head = ["cycle", "date", "beyond tol.", "largest diff. (rel.)"]
    if schemas:
        head += ["schemas A/B", "by id/centroid", "only A/B", "max mean shift", "max cov chg."]
        head += ["Σ|Δ points|"]
    rows = []
    for c in report.cycles:
        date = c.date_a or c.date_b or "?"
        if c.date_a and c.date_b and c.date_a != c.date_b:
            date = f"{c.date_a} / {c.date_b}"
        beyond = c.beyond
        if c.date_a is None or c.date_b is None:
            worst = f"only in {'B' if c.date_a is None else 'A'}"
        elif beyond:
            top = max(beyond, key=_rel_value)
            worst = f"{top.name} ({_rel(top)})"
        else:
            worst = ""
        row = [str(c.cycle), date, f"{len(beyond)}/{len(c.metrics)}", worst]
        if schemas:
            s = c.schemas
            row += (
                ["-"] * 6
                if s is None
                else [
                    f"{s.n_a}/{s.n_b}",
                    f"{s.count('id')}/{s.count('centroid')}",
                    f"{s.count('only_a')}/{s.count('only_b')}",
                    f"{s.max_mean_shift:.4g}",
                    f"{s.max_cov_change:.4g}",
                    str(s.abs_point_delta),
                ]
            )
        rows.append([*row, "ok" if c.ok else "DIFF"])
    return [*head, "status"], rows


def _details(report: CompareReport, all_metrics: bool) -> Rows:
    head = ["cycle", "metric", "A", "B", "B - A", "rel.", "rtol / atol", "status"]
    rows = []
    for c in report.cycles:
        for m in c.metrics if all_metrics else c.beyond:
            tol = "exact" if m.rtol == 0 and m.atol == 0 else f"{m.rtol:g} / {m.atol:g}"
            status = "ok" if m.ok else "DIFF"
            values = [_num(m.a), _num(m.b), _num(m.delta), _rel(m)]
            rows.append([str(c.cycle), m.name, *values, tol, status])
    return head, rows


def _lines(report: CompareReport, with_numerics: bool = True) -> list[str]:
    a, b = report.a, report.b
    numerics_line = report.numerics_line if with_numerics else None
    out = [] if numerics_line is None else [numerics_line]
    out += [
        f"A: {a.label} (run {a.run_id}, janus-sim {a.code_version}, {a.n_events} events)",
        f"B: {b.label} (run {b.run_id}, janus-sim {b.code_version}, {b.n_events} events)",
    ]
    if not report.same_scenario:
        out.append(
            f"A and B ran different scenario files or seeds (scenario {a.scenario_hash[:12]}, "
            f"seed {a.seed} vs {b.scenario_hash[:12]}, seed {b.seed})"
        )
    else:
        out += config_lines(report.config_changes)
    if report.digests_equal:
        out.append(f"digests equal ({(a.digest or '')[:16]}): the event logs are identical")
    else:
        out.append(f"digests differ: A {(a.digest or '-')[:16]}, B {(b.digest or '-')[:16]}")
        d = report.first_divergence
        if d is not None:
            out += divergence_lines(d)
    flagged = report.flagged_cycles
    if flagged:
        out.append(
            f"{len(flagged)} of {len(report.cycles)} cycles differ beyond tolerance: "
            + ", ".join(map(str, flagged))
        )
    else:
        out.append(f"all {len(report.cycles)} cycles within tolerance")
    return out


def _rich(title: str, rows: Rows) -> Table:
    table = Table(title=safe(title), title_justify="left")
    head, body = rows
    for h in head:
        left = h in {"date", "metric", "status", "largest diff. (rel.)"}
        table.add_column(h, justify="left" if left else "right")
    for r in body:
        table.add_row(*(f"[red]{x}[/]" if x == "DIFF" else safe(x) for x in r))
    return table


def _md(rows: Rows) -> list[str]:
    head, body = rows
    esc = [[x.replace("|", "\\|") for x in r] for r in [head, *body]]
    return [
        "| " + " | ".join(esc[0]) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        *("| " + " | ".join(r) + " |" for r in esc[1:]),
    ]


def render(
    report: CompareReport,
    fmt: str,
    all_metrics: bool,
    title: str,
    problems: tuple[str, ...] = (),
) -> None:
    """Print one report as a rich table ("rich") or Markdown ("markdown")."""
    details = _details(report, all_metrics)
    ok = report.ok and not problems
    verdict = "identical within tolerance" if ok else "DIFFERENT"
    if fmt == "markdown":
        lines = [f"### {title}: {verdict}", ""]
        lines += [f"- {x}" for x in [*problems, *_lines(report)]] + [""]
        lines += _md(_summary(report))
        if details[1]:
            lines += ["", "<details><summary>metrics</summary>", "", *_md(details), "</details>"]
        click.echo("\n".join(inert(x) for x in lines) + "\n")
        return
    out = stdout()
    if report.numerics_line is not None:  # before any table: the first thing to rule out
        out.print(safe(report.numerics_line))
    out.print(_rich(f"{title} — per cycle", _summary(report)))
    if details[1]:
        out.print(_rich("Metrics" if all_metrics else "Metrics beyond tolerance", details))
    for p in problems:
        out.print(f"[red]FAIL[/] {safe(p)}")
    for line in _lines(report, with_numerics=False):
        out.print(safe(line))
    out.print("[green]ok[/]: " + verdict if ok else f"[red]{verdict}[/]")


def report_dict(report: CompareReport) -> dict[str, object]:
    """The report as plain JSON-ready data (NaN and infinities as strings)."""
    d = report.first_divergence
    tol = report.tolerances
    return {
        "ok": report.ok,
        "a": report.a.as_dict(),
        "b": report.b.as_dict(),
        "same_scenario": report.same_scenario,
        "config_changes": [c.as_dict() for c in report.config_changes],
        "digests_equal": report.digests_equal,
        "numerics_difference": report.numerics_line,
        "first_divergence": None if d is None else d.as_dict(),
        "tolerances": {
            "rtol": tol.rtol,
            "atol": tol.atol,
            "per_metric": {n: {"rtol": r, "atol": a} for n, r, a in tol.per_metric},
        },
        "flagged_cycles": list(report.flagged_cycles),
        "metric_cycles": list(report.metric_cycles),
        "schema_cycles": list(report.schema_cycles),
        "cycles": [_cycle_dict(c) for c in report.cycles],
    }


def _cycle_dict(c: CycleComparison) -> dict[str, object]:
    out: dict[str, object] = {
        "cycle": c.cycle,
        "date_a": c.date_a,
        "date_b": c.date_b,
        "ok": c.ok,
        "metrics": [
            {**m.__dict__, "a": jsonable(m.a), "b": jsonable(m.b), "delta": jsonable(m.delta)}
            for m in c.metrics
        ],
    }
    if c.schemas is not None:
        out["schemas"] = {
            "ok": c.schemas.ok,
            "n_a": c.schemas.n_a,
            "n_b": c.schemas.n_b,
            "pairs": [
                {
                    **p.__dict__,
                    "mean_shift": jsonable(p.mean_shift),
                    "cov_change": jsonable(p.cov_change),
                }
                for p in c.schemas.pairs
            ],
        }
    return out


# --- compare ---------------------------------------------------------------------------


@click.command()
@click.argument("a")
@click.argument("b")
@store_option
@output_options
def compare(
    a: str,
    b: str,
    store_path: Path,
    rtol: float,
    atol: float,
    tol: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    all_metrics: bool,
    quiet: bool,
) -> None:
    """Compare the sleep cycles of runs A and B, cycle by cycle: every cycle metric (within
    --rtol/--atol; counts exact), the schema states (paired by id, else by nearest
    centroid) and, when the digests differ, the first diverging event.

    A and B are each [STORE:]RUN (without STORE, a run in --store), so runs written by two
    code versions into two stores can be compared. STORE may contain ':' and '@': RUN
    follows the last ':'. Whole runs are compared: an @WHEN (as `diff` and `at` take) is
    an error. Exit 0 within tolerance, 1 beyond, 2 bad input.

    \b
    Examples:
      janus-sim compare crash_week-s20251220 crash_week-s20251220-2
      janus-sim compare store/v1.duckdb:crash_week-s20251220 store/v2:crash_week-s20251220
      janus-sim compare runA runB --tol sat_agg=1e-3 --markdown > comment.md
    """
    check_format(as_json, markdown)
    tolerances = tolerances_of(rtol, atol, tol)
    refs = [
        parse_run_ref(text, when="forbidden", command="compare", arg=name)
        for name, text in (("A", a), ("B", b))
    ]
    locations = [r.store or store_path for r in refs]
    with open_stores(locations) as stores:
        sources = []
        for r, store, text, location in zip(refs, stores, (a, b), locations, strict=True):
            assert r.run is not None  # when="forbidden" always names a RUN
            sources.append(RunSource(store, r.run, label=text, where=str(location)))
        with status_line(quiet, "comparing") as say:
            report = compare_runs(sources[0], sources[1], tolerances, progress=say)
    if as_json:
        click.echo(json.dumps(report_dict(report), indent=2))
    else:
        fmt = "markdown" if markdown else "rich"
        render(report, fmt, all_metrics, f"janus-sim compare {a} {b}")
    if not report.ok:
        sys.exit(1)
