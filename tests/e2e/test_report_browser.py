"""The report in a real browser: Debian's Chromium, headless, driven by playwright.

The browser, and a page that records errors and requests, come from ``tests.browser``
(a missing Chromium skips these tests outside CI and fails them in CI). The page must
load with no console error and no request at all beyond the file itself, show every
section, and draw a 3-D map that is not blank.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.ports import EventQuery
from tests import browser as shared
from tests.browser import Page, run_python
from tests.conftest import TINY
from tests.report_fixtures import copy_with_projection, copy_without_projection
from tests.unit.test_report import SECTION_IDS

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
browser = shared.browser  # the module-scoped Chromium fixture, for this module's tests


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
        run_python(
            ["-m", "janus_sim", "report", "--store", str(base / "store"), "--run", rid,
             "-o", str(target), "--quiet"]
        )  # fmt: skip
        out[name] = target
    return out


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
    page.has_sections(SECTION_IDS, visible=True)
    p = page.page
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
    page.close_clean(settle_ms=300)


def test_report_without_projection_opens_cleanly_with_notes(
    browser: Any, reports: dict[str, Path]
) -> None:
    page = Page(browser, reports["plain"])
    page.has_sections(SECTION_IDS)
    p = page.page
    assert "no projection_fitted events" in p.locator("section#map .note").inner_text()
    assert p.locator("#map-plot").count() == 0
    assert p.locator("#price-plot .main-svg").count() >= 1
    page.close_clean()
