"""The base of every event record (``Event``: cycle, simulated time, entity; ``KIND``,
``VERSION``, ``UPCASTS``) and the value types their fields hold. ``events.py`` documents
the rules they follow and keeps the registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

Vector = tuple[float, ...]
Matrix = tuple[tuple[float, ...], ...]

Payload = dict[str, Any]
"""An event's payload as its JSON object decodes: field name -> plain JSON value."""
Upcaster = Callable[[Payload], Payload]
"""Turns a payload of version v into one of version v + 1."""


def as_matrix(a: np.ndarray) -> Matrix:
    """A 2-d array as the nested tuple of Python floats that event fields hold."""
    return tuple(tuple(row) for row in a.tolist())


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events. Subclasses set ``KIND`` and ``VERSION`` and add payload fields."""

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({})
    """Version v -> the upcaster from v to v + 1, for every v below ``VERSION``."""

    cycle: int
    t_ns: int
    entity: str
