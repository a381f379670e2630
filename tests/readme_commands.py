"""The ``janus-sim`` commands of README.md, and what the README test does with each.

``readme_commands(text)`` reads the fenced shell blocks (bash, sh, shell, console) of the
README and returns, in order, every command a reader would type that runs janus-sim:

* a line that starts with ``janus-sim `` (``\\`` continuations joined, a trailing
  ``# comment`` dropped, pipes, redirects and ``&&`` chains kept whole);
* an ``&&`` chain whose later part starts with ``janus-sim``, from that part on (the
  install steps before it, ``python3 -m venv ... && pip install ...``, are the environment
  the test already runs in);
* a ``for ...; do ... done`` loop whose body runs ``janus-sim``, as one command.

Shell lines that run no janus-sim (``python -m pytest``, ``ruff``) are not README commands.

The policy below says, for each command: run it as written (the default, so a command
added to the README is run by the test without anything to do here); run it after
``SUBSTITUTIONS`` (placeholders such as ``runA`` mapped to what earlier commands made);
expect another exit code (``EXPECTED_EXIT``, with why); or do not run it (``EXEMPT``,
with why). ``SHRUNK`` names the files the copy gets smaller versions of, with why. Every
entry has a reason, and an entry that matches no README command fails the fast test
(``tests/unit/test_readme_commands.py``), so the tables follow the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHELL_LANGS = frozenset({"bash", "sh", "shell", "console"})
PROGRAM = "janus-sim"

# --- the policy ------------------------------------------------------------------------

EXEMPT: dict[str, str] = {
    # Keys are README commands as ``readme_commands`` gives them (comment dropped).
    "janus-sim sweep my_sweep.yaml --executor ray --address ray://head:10001": (
        "needs a Ray cluster at ray://head:10001 (the Ray executor's test, "
        "tests/e2e/test_sweep.py, starts a local Ray)"
    ),
    "janus-sim doctor scenarios/calm_week.yaml --days 2": (
        "long: eight runs in fresh processes, about 70 s on 2 cores "
        "(tests/e2e/test_doctor.py drives doctor on a tiny scenario)"
    ),
    "janus-sim doctor scenarios/crash_week.yaml --seed 7 --json": (
        "long: eight crash_week runs in fresh processes, minutes on 2 cores "
        "(tests/e2e/test_doctor.py)"
    ),
    "janus-sim bisect --good HEAD~10 --bad HEAD scenarios/calm_week.yaml": (
        "needs the repository's history (the copy is one commit) and runs every revision "
        "it tests, minutes each (tests/e2e/test_bisect.py builds a history of its own)"
    ),
    "janus-sim bisect --good v0.1.0 --bad HEAD scenarios/calm_week.yaml": (
        "needs the tag v0.1.0 and the history (the copy is one commit); tests/e2e/test_bisect.py"
    ),
    "janus-sim bisect --good HEAD~20 --bad HEAD baselines/crash_week.json": (
        "needs 20 commits of history and a crash_week run per revision tested; "
        "tests/e2e/test_bisect.py"
    ),
    "janus-sim bisect --good HEAD~20 --bad HEAD baselines/crash_week.json --metrics-only "
    "--tol sat_agg=1e-3": ("as the bisect above; tests/e2e/test_bisect.py covers --metrics-only"),
}

EXPECTED_EXIT: dict[str, tuple[int, str]] = {
    "janus-sim run scenarios/crash_week.yaml --resume": (
        2,
        "every run of the fresh store finished, so there is nothing to resume: the README's "
        "one-line refusal (tests/e2e/test_kill_resume.py kills and resumes runs)",
    ),
    "janus-sim compare RUN_A store/v2:RUN_B": (
        1,
        "RUN_A and RUN_B are two seeds of crash_week, whose cycles differ: exit 1",
    ),
    "janus-sim compare RUN_A RUN_B": (1, "two seeds of crash_week differ: exit 1"),
    "janus-sim compare RUN_A RUN_B --tol sat_agg=1e-3 --markdown > comment.md": (
        1,
        "two seeds of crash_week differ beyond tolerance: exit 1",
    ),
}

SUBSTITUTIONS: tuple[tuple[str, str, str], ...] = (
    # (regular expression, replacement, why), applied in order to every command.
    (r"\brunA\b", "crash-7", "runA: the run `run ... --seed 7 --run-id crash-7` made"),
    (r"\bRUN_A\b", "crash_week-s20251220", "RUN_A: the Quick start's crash_week run"),
    (r"\bRUN_B\b", "crash-7", "RUN_B: the seed-7 run"),
    (r"(?<=:)RUN\b", "crash-7", "RUN in STORE:RUN: the seed-7 run"),
    (
        r"\bstore/v[12](?=:)",
        "store",
        "store/v2 (a store of another code version): the test has one store, store/",
    ),
    (r"\bstore/v1\.duckdb(?=:)", "store/janus.duckdb", "store/v1.duckdb: the one store's file"),
    (
        r" \[--replay\]",
        "",
        "verify [--replay]: plain verify; --replay re-simulates the run (20 s, "
        "tests/e2e/test_hostile_verify_recovery.py runs it)",
    ),
    (r"--cycle N\b", "--cycle 2", "--cycle N: night 2"),
)

SHRUNK: dict[str, tuple[str, str, str]] = {
    # path in the copy: (text in the file, its replacement, why)
    "scenarios/sweeps/crash_seeds.yaml": (
        "seeds: {start: 0, count: 8}",
        "seeds: {start: 0, count: 1}",
        "eight crash_week trials take minutes on 2 cores; one trial makes the sweep folder "
        "that `sweep report` and `sweep sql` read (tests/e2e/test_sweep.py checks many)",
    ),
}


# --- parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One README command: its text (as ``EXEMPT`` and ``EXPECTED_EXIT`` key it) and the
    README line it starts on (1-based)."""

    text: str
    line: int


