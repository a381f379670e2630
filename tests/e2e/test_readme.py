"""The README as a test: every ``janus-sim`` command of its shell blocks, in order, in a
clean copy of the repository with a fresh store, each with its exit code checked.

The copy holds what git tracks (``git ls-files``, as the working tree has it), so a file
the README needs that is not committed - or that ``.gitignore`` hides - fails here as it
would for a reader with a fresh clone. What each command becomes (placeholders mapped,
other exit codes expected, the few not run and why) is ``tests/readme_commands.py``'s
policy; a new README command is run as written. ``janus-sim`` is a shim on PATH for
``python -m janus_sim`` (the console script's equivalent, ``janus_sim/entry.py``) with
the copy's code first on the import path.

Slow (about 5 minutes on 2 cores): crash_week runs several times.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.readme_commands import SHRUNK, Planned, plan, readme_commands

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# Settings of the caller's shell that would point a command elsewhere than the copy.
_CLEARED = ("JANUS_SIM_STORE", "JANUS_QDRANT_URL", "JANUS_QDRANT_API_KEY", "PYTHONHOME")


def clean_copy(source: Path, dest: Path) -> None:
    """Copy the files git tracks in ``source`` (their working-tree content) to ``dest``
    and make ``dest`` a repository of one commit (``git diff`` in the README needs one)."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = source / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    git = ["git", "-c", "user.name=readme", "-c", "user.email=readme@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run([*git, *args], cwd=dest, check=True, capture_output=True)


def shrink(copy: Path) -> list[str]:
    """Apply ``SHRUNK`` to the copy; the notes of what was shrunk. A file missing from the
    copy is left missing: its command then fails as it would for a reader."""
    notes = []
    for rel, (old, new, why) in SHRUNK.items():
        path = copy / rel
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{rel} no longer holds {old!r}: update SHRUNK in readme_commands.py"
        path.write_text(text.replace(old, new), encoding="utf-8")
        notes.append(f"{rel}: {new} ({why})")
    return notes


def environment(copy: Path, bin_dir: Path) -> dict[str, str]:
    shim = bin_dir / "janus-sim"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m janus_sim "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(copy),
        COLUMNS="200",
        MINARI_DATASETS_PATH=str(copy / "minari_datasets"),
    )
    return env


def describe(step: Planned, done: subprocess.CompletedProcess[str], seconds: float) -> str:
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
    why = "".join(f"\n  ({w})" for w in step.why)
    return (
        f"README.md line {step.command.line}: `{step.shell}` exited {done.returncode}, "
        f"expected {step.exit_code} ({seconds:.0f} s){why}\n"
        "If the README changed on purpose, map its placeholders, expect its exit code or "
        "exempt it (with the reason) in tests/readme_commands.py.\n--- output tail ---\n"
        f"{tail}"
    )


def test_every_readme_command_runs_in_a_clean_copy(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to copy what is tracked")
    copy = tmp_path / "repo"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    clean_copy(ROOT, copy)
    notes = shrink(copy)
    env = environment(copy, bin_dir)
    steps = plan(readme_commands((copy / "README.md").read_text(encoding="utf-8")))
    assert any(s.shell for s in steps), "the README has no janus-sim command to run"
    log = [*notes]
    for step in steps:
        if step.shell is None:
            log.append(f"line {step.command.line}: not run: {step.why[0]}")
            continue
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", step.shell],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
        seconds = time.monotonic() - started
        assert done.returncode == step.exit_code, describe(step, done, seconds)
        log.append(f"line {step.command.line}: exit {done.returncode} in {seconds:.0f} s")
    print("\n".join(log))
