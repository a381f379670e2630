"""One SQLite transaction per batch in qdrant-client's embedded mode (issue 18, phase 4).

qdrant-client's local mode stores each point of an upsert (and each id of a delete) in its
own SQLite transaction: ``CollectionPersistence.persist`` writes inside ``with
connection:``, which commits on leaving the block, so a night of 738 schemas is 738
commits (each an fsync-bound journal write). ``one_transaction`` makes that block a no-op
for the duration of one call and commits once at the end, so a batch is one commit; what
the client keeps in memory and writes to SQLite is unchanged, only when it commits.

It reaches into the client's internals (``QdrantClient._client.collections[name]
.storage.storage``, a ``sqlite3.Connection``), pinned by ``requirements.lock``; where they
are not as expected (another qdrant-client, an in-memory collection, a server) it does
nothing and the call commits per point as before, which is slower but still correct.

Failure: a statement or the final commit that fails rolls the whole batch back in SQLite
and raises. The client has by then applied the earlier points in memory, so the open
collection is ahead of its file: the caller's StoreError says so, and the collection (a
projection of the log) is rebuilt by ``rebuild --qdrant``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any


class _Deferred:
    """A connection whose ``with`` block neither commits nor rolls back."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> _Deferred:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _persistence(client: Any, name: str) -> Any | None:
    """The collection's ``CollectionPersistence`` when ``client`` is an embedded one on
    disk, else None."""
    local = getattr(client, "_client", None)
    collections = getattr(local, "collections", None)
    if not isinstance(collections, dict):
        return None
    persistence = getattr(collections.get(name), "storage", None)
    if not isinstance(getattr(persistence, "storage", None), sqlite3.Connection):
        return None
    return persistence


@contextlib.contextmanager
def one_transaction(client: Any, name: str) -> Iterator[bool]:
    """Inside the block, the embedded collection ``name`` of ``client`` commits once, at
    the end (rolled back, and the error raised, if anything fails). Yields whether it
    could (False: a server, or an embedded store of another shape; nothing changes)."""
    persistence = _persistence(client, name)
    if persistence is None:
        yield False
        return
    conn: sqlite3.Connection = persistence.storage
    persistence.storage = _Deferred(conn)
    try:
        yield True
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        persistence.storage = conn


__all__ = ["one_transaction"]
