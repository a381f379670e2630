"""The command line run in this process (``janus_sim.cli.main.main``), for tests that need no
separate process: its exit code, stdout and stderr."""

from __future__ import annotations

from pathlib import Path

import pytest

from janus_sim.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
