"""``janus-sim export --format minari`` (and ``d4rl``) as a user drives it: run, export,
read the dataset back with the real ``minari.load_dataset``; bad input."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.minari_export import write_minari
from janus_sim.app.offline_dataset import INFO_KEYS, offline_dataset
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.errors import ConfigError
from janus_sim.ports import EventQuery
from tests.conftest import TINY
from tests.e2e.test_cli import jsim

pytestmark = pytest.mark.e2e


def _minari() -> Any:
    """minari, from the minari extra (in dev too): in CI a missing one fails the tests."""
    if os.environ.get("CI"):
        import minari

        return minari
    return pytest.importorskip("minari")


minari = _minari()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli_minari")
    scenario = base / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY, sort_keys=False))
    ran = jsim("run", scenario, "--store", base / "store", "--run-id", "mine", "--quiet")
    assert ran.returncode == 0, ran.stderr
    return base / "store"


def logged(store: Path, kind: str) -> list[tuple[int, ev.Event]]:
    s = open_store(store, read_only=True, hold=True)
    try:
        batch = s.read("mine", EventQuery(kinds=[kind]))
        return [(r.record.cycle, decode(r.record)) for r in batch.records()]
    finally:
        s.close()


def recorded(store: Path) -> list[tuple[int, ev.TransitionRecorded]]:
    out = []
    for cycle, t in logged(store, "transition_recorded"):
        assert isinstance(t, ev.TransitionRecorded)
        out.append((cycle, t))
    return out


def test_export_then_minari_load_dataset(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "datasets"
    done = jsim("export", "--store", store, "--format", "minari", "-o", root)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{root / 'janus' / 'mine-v0'}\n"
    assert "exported mine: 3 episodes" in done.stderr
    assert (root / "janus" / "mine-v0" / "data" / "main_data.hdf5").is_file()
    assert not list(root.rglob(".janus-minari-*"))  # the temporary folder is gone

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    data = minari.load_dataset("janus/mine-v0")
    days = logged(store, "day_opened")
    steps = [t for _, t in recorded(store)]
    assert data.total_episodes == len(days) == 3
    assert data.total_steps == len(steps)
    assert data.action_space.n == 3 and data.observation_space.shape == (len(steps[0].state),)
    episodes = list(data.iterate_episodes())
    by_day = [[t for c, t in recorded(store) if c == cyc] for cyc, _ in days]
    for episode, day in zip(episodes, by_day, strict=True):
        n = len(day)
        assert len(episode) == n and episode.observations.shape == (n + 1, len(day[0].state))
        np.testing.assert_array_equal(episode.observations[:-1], [t.state for t in day])
        np.testing.assert_array_equal(episode.observations[-1], day[-1].next_state)
        np.testing.assert_array_equal(episode.actions, [t.action for t in day])
        np.testing.assert_array_equal(episode.rewards, [t.reward for t in day])
        assert not episode.terminations.any()  # the close truncates, never terminates
        assert episode.truncations[-1] and not episode.truncations[:-1].any()
        assert sorted(episode.infos) == sorted(INFO_KEYS)
        for key in INFO_KEYS:
            assert len(episode.infos[key]) == n + 1, key  # Minari's: one more than steps
        np.testing.assert_array_equal(
            episode.infos["transition_id"][1:], [t.transition_id for t in day]
        )
        np.testing.assert_array_equal(episode.infos["violation"][1:], [t.violation for t in day])
        assert [r.decode() for r in episode.infos["regime"][1:]] == [t.regime for t in day]
        weights = episode.infos["is_weight"][1:]
        assert np.all((weights > 0) & (weights <= 1)), weights
        assert np.all(episode.infos["priority"][1:] > 0)
        assert np.isnan(episode.infos["priority"][0]) and episode.infos["transition_id"][0] == -1


def test_priority_and_is_weight_are_those_of_the_night_after_the_day(store: Path) -> None:
    s = open_store(store, read_only=True, hold=True)
    try:
        data = offline_dataset(s, "mine")
    finally:
        s.close()
    started = logged(store, "run_started")[0][1]
    assert isinstance(started, ev.RunStarted)
    nights = dict(logged(store, "priorities_computed"))
    batches = [(c, b) for c, b in logged(store, "replay_batch_sampled")]
    for episode in data.episodes:
        night = nights[episode.cycle]
        assert isinstance(night, ev.PrioritiesComputed)
        p = np.asarray(night.priorities)
        ids = list(night.transition_ids)
        beta = [b for c, b in batches if c == episode.cycle][-1]
        assert isinstance(beta, ev.ReplayBatchSampled)
        prob = p**started.alpha / np.sum(p**started.alpha)
        want_w = (len(p) * prob) ** -beta.beta
        want_w /= want_w.max()  # eq. 10 over the night's whole buffer
        pos = [ids.index(i) for i in episode.infos["transition_id"][1:]]
        np.testing.assert_array_equal(episode.infos["priority"][1:], p[pos])
        got_w = np.asarray(episode.infos["is_weight"][1:], dtype=np.float64)
        np.testing.assert_allclose(got_w, want_w[pos], rtol=1e-12)
        # The logged weights of the night's first batch (drawn from these priorities)
        # keep the same ratios, at that batch's beta.
        first = next(b for c, b in batches if c == episode.cycle)
        assert isinstance(first, ev.ReplayBatchSampled)
        got = np.asarray(first.weights) ** (1.0 / first.beta)
        ours = want_w[[ids.index(i) for i in first.transition_ids]] ** (1.0 / beta.beta)
        np.testing.assert_allclose(got / got.max(), ours / ours.max(), rtol=1e-9)


def test_a_relative_output_folder_works(store: Path, tmp_path: Path) -> None:
    # Minari's own size count once doubled a relative data path (the README's
    # `-o datasets/` failed): the writer works under the absolute one.
    done = jsim("export", "--store", store, "--format", "minari", "-o", "datasets/", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "datasets/janus/mine-v0\n"
    assert (tmp_path / "datasets/janus/mine-v0/data/main_data.hdf5").is_file()


def test_d4rl_layout_is_flat(store: Path, tmp_path: Path) -> None:
    done = jsim("export", "--store", store, "--format", "d4rl", "-o", tmp_path, "--quiet")
    assert done.returncode == 0 and done.stdout == f"{tmp_path / 'mine.npz'}\n", done.stderr
    flat = np.load(tmp_path / "mine.npz")
    steps = [t for _, t in recorded(store)]
    np.testing.assert_array_equal(flat["observations"], [t.state for t in steps])
    np.testing.assert_array_equal(flat["next_observations"], [t.next_state for t in steps])
    np.testing.assert_array_equal(flat["actions"], [t.action for t in steps])
    assert not flat["terminals"].any() and int(flat["timeouts"].sum()) == 3
    assert list(flat["infos/regime"][:2]) == [t.regime for t in steps[:2]]


def test_a_dataset_is_replaced_only_with_overwrite(store: Path, tmp_path: Path) -> None:
    args = ("export", "--store", store, "--format", "minari", "-o", tmp_path, "--quiet")
    assert jsim(*args, "--dataset-id", "mine/day-v3").returncode == 0
    again = jsim(*args, "--dataset-id", "mine/day-v3")
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == (
        f"janus-sim: error: -o: {tmp_path}/mine/day-v3 already exists (dataset mine/day-v3 "
        "was exported before); --overwrite replaces it\n"
    )
    assert jsim(*args, "--dataset-id", "mine/day-v3", "--overwrite").returncode == 0
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "day-v3",
        "namespace_metadata.json",
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--dataset-id", "no version"], "janus-sim: error: --dataset-id: 'no version' is not "),
        (["--dataset-id", "../x-v0"], "janus-sim: error: --dataset-id: "),
        (["--kind", "cycle_metrics"], "janus-sim: error: --kind: --format minari exports "),
        (["--run", "mine", "--run", "mine2", "--dataset-id", "a-v0"], "janus-sim: error: "),
        (["--run", "nope"], "janus-sim: error: no run 'nope' in event store "),
        (["-o", "FILE"], "janus-sim: error: -o: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    store: Path, tmp_path: Path, args: list[str], line: str
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    args = [str(a_file) if a == "FILE" else a for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out")]
    done = jsim("export", "--store", store, "--format", "minari", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_dataset_id_is_for_minari_only(store: Path, tmp_path: Path) -> None:
    done = jsim("export", "--store", store, "-o", tmp_path, "--dataset-id", "a-v0")
    assert done.returncode == 2
    assert done.stderr == "janus-sim: error: --dataset-id: a dataset id is for --format minari\n"


def test_without_minari_the_error_says_how_to_install_it(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = open_store(store, read_only=True, hold=True)
    try:
        data = offline_dataset(s, "mine")
    finally:
        s.close()
    monkeypatch.setitem(sys.modules, "minari", None)  # import minari raises ImportError
    with pytest.raises(ConfigError) as caught:
        write_minari(data, tmp_path, "janus/mine-v0")
    assert str(caught.value) == (
        "--format: minari export needs the minari, gymnasium and h5py packages (minari is "
        'missing): pip install -c requirements.lock -e ".[minari]"'
    )
    assert not any(tmp_path.iterdir())
