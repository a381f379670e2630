"""Replacing a file so that a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same folder, so the rename is atomic; the
    PID in its name keeps two writers apart). Leaving the block normally renames it over
    ``path``; an exception removes it and goes on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
