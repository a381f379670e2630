"""Which environment a bisected revision runs in: the dependencies a checkout declares,
and the shared environment or a full install chosen from them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from janus_sim.adapters import revision_env as re_env
from janus_sim.adapters.revision_env import RevisionEnvs, RevisionError, declared_dependencies

PYPROJECT = '[project]\nname = "x"\ndependencies = ["numpy>=2.0", "scipy>=1.12"]\n'


def _checkout(root: Path, lock: str, pyproject: str = PYPROJECT) -> Path:
    root.mkdir()
    (root / "requirements.lock").write_text(lock)
    (root / "pyproject.toml").write_text(pyproject)
    return root


def test_declarations_ignore_comments_blank_lines_and_order(tmp_path: Path) -> None:
    a = _checkout(tmp_path / "a", "# pins\nnumpy==2.4.6\n\nscipy==1.16.0\n")
    b = _checkout(tmp_path / "b", "scipy==1.16.0\nnumpy==2.4.6  \n# other comment\n")
    c = _checkout(tmp_path / "c", "scipy==1.16.0\nnumpy==2.4.7\n")
    d = _checkout(tmp_path / "d", "numpy==2.4.6\nscipy==1.16.0\n", PYPROJECT.replace("2.0", "2.1"))
    assert declared_dependencies(a) == declared_dependencies(b)
    assert declared_dependencies(a) != declared_dependencies(c)
    assert declared_dependencies(a) != declared_dependencies(d)


def test_a_broken_pyproject_is_named(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "a", "", "[project\n")
    with pytest.raises(RevisionError, match=r"pyproject.toml: not valid TOML"):
        declared_dependencies(root)


def test_same_declarations_share_one_environment_others_get_a_full_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[str, str]] = []
    monkeypatch.setattr(RevisionEnvs, "_shared", lambda self, v, w: made.append(("shared", v.name)))
    monkeypatch.setattr(RevisionEnvs, "_full", lambda self, v, w: made.append(("full", v.name)))
    here = _checkout(tmp_path / "here", "numpy==2.4.6\n")
    same = _checkout(tmp_path / "same", "numpy==2.4.6\n")
    other = _checkout(tmp_path / "other", "numpy==2.4.7\n")
    envs = RevisionEnvs(tmp_path / "envs", here)
    first = envs.python_for(same)
    assert envs.python_for(here) == first  # made once, reused
    full = envs.python_for(other)
    assert full != first and envs.python_for(other) == full
    assert [kind for kind, _ in made] == ["shared", "full"]
    assert made[0][1] == "venv-shared" and made[1][1].startswith("venv-")


def test_a_failing_step_names_itself_and_its_last_error_line(tmp_path: Path) -> None:
    with pytest.raises(RevisionError, match=r"^janus-sim run failed \(exit 3\): last line$"):
        re_env._run(
            [
                sys.executable,
                "-c",
                "import sys; print('a\\nlast line', file=sys.stderr); sys.exit(3)",
            ],
            tmp_path,
            {},
            "janus-sim run",
        )