@dataclass(frozen=True)
class Planned:
    """What the README test does with one command: ``shell`` is the command line it runs
    (None when exempt), ``exit_code`` what it must exit with, ``why`` the reasons (the
    exemption, the expected exit, the substitutions made)."""

    command: Command
    shell: str | None
    exit_code: int
    why: tuple[str, ...]


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """The fenced blocks of ``text`` whose language is a shell: (line of the block's first
    content line, its lines)."""
    blocks: list[tuple[int, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if lang in SHELL_LANGS:
            body = lines[i + 1 : j]
            if lang == "console":
                body = [ln[2:] if ln.startswith("$ ") else "" for ln in body]
            blocks.append((i + 2, body))
        i = j + 1
    return blocks


def strip_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a ``#`` at the start or after white
    space, outside quotes), right-stripped."""
    quote = ""
    for k, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def _logical_lines(start: int, body: list[str]) -> list[tuple[int, str]]:
    """Lines with their ``\\`` continuations joined and comments dropped."""
    out: list[tuple[int, str]] = []
    pending = ""
    first = 0
    for k, raw in enumerate(body):
        line = strip_comment(raw)
        if not pending:
            first = start + k
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        whole = (pending + line.strip()).strip() if pending else line.strip()
        pending = ""
        if whole:
            out.append((first, whole))
    if pending.strip():
        out.append((first, pending.strip()))
    return out


def _runs_program(text: str) -> bool:
    return re.search(rf"(^|[\s;&|(]){re.escape(PROGRAM)}(\s|$)", text) is not None


def readme_commands(text: str) -> list[Command]:
    """Every janus-sim command of the README's shell blocks, in order (see the module)."""
    commands: list[Command] = []
    for start, body in shell_blocks(text):
        lines = _logical_lines(start, body)
        k = 0
        while k < len(lines):
            line_no, line = lines[k]
            if re.match(r"^(for|while|until)\s", line):
                # A loop runs as one command, to its `done`.
                parts = [line]
                while not re.search(r"(^|[;\s])done(\s|;|$)", parts[-1]) and k + 1 < len(lines):
                    k += 1
                    parts.append(lines[k][1])
                loop = "\n".join(parts)
                if _runs_program(loop):
                    commands.append(Command(loop, line_no))
            elif line.startswith(PROGRAM + " "):
                commands.append(Command(line, line_no))
            elif "&&" in line:
                segments = [s.strip() for s in line.split("&&")]
                for n, seg in enumerate(segments):
                    if seg.startswith(PROGRAM + " "):
                        commands.append(Command(" && ".join(segments[n:]), line_no))
                        break
            k += 1
    return commands


def plan(commands: list[Command]) -> list[Planned]:
    """What to do with each command, in order: see the module. A command identical to
    one run earlier in the sequence is not run again (``shell`` None, its reason says
    so): it would check the same thing twice, and the test is slow enough."""
    planned: list[Planned] = []
    seen: set[str] = set()
    for cmd in commands:
        if cmd.text in EXEMPT:
            planned.append(Planned(cmd, None, 0, (f"exempt: {EXEMPT[cmd.text]}",)))
            continue
        if cmd.text in seen:
            planned.append(Planned(cmd, None, 0, ("the same command ran above",)))
            continue
        seen.add(cmd.text)
        why: list[str] = []
        shell = cmd.text
        for pattern, replacement, reason in SUBSTITUTIONS:
            new = re.sub(pattern, replacement, shell)
            if new != shell:
                why.append(reason)
                shell = new
        code = 0
        if cmd.text in EXPECTED_EXIT:
            code, reason = EXPECTED_EXIT[cmd.text]
            why.append(f"exit {code}: {reason}")
        planned.append(Planned(cmd, shell, code, tuple(why)))
    return planned


__all__ = [
    "EXEMPT",
    "EXPECTED_EXIT",
    "SHRUNK",
    "SUBSTITUTIONS",
    "Command",
    "Planned",
    "plan",
    "readme_commands",
    "shell_blocks",
    "strip_comment",
]
