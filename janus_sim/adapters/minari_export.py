"""Write a run's day episodes as a Minari dataset, or as one flat D4RL-style NPZ file.

**Minari** (``write_minari``): the dataset ``DATASET_ID`` (``namespace/name-vN``, e.g.
``janus/crash_week-s7-v0``) goes to ``ROOT/DATASET_ID/data/`` - ``metadata.json`` and
``main_data.hdf5``, written by Minari's own HDF5 storage (``MinariStorage.new`` and
``update_episodes``, which take episode buffers without an environment) - and each
namespace folder above it gets the ``namespace_metadata.json`` Minari lists namespaces
by. With ``MINARI_DATASETS_PATH=ROOT``, ``minari.load_dataset(DATASET_ID)`` reads it. The
spaces are ``Box(-inf, inf, (d,), float64)`` observations and ``Discrete(n)`` actions;
there is no Gymnasium environment (``env_spec`` is absent).

**D4RL** (``write_d4rl``): ``OUT/<name>.npz`` with D4RL's flat arrays over every step of
every episode, in order: ``observations`` and ``next_observations`` (T, d),
``actions``, ``rewards``, ``terminals`` (all False) and ``timeouts`` (True at each day's
last step), and ``infos/<key>`` (the per-step infos without the open's entry).

Both write atomically: everything goes to a hidden temporary folder or file beside the
target, which is renamed into place, so a reader sees the whole dataset or none; a
dataset that exists is refused unless ``overwrite``, which replaces it only once the
new one is complete. minari, gymnasium and h5py are the ``minari`` extra: without them
``write_minari`` is one ConfigError saying how to install them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from janus_sim.adapters.atomic_file import output_dir, replacing
from janus_sim.errors import ConfigError

TMP_PREFIX = ".janus-minari-"
INSTALL = 'pip install -c requirements.lock -e ".[minari]"'
NAMESPACE_FILE = "namespace_metadata.json"  # minari.namespace.NAMESPACE_METADATA_FILENAME


class Episode(Protocol):
    """What the writers read of one episode (``app.offline_dataset.DayEpisode``)."""

    @property
    def observations(self) -> NDArray[np.float64]: ...
    @property
    def actions(self) -> NDArray[np.int64]: ...
    @property
    def rewards(self) -> NDArray[np.float64]: ...
    @property
    def terminations(self) -> NDArray[np.bool_]: ...
    @property
    def truncations(self) -> NDArray[np.bool_]: ...
    @property
    def infos(self) -> Mapping[str, NDArray[np.generic]]: ...


class Dataset(Protocol):
    """What the writers read of a dataset (``app.offline_dataset.OfflineDataset``)."""

    @property
    def run_id(self) -> str: ...
    @property
    def feature_names(self) -> tuple[str, ...]: ...
    @property
    def n_actions(self) -> int: ...
    @property
    def episodes(self) -> Sequence[Episode]: ...


def default_dataset_id(run_id: str) -> str:
    """``janus/<run id>-v0``, with the ``.`` Minari's ids do not allow turned into ``_``."""
    return f"janus/{run_id.replace('.', '_')}-v0"


def _minari() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import gymnasium  # noqa: F401
            import h5py  # noqa: F401
            import minari
    except ImportError as e:
        raise ConfigError(
            "--format",
            "",
            f"minari export needs the minari, gymnasium and h5py packages ({e.name} is "
            f"missing): {INSTALL}",
        ) from e
    return minari


def check_dataset_id(dataset_id: str) -> str:
    """``dataset_id`` if Minari accepts it (``namespace/name-vN``), else ConfigError."""
    _minari()
    from minari.dataset.minari_dataset import parse_dataset_id

    try:
        namespace, name, _ = parse_dataset_id(dataset_id)
    except (ValueError, TypeError) as e:
        raise ConfigError(
            "--dataset-id",
            "",
            f"{dataset_id!r} is not a Minari dataset id: expected (namespace/)name-vN of "
            "letters, digits, '_' and '-', e.g. janus/crash_week-v0",
        ) from e
    parts = [*(namespace.split("/") if namespace else []), name]
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ConfigError("--dataset-id", "", f"{dataset_id!r}: a part of it names no folder")
    return dataset_id


