"""The one pattern for names that become run ids, and the run-id validator.

A run id ends up in a ``[STORE:]RUN@WHEN`` reference (where ':' and '@' are separators),
in an export's directory names (``run_id=<run>``, where '/' and '..' would leave the
tree), in a Qdrant collection name and on the terminal (where newlines and ANSI escapes
would forge output). So a run id is what a scenario name is: a letter or digit, then
letters, digits, '_', '.' or '-'; and at most 255 characters, a file name's limit.

Validation happens where a run is created (``run --run-id``, ``Engine.run``: sweeps'
trials, baselines and default ids too), never where one is read: runs stored by older
versions under other ids stay readable.
"""

from __future__ import annotations

import re

from janus_sim.errors import ConfigError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""Scenario names and run ids."""
RUN_ID_MAX = 255
"""The longest run id: a file name's limit (it names an export's directory)."""
RUN_ID_RULE = (
    f"a letter or digit, then letters, digits, '_', '.' or '-' ({NAME_PATTERN[1:-1]}), "
    f"at most {RUN_ID_MAX} characters"
)
"""The pattern in words, as error messages state it."""

_NAME = re.compile(NAME_PATTERN)


def is_run_id(text: str) -> bool:
    """Whether ``text`` may name a new run."""
    # fullmatch: '$' alone would also accept a trailing newline.
    return len(text) <= RUN_ID_MAX and _NAME.fullmatch(text) is not None


def check_run_id(text: str, where: str = "--run-id") -> str:
    """``text`` if it may name a new run, else ConfigError naming ``where``, the text and
    the pattern."""
    if not is_run_id(text):
        what = "is too long" if len(text) > RUN_ID_MAX else "is not a run id"
        raise ConfigError(where, repr(text), f"{what} (expected {RUN_ID_RULE})")
    return text
