"""The CLI's shared helpers."""

from __future__ import annotations

from janus_sim.cli.common import stopped_exit_code


def test_a_stopped_command_exits_as_the_shell_reports_its_signal() -> None:
    # run and sweep both document these: 130 for Ctrl-C, 143 for SIGTERM
    assert stopped_exit_code("SIGINT") == 130
    assert stopped_exit_code("SIGTERM") == 143
