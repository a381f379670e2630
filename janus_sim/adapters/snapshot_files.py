"""The ``SnapshotShelf`` port on disk: ``<root>/<collection>/<name>.jsonl``.

``root`` is the store's ``snapshots`` folder. A snapshot is written to a temporary file
beside its target and renamed over it (``atomic_file.replacing``), so a reader, ``restore``
included, never sees half of one; a pruned snapshot is unlinked (one atomic step; a
snapshot already gone is no error). Temporary files (``.<name>.<pid>.tmp``) are not
snapshots and ``names`` does not list them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from janus_sim.adapters.atomic_file import replacing
from janus_sim.core.vector_snapshot import SNAPSHOT_SUFFIX
from janus_sim.errors import NotFoundError, StoreError, mkdir_reason

SNAPSHOTS_DIRNAME = "snapshots"
"""The shelf's folder inside the event-store directory."""


class SnapshotFiles:
    """Snapshots as files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, folder: str, name: str) -> Path:
        if "/" in folder or "/" in name or folder in ("", ".", "..") or name in ("", ".", ".."):
            raise ValueError(f"not a snapshot folder and name: {folder!r}, {name!r}")
        return self.root / folder / f"{name}{SNAPSHOT_SUFFIX}"

    def where(self, folder: str, name: str | None = None) -> str:
        """The file of snapshot ``name`` in ``folder`` (or the folder), as a path."""
        return str(self.root / folder if name is None else self._path(folder, name))

    def save(self, folder: str, name: str, data: bytes) -> None:
        """Write snapshot ``name`` atomically (creating the folders)."""
        target = self._path(folder, name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create snapshot folder {target.parent}: {mkdir_reason(e)}"
            ) from e
        try:
            with replacing(target) as tmp:
                tmp.write_bytes(data)
        except OSError as e:
            raise StoreError(f"cannot write snapshot {target}: {e.strerror or e}") from e

    def load(self, folder: str, name: str) -> bytes:
        """The bytes of snapshot ``name``; NotFoundError when there is none."""
        target = self._path(folder, name)
        try:
            return target.read_bytes()
        except FileNotFoundError as e:
            raise NotFoundError(f"no snapshot {target}") from e
        except OSError as e:
            raise StoreError(f"cannot read snapshot {target}: {e.strerror or e}") from e

    def names(self, folder: str) -> list[str]:
        """The snapshots in ``folder``, sorted (none when the folder does not exist)."""
        where = self.root / folder
        try:
            entries = sorted(os.listdir(where))
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"cannot list snapshots in {where}: {e.strerror or e}") from e
        return [
            e[: -len(SNAPSHOT_SUFFIX)]
            for e in entries
            if e.endswith(SNAPSHOT_SUFFIX) and not e.startswith(".")
        ]

    def remove(self, folder: str, names: Sequence[str]) -> None:
        """Unlink each named snapshot (one atomic step each); missing ones are ignored."""
        for name in names:
            target = self._path(folder, name)
            try:
                target.unlink(missing_ok=True)
            except OSError as e:
                raise StoreError(f"cannot remove snapshot {target}: {e.strerror or e}") from e


__all__ = ["SNAPSHOTS_DIRNAME", "SnapshotFiles"]
