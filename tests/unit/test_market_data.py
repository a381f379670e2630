"""Markets of real bars: the scenario format, the world they build, resume and replay."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from janus_sim import wiring
from janus_sim.adapters.bars_file import load_market_data
from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.app.engine import Engine
from janus_sim.app.run_outcome import RunInterrupted
from janus_sim.app.verify import verify_run
from janus_sim.config import Scenario
from janus_sim.core.market import UNLABELLED, generate_bars
from janus_sim.core.rng import component_rng
from janus_sim.core.world import World
from janus_sim.errors import ConfigError, StoreError
from janus_sim.memory_store import MemoryEventStore
from janus_sim.scenario_text import parse_scenario
from tests.bar_fixtures import COLUMNS, HEADER, SP500_ROWS

CSV = HEADER + "".join(row + "\n" for row in SP500_ROWS[:4])
REAL: dict[str, Any] = {
    "name": "real",
    "seed": 3,
    "calendar": {"bars_per_day": 12, "bar_seconds": 1800},
    "market": {
        "data": {
            "path": "data/bars.csv",
            "columns": COLUMNS,
        }
    },
    "logic": {"constraints": [{"name": "no_crash_buys", "formula": "crash -> not buys"}]},
    "hippocampus": {"capacity": 64, "hidden_dim": 32},
    "replay": {"n_replays": 10, "batch_size": 8},
}


@pytest.fixture
def real_file(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bars.csv").write_text(CSV)
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(REAL, sort_keys=False))
    return path


def _load(path: Path) -> tuple[Scenario, str, Any]:
    loaded = wiring.load_scenario(path)
    sc, text, bars = loaded.scenario, loaded.text, loaded.bars
    raw, _ = load_scenario(path)
    assert load_market_data(raw, path.parent, str(path))[0] == sc
    return sc, text, bars


def _err(doc: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_scenario(yaml.safe_dump(doc), "s.yaml")
    return info.value


def test_synthetic_scenarios_hash_and_generate_as_before(tiny_scenario: Scenario) -> None:
    # A synthetic market's canonical JSON has no ``data`` key, so hashes written before
    # real bars existed are unchanged. The bars are pinned bit for bit, and this hash holds
    # on every CPU: prices go through core/detmath's exp, not numpy's CPU-dispatched one
    # (it changed once, on purpose, when the market moved to those portable kernels).
    assert "data" not in json.loads(tiny_scenario.canonical_json())["market"]
    bars = generate_bars(tiny_scenario.market, tiny_scenario.calendar, component_rng(7, "market"))
    h = hashlib.sha256()
    for a in (bars.t_ns, bars.open, bars.high, bars.low, bars.close, bars.volume, bars.regime):
        h.update(np.ascontiguousarray(a).tobytes())
    assert h.hexdigest() == "bb4876c08a9c6aa9568449ddfd3b581ebee430635a4c652be5e89497458bdbd2"


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        pytest.param(
            {"market": {"data": {"path": "x.csv"}, "default_regime": "calm"}},
            "market",
            "default_regime cannot go with data",
            id="data-and-regimes",
        ),
        pytest.param(
            {"market": {}},
            "market",
            "expected regimes and default_regime (a synthetic market) or data",
            id="neither",
        ),
        pytest.param(
            {"market": {"data": {"path": "bars.txt"}}},
            "market.data",
            "cannot tell the format of 'bars.txt' from its suffix",
            id="unknown-suffix",
        ),
        pytest.param(
            {"market": {"data": {"path": "x.csv", "frequency": "hourly"}}},
            "market.data.frequency",
            "Input should be 'daily' or 'minute'",
            id="bad-frequency",
        ),
        pytest.param(
            {"market": {"data": {"path": "x.csv", "sha256": "abc"}}},
            "market.data.sha256",
            "should match pattern",
            id="bad-sha256",
        ),
        pytest.param(
            {"market": {"data": {"path": "x.csv", "colums": {}}}},
            "market.data.colums",
            "unknown key",
            id="unknown-key",
        ),
        pytest.param(
            {"calendar": {"holidays": ["2008-10-08"]}, "market": {"data": {"path": "x.csv"}}},
            "",
            "calendar.holidays cannot go with market.data",
            id="holidays-with-data",
        ),
        pytest.param(
            {"calendar": {"bars_per_day": 2}, "market": {"data": {"path": "x.csv"}}},
            "",
            "bridging daily bars needs at least 3",
            id="too-few-bridge-bars",
        ),
    ],
)
def test_market_data_config_errors(change: dict[str, Any], path: str, expected: str) -> None:
    doc: dict[str, Any] = {"name": "x", "calendar": {}, **change}
    e = _err(doc)
    assert e.path == path and expected in str(e)


def test_synthetic_market_still_needs_start_and_end(tiny_dict: dict[str, Any]) -> None:
    del tiny_dict["calendar"]["end"]
    assert "calendar.end: required for a synthetic market" in str(_err(tiny_dict))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_are_refused_everywhere(tiny_dict: dict[str, Any], value: float) -> None:
    tiny_dict["market"]["regimes"]["calm"]["drift"] = value
    e = _err(tiny_dict)
    assert e.path == "market.regimes.calm.drift" and "finite number" in str(e)


def test_the_world_of_real_bars(real_file: Path) -> None:
    sc, _, bars = _load(real_file)
    world = World.build(sc, bars)
    b = world.bars
    assert len(b) == 4 * 12 and b.regime_names == (UNLABELLED,) and (b.regime == 0).all()
    rows = [r.split(",") for r in CSV.splitlines()[1:]]
    for d, row in enumerate(rows):
        day = b.day_slice(d)
        o, h, low, c = (float(x) for x in row[1:5])
        assert b.open[day][0] == o and b.close[day][-1] == c
        assert b.high[day].max() == h and b.low[day].min() == low
    assert np.isfinite(world.features).all()
    with pytest.raises(ValueError, match=r"pass its bars to World\.build"):
        World.build(sc)


def test_run_replay_and_resume_of_a_data_scenario(real_file: Path) -> None:
    sc, text, bars = _load(real_file)
    kw: dict[str, Any] = {"scenario_source": str(real_file), "scenario_text": text}
    store = MemoryEventStore()
    whole = Engine(sc, store, run_id="r", market_data=bars, **kw).run()
    day_opened = [e for e in store.read("r").records() if e.record.kind == "day_opened"]
    assert all('"regimes":["unlabelled"]' in e.record.payload for e in day_opened)
    report = verify_run(store, "r", replay=wiring.stored_scenario(store.get_run("r")))
    assert report.ok and report.replayed, report.problems

    stopped = MemoryEventStore()
    calls = {"n": 0}

    def stop() -> str | None:
        calls["n"] += 1
        return "SIGTERM" if calls["n"] == 4 else None

    with pytest.raises(RunInterrupted):
        Engine(sc, stopped, run_id="r", market_data=bars, should_stop=stop, **kw).run()
    again, _, again_bars = _load(real_file)
    resumed = Engine(again, stopped, run_id="r", market_data=again_bars, **kw).resume()
    assert resumed.digest == whole.digest

    # The data changed after the run: its hash is in the scenario's, so replay refuses,
    # and says that the data file is what changed (issue 17).
    (real_file.parent / "data" / "bars.csv").write_text(CSV.replace("909.92", "909.93"))
    with pytest.raises(StoreError, match=r"the data file data/bars\.csv changed \(sha256 "):
        verify_run(store, "r", replay=wiring.stored_scenario(store.get_run("r")))
    (real_file.parent / "data" / "bars.csv").unlink()
    with pytest.raises(ConfigError, match=r"bars\.csv: no such file"):
        verify_run(store, "r", replay=wiring.stored_scenario(store.get_run("r")))


def test_same_seed_same_world_other_seed_other_paths(real_file: Path) -> None:
    sc, _, bars = _load(real_file)
    a, b = World.build(sc, bars), World.build(sc, bars)
    c = World.build(sc.with_seed(4), bars)
    assert np.array_equal(a.bars.close, b.bars.close)
    assert not np.array_equal(a.bars.close, c.bars.close)
    ends = [a.bars.day_slice(d).stop - 1 for d in range(4)]
    assert np.array_equal(a.bars.close[ends], c.bars.close[ends])  # the real closes
