"""Git, for ``janus-sim bisect``: the repository, its revisions and their ancestry, the
first-parent line between two commits, and one throwaway worktree checked out at each
revision in turn.

Every failure is a ``GitError`` (exit 2) naming the repository, the revision and what
was expected; git itself runs as a subprocess (``git`` on PATH).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from janus_sim.errors import JanusError


class GitError(JanusError):
    """A repository, revision or worktree that git cannot give as asked (exit 2)."""


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:7]


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except FileNotFoundError as e:
        raise GitError("git: not found on PATH: bisect needs git") from e


def _out(repo: Path, *args: str) -> str:
    done = _git(repo, *args)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise GitError(f"{repo}: git {' '.join(args)} failed: {tail}")
    return done.stdout.strip()


def repo_root(path: Path) -> Path:
    """The top folder of the git repository at ``path``; GitError when it is none."""
    if not path.is_dir():
        raise GitError(f"{path}: no such directory: expected a git repository (--repo)")
    done = _git(path, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise GitError(f"{path}: not a git repository: expected a clone of janus-sim (--repo)")
    return Path(done.stdout.strip())


def resolve(root: Path, rev: str, option: str) -> Commit:
    """The commit ``rev`` names (``option`` says which argument gave it, for the error)."""
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise GitError(f"{option} {rev}: unknown revision in {root}: expected a commit")
    sha = done.stdout.strip()
    return Commit(sha, _out(root, "log", "-1", "--format=%s", sha))


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    """Whether commit ``older`` is an ancestor of ``newer`` (or the same commit)."""
    done = _git(root, "merge-base", "--is-ancestor", older, newer)
    if done.returncode not in (0, 1):
        raise GitError(f"{root}: git merge-base failed: {done.stderr.strip()}")
    return done.returncode == 0


def first_parent_line(root: Path, good: str, bad: str) -> list[Commit]:
    """The commits from ``good`` (excluded) to ``bad`` (included) along bad's first
    parents, oldest first: the line a bisection walks (a merge is one step)."""
    text = _out(root, "log", "--first-parent", "--reverse", "--format=%H%x09%s", f"{good}..{bad}")
    return [Commit(*line.split("\t", 1)) for line in text.splitlines() if line]


@dataclass(frozen=True)
class Worktree:
    root: Path
    path: Path

    def checkout(self, sha: str) -> None:
        """Put commit ``sha`` in the worktree (tracked files only; what a previous
        revision's runs left untracked, such as numba's cache, stays)."""
        _out(self.path, "checkout", "--quiet", "--force", "--detach", sha)


@contextlib.contextmanager
def worktree(root: Path, path: Path, sha: str) -> Iterator[Worktree]:
    """A detached worktree of ``root`` at ``path``, first at ``sha``; removed (and git's
    record of it pruned) however the block ends."""
    _out(root, "worktree", "add", "--quiet", "--detach", str(path), sha)
    try:
        yield Worktree(root, path)
    finally:
        _git(root, "worktree", "remove", "--force", str(path))
        _git(root, "worktree", "prune")
