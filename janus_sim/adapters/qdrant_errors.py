"""Qdrant's failures as janus-sim's: one-line StoreErrors that name the store, never its key.

Whatever qdrant-client, httpx, gRPC or the embedded storage raise is a ``BACKEND_ERRORS``;
``store_error`` turns one into a StoreError naming the store (a URL without credentials,
or a folder) and what failed, and says "does not answer" when the cause was a server out
of reach.
"""

from __future__ import annotations

import pickle
import sqlite3
from urllib.parse import urlsplit, urlunsplit

import httpx
from qdrant_client.http.exceptions import ApiException, ResponseHandlingException

from janus_sim.errors import StoreError

BACKEND_ERRORS: tuple[type[BaseException], ...] = (
    ApiException,
    httpx.HTTPError,
    OSError,
    RuntimeError,
    ValueError,
    KeyError,
    AssertionError,
    # The embedded store: meta.json of the wrong shape (TypeError, AttributeError), its
    # collections SQLite files of pickled points.
    TypeError,
    AttributeError,
    sqlite3.Error,
    pickle.UnpicklingError,
    EOFError,
)
try:  # gRPC is an optional transport of qdrant-client
    import grpc

    BACKEND_ERRORS = (*BACKEND_ERRORS, grpc.RpcError)
except ImportError:  # pragma: no cover
    pass

_UNREACHABLE: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.TimeoutException,
    httpx.NetworkError,
    ConnectionError,
    TimeoutError,
)


def public_url(url: str) -> str:
    """``url`` without any user:password part (safe to print)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def store_error(
    what: str, e: BaseException, *, where: str, remote: bool, api_key: str | None
) -> StoreError:
    """The StoreError for failing to do ``what`` on the store at ``where``."""
    chain = _chain(e)
    if remote and any(isinstance(c, _UNREACHABLE) for c in chain):
        cause = next(c for c in chain if isinstance(c, _UNREACHABLE))
        return StoreError(f"Qdrant at {where} does not answer ({one_line(cause)})")
    if isinstance(e, ResponseHandlingException) and e.source is not None:
        e = e.source
    message = one_line(e)
    if api_key:
        message = message.replace(api_key, "***")
    return StoreError(f"Qdrant {where}: cannot {what}: {message}")
