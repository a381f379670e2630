"""Recovering the embedded Qdrant store: it holds derived data only (each run's schema
collection, rebuilt from the event log), so a folder the client cannot read is moved
aside, kept for inspection, and made anew by ``rebuild --qdrant``.
"""

from __future__ import annotations

import os
from pathlib import Path

from janus_sim.adapters.qdrant_store import LOCAL_DIRNAME
from janus_sim.errors import StoreError


def set_aside_local(store_dir: Path) -> Path:
    """Move the embedded store ``store_dir/qdrant`` to ``qdrant.damaged[-n]`` beside it (a
    new name, never over an older one) and return where it went. For a folder the client
    cannot read: its collections are derived data, rebuilt from the event log."""
    folder = Path(store_dir) / LOCAL_DIRNAME
    target = folder.with_name(f"{LOCAL_DIRNAME}.damaged")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{LOCAL_DIRNAME}.damaged-{n}")
    try:
        os.replace(folder, target)
    except OSError as e:
        raise StoreError(f"cannot move the damaged Qdrant store {folder} aside: {e}") from e
    return target


def in_use_elsewhere(error: StoreError) -> bool:
    """Whether ``error`` says the embedded folder is held by another client (a lock, not
    damage: it must not be moved aside)."""
    return "already accessed by another instance" in str(error)


__all__ = ["in_use_elsewhere", "set_aside_local"]
