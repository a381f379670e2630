"""``janus-sim bisect --good REV --bad REV (BASELINE.json | SCENARIO)``: the first commit
that changes a run.

The pieces: the repository and one throwaway worktree (``adapters.git_repo``), the
environment that runs each revision's own code (``adapters.revision_env``), the search
and the verdict (``app.bisect``), the first divergent event (``app.compare``). This
module joins them and prints; a divergence is printed through ``cli.doctor``'s
``divergence_lines`` / ``divergence_json``.

Exit 0 when the first bad commit is named, 1 when skipped revisions (whose run could not
be made) leave several candidates, 2 bad input or unusable ends.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import janus_sim
from janus_sim.adapters import git_repo as git
from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.revision_env import RevisionEnvs, RevisionError
from janus_sim.adapters.stop_signals import term_interrupts
from janus_sim.app import baseline as bl
from janus_sim.app.bisect import BisectError, Criterion, Probe, SearchResult, search
from janus_sim.app.compare import RunSource, check_tolerance_names, first_divergence, run_ref
from janus_sim.app.divergence import Divergence
from janus_sim.app.scenario_identity import ConfigChange, config_changes
from janus_sim.cli.common import stdout
from janus_sim.cli.compare import tolerances_of
from janus_sim.cli.divergence_view import config_lines, divergence_json, divergence_lines
from janus_sim.cli.safe_text import safe
from janus_sim.errors import ConfigError, StoreError

RUN_ID = "bisect"


def _criterion(
    target: Path,
    seed: int | None,
    metrics_only: bool,
    tol: tuple[float | None, float | None, tuple[str, ...]],
) -> tuple[Criterion, Path, int | None]:
    """(criterion, the scenario file to run, its seed) for a BASELINE.json or a SCENARIO."""
    rtol, atol, per_metric = tol
    if target.suffix.lower() != ".json":
        if rtol is not None or atol is not None or per_metric or metrics_only:
            raise ConfigError(
                "--rtol/--atol/--tol/--metrics-only",
                "",
                "only apply with a BASELINE.json (a SCENARIO is bisected by its digest)",
            )
        if not target.is_file():
            raise ConfigError(str(target), "", "no such scenario file")
        return Criterion(), target.resolve(), seed
    if seed is not None:
        raise ConfigError("--seed", "", "a baseline runs under its own seed: expected no --seed")
    base = bl.load(target)
    tolerances = tolerances_of(
        1e-9 if rtol is None else rtol, 1e-12 if atol is None else atol, per_metric
    )
    check_tolerance_names(tolerances, {n for row in base.cycles.values() for n in row.metrics})
    scenario = Path(base.scenario)
    if not scenario.is_file():
        raise ConfigError(
            str(target),
            "scenario",
            f"scenario file {base.scenario} not found (a baseline's scenario path is relative "
            "to the directory bisect runs in, as for `baseline check`)",
        )
    criterion = Criterion(baseline=base, metrics_only=metrics_only, tolerances=tolerances)
    return criterion, scenario.resolve(), base.seed


def _installed_checkout(repo: Path) -> Path:
    """The checkout this environment's janus-sim came from (its dependencies are the ones
    installed here), else the repository's working tree."""
    here = Path(janus_sim.__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else repo


@dataclass
class _Runs:
    """Runs each revision's scenario in the one worktree; keeps each store for the end."""

    tree: git.Worktree
    envs: RevisionEnvs
    scenario: Path
    seed: int | None
    folder: Path
    probes: dict[str, Probe] = field(default_factory=dict)

    def store(self, commit: git.Commit) -> Path:
        return self.folder / commit.sha[:12]

    def probe(self, commit: git.Commit, criterion: Criterion) -> Probe:
        self.tree.checkout(commit.sha)
        try:
            python = self.envs.python_for(self.tree.path)
            code = self.envs.code_of(python, self.tree.path)
            if code != (self.tree.path / "janus_sim").resolve():
                raise RevisionError(f"it would run the janus_sim in {code}, not the worktree's")
            self.envs.run_scenario(
                python, self.tree.path, self.scenario, self.store(commit), RUN_ID, self.seed
            )
            store = open_store(self.store(commit), read_only=True)
        except (RevisionError, StoreError) as e:
            found = Probe("skip", reason=str(e))
        else:
            try:
                found = criterion.judge(store, RUN_ID)
            finally:
                store.close()
        self.probes[commit.sha] = found
        return found


def _say_probe(err: Console, commit: git.Commit, p: Probe) -> None:
    if p.verdict == "good":
        err.print(f"  {commit.short}: good (digest {p.digest[:16]})")
    elif p.verdict == "bad":
        err.print(f"  {commit.short}: [red]bad[/]: {safe(p.reason)}")
    else:
        err.print(f"  {commit.short}: [yellow]skipped[/]: {safe(p.reason)}")


def _ends(
    runs: _Runs, good: git.Commit, bad: git.Commit, crit: Criterion, err: Console
) -> Criterion:
    """Tests both ends; the criterion with the good digest filled in (scenario mode)."""
    err.print(f"testing {good.short} (the good end): {safe(good.subject)}")
    p = runs.probe(good, crit)
    if p.verdict == "skip":
        raise BisectError(f"--good {good.short}: the scenario cannot run there: {p.reason}")
    if crit.baseline is None:
        crit = replace(crit, digest=p.digest)
        p = runs.probes[good.sha] = Probe("good", p.digest)
    elif p.verdict == "bad":
        raise BisectError(
            f"--good {good.short} already fails the baseline ({p.reason}): expected a good "
            "commit that passes it"
        )
    _say_probe(err, good, p)
    err.print(f"testing {bad.short} (the bad end): {safe(bad.subject)}")
    p = runs.probe(bad, crit)
    _say_probe(err, bad, p)
    if p.verdict == "skip":
        raise BisectError(f"--bad {bad.short}: the scenario cannot run there: {p.reason}")
    if p.verdict == "good":
        raise BisectError(
            f"--bad {bad.short} passes too ({crit.name}: digest {p.digest[:16]}): nothing to "
            "bisect; expected a bad commit whose run differs"
        )
    return crit


def _divergence(
    runs: _Runs, a: git.Commit, b: git.Commit
) -> tuple[Divergence | None, tuple[ConfigChange, ...]]:
    """The first behavioural divergence of b's run against a's, and the settings the two
    revisions resolved differently (named when both recorded their configuration)."""
    store_a = open_store(runs.store(a), read_only=True)
    try:
        store_b = open_store(runs.store(b), read_only=True)
        try:
            ra, rb = run_ref(RunSource(store_a, RUN_ID)), run_ref(RunSource(store_b, RUN_ID))
            changes = config_changes(ra.config, rb.config, rb.scenario_text)
            skip = ra.scenario_hash != rb.scenario_hash
            found = first_divergence(store_a, RUN_ID, store_b, RUN_ID, skip_metadata=skip)
            return found, changes
        finally:
            store_b.close()
    finally:
        store_a.close()


@click.command()
@click.argument("target", metavar="BASELINE.json|SCENARIO", type=click.Path(path_type=Path))
@click.option("--good", required=True, help="A commit whose run is good (older).")
@click.option("--bad", required=True, help="A commit whose run is bad (newer, on good's line).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override a SCENARIO's seed.")
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    default=".",
    show_default=True,
    help="The git repository of janus-sim.",
)
@click.option(
    "--metrics-only",
    is_flag=True,
    help="With a baseline: bad means a cycle metric beyond tolerance; a changed digest alone "
    "is good.",
)
@click.option("--rtol", type=float, help="With a baseline: relative tolerance (default 1e-9).")
@click.option("--atol", type=float, help="With a baseline: absolute tolerance (default 1e-12).")
@click.option("--tol", "tol", multiple=True, metavar="NAME=TOL", help="Per-metric, as compare.")
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def bisect(
    target: Path,
    good: str,
    bad: str,
    seed: int | None,
    repo: Path,
    metrics_only: bool,
    rtol: float | None,
    atol: float | None,
    tol: tuple[str, ...],
    as_json: bool,
    quiet: bool,
) -> None:
    """Find the first commit between --good and --bad that changes the run: with a
    SCENARIO, the first whose digest differs from the good commit's; with a
    BASELINE.json (a `.json` file), the first that fails it as `baseline check` does
    (digest, event count or a metric beyond tolerance; --metrics-only: metrics alone).

    Each revision is checked out in a throwaway git worktree and run there by its own code
    (`janus-sim run --no-qdrant` in a subprocess) with this environment's dependencies
    (a full `pip install -c requirements.lock` when its declared ones differ). The search
    walks bad's first-parent line; a revision whose run cannot be made is skipped, as
    `git bisect skip` does. Prints the first bad commit and its first divergent event
    against the last good one.

    Exit 0 when the first bad commit is named, 1 when skipped revisions leave several
    candidates, 2 bad input (not a repository, unknown revision, good not an ancestor of
    bad, good already bad, bad not bad, an end that cannot run).

    \b
    Examples:
      janus-sim bisect --good v0.1.0 --bad HEAD scenarios/calm_week.yaml
      janus-sim bisect --good HEAD~20 --bad HEAD baselines/crash_week.json --metrics-only
    """
    root = git.repo_root(repo)
    good_c, bad_c = git.resolve(root, good, "--good"), git.resolve(root, bad, "--bad")
    if good_c.sha == bad_c.sha:
        raise ConfigError("--good/--bad", "", f"both name {good_c.short}: expected two commits")
    if not git.is_ancestor(root, good_c.sha, bad_c.sha):
        raise ConfigError(
            f"--good {good}",
            "",
            f"{good_c.short} is not an ancestor of --bad {bad} ({bad_c.short}): expected an "
            "older good commit on the bad one's history",
        )
    crit, scenario, run_seed = _criterion(target, seed, metrics_only, (rtol, atol, tol))
    line = [good_c, *git.first_parent_line(root, good_c.sha, bad_c.sha)]
    err = Console(stderr=True, quiet=quiet)
    err.print(
        f"bisecting {len(line) - 1} commits from {good_c.short} to {bad_c.short} "
        f"by {crit.name} ({safe(str(target))})"
    )
    with term_interrupts(), tempfile.TemporaryDirectory(prefix="janus-bisect-") as tmp:
        folder = Path(tmp)
        with git.worktree(root, folder / "worktree", good_c.sha) as tree:
            envs = RevisionEnvs(folder, _installed_checkout(root))
            runs = _Runs(tree, envs, scenario, run_seed, folder / "runs")
            crit = _ends(runs, good_c, bad_c, crit, err)

            def test(i: int) -> Probe:
                p = runs.probe(line[i], crit)
                _say_probe(err, line[i], p)
                return p

            def announce(i: int, left: int, steps: int) -> None:
                c = line[i]
                err.print(f"testing {c.short} ({left} left, ~{steps} steps): {safe(c.subject)}")

            result = search(len(line), test, announce)
            divergence, changes = _divergence(runs, line[result.last_good], line[result.first_bad])
    _report(line, runs.probes, result, divergence, crit, as_json, changes)
    if result.skipped:
        sys.exit(1)


