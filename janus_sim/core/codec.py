"""Event <-> canonical JSON payload, with upcasting of old payload versions.

The payload is every dataclass field except the envelope (cycle, t_ns, entity). It is
written as canonical JSON: sorted keys, no whitespace, no NaN, floats as Python's
shortest round-trip ``repr``; tuples, NamedTuple rows included, as arrays.
``decode(encode(e)) == e`` for every event, bit for bit, its NamedTuple rows rebuilt.

Each event class carries its own upcasters (``Event.UPCASTS``: version v -> a function
turning a payload dict of version v into one of v + 1); ``decode`` applies them in a
chain until the payload is at the class's current ``VERSION``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from typing import Any, get_args, get_origin, get_type_hints

import numpy as np

from janus_sim.core.events import EVENT_KINDS, Event, Payload

ENVELOPE = ("cycle", "t_ns", "entity")


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


def _row_reader(tp: Any) -> Callable[[Any], Any] | None:
    """How a JSON value of field type ``tp`` becomes what the class holds where plain
    tuples (``_frozen``) would lose its type: a NamedTuple row, alone or in a
    ``tuple[Row, ...]``; None for every other type. A value that is not an array (of the
    row's length, for a row) raises TypeError: the payload does not fit."""
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return partial(_read_row, tp)
    args = get_args(tp)
    if get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _row_reader(args[0])
        return None if item is None else partial(_read_rows, item)
    return None


def _read_row(row: Any, value: Any) -> Any:
    if not isinstance(value, list):
        raise TypeError(f"a {row.__name__} is an array, got {type(value).__name__}")
    return row._make(_frozen(value))


def _read_rows(item: Callable[[Any], Any], value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array of rows, got {type(value).__name__}")
    return tuple(item(v) for v in value)


_ROW_READERS: dict[type[Event], dict[str, Callable[[Any], Any]]] = {}


def _row_readers(cls: type[Event]) -> dict[str, Callable[[Any], Any]]:
    """Payload field -> its ``_row_reader``, for the fields of ``cls`` that need one."""
    readers = _ROW_READERS.get(cls)
    if readers is None:
        hints = get_type_hints(cls)
        found = {name: _row_reader(hints[name]) for name in _payload_fields(cls)}
        readers = {name: read for name, read in found.items() if read is not None}
        _ROW_READERS[cls] = readers
    return readers


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


def upcast(cls: type[Event], version: int, payload: Payload) -> Payload:
    """``payload``, of ``cls`` at ``version``, upcast to ``cls.VERSION`` by the class's
    own chain (``cls.UPCASTS``). CodecError when a step is missing or fails."""
    kind = cls.KIND
    while version < cls.VERSION:
        step = cls.UPCASTS.get(version)
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
    payload = upcast(cls, record.version, raw)
    try:
        values = {k: _frozen(v) for k, v in payload.items()}
        for name, read in _row_readers(cls).items():
            if name in payload:
                values[name] = read(payload[name])
        return cls(cycle=record.cycle, t_ns=record.t_ns, entity=record.entity, **values)
    except TypeError as e:
        raise CodecError(f"{record.kind} v{record.version}: payload does not fit ({e})") from e
