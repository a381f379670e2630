"""The one cooperative stop: SIGINT and SIGTERM become a request, honoured at a safe point.

``run`` and ``sweep`` both hold a ``StopFlag`` while they work. A signal only records its
name; the engine reads ``pending`` at every batch boundary (so no half-written batch can
come of it) and the sweep between trials and while it waits for workers. Leaving the
``with`` block gives the previous handlers back.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

StopCheck = Callable[[], str | None]
"""What long work is handed: the name of a pending stop signal, or None."""


class StopFlag:
    """A context manager: inside it, SIGINT/SIGTERM set the flag instead of stopping."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._saved: dict[int, Any] = {}

    def pending(self) -> str | None:
        """The name of the first stop signal received (``"SIGINT"``, ``"SIGTERM"``), or None."""
        return self._name

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._name is None:
            self._name = signal.Signals(signum).name

    def __enter__(self) -> StopFlag:
        for sig in STOP_SIGNALS:
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()


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
