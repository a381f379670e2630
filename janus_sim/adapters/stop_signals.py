"""The one cooperative stop: SIGINT and SIGTERM become a request, honoured at a safe point.

``run`` and ``sweep`` both hold a ``StopFlag`` while they work. A signal only records its
name; the engine reads ``pending`` at every batch boundary (so no half-written batch can
come of it) and the sweep between trials and while it waits for workers. Leaving the
``with`` block gives the previous handlers back.

Everywhere else one rule holds (``StopRule``, held by the command line around every
command): a SIGINT or SIGTERM stops the command at once, its ``finally`` blocks run (so a
temporary file is removed and a store closed), and the command exits 130 / 143 with one
line, whatever it was doing when the signal came - inside a DuckDB query too, where
DuckDB turns the interruption into its own RuntimeError: the rule remembers the signal,
so the exit is the signal's whatever exception carried it out. Before the command line
is even imported, ``janus_sim.entry`` holds the same rule in its simplest form.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

StopCheck = Callable[[], str | None]
"""What long work is handed: the name of a pending stop signal, or None."""


class _SignalScope:
    """SIGINT/SIGTERM handled by ``_handle`` inside a ``with`` block, the previous handlers
    given back on leaving it; ``pending`` names the first signal received."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._saved: dict[int, Any] = {}

    def pending(self) -> str | None:
        """The name of the first stop signal received (``"SIGINT"``, ``"SIGTERM"``), or None."""
        return self._name

    def _note(self, signum: int) -> bool:
        """Record the signal; True when it is the first."""
        if self._name is not None:
            return False
        self._name = signal.Signals(signum).name
        return True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._note(signum)

    def _install(self) -> None:
        for sig in STOP_SIGNALS:
            self._saved[sig] = signal.signal(sig, self._handle)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()


class StopFlag(_SignalScope):
    """A context manager: inside it, SIGINT/SIGTERM set the flag instead of stopping."""

    def __enter__(self) -> StopFlag:
        self._install()
        return self


def exit_code(signal_name: str) -> int:
    """The shell's code for a process stopped by ``signal_name``: 128 + its number."""
    return 128 + signal.Signals[signal_name].value


def stopped_line(signal_name: str) -> str:
    """The one line a command stopped by ``signal_name`` prints on stderr."""
    return f"janus-sim: interrupted by {signal_name} (exit {exit_code(signal_name)})"


class Stopped(BaseException):
    """Raised by ``StopRule``'s handler: a BaseException, so ``except Exception`` blocks
    let it through to the command line."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class StopRule(_SignalScope):
    """A context manager: inside it the first SIGINT/SIGTERM raises ``Stopped`` (later
    ones are only noted, so cleanup in ``finally`` blocks is not cut short) and
    ``pending`` names it from then on, whatever became of the exception. Outside the
    main thread (where Python cannot install handlers) it does nothing."""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._note(signum):
            raise Stopped(signal.Signals(signum).name)

    def __enter__(self) -> StopRule:
        if threading.current_thread() is threading.main_thread():
            self._install()
        return self


def never() -> str | None:
    """A stop flag that is never raised (work that runs without a terminal)."""
    return None


@contextlib.contextmanager
def term_interrupts() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that the
    ``with`` blocks of a command that only waits (on child processes, say) clean up their
    temporary folders and children on either; the previous handler comes back after."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    saved = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)
