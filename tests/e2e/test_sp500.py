"""The shipped real-crash scenario: the S&P 500 through October 2008, end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli import ROOT, digest_line, jsim

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCENARIO = ROOT / "scenarios" / "sp500_oct2008.yaml"
DATA = ROOT / "scenarios" / "data" / "sp500_2008h2.csv"


def _real_closes() -> dict[str, float]:
    with DATA.open() as f:
        return {row["Date"]: float(row["Close"]) for row in csv.DictReader(f)}


def test_sp500_oct2008_runs_shows_the_crash_and_replays(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ran = jsim("run", SCENARIO, "--store", store, "--quiet", "--no-qdrant")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    # The table shows the real closes and the day's change: 9 October 2008 fell 7.62%.
    assert "1,207.09" in ran.stdout and "899.22" in ran.stdout and "-7.62" in ran.stdout

    closed = jsim("events", "--store", store, "--kind", "day_closed", "--json", "--limit", "100")
    assert closed.returncode == 0, closed.stderr
    days = [json.loads(line)["payload"] for line in closed.stdout.splitlines()]
    got = {d["date"]: d["close_price"] for d in days}
    real = _real_closes()
    assert len(got) == 30 and min(got) == "2008-09-22" and max(got) == "2008-10-31"
    # Each simulated day ends exactly at the real close (the bridge hits it).
    assert all(got[date] == real[date] for date in got)
    fall = got["2008-10-10"] / got["2008-09-22"] - 1.0
    assert fall == pytest.approx(899.219971 / 1207.089966 - 1.0, abs=1e-12)
    assert fall < -0.25  # the crash: a quarter of the index gone in under three weeks

    opened = jsim("events", "--store", store, "--kind", "day_opened", "--json", "--limit", "1")
    assert json.loads(opened.stdout)["payload"]["regimes"] == ["unlabelled"]

    replay = jsim("verify", "--store", store, "--replay")
    assert replay.returncode == 0, (replay.stdout, replay.stderr)
    assert replay.stdout.startswith("ok") and digest_line(ran.stdout) in replay.stdout
