"""One writer per run: an advisory file lock held for as long as a process writes a run.

The event store lets two processes append to one store (each batch is a transaction),
but two processes writing the *same* run would fight over its sequence numbers: the
second would be refused at its first append and, worse, mark the run failed while the
first still writes it. So `run` (and `run --resume`) takes ``<store>/locks/<run>.lock``
with ``flock`` before touching the run. The kernel drops the lock when the process
exits, however it exits (SIGKILL included), so a killed run can always be resumed and
no stale lock outlives its holder. The file records the holder's PID for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from janus_sim.errors import StoreError


def _lock_name(run_id: str) -> str:
    # Run ids are free text; the file name must not be able to escape the folder.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)[:80]
    return f"{safe}-{hashlib.sha256(run_id.encode()).hexdigest()[:12]}.lock"


def hold_flock(path: Path, busy: Callable[[str], str]) -> int:
    """Open ``path`` (its folder created) and hold an exclusive ``flock`` on it, with this
    process's PID written inside; returns the descriptor, whose closing drops the lock.

    Raises StoreError(``busy(holder_pid)``) when another open file holds it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"cannot create lock file {path}: {e.strerror}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreError(busy(holder)) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


class RunLock:
    """``with RunLock(store_dir, run_id):`` holds the run's lock or raises StoreError."""

    def __init__(self, store_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = store_dir / "locks" / _lock_name(run_id)
        self._fd: int | None = None

    def acquire(self) -> None:
        self._fd = hold_flock(
            self.path,
            lambda holder: (
                f"run {self.run_id!r} is being written by another janus-sim process "
                f"(PID {holder}); wait for it to finish, or choose another --run-id"
            ),
        )

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
