"""The server side of phase 4's snapshot: create_snapshot, then a streamed download.

No Qdrant server is reachable from the test machines, so the server is stood in for:
the client's ``create_snapshot`` by a stub, and the snapshot download endpoint by a real
HTTP server on localhost, which checks the API key header. What is tested is our code on
that path: the call, the URL, the header, the atomic write, and the one-line errors
that never show the key.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from janus_sim.adapters.qdrant_store import QdrantVectorStore
from janus_sim.errors import StoreError

SNAPSHOT = b"QDRANT-SNAPSHOT" + bytes(range(256)) * 64
KEY = "s3cret-key"


class _Snapshots(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("api-key")))
        if self.headers.get("api-key") != KEY:
            self.send_response(403)
            self.end_headers()
            return
        if self.path == "/collections/janus_r/snapshots/janus_r-1.snapshot":
            self.send_response(200)
            self.send_header("Content-Length", str(len(SNAPSHOT)))
            self.end_headers()
            self.wfile.write(SNAPSHOT)
            return
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Snapshots)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Snapshots.seen = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Client:
    """The two QdrantClient calls the snapshot path makes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.snapshots: list[str] = []

    def collection_exists(self, name: str) -> bool:
        return name == "janus_r"

    def create_snapshot(self, collection_name: str) -> Any:
        self.snapshots.append(collection_name)
        return SimpleNamespace(name=self.name)

    def close(self) -> None:
        pass


def _store(url: str, client: _Client, api_key: str | None = KEY) -> QdrantVectorStore:
    store = QdrantVectorStore(client, url, is_local=False)  # type: ignore[arg-type]
    store._api_key = api_key
    store._url = url
    return store


def test_server_snapshot_is_created_and_downloaded(server: str, tmp_path: Path) -> None:
    client = _Client("janus_r-1.snapshot")
    path = _store(server, client).snapshot("janus_r", tmp_path / "snaps")
    assert client.snapshots == ["janus_r"]
    assert path == tmp_path / "snaps" / "janus_r-1.snapshot"
    assert path.read_bytes() == SNAPSHOT
    assert sorted(p.name for p in path.parent.iterdir()) == ["janus_r-1.snapshot"]  # no tmp
    assert _Snapshots.seen == [("/collections/janus_r/snapshots/janus_r-1.snapshot", KEY)]


def test_a_failed_download_is_one_line_leaves_nothing_and_hides_the_key(
    server: str, tmp_path: Path
) -> None:
    store = _store(server, _Client("missing.snapshot"))
    with pytest.raises(StoreError) as err:
        store.snapshot("janus_r", tmp_path / "snaps")
    message = str(err.value)
    assert "download snapshot 'missing.snapshot' of 'janus_r'" in message and "404" in message
    assert KEY not in message and "\n" not in message
    assert list((tmp_path / "snaps").iterdir()) == []
    with pytest.raises(StoreError, match="403"):
        _store(server, _Client("janus_r-1.snapshot"), api_key="wrong").snapshot(
            "janus_r", tmp_path / "snaps"
        )


def test_snapshot_of_a_missing_collection_is_refused(server: str, tmp_path: Path) -> None:
    client = _Client("x")
    with pytest.raises(StoreError, match="no collection 'other'"):
        _store(server, client).snapshot("other", tmp_path)
    assert client.snapshots == []