def write_minari(
    dataset: Dataset,
    root: Path,
    dataset_id: str,
    *,
    overwrite: bool = False,
    description: str = "",
) -> Path:
    """Write ``dataset`` as Minari dataset ``dataset_id`` under the datasets root ``root``
    and return its folder (``root/dataset_id``). ConfigError when minari is missing, the
    id is not Minari's, the folder exists without ``overwrite``, or ``root`` cannot be
    written."""
    minari = _minari()
    check_dataset_id(dataset_id)
    from gymnasium import spaces
    from minari.data_collector.episode_buffer import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    named = root / dataset_id  # as the caller named it, for messages and the result
    # Minari's size count joins its data path with its own glob's results, which doubles
    # a relative path: it writes under an absolute one.
    root = Path(os.path.abspath(root))
    final = root / dataset_id
    output_dir(final.parent)
    if final.exists() and not overwrite:
        raise ConfigError(
            "-o",
            "",
            f"{named} already exists (dataset {dataset_id} was exported before); "
            "--overwrite replaces it",
        )
    dim = len(dataset.feature_names)
    obs_space = spaces.Box(-np.inf, np.inf, (dim,), np.float64)
    act_space = spaces.Discrete(dataset.n_actions)
    tmp = _tmp_dir(final.parent)
    try:
        staged = tmp / final.name
        staged.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari warns of every metadata left out
            storage = MinariStorage.new(
                staged / "data",
                observation_space=obs_space,
                action_space=act_space,
                data_format="hdf5",
            )
            storage.update_metadata(
                {
                    "dataset_id": dataset_id,
                    "minari_version": str(minari.__version__),
                    "algorithm_name": "janus-sim",
                    "author": {"janus-sim"},
                    "description": description,
                }
            )
            storage.update_episodes(_buffer(EpisodeBuffer, e) for e in dataset.episodes)
        _write_namespaces(root, dataset_id)
        _move_into_place(staged, final, tmp / "replaced", overwrite)
    except OSError as e:
        raise ConfigError("-o", "", f"cannot write {named}: {e.strerror or e}") from e
    finally:
        # tmp holds at most the old dataset, replaced; or, if putting it back failed too,
        # its only copy: kept then.
        if final.exists() or not (tmp / "replaced").exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return named


def _buffer(cls: Any, episode: Episode) -> Any:
    infos: dict[str, Any] = {
        k: (list(map(str, v)) if v.dtype == object else v) for k, v in episode.infos.items()
    }
    return cls(
        observations=episode.observations,
        actions=episode.actions,
        rewards=list(map(float, episode.rewards)),
        terminations=list(map(bool, episode.terminations)),
        truncations=list(map(bool, episode.truncations)),
        infos=infos,
    )


def _write_namespaces(root: Path, dataset_id: str) -> None:
    """Each namespace folder of ``dataset_id`` gets Minari's metadata file if it lacks one."""
    parts = dataset_id.split("/")[:-1]
    for k in range(1, len(parts) + 1):
        meta = root.joinpath(*parts[:k]) / NAMESPACE_FILE
        if not meta.exists():
            with replacing(meta) as tmp:
                tmp.write_text(json.dumps({}), encoding="utf-8")


def write_d4rl(dataset: Dataset, out_dir: Path, name: str, *, overwrite: bool = False) -> Path:
    """Write ``dataset`` as ``out_dir/name.npz`` (D4RL's flat layout; see the module)
    and return the file. ConfigError when it exists without ``overwrite`` or cannot be
    written."""
    output_dir(out_dir)
    target = out_dir / f"{name}.npz"
    if target.exists() and not overwrite:
        raise ConfigError("-o", "", f"{target} already exists; --overwrite replaces it")
    eps = dataset.episodes
    arrays: dict[str, NDArray[Any]] = {
        "observations": np.concatenate([e.observations[:-1] for e in eps]),
        "next_observations": np.concatenate([e.observations[1:] for e in eps]),
        "actions": np.concatenate([e.actions for e in eps]),
        "rewards": np.concatenate([e.rewards for e in eps]),
        "terminals": np.concatenate([e.terminations for e in eps]),
        "timeouts": np.concatenate([e.truncations for e in eps]),
    }
    for key in eps[0].infos:
        values = np.concatenate([e.infos[key][1:] for e in eps])
        arrays[f"infos/{key}"] = values.astype(str) if values.dtype == object else values
    try:
        with replacing(target) as tmp, tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    except OSError as e:
        raise ConfigError("-o", "", f"cannot write {target}: {e.strerror or e}") from e
    return target


def _tmp_dir(parent: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent))
    except OSError as e:
        raise ConfigError("-o", "", f"cannot write in {parent}: {e.strerror or e}") from e


def _move_into_place(staged: Path, final: Path, old: Path, overwrite: bool) -> None:
    """Rename ``staged`` to ``final``; with ``overwrite`` an existing ``final`` goes to
    ``old`` first, and comes back if the second rename fails."""
    if not (overwrite and final.exists()):
        staged.rename(final)
        return
    final.rename(old)
    try:
        staged.rename(final)
    except OSError:
        with contextlib.suppress(OSError):
            old.rename(final)
        raise


__all__ = [
    "INSTALL",
    "Dataset",
    "Episode",
    "check_dataset_id",
    "default_dataset_id",
    "write_d4rl",
    "write_minari",
]
