"""Seeded random sources, one per component, derived from the scenario seed.

Each component gets its own ``Generator`` from ``SeedSequence([seed, tag])`` where the
tag is a stable hash of the component's name: adding a component never shifts the
streams of the others, and no code touches numpy's global RNG.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def component_tag(name: str) -> int:
    """A stable 32-bit tag for ``name`` (hashlib, not ``hash()``, which is salted)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def component_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of component ``name`` for a run seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, component_tag(name)])))


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state as plain data (for checkpoints)."""
    return dict(rng.bit_generator.state)


def rng_from_state(state: dict[str, Any]) -> np.random.Generator:
    bg = np.random.PCG64()
    bg.state = state  # type: ignore[assignment]
    return np.random.Generator(bg)
