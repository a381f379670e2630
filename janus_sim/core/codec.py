"""Event <-> canonical JSON payload, with upcasting of old payload versions.

The payload is every dataclass field except the envelope (cycle, t_ns, entity). It is
written as canonical JSON: sorted keys, no whitespace, no NaN, floats as Python's
shortest round-trip ``repr``. ``decode(encode(e)) == e`` for every event, bit for bit.

Upcasters map ``(kind, version)`` to a function that turns a payload dict of that
version into one of the next version; ``decode`` applies them in a chain until the
payload is at the class's current ``VERSION``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from janus_sim.core.events import EVENT_KINDS, Event

ENVELOPE = ("cycle", "t_ns", "entity")

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

# (kind, from_version) -> function producing the from_version + 1 payload.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    # v2 copies the feature scaler; a v1 checkpoint predates it (no scaler: identity).
    ("state_checkpoint", 1): lambda p: {
        **p,
        "held_back": [],
        "scaler_mean": [],
        "scaler_scale": [],
    },
    # v2 gates per episode: a v1 day either passed whole or not at all.
    ("consolidation_gated", 1): lambda p: {
        **{k: v for k, v in p.items() if k != "prototype"},
        "logic_passed": int(p["candidates"]) if p["logic_passed"] else 0,
        "recall_calibration": [],
        "held_back": [],
    },
}


class CodecError(ValueError):
    """A stored record cannot be decoded: unknown kind, future version or bad payload."""


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as the log stores it, before the store adds run id and sequence number."""

    kind: str
    version: int
    cycle: int
    t_ns: int
    entity: str
    payload: str


def _plain(value: Any) -> Any:
    """Numpy scalars and arrays to Python values; tuples to lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _frozen(value: Any) -> Any:
    """JSON lists back to (nested) tuples, as the event classes hold them."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def payload_dict(event: Event) -> Payload:
    return {f.name: _plain(getattr(event, f.name)) for f in fields(event) if f.name not in ENVELOPE}


def _json_default(value: Any) -> Any:
    """What json cannot encode natively (numpy scalars and arrays); tuples it writes as lists
    and numpy float64 as a float already, so the hot path converts nothing."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.bool_ | np.integer | np.floating):
        return _plain(value)
    raise TypeError(f"cannot encode {type(value).__name__} in an event payload")


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default
)
_PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def _payload_fields(cls: type[Event]) -> tuple[str, ...]:
    names = _PAYLOAD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name not in ENVELOPE)
        _PAYLOAD_FIELDS[cls] = names
    return names


def canonical_json(payload: Payload) -> str:
    return _ENCODER.encode(payload)


def encode(event: Event) -> EncodedEvent:
    """The stored form of ``event``. Raises ValueError on NaN or infinity in the payload."""
    payload = {name: getattr(event, name) for name in _payload_fields(type(event))}
    return EncodedEvent(
        kind=event.KIND,
        version=event.VERSION,
        cycle=int(event.cycle),
        t_ns=int(event.t_ns),
        entity=event.entity,
        payload=_ENCODER.encode(payload),
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in an event payload")


def upcast(kind: str, version: int, payload: Payload, target: int) -> Payload:
    """Apply the registered upcasters from ``version`` up to ``target``."""
    while version < target:
        step = UPCASTERS.get((kind, version))
        if step is None:
            raise CodecError(f"no upcaster for {kind} v{version} -> v{version + 1}")
        try:
            payload = step(payload)
        except (KeyError, TypeError, ValueError) as e:
            raise CodecError(f"{kind} v{version} -> v{version + 1}: upcast failed ({e!r})") from e
        version += 1
    return payload


def decode(record: EncodedEvent) -> Event:
    """The event ``record`` encodes, upcast to the current payload version."""
    cls = EVENT_KINDS.get(record.kind)
    if cls is None:
        raise CodecError(f"unknown event kind {record.kind!r}")
    if record.version > cls.VERSION:
        raise CodecError(
            f"{record.kind} payload v{record.version} is newer than this janus-sim "
            f"(reads up to v{cls.VERSION}); upgrade janus-sim to read this log"
        )
    try:
        raw = json.loads(record.payload, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise CodecError(f"{record.kind}: payload is not JSON ({e.msg})") from e
    except ValueError as e:
        raise CodecError(f"{record.kind}: {e}") from e
    if not isinstance(raw, dict):
        raise CodecError(f"{record.kind}: payload is not a JSON object")
    payload = upcast(record.kind, record.version, raw, cls.VERSION)
    try:
        return cls(
            cycle=record.cycle,
            t_ns=record.t_ns,
            entity=record.entity,
            **{k: _frozen(v) for k, v in payload.items()},
        )
    except TypeError as e:
        raise CodecError(f"{record.kind} v{record.version}: payload does not fit ({e})") from e
