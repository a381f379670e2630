"""Python environments that run one revision's code, for ``janus-sim bisect``.

``RevisionEnvs(folder, reference)`` hands out, for a worktree checked out at some
revision, the interpreter that runs that revision's janus-sim:

* When the revision declares the dependencies ``reference`` (the checkout this
  environment was installed from) declares - the same ``requirements.lock`` lines and
  ``[project]`` dependencies - one throwaway virtual environment serves every revision:
  made once with ``python -m venv --without-pip``, it sees this environment's packages
  through a ``.pth`` file naming this interpreter's site-packages folders (so the
  dependencies are exactly the ones installed here; ``--system-site-packages`` would show
  the base interpreter's instead, which from inside a virtual environment are not these),
  and the worktree through a second ``.pth`` sorted before it (an editable install that
  needs no pip and stays pointed at the one worktree path as revisions are checked out).
* Otherwise a virtual environment per distinct set of declarations gets a full install,
  ``pip install -c requirements.lock -e WORKTREE`` (this needs the package index).

``run_scenario`` then runs ``python -m janus_sim run`` there, in the worktree, without
``PYTHONPATH`` (which would put other code first) and writing no bytecode (a ``.pyc``
is trusted by its source's mtime in whole seconds, and checkouts come faster than that);
numba caches in the folder, keyed by each source file's stamp. ``code_of`` says which
``janus_sim`` an interpreter imports, so a caller can check it is the worktree's.
Failures are ``RevisionError`` naming the worktree and the step.
"""

from __future__ import annotations

import hashlib
import json
import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

from janus_sim.errors import JanusError


class RevisionError(JanusError):
    """A revision's environment cannot be made, or its code cannot run there."""


def declared_dependencies(root: Path) -> str:
    """What the checkout at ``root`` declares it needs, normalized (comments, blank lines
    and order ignored): its requirements.lock and pyproject's [project] dependencies."""
    lock = root / "requirements.lock"
    lines = lock.read_text(encoding="utf-8").splitlines() if lock.is_file() else []
    pins = sorted({ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")})
    project: dict[str, object] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except tomllib.TOMLDecodeError as e:
            raise RevisionError(f"{pyproject}: not valid TOML ({e})") from e
    deps = project.get("dependencies", [])
    extras = project.get("optional-dependencies", {})
    doc = {
        "lock": pins,
        "dependencies": sorted(deps) if isinstance(deps, list) else deps,
        "extras": extras,
    }
    return json.dumps(doc, sort_keys=True)


def _child_env(numba_cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONDONTWRITEBYTECODE="1", NUMBA_CACHE_DIR=str(numba_cache))
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RevisionError(f"{what} failed (exit {done.returncode}): {tail}")


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages")) + sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise RevisionError(f"{venv}: the new virtual environment has no site-packages")
    return found[0]


def _python(venv: Path) -> Path:
    unix = venv / "bin" / "python"
    return unix if unix.exists() else venv / "Scripts" / "python.exe"


class RevisionEnvs:
    """The environments of one bisection, under ``folder`` (see the module doc)."""

    def __init__(self, folder: Path, reference: Path) -> None:
        self.folder = folder
        self.reference = declared_dependencies(reference)
        self.numba_cache = folder / "numba"
        self._made: dict[str, Path] = {}

    def python_for(self, worktree: Path) -> Path:
        """The interpreter that runs ``worktree``'s code with the dependencies it declares;
        makes its environment the first time those declarations are seen."""
        declared = declared_dependencies(worktree)
        key = (
            "shared"
            if declared == self.reference
            else hashlib.sha256(declared.encode()).hexdigest()[:12]
        )
        if key not in self._made:
            venv = self.folder / f"venv-{key}"
            if key == "shared":
                self._shared(venv, worktree)
            else:
                self._full(venv, worktree)
            self._made[key] = _python(venv)
        return self._made[key]

    def _shared(self, venv: Path, worktree: Path) -> None:
        env = _child_env(self.numba_cache)
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], self.folder, env, "venv")
        packages = _site_packages(venv)
        here = [
            p for p in [*site.getsitepackages(), site.getusersitepackages()] if Path(p).is_dir()
        ]
        (packages / "00-janus-revision.pth").write_text(f"{worktree}\n", encoding="utf-8")
        (packages / "50-janus-dependencies.pth").write_text(
            "\n".join(here) + "\n", encoding="utf-8"
        )

    def _full(self, venv: Path, worktree: Path) -> None:
        env = _child_env(self.numba_cache)
        _run([sys.executable, "-m", "venv", str(venv)], self.folder, env, "python -m venv")
        argv = [str(_python(venv)), "-m", "pip", "install", "--quiet"]
        lock = worktree / "requirements.lock"
        argv += ["-c", str(lock)] if lock.is_file() else []
        _run([*argv, "-e", str(worktree)], worktree, env, "pip install (its dependencies differ)")

    def code_of(self, python: Path, worktree: Path) -> Path:
        """The folder of the ``janus_sim`` package ``python`` imports when run in ``worktree``."""
        done = subprocess.run(
            [str(python), "-c", "import janus_sim; print(janus_sim.__file__)"],
            cwd=worktree,
            env=_child_env(self.numba_cache),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RevisionError(f"import janus_sim failed: {tail}")
        return Path(done.stdout.strip()).resolve().parent

    def run_scenario(
        self,
        python: Path,
        worktree: Path,
        scenario: Path,
        store: Path,
        run_id: str,
        seed: int | None,
    ) -> None:
        """``janus-sim run SCENARIO`` of the worktree's code into the new store ``store``
        (run ``run_id``, no schema collection); RevisionError with its last error line."""
        argv = [str(python), "-m", "janus_sim", "run", str(scenario), "--store", str(store)]
        argv += ["--no-qdrant", "--quiet", "--run-id", run_id]
        argv += [] if seed is None else ["--seed", str(seed)]
        _run(argv, worktree, _child_env(self.numba_cache), "janus-sim run")
