"""What the browser tests of the reports share: Debian's Chromium, headless, driven by
playwright, and a page that records what goes wrong.

``.ci/run`` installs ``/usr/bin/chromium`` when it is missing (playwright uses that
executable, or the one ``JANUS_CHROMIUM`` names; it downloads no browser). Outside CI a
missing Chromium skips the tests that use ``browser``; in CI it fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("JANUS_CHROMIUM", "/usr/bin/chromium")


def chromium() -> str:
    """The Chromium executable; skips the test without one (fails it in CI)."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path is None:
        message = f"no Chromium at {CHROMIUM}: apt-get install -y --no-install-recommends chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for a module's tests (import this fixture into the module)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path)
        try:
            yield b
        finally:
            b.close()


def run_python(args: Sequence[str]) -> None:
    """``python ARGS`` in its own process from the repository root; it must succeed."""
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr


class Page:
    """A page that records console errors, page errors and every request but its own."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.on("request", self._request)
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready=true]", timeout=60_000)

    def _request(self, request: Any) -> None:
        if request.url != self.url:
            self.requests.append(request.url)

    def has_sections(self, section_ids: Sequence[str], *, visible: bool = False) -> None:
        """Asserts one ``section#ID`` per id (each visible too, with ``visible``)."""
        for sid in section_ids:
            assert self.page.locator(f"section#{sid}").count() == 1, sid
            if visible:
                assert self.page.locator(f"section#{sid}").is_visible(), sid

    def close_clean(self, settle_ms: int = 0) -> None:
        """After ``settle_ms`` more, asserts no error and no request so far; closes the page."""
        if settle_ms:
            self.page.wait_for_timeout(settle_ms)
        assert self.errors == []
        assert self.requests == [], f"the page fetched: {self.requests[:5]}"
        self.page.close()
