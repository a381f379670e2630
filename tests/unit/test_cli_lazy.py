"""The CLI's lazy root group and its compile notice.

``janus-sim --help`` lists every command from ``main.COMMANDS`` without importing them;
each entry must name its real command and repeat its help, or the listing would lie.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from janus_sim.cli.compile_notice import NOTICE, compile_notice
from janus_sim.cli.lazy_group import LazyCommand, LazyGroup
from janus_sim.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_is_the_real_one_with_its_own_help(name: str) -> None:
    command = COMMANDS[name].load()
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name].help)
    for limit in (20, 45, 70, 94, 10_000):
        listed = stand_in.get_short_help_str(limit)
        assert listed == command.get_short_help_str(limit), (name, limit)


def test_the_root_help_lists_every_command_and_imports_none_of_them() -> None:
    # A fresh process: this test process has imported the commands already.
    script = (
        "import sys\n"
        "from janus_sim.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "finally:\n"
        "    heavy = [m for m in ('janus_sim.cli.log_commands', 'janus_sim.app.engine',\n"
        "             'janus_sim.cli.at_command', 'numba', 'qdrant_client', 'duckdb') "
        "if m in sys.modules]\n"
        "    print('IMPORTED', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for name in COMMANDS:
        assert f"\n  {name} " in proc.stdout
    assert "IMPORTED []" in proc.stdout


def test_at_imports_neither_the_engine_nor_qdrant_nor_umap() -> None:
    script = (
        "import sys\n"
        "from janus_sim.cli.main import main\n"
        "try:\n"
        "    main(['at', '--help'])\n"
        "finally:\n"
        "    heavy = [m for m in ('janus_sim.app.engine', 'janus_sim.wiring', 'qdrant_client',\n"
        "             'umap', 'pynndescent', 'sklearn', 'scipy.optimize', 'pydantic') "
        "if m in sys.modules]\n"
        "    print('IMPORTED', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stdout


def test_a_wrong_table_entry_is_named() -> None:
    with pytest.raises(TypeError, match=r"janus_sim.cli.main:COMMANDS is not a click command"):
        LazyCommand("janus_sim.cli.main:COMMANDS", "").load()


def test_a_lazy_group_resolves_an_unknown_name_as_click_does() -> None:
    group = LazyGroup(name="g", lazy={})
    ctx = click.Context(group)
    assert group.get_command(ctx, "nope") is None
    assert cli.get_command(click.Context(cli), "nope") is None


def test_the_notice_comes_once_and_only_when_numba_compiles() -> None:
    import numba

    said: list[str] = []
    with compile_notice(said.append):

        @numba.njit(cache=False)
        def twice(x: float) -> float:
            return 2.0 * x

        assert said == []  # defining a kernel compiles nothing
        twice(1.0)
        twice(2)  # a second signature: compiles again, no second line
        twice(3.0)  # compiled already: no event
    assert said == [NOTICE]
    twice(4j)  # type: ignore[arg-type]  # outside: not watched any more
    assert said == [NOTICE]
