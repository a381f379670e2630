"""Features on one scale: a per-feature affine scaler fitted once, causally, then frozen.

Why. The raw features live on unrelated scales (a one-bar return in percent is ~0.05, a
drawdown in percent reached 17 after a crash), and both the schemas' isotropic ridge
(Sigma + eps I) and their creation radius measure distance in these units: the feature
with the largest scale decided every schema. Standardized, each feature counts alike.

How. The buffer keeps the raw state vectors (``transition_recorded.state``); every reader
sees them through ``Scaler.apply``: (x - mean) / scale.

* **Fitted on the first trading day, at the first night** (``scaler_fitted``, before
  phase 1): the mean and standard deviation of each feature over every bar of that day.
  That uses past bars only, and it is then *frozen* for the rest of the run, so a schema
  formed on Monday and a state seen on Friday are in the same coordinates (a scaler that
  kept adapting would move every schema away from its own data after a crash).
* **During the first day**, before any fit, the agent acts on an expanding causal
  standardization (``expanding``: bar t scaled by the statistics of bars 0 .. t - 1 of
  that day); those values only choose its actions, and nothing is stored in them.
* ``position`` and ``time_of_day`` are on a unit scale by construction (position /
  position_limit, a fraction of the session) and pass through unchanged; a constant
  feature gets scale 1.

The parameters are state: the ``scaler_fitted`` event holds them and every
``state_checkpoint`` copies them. A log written before the scaler existed folds with
none (the identity), which is what its states meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UNIT_FEATURES = ("position", "time_of_day")
"""Features already on a unit scale: never rescaled."""
MIN_SCALE = 1e-12


@dataclass(frozen=True, eq=False)
class Scaler:
    """(x - mean) / scale, per feature (both (d,), scale > 0)."""

    mean: np.ndarray
    scale: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return out


def unit_columns(names: Sequence[str]) -> list[int]:
    return [j for j, n in enumerate(names) if n in UNIT_FEATURES]


def fit(raw: np.ndarray, names: Sequence[str]) -> Scaler:
    """The scaler of the rows ``raw`` (n, d), n >= 1, for features ``names``."""
    x = np.asarray(raw, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != len(names):
        raise ValueError(f"need (n >= 1, {len(names)}) rows to fit a scaler, got {x.shape}")
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    scale = np.where(sd > MIN_SCALE, sd, 1.0)
    unit = unit_columns(names)
    mean[unit], scale[unit] = 0.0, 1.0
    return Scaler(mean, scale)


def expanding(raw: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Row t of ``raw`` scaled by the mean and standard deviation of rows 0 .. t - 1 (a
    causal standardization; rows with fewer than two predecessors are centred only)."""
    x = np.asarray(raw, dtype=np.float64)
    n = x.shape[0]
    s1 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])[:n]
    s2 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x * x, axis=0)])[:n]
    count = np.arange(n, dtype=np.float64)[:, None]
    mean = np.where(count > 0, s1 / np.maximum(count, 1.0), x)
    var = np.maximum(s2 / np.maximum(count, 1.0) - mean * mean, 0.0)
    sd = np.sqrt(var)
    scale = np.where((count >= 2) & (sd > MIN_SCALE), sd, 1.0)
    out: np.ndarray = (x - mean) / scale
    unit = unit_columns(names)
    out[:, unit] = x[:, unit]
    return out
