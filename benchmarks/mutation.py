"""The mutation score of the core modules: mutmut, then one table per module (QUALITY.md).

``nice -n 10 python benchmarks/mutation.py`` runs ``mutmut run`` with the ``[tool.mutmut]``
section of pyproject.toml (which modules are mutated, which fast tests judge them), then
reads mutmut's per-file results (``mutants/<path>.meta``) and prints, per module: mutants
generated, killed, survived, equivalent, timeout and the score, plus every mutant that
was not killed. ``--report-only`` skips the run and reads the last one's results.

Score = (killed + timeout) / (generated - equivalent). A "no tests" mutant (its function
is not reached by the chosen tests) counts as a survivor, never as killed. Equivalent
mutants (no test can tell them from the original) are named, each with a one-line
reason, in ``benchmarks/mutation_equivalent.toml``; a name there that mutmut no longer
generates is reported as stale. mutmut 3 mutates no decorated function but a classmethod
or staticmethod: the ``@numba.njit`` kernels and the properties are not mutated at all;
their numbers are printed per module and they count nowhere in the score.

Exit status: 0 when every module's score reaches ``--bound`` (default 0.90), 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.toml"

# mutmut 3's exit-code meanings (mutmut.stats.status_by_exit_code), restated so that the
# report does not depend on mutmut's internals; anything else is "suspicious".
_STATUS = {
    0: "survived",
    1: "killed",
    3: "killed",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}


@dataclass
class ModuleScore:
    """Counts for one mutated module; ``open`` lists the mutants neither killed nor
    equivalent (name and status)."""

    path: str
    generated: int = 0
    killed: int = 0
    survived: int = 0
    no_tests: int = 0
    timeout: int = 0
    equivalent: int = 0
    other: int = 0
    kernels: int = 0
    unmutated_other: int = 0
    open: list[tuple[str, str]] = field(default_factory=list)

    @property
    def score(self) -> float:
        judged = self.generated - self.equivalent
        return (self.killed + self.timeout) / judged if judged else 1.0


def status_of(exit_code: int | None) -> str:
    """mutmut's name for a mutant's exit code; ``None`` means not checked yet."""
    if exit_code is None:
        return "not checked"
    return _STATUS.get(exit_code, "suspicious")


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """Mutant name -> why it is equivalent. ValueError when an entry has no reason."""
    if not path.exists():
        return {}
    table = tomllib.loads(path.read_text("utf-8")).get("equivalent", {})
    for name, reason in table.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path.name}: equivalent mutant {name} needs a one-line reason")
    return dict(table)


def unmutated_functions(source: str) -> tuple[int, int]:
    """(numba kernels, other decorated functions) in ``source``: mutmut 3 mutates no
    decorated function but a classmethod or staticmethod, so it leaves both alone."""
    kernels = other = 0
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.decorator_list:
            continue
        names = {ast.unparse(d).split("(")[0].split(".")[-1] for d in node.decorator_list}
        if names & {"njit", "jit"}:
            kernels += 1
        elif not names <= {"classmethod", "staticmethod"}:
            other += 1
    return kernels, other


def score_module(
    path: str, exit_codes: dict[str, int | None], equivalent: dict[str, str]
) -> ModuleScore:
    """Tally one module's mutants (``exit_codes`` is its ``.meta`` file's table)."""
    m = ModuleScore(path=path, generated=len(exit_codes))
    for name in sorted(exit_codes, key=_natural_key):
        status = status_of(exit_codes[name])
        if name in equivalent:
            m.equivalent += 1
        elif status == "killed":
            m.killed += 1
        elif status == "timeout":
            m.timeout += 1
        elif status == "survived":
            m.survived += 1
            m.open.append((name, status))
        elif status == "no tests":
            m.no_tests += 1
            m.open.append((name, status))
        else:
            m.other += 1
            m.open.append((name, status))
    return m


def _natural_key(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return (stem, int(number) if number.isdigit() else -1)


def collect(root: Path, modules: list[str], equivalent: dict[str, str]) -> list[ModuleScore]:
    """One ``ModuleScore`` per module in ``modules`` (paths like janus_sim/core/x.py).

    ValueError when a module has no results yet (mutmut has not run over it)."""
    scores = []
    for module in modules:
        meta = root / "mutants" / f"{module}.meta"
        if not meta.exists():
            raise ValueError(
                f"no mutmut results for {module} (expected {meta}); run without --report-only"
            )
        exit_codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        m = score_module(module, exit_codes, equivalent)
        m.kernels, m.unmutated_other = unmutated_functions((root / module).read_text("utf-8"))
        scores.append(m)
    return scores


def stale_equivalents(
    scores: list[ModuleScore], root: Path, equivalent: dict[str, str]
) -> list[str]:
    """Names in the equivalent list that the last run did not generate."""
    generated: set[str] = set()
    for m in scores:
        meta = json.loads((root / "mutants" / f"{m.path}.meta").read_text("utf-8"))
        generated.update(meta["exit_code_by_key"])
    return sorted(set(equivalent) - generated)


def render(scores: list[ModuleScore], equivalent: dict[str, str]) -> str:
    """The markdown table and the list of open (and equivalent) mutants."""
    head = (
        "| module | generated | killed | survived | no tests | equivalent | timeout "
        "| other | njit kernels (not mutated) | properties (not mutated) | score |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = [head]
    total = ModuleScore(path="**all**")
    for m in scores:
        rows.append(_row(m))
        for name in ("generated", "killed", "survived", "no_tests", "equivalent", "timeout"):
            setattr(total, name, getattr(total, name) + getattr(m, name))
        total.other += m.other
        total.kernels += m.kernels
        total.unmutated_other += m.unmutated_other
    rows.append(_row(total))
    lines = ["\n".join(rows), "", "Not killed (survived, no tests or other):"]
    lines += [
        f"- {name} ({status})" for m in scores for name, status in m.open if status != "not checked"
    ] or ["- none"]
    lines += ["", "Equivalent:"]
    lines += [f"- {name}: {reason}" for name, reason in sorted(equivalent.items())] or ["- none"]
    return "\n".join(lines)


def _row(m: ModuleScore) -> str:
    return (
        f"| {m.path} | {m.generated} | {m.killed} | {m.survived} | {m.no_tests} "
        f"| {m.equivalent} | {m.timeout} | {m.other} | {m.kernels} | {m.unmutated_other} "
        f"| {m.score:.1%} |"
    )


def _selected_mutants(
    modules: list[str] | None, rerun_open: bool, equivalent: dict[str, str]
) -> list[str] | None:
    """Mutant names to pass to ``mutmut run``; None for all (mutmut's own resume)."""
    if modules is None and not rerun_open:
        return None
    paths = mutated_modules(ROOT)
    if modules is not None:
        paths = [p for p in paths if Path(p).stem in modules]
    names = []
    for path in paths:
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            return None  # no results yet: a first run has to generate them all
        for name, code in json.loads(meta.read_text("utf-8"))["exit_code_by_key"].items():
            status = status_of(code)
            wanted = status != "killed" if rerun_open else code is None
            if wanted and name not in equivalent:
                names.append(name)
    return names


def mutated_modules(root: Path) -> list[str]:
    """The ``only_mutate`` list of pyproject.toml's ``[tool.mutmut]``."""
    config = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]
    return list(config["only_mutate"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true", help="read the last run's results")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutmut workers")
    parser.add_argument("--bound", type=float, default=0.90, help="least score per module")
    parser.add_argument(
        "--modules",
        nargs="+",
        metavar="NAME",
        help="only the not yet checked mutants of these modules (e.g. sum_tree priorities)",
    )
    parser.add_argument(
        "--rerun-open",
        action="store_true",
        help="rerun the mutants the last run did not kill (timeouts included)",
    )
    args = parser.parse_args(argv)
    equivalent = load_equivalent()
    if not args.report_only:
        names = _selected_mutants(args.modules, args.rerun_open, equivalent)
        if names == []:
            print("nothing to run")
        else:
            start = time.monotonic()
            cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)]
            subprocess.run(cmd + (names or []), cwd=ROOT, check=False)
            print(f"mutmut run took {time.monotonic() - start:.0f} s")
    try:
        scores = collect(ROOT, mutated_modules(ROOT), equivalent)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render(scores, equivalent))
    stale = stale_equivalents(scores, ROOT, equivalent)
    if stale:
        print(f"\nstale equivalent entries (not generated any more): {', '.join(stale)}")
    failing = [m.path for m in scores if m.score < args.bound]
    if failing:
        print(f"\nbelow the bound {args.bound:.0%}: {', '.join(failing)}")
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
