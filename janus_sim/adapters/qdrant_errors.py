"""Qdrant's failures as janus-sim's: one-line StoreErrors that name the store, never its key.

Whatever qdrant-client, httpx, gRPC or the embedded storage raise is a ``BACKEND_ERRORS``;
``store_error`` turns one into a StoreError naming the store (a URL without credentials,
or a folder) and what failed, and says "does not answer" when the cause was a server out
of reach.

A URL is printed only as ``public_url`` shows it: no ``user:password@``, and the value of
any credential in its query string (``?api-key=...``, ``api_key``, ``apikey``, ``key``,
``token``, ``access_token``, ``password``, ``secret``) replaced by ``***``; ``url_secrets``
are those values, which ``redact`` removes from any other text (an error message that
quotes the URL).
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
import warnings
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

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


SECRET_PARAMS = frozenset(
    {"api-key", "api_key", "apikey", "key", "token", "access_token", "password", "secret"}
)
"""Query parameters whose values are credentials (compared lowercased)."""

HIDDEN = "***"


def _is_secret(name: str) -> bool:
    return name.strip().lower() in SECRET_PARAMS


def public_url(url: str) -> str:
    """``url`` without any user:password part and with every credential in its query
    string shown as ``***`` (safe to print)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = netloc.rsplit("@", 1)[-1]
    query = "&".join(
        f"{name}={HIDDEN}" if _is_secret(unquote(name)) else piece
        for piece in parts.query.split("&")
        for name in [piece.split("=", 1)[0]]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials ``url`` holds (its password, its secret query values), as written
    and decoded, longest first so that ``redact`` never leaves a part of one behind."""
    parts = urlsplit(url)
    raw = [parts.netloc.rsplit("@", 1)[0].partition(":")[2]] if "@" in parts.netloc else []
    for piece in parts.query.split("&"):
        name, _, value = piece.partition("=")
        if _is_secret(unquote(name)):
            raw.append(value)
    found = {v for r in raw for v in (r, unquote(r), unquote(r.replace("+", " "))) if v}
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return text


def one_line(e: BaseException, secrets: Iterable[str] = ()) -> str:
    """``e``'s message on one line, ``secrets`` redacted first (so that shortening it to
    200 characters can never leave a piece of one), then shortened."""
    text = redact(" ".join(str(e).split()), secrets) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def store_error(
    what: str,
    e: BaseException,
    *,
    where: str,
    remote: bool,
    api_key: str | None,
    hidden: Iterable[str] = (),
) -> StoreError:
    """The StoreError for failing to do ``what`` on the store at ``where``; ``api_key``
    and ``hidden`` (``url_secrets`` of the URL) never appear in it."""
    secrets = [*hidden, *([api_key] if api_key else [])]
    chain = _chain(e)
    if remote and any(isinstance(c, _UNREACHABLE) for c in chain):
        cause = next(c for c in chain if isinstance(c, _UNREACHABLE))
        return StoreError(f"Qdrant at {where} does not answer ({one_line(cause, secrets)})")
    if isinstance(e, ResponseHandlingException) and e.source is not None:
        e = e.source
    message = one_line(e, secrets)
    return StoreError(f"Qdrant {where}: cannot {what}: {message}")


_INSECURE = "insecure connection"
_said_insecure = False


def say_insecure_once(caught: list[warnings.WarningMessage], shown: str) -> None:
    """qdrant-client warns (two lines, one of them our source line) each time a key goes
    over plain http; say it once per process, in one line, and pass other warnings on."""
    global _said_insecure
    for w in caught:
        if issubclass(w.category, UserWarning) and _INSECURE in str(w.message):
            if not _said_insecure:
                _said_insecure = True
                sys.stderr.write(
                    f"janus-sim: warning: the Qdrant API key goes to {shown} over plain "
                    "http, unencrypted: use an https:// URL unless the server is local\n"
                )
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
