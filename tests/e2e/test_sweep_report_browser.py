"""The sweep report in a real browser: Debian's Chromium, headless, driven by playwright.

As for the run report (``test_report_browser``), the browser and the recording page come
from ``tests.browser``: playwright uses ``/usr/bin/chromium`` and downloads no browser; a
missing Chromium skips these tests outside CI and fails them in CI. The page must load
with no console error and no request beyond the file itself, show every section and draw
its plots; a sweep with nothing measured yet must open as cleanly, with notes in place of
plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import browser as shared
from tests.browser import Page, run_python
from tests.sweep_fixtures import standard_sweep, trial, trials_frame, write_sweep

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
browser = shared.browser  # the module-scoped Chromium fixture, for this module's tests
SECTION_IDS = ("distributions", "summary", "nights", "sensitivity", "failed", "trials")
COMMAND = (
    "import sys; from janus_sim.cli.sweep_report import report; "
    "report.main(sys.argv[1:], prog_name='janus-sim sweep report')"
)  # the command is not in the main CLI's groups yet: run it on its own


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A mixed sweep ("mixed": finished, failed and pending trials) and one just started
    ("new": nothing finished, no cycles.parquet), each reported in its own process."""
    base = tmp_path_factory.mktemp("sweep-browser")
    new = trials_frame([trial(0, "A", 1, None, "pending"), trial(1, "A", 2, None, "failed")])
    folders = {
        "mixed": standard_sweep(base / "mixed"),
        "new": write_sweep(base / "new", new, None),
    }
    out = {}
    for name, folder in folders.items():
        target = base / f"{name}.html"
        run_python(["-c", COMMAND, str(folder), "-o", str(target), "--quiet"])
        out[name] = target
    return out


def test_sweep_report_opens_offline_with_every_section_and_its_plots(
    browser: Any, pages: dict[str, Path]
) -> None:
    page = Page(browser, pages["mixed"])
    page.has_sections(SECTION_IDS, visible=True)
    p = page.page
    data = p.evaluate("JSON.parse(document.getElementById('sweep-data').textContent)")
    measured = [m["key"] for m in data["metrics"] if not m["note"]]
    assert measured, "the fixture measures every metric"
    for key in measured:
        plot = f"#dist-{key}"
        assert p.locator(f"{plot} .main-svg").count() >= 1, key
        assert p.locator(f"{plot} .boxlayer .trace").count() >= 1, key
    # one box trace per scenario that measured it: both for TD, crash_week only for ARI
    assert p.locator("#dist-td_improvement_mean .boxlayer .trace").count() == 2
    assert p.locator("#dist-ari_regime_final .boxlayer .trace").count() == 1
    for metric in ("n_schemas", "td_improvement", "ari_regime"):
        assert p.locator(f"#nights-{metric} .scatterlayer .trace").count() >= 3, metric
    assert p.locator("#sensitivity-0 .scatterlayer .trace").count() >= 2
    # the metric selector redraws the sensitivity plot without errors
    p.select_option("#sensitivity-metric", "td_improvement_mean")
    p.wait_for_timeout(200)
    title = p.locator("#sensitivity-0 .ytitle").text_content() or ""
    assert title.startswith("TD-error improvement")
    assert p.locator("section#failed tbody tr").count() == 1
    assert p.locator("section#trials tbody tr").count() == 12
    # sorting the trials table by status puts the failed trial first
    p.locator("section#trials th", has_text="status").click()
    assert p.locator("section#trials tbody tr").first.locator("td").nth(4).inner_text() == "failed"
    page.close_clean(settle_ms=300)


def test_sweep_without_finished_trials_opens_cleanly_with_notes(
    browser: Any, pages: dict[str, Path]
) -> None:
    page = Page(browser, pages["new"])
    page.has_sections(SECTION_IDS)
    p = page.page
    for sid in ("distributions", "summary", "nights", "sensitivity"):
        assert p.locator(f"section#{sid} p.note").count() >= 1, sid
    assert (
        "no trial has finished yet" in p.locator("section#distributions .note").first.inner_text()
    )
    assert p.locator(".plot").count() == 0
    assert p.locator("section#trials tbody tr").count() == 2
    page.close_clean()
