"""A click group whose commands are imported only when one of them is used.

Importing every command module up front costs seconds (the engine, its numba kernels,
the Qdrant client, scipy, pydantic); ``janus-sim at`` needs a fraction of that. A
``LazyGroup`` knows each command by name, the ``module:attribute`` that defines it and
its one-line help, so that ``janus-sim --help`` lists every command without importing
any, and ``janus-sim NAME`` imports NAME's module alone.

Contract: the group behaves as a ``click.Group`` holding every listed command (resolving,
``--help``, completion); a listed help text is the command's own docstring's first
paragraph (``tests/unit/test_cli_lazy.py`` checks them against the commands).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``module:attribute``) and the first paragraph of its help,
    for listings."""

    target: str
    help: str

    def load(self) -> click.Command:
        module, _, attr = self.target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):  # a wrong table entry, not user input
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose ``lazy`` commands load on first use (see the module docstring)."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self.lazy[cmd_name].load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As ``click.Group.format_commands``, but a command not loaded yet is listed with
        its help from the table instead of being imported."""
        rows: list[tuple[str, str | None]] = []
        for name in self.list_commands(ctx):
            loaded = self.commands.get(name)
            if loaded is not None:
                if not loaded.hidden:
                    rows.append((name, None))
            elif name in self.lazy:
                rows.append((name, self.lazy[name].help))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        lines = []
        for name, text in rows:
            loaded = self.commands.get(name)
            if loaded is not None:
                lines.append((name, loaded.get_short_help_str(limit)))
            else:
                # click's own shortening, on a stand-in holding the same first paragraph
                stand_in = click.Command(name, help=text)
                lines.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(lines)
