"""The ``VectorStore`` port over Qdrant (spec section 3: schemas as points, eq. 33).

Two modes, one class:

* ``QdrantVectorStore.local(path)``: qdrant-client's embedded mode (no server). It allows
  one client per storage folder per process (a second one is refused with a StoreError),
  so close a store before opening the same folder again. It has no snapshots:
  ``snapshot`` writes the canonical JSON-lines snapshot instead (``core/vector_snapshot``,
  the format of the nightly snapshots). Each upsert and delete is one SQLite transaction
  (``qdrant_local_batch``), not one per point as the client's own.
* ``QdrantVectorStore.remote(url, api_key)``: a Qdrant server over HTTP. Opening it makes
  one request with a short timeout so a URL that does not answer fails at once.

Points (``core/vector_snapshot``: ``point_id``, ``unit``, ``payload_of``): Qdrant ids must
be integers or UUIDs, so a point's id is ``uuid5(NAMESPACE, schema_id)`` and the schema id
is kept in the payload (``schema_id``). The vector is the
schema mean scaled to unit length here (float64, ``unit``), and the collection's distance
is the dot product, so scores are cosines (eq. 33) and the stored vector is the same
whether a point is written fresh or replaced (embedded Qdrant normalizes a cosine
collection's new points in float32 and replaced ones in float64, which made a rebuilt
collection differ in the last bit from an incrementally synced one). The payload keeps the
exact ``mean`` (and ``covariance``, flattened row-major, with ``dim`` and ``eps`` so a
schema can be rebuilt from its point).

Errors: every qdrant-client, httpx, gRPC or storage failure leaves as a StoreError whose
one-line message names the URL (without credentials) or the folder and what failed
(``qdrant_errors``). The API key is never part of a message or a log line.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
from qdrant_client import QdrantClient, models

from janus_sim.adapters.atomic_file import replacing
from janus_sim.adapters.qdrant_errors import (
    BACKEND_ERRORS,
    one_line,
    public_url,
    say_insecure_once,
    store_error,
    url_secrets,
)
from janus_sim.adapters.qdrant_local_batch import one_transaction
from janus_sim.adapters.qdrant_snapshot import download
from janus_sim.core.neocortex import Schema
from janus_sim.core.vector_snapshot import (
    NAMESPACE,
    payload_of,
    point_id,
    schema_of,
    snapshot_text,
    unit,
)
from janus_sim.errors import StoreError

TIMEOUT_S = 3
"""Seconds a remote request may take before the server counts as not answering."""
LOCAL_DIRNAME = "qdrant"
"""The embedded store's folder inside the event-store directory."""
URL_ENV = "JANUS_QDRANT_URL"
API_KEY_ENV = "JANUS_QDRANT_API_KEY"
_PAGE = 256

T = TypeVar("T")


