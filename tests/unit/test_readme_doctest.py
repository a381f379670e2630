"""The README's ```python blocks are doctests: run them, from a folder holding the tiny
scenario and a store ``janus-sim run scenarios/tiny.yaml --no-qdrant`` wrote, as the
README's "Python API (notebooks)" section says."""

from __future__ import annotations

import doctest
import re
import shutil
from pathlib import Path

import pytest

from tests.cli_inprocess import cli

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fences, in order."""
    return BLOCK.findall(text)


def test_the_readme_has_python_blocks_with_examples() -> None:
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3 and all(">>> " in b for b in blocks)


def test_readme_python_blocks_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / "tiny.yaml", tmp_path / "scenarios" / "tiny.yaml")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "scenarios/tiny.yaml", "--quiet", "--no-qdrant")
    assert code == 0, err
    text = "\n".join(python_blocks((ROOT / "README.md").read_text(encoding="utf-8")))
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README.md", str(ROOT / "README.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda s: print(s, end=""))
    report = capsys.readouterr().out
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, report
