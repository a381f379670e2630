"""The report in a real browser: Debian's Chromium, headless, driven by playwright.

``.ci/run`` installs ``/usr/bin/chromium`` when it is missing (playwright uses that
executable; it downloads no browser). The page must load with no console error and no
request at all beyond the file itself, show every section, and draw a 3-D map that is
not blank. Outside CI a missing Chromium skips these tests; in CI it fails them.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.ports import EventQuery
from tests.conftest import TINY
from tests.report_fixtures import copy_with_projection, copy_without_projection

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("JANUS_CHROMIUM", "/usr/bin/chromium")
SECTION_IDS = ("map", "timeline", "priorities", "constraints", "price", "schemas", "metrics")


def _chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path is None:
        message = f"no Chromium at {CHROMIUM}: apt-get install -y --no-install-recommends chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny real run with its projection events ("proj"; synthetic ones when the engine
    writes none) and without them ("plain"), each reported by the command line in its
    own process."""
    base = tmp_path_factory.mktemp("browser")
    store = open_store(base / "store")
    try:
        Engine(Scenario.model_validate(TINY), store, run_id="real").run()
        copy_without_projection(store, "real", store, "plain")
        fitted = len(store.read("real", EventQuery(kinds=["projection_fitted"], limit=1))) > 0
        proj = "real" if fitted else copy_with_projection(store, "real", store, "synthetic")
    finally:
        store.close()
    out = {}
    for name, rid in (("plain", "plain"), ("proj", proj)):
        target = base / f"{name}.html"
        done = subprocess.run(
            [sys.executable, "-m", "janus_sim", "report", "--store", str(base / "store"),
             "--run", rid, "-o", str(target), "--quiet"],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out[name] = target
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = _chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path)
        try:
            yield b
        finally:
            b.close()


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


def _colours(png: bytes) -> tuple[int, int, float]:
    """(distinct colours, distinct saturated colours, share of saturated pixels) of a
    screenshot; saturated: channels more than 60 apart (not white, grey or black)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    counts = img.getcolors(maxcolors=img.width * img.height) or []
    saturated = [(n, c) for n, c in counts if isinstance(c, tuple) and max(c) - min(c) > 60]
    return len(counts), len(saturated), sum(n for n, _ in saturated) / (img.width * img.height)


def test_report_opens_offline_with_every_section_and_a_drawn_map(
    browser: Any, reports: dict[str, Path]
) -> None:
    page = Page(browser, reports["proj"])
    p = page.page
    for sid in SECTION_IDS:
        assert p.locator(f"section#{sid}").count() == 1, sid
        assert p.locator(f"section#{sid}").is_visible(), sid
    p.wait_for_selector("#map-plot .gl-container canvas", timeout=30_000)
    p.wait_for_timeout(500)  # let WebGL finish the frame
    scene = p.locator("#map-plot .gl-container canvas").first  # the 3-D scene, no legend
    box = scene.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 300
    colours, coloured, share = _colours(scene.screenshot())
    assert colours >= 50 and coloured >= 10 and share > 0.001, (colours, coloured, share)
    # the figures the other sections draw
    for plot in ("timeline-plot", "priorities-plot", "constraints-plot", "price-plot"):
        assert p.locator(f"#{plot} .main-svg").count() >= 1, plot
    # anomalies, when flagged, are marked on the price path (a trace beside the price line)
    data = p.evaluate("JSON.parse(document.getElementById('report-data').textContent)")
    traces = p.locator("#price-plot .scatterlayer .trace").count()
    assert traces >= 1 + bool(data["price"]["anomalies"]) + bool(data["price"]["lead"])
    assert p.locator("#anomaly-lead").inner_text().startswith("Anomaly lead:")
    assert p.locator("#schemas table").count() == 3
    # the controls work without errors: slider to the first night, colour by regime
    p.locator("#map-cycle").fill("0")
    p.locator("#map button[data-mode=regime]").click()
    assert "night 1" in p.locator("#map-cycle-label").inner_text()
    p.select_option("#schemas-cycle", "1")
    assert p.locator('#schemas .tablewrap[data-cycle="1"]').is_visible()
    p.wait_for_timeout(300)
    assert page.errors == []
    assert page.requests == [], f"the page fetched: {page.requests[:5]}"
    p.close()


def test_report_without_projection_opens_cleanly_with_notes(
    browser: Any, reports: dict[str, Path]
) -> None:
    page = Page(browser, reports["plain"])
    p = page.page
    for sid in SECTION_IDS:
        assert p.locator(f"section#{sid}").count() == 1, sid
    assert "no projection_fitted events" in p.locator("section#map .note").inner_text()
    assert p.locator("#map-plot").count() == 0
    assert p.locator("#price-plot .main-svg").count() >= 1
    assert page.errors == [] and page.requests == []
    p.close()
