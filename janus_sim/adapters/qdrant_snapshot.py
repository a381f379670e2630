"""Fetching a Qdrant server's own snapshot of a collection onto local disk.

The server writes the snapshot (``create_snapshot``); ``download`` streams it from
``<url>/collections/<name>/snapshots/<snap>`` into ``folder/<snap>``, through a temporary
file renamed over the target, so a reader never sees half a snapshot. The API key goes
in the ``api-key`` header only. httpx and OS errors are raised as they are: the store
(``qdrant_store``) turns them into one-line StoreErrors without the key.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from janus_sim.adapters.atomic_file import replacing

DOWNLOAD_TIMEOUT_S = 60.0


def download(url: str, api_key: str | None, name: str, snap: str, folder: Path) -> Path:
    """Stream snapshot ``snap`` of collection ``name`` from the server at ``url`` into
    ``folder/snap``; the file's path."""
    source = f"{url.rstrip('/')}/collections/{name}/snapshots/{snap}"
    headers = {"api-key": api_key} if api_key else {}
    target = folder / snap
    with (
        replacing(target) as tmp,
        httpx.stream("GET", source, headers=headers, timeout=DOWNLOAD_TIMEOUT_S) as resp,
        tmp.open("wb") as fh,
    ):
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            fh.write(chunk)
    return target


__all__ = ["DOWNLOAD_TIMEOUT_S", "download"]
