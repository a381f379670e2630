"""The console script's first module: the stop rule before the heavy imports.

Importing the command line (numpy, numba, DuckDB, qdrant-client, pydantic) takes seconds.
A Ctrl-C or SIGTERM in that time would print Python's KeyboardInterrupt traceback (or, for
SIGTERM, kill the process without a word). This module imports only ``os`` and ``signal``
and installs handlers first, so a signal then prints the same one line as any other
stopped command and exits 130 / 143 at once: nothing has been opened or written yet, so
there is nothing to clean up. ``janus_sim.cli.main.main`` then holds the full rule
(``adapters.stop_signals.StopRule``) around the command itself.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Any

_NUMBERS: dict[int, tuple[str, int]] = {
    int(signal.SIGINT): ("SIGINT", 130),
    int(signal.SIGTERM): ("SIGTERM", 143),
}


def _stop_while_starting(signum: int, frame: FrameType | None) -> None:
    name, code = _NUMBERS.get(signum, (f"signal {signum}", 128 + signum))
    # os.write and os._exit: no Python-level I/O state is trusted halfway through imports.
    os.write(2, f"janus-sim: interrupted by {name} (exit {code})\n".encode())
    os._exit(code)


def main() -> Any:
    """Install the early handlers, import the command line, run it."""
    for sig in _NUMBERS:
        signal.signal(sig, _stop_while_starting)
    from janus_sim.cli.main import main as cli_main

    try:
        return cli_main()
    finally:
        # The outcome is decided. While Python shuts down it puts the default handlers
        # back, and a signal then would kill the process without a word: ignore it.
        for sig in _NUMBERS:
            signal.signal(sig, signal.SIG_IGN)