def _commit_json(c: git.Commit) -> dict[str, str]:
    return {"sha": c.sha, "subject": c.subject}


def _report(
    line: list[git.Commit],
    probes: dict[str, Probe],
    result: SearchResult,
    divergence: Divergence | None,
    crit: Criterion,
    as_json: bool,
    changes: tuple[ConfigChange, ...] = (),
) -> None:
    first, last_good = line[result.first_bad], line[result.last_good]
    why = probes[first.sha].reason
    if as_json:
        doc = {
            "criterion": crit.name,
            "good": line[0].sha,
            "bad": line[-1].sha,
            "first_bad": _commit_json(first),
            "exact": not result.skipped,
            "candidates": [_commit_json(line[i]) for i in result.candidates],
            "last_good": _commit_json(last_good),
            "reason": why,
            "divergence": divergence_json(divergence, changes),
            "config_changes": [c.as_dict() for c in changes],
            "tested": [
                {**_commit_json(c), "verdict": p.verdict, "digest": p.digest, "reason": p.reason}
                for c in line
                if (p := probes.get(c.sha)) is not None
            ],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    out = stdout()
    table = Table(title=f"bisect by {crit.name}", title_justify="left")
    for head in ("commit", "subject", "verdict", "digest", "why"):
        table.add_column(head)
    for c in line:
        p = probes.get(c.sha)
        if p is not None:
            verdict = {"bad": "[red]bad[/]", "skip": "[yellow]skipped[/]"}.get(p.verdict, "good")
            table.add_row(c.short, safe(c.subject), verdict, p.digest[:16], safe(p.reason))
    out.print(table)
    if result.skipped:
        names = ", ".join(line[i].short for i in result.candidates)
        skipped = ", ".join(line[i].short for i in result.skipped)
        out.print(f"[yellow]the first bad commit is one of[/] {names} ({skipped} could not run)")
    out.print(f"first bad commit: [bold]{first.sha}[/] {safe(first.subject)}")
    out.print(f"  why: {safe(why)}")
    out.print(f"  last good commit: {last_good.sha} {safe(last_good.subject)}")
    if divergence is not None:
        out.print(f"  A = {last_good.short} (last good), B = {first.short} (first bad):")
        for text in config_lines(changes):
            out.print(f"  {safe(text)}")
        for text in divergence_lines(divergence):
            out.print(f"  {safe(text)}")
