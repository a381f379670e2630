"""One line on stderr when numba really compiles a kernel (a cold cache, the first run).

The first run after an install compiles the numerical kernels (tens of seconds); every
later run loads them from numba's cache. A user watching the first run should know why it
pauses, and only then: ``compile_notice`` listens to numba's ``numba:compile`` event, which
numba fires only on a cache miss, just before compiling (a kernel found in the cache fires
nothing). The first such event prints ``say``'s line once; later compiles in the same run
print nothing. Watching costs nothing while the cache is warm.

This is the CLI's concern, not the core's: the core stays free of I/O.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

NOTICE = "compiling numerical kernels, first run only (numba caches them for later runs)"


@contextlib.contextmanager
def compile_notice(say: Callable[[str], None]) -> Iterator[None]:
    """While inside, the first numba compile calls ``say(NOTICE)``, once."""
    from numba.core import event

    once = threading.Lock()  # kernels may compile in two threads at once: one line still

    class _FirstCompile(event.Listener):
        fired = False

        def on_start(self, ev: Any) -> None:
            with once:
                if self.fired:
                    return
                self.fired = True
            say(NOTICE)

        def on_end(self, ev: Any) -> None:
            pass

    listener = _FirstCompile()
    event.register("numba:compile", listener)  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        event.unregister("numba:compile", listener)  # type: ignore[no-untyped-call]