class QdrantVectorStore:
    """A ``VectorStore`` backed by one ``QdrantClient`` (see the module docstring).

    Not thread-safe. ``where`` is the URL or folder named in error messages.
    """

    def __init__(
        self, client: QdrantClient, where: str, *, is_local: bool, batched: bool = True
    ) -> None:
        self._client = client
        self._batched = batched and is_local
        self._where = where
        self._is_local = is_local
        self._api_key: str | None = None
        self._hidden: tuple[str, ...] = ()
        self._url = where
        self._closed = False

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def local(cls, path: Path, *, batched: bool = True) -> QdrantVectorStore:
        """The embedded store in folder ``path`` (created if missing).

        ``batched``: each upsert and delete commits once (False: once per point, the
        client's own way; kept for the benchmark's before/after). StoreError when the
        folder cannot be created or is already open in this process.
        """
        folder = Path(path).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            client = QdrantClient(path=str(folder))
        except BACKEND_ERRORS as e:
            raise StoreError(f"cannot open Qdrant store in {folder}: {one_line(e)}") from e
        return cls(client, str(folder), is_local=True, batched=batched)

    @classmethod
    def remote(
        cls, url: str, api_key: str | None = None, timeout_s: int = TIMEOUT_S
    ) -> QdrantVectorStore:
        """A Qdrant server at ``url``; one request checks that it answers.

        StoreError "Qdrant at URL does not answer (...)" within about ``timeout_s``
        seconds when it does not, or naming the URL and the failure otherwise.
        """
        shown = public_url(url)
        hidden = (*url_secrets(url), *([api_key] if api_key else []))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                client = QdrantClient(
                    url=url, api_key=api_key, timeout=timeout_s, check_compatibility=False
                )
        except BACKEND_ERRORS as e:
            message = one_line(e, hidden)
            raise StoreError(f"cannot connect to Qdrant at {shown}: {message}") from e
        say_insecure_once(caught, shown)
        store = cls(client, shown, is_local=False)
        store._api_key = api_key
        store._hidden = hidden
        store._url = url
        store._call("list collections", client.get_collections)
        return store

    # -- plumbing --------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with every backend error turned into a StoreError."""
        if self._closed:
            raise StoreError(f"Qdrant store {self._where} is closed")
        try:
            return fn(*args, **kwargs)
        except BACKEND_ERRORS as e:
            raise self._error(what, e) from e

    def _write(self, what: str, name: str, fn: Callable[..., Any], **kwargs: Any) -> None:
        """A write to collection ``name``: one SQLite transaction in embedded mode."""
        if not self._batched:
            self._call(what, fn, **kwargs)
            return
        try:
            with one_transaction(self._client, name):
                self._call(what, fn, **kwargs)
        except sqlite3.Error as e:  # the one commit failed: the file is behind the client
            raise StoreError(
                f"Qdrant {self._where}: cannot {what}: {one_line(e)} (the collection is out "
                "of step with its file: janus-sim rebuild --qdrant remakes it)"
            ) from e

    def _error(self, what: str, e: BaseException) -> StoreError:
        return store_error(
            what,
            e,
            where=self._where,
            remote=not self._is_local,
            api_key=self._api_key,
            hidden=self._hidden,
        )

    def _exists(self, name: str) -> bool:
        return self._call(f"look up collection {name!r}", self._client.collection_exists, name)

    def _require(self, name: str) -> None:
        if not self._exists(name):
            raise StoreError(f"Qdrant {self._where}: no collection {name!r}")

    def _dim_of(self, name: str) -> int:
        info = self._call(f"read collection {name!r}", self._client.get_collection, name)
        vectors = info.config.params.vectors
        if not isinstance(vectors, models.VectorParams):
            raise StoreError(f"Qdrant {self._where}: collection {name!r} has named vectors")
        return int(vectors.size)

    # -- the port --------------------------------------------------------------------

    def ensure_collection(self, name: str, dim: int) -> None:
        """Create ``name`` (cosine, ``dim``) unless it exists; StoreError on a dim clash."""
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if self._exists(name):
            have = self._dim_of(name)
            if have != dim:
                raise StoreError(
                    f"Qdrant {self._where}: collection {name!r} has dimension {have}, not {dim}"
                )
            return
        self._create(name, dim)

    def recreate(self, name: str, dim: int) -> None:
        """Drop ``name`` if it exists and create it empty (cosine, ``dim``)."""
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if self._exists(name):
            self._call(f"drop collection {name!r}", self._client.delete_collection, name)
        self._create(name, dim)

    def _create(self, name: str, dim: int) -> None:
        params = models.VectorParams(size=dim, distance=models.Distance.DOT)
        self._call(
            f"create collection {name!r}",
            self._client.create_collection,
            collection_name=name,
            vectors_config=params,
        )

    def upsert(self, name: str, schemas: Sequence[Schema]) -> None:
        """One batch upsert; the point of each schema id is replaced if present.

        ValueError on duplicate ids in the batch (the result would depend on order).
        """
        if not schemas:
            return
        ids = [s.id for s in schemas]
        if len(set(ids)) != len(ids):
            raise ValueError("upsert batch repeats a schema id")
        self._require(name)
        points = [
            models.PointStruct(id=point_id(s.id), vector=unit(s.mean), payload=payload_of(s))
            for s in schemas
        ]
        self._write(
            f"upsert {len(points)} points into {name!r}",
            name,
            self._client.upsert,
            collection_name=name,
            points=points,
            wait=True,
        )

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove the points of ``ids``; unknown ids are ignored."""
        if not ids:
            return
        self._require(name)
        selector = models.PointIdsList(points=[point_id(i) for i in ids])
        self._write(
            f"delete {len(ids)} points from {name!r}",
            name,
            self._client.delete,
            collection_name=name,
            points_selector=selector,
            wait=True,
        )

    def search(self, name: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-``k`` (schema id, cosine score), best first, equal scores by schema id.

        Equal scores at the cut are resolved by id too: the query widens until the k-th
        score is no longer tied with the last one returned. ValueError when ``k`` < 0 or
        ``vector`` is not a finite 1-d array of the collection's dimension.
        """
        q = np.asarray(vector, dtype=np.float64)
        if q.ndim != 1 or not np.all(np.isfinite(q)):
            raise ValueError(f"query vector must be finite with shape (d,), got {q.shape}")
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if k == 0:
            return []
        self._require(name)
        dim = self._dim_of(name)
        if q.shape[0] != dim:
            raise ValueError(f"query vector has dimension {q.shape[0]}, {name!r} has {dim}")
        query = unit(q)
        limit = k
        while True:
            found = self._call(
                f"search {name!r}",
                self._client.query_points,
                collection_name=name,
                query=query,
                limit=limit,
                with_payload=["schema_id"],
                with_vectors=False,
            ).points
            if len(found) < limit or found[-1].score < found[k - 1].score:
                break
            limit *= 2
        hits = [(str((p.payload or {})["schema_id"]), float(p.score)) for p in found]
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits[:k]

    def _scroll(self, name: str) -> list[models.Record]:
        self._require(name)
        out: list[models.Record] = []
        offset: Any = None
        while True:
            page, offset = self._call(
                f"read points of {name!r}",
                self._client.scroll,
                collection_name=name,
                limit=_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=True,
            )
            out.extend(page)
            if offset is None:
                return out

    def ids(self, name: str) -> list[str]:
        """Every schema id in ``name``, sorted."""
        return sorted(str((r.payload or {})["schema_id"]) for r in self._scroll(name))

    def points(self, name: str) -> dict[str, dict[str, Any]]:
        """Schema id -> payload plus ``"vector"`` (the stored, normalized vector), by id."""
        rows: dict[str, dict[str, Any]] = {}
        for r in self._scroll(name):
            payload = dict(r.payload or {})
            vec = r.vector
            if not isinstance(vec, list):
                raise StoreError(f"Qdrant {self._where}: {name!r} holds a non-plain vector")
            payload["vector"] = np.asarray(vec, dtype=np.float64).tolist()
            rows[str(payload["schema_id"])] = payload
        return dict(sorted(rows.items()))

    def snapshot(self, name: str, target_dir: Path) -> Path:
        """Save the collection under ``target_dir`` and return the file's path.

        Server: a Qdrant snapshot (``create_snapshot``), downloaded to
        ``target_dir/<snapshot name>``. Local mode (no snapshots): ``target_dir/
        <name>.jsonl``, ``core/vector_snapshot.snapshot_text`` of the collection's
        schemas (one JSON object per point, sorted by schema id), written to a temporary
        file and renamed.
        """
        folder = Path(target_dir).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create snapshot folder {folder}: {one_line(e)}") from e
        if self._is_local:
            return self._export(name, folder)
        self._require(name)
        desc = self._call(
            f"snapshot collection {name!r}", self._client.create_snapshot, collection_name=name
        )
        if desc is None:
            raise StoreError(f"Qdrant {self._where}: snapshot of {name!r} returned nothing")
        return self._download(name, desc.name, folder)

    def _export(self, name: str, folder: Path) -> Path:
        target = folder / f"{name}.jsonl"
        try:
            text = snapshot_text(schema_of(p) for p in self.points(name).values())
        except (KeyError, TypeError, ValueError) as e:
            raise StoreError(
                f"Qdrant {self._where}: {name!r} holds a point janus-sim did not write: "
                f"{one_line(e)}"
            ) from e
        try:
            with replacing(target) as tmp:
                tmp.write_bytes(text.encode("utf-8"))
        except OSError as e:
            raise StoreError(f"cannot write export {target}: {one_line(e)}") from e
        return target

    def _download(self, name: str, snap: str, folder: Path) -> Path:
        try:
            return download(self._url, self._api_key, name, snap, folder)
        except (httpx.HTTPError, OSError) as e:
            raise self._error(f"download snapshot {snap!r} of {name!r}", e) from e

    def close(self) -> None:
        """Release the client (and the local folder's lock); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._client.close()
        except BACKEND_ERRORS as e:
            raise StoreError(f"Qdrant {self._where}: cannot close: {one_line(e)}") from e

    def __enter__(self) -> QdrantVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_vector_store(store_dir: Path, url: str | None = None) -> QdrantVectorStore:
    """The vector store for an event-store directory.

    ``url`` (from ``--qdrant-url``) or else the environment variable ``JANUS_QDRANT_URL``
    selects a Qdrant server, authenticated with ``JANUS_QDRANT_API_KEY`` when that is set;
    with neither, the embedded store in ``store_dir/qdrant``. StoreError as ``local`` and
    ``remote`` raise.
    """
    target = url or os.environ.get(URL_ENV) or None
    if target:
        return QdrantVectorStore.remote(target, os.environ.get(API_KEY_ENV) or None)
    return QdrantVectorStore.local(Path(store_dir) / LOCAL_DIRNAME)


__all__ = [
    "API_KEY_ENV",
    "LOCAL_DIRNAME",
    "NAMESPACE",
    "TIMEOUT_S",
    "URL_ENV",
    "QdrantVectorStore",
    "open_vector_store",
    "payload_of",
    "point_id",
    "unit",
]
