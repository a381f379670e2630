"""Codec properties for every event class: exact round trip, canonical payloads, upcasting.

Strategies are derived from each dataclass's field types, so a new event class or field
is covered without touching this file (an unsupported field type fails loudly).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.core.codec import CodecError, EncodedEvent, canonical_json, decode, encode
from janus_sim.core.events import (
    EVENT_KINDS,
    EVENT_TYPES,
    ConsolidationGated,
    Event,
    ProjectionFitted,
    SchemaRow,
    SchemaUpdated,
    StateCheckpoint,
    TransitionEvicted,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(max_size=12)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """Values of field type ``tp``: scalars, NamedTuple rows, homogeneous ``tuple[X, ...]``
    and fixed tuples."""
    if tp is bool:  # before int: bool is an int subclass
        return st.booleans()
    if tp is int:
        return INT64
    if tp is float:
        return FLOATS
    if tp is str:
        return TEXT
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        hints = get_type_hints(tp)  # a NamedTuple row: its fields, in order
        return st.builds(tp, *(strategy_for(hints[name]) for name in tp._fields))
    args = get_args(tp)
    if get_origin(tp) in (types.UnionType, Union) and type(None) in args:
        (other,) = (a for a in args if a is not type(None))
        return st.none() | strategy_for(other)
    if get_origin(tp) is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = args[0]
            if get_origin(inner) is tuple and get_args(inner)[1:] == (Ellipsis,):
                # A matrix: rectangular rows of the inner element type.
                cell = strategy_for(get_args(inner)[0])
                return st.integers(0, 4).flatmap(
                    lambda cols: st.lists(
                        st.lists(cell, min_size=cols, max_size=cols).map(tuple), max_size=4
                    ).map(tuple)
                )
            return st.lists(strategy_for(inner), max_size=8).map(tuple)
        return st.tuples(*(strategy_for(a) for a in args))
    raise TypeError(f"no strategy for field type {tp!r}: teach strategy_for about it")


_FIELD_TYPES: dict[str, dict[str, Any]] = {}


def field_types(cls: type[Event]) -> dict[str, Any]:
    """Field name -> resolved type, envelope included, in declaration order."""
    if cls.KIND not in _FIELD_TYPES:
        hints = get_type_hints(cls)
        _FIELD_TYPES[cls.KIND] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _FIELD_TYPES[cls.KIND]


def events_of(cls: type[Event]) -> st.SearchStrategy[Event]:
    return st.builds(cls, **{name: strategy_for(tp) for name, tp in field_types(cls).items()})


KIND_IDS = [cls.KIND for cls in EVENT_TYPES]


def test_event_registry_is_consistent() -> None:
    assert len(set(KIND_IDS)) == len(EVENT_TYPES)
    assert all(KIND_IDS)
    assert {cls.KIND: cls for cls in EVENT_TYPES} == EVENT_KINDS
    for cls in EVENT_TYPES:
        params: Any = getattr(cls, "__dataclass_params__", None)
        assert params is not None and params.frozen, cls.KIND
        for tp in field_types(cls).values():
            strategy_for(tp)  # every field type has a strategy


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=KIND_IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_is_exact_and_canonical(cls: type[Event], data: st.DataObject) -> None:
    event = data.draw(events_of(cls))
    record = encode(event)
    assert (record.kind, record.version) == (cls.KIND, cls.VERSION)
    assert (record.cycle, record.t_ns, record.entity) == (event.cycle, event.t_ns, event.entity)

    back = decode(record)
    assert type(back) is cls
    assert back == event
    assert encode(back) == record  # re-encoding gives the identical payload string
    assert encode(event) == record  # deterministic
    assert canonical_json(json.loads(record.payload)) == record.payload
    assert record.payload.isascii()

    # Floats bit for bit: == would let -0.0 pass for 0.0.
    for name in field_types(cls):
        assert repr(getattr(back, name)) == repr(getattr(event, name)), name


def _numpy_like(value: Any, tp: Any) -> Any:
    """The same value as numpy would hand it over: numpy scalars, arrays for vectors."""
    if tp is bool:
        return np.bool_(value)
    if tp is int:
        return np.int64(value)
    if tp is float:
        return np.float64(value)
    if get_origin(tp) is tuple and get_args(tp)[1:] == (Ellipsis,) and get_args(tp)[0] is float:
        return np.array(value, dtype=np.float64)
    return value


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=KIND_IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_numpy_values_encode_like_python_values(cls: type[Event], data: st.DataObject) -> None:
    event = data.draw(events_of(cls))
    types = field_types(cls)
    as_numpy = {name: _numpy_like(getattr(event, name), tp) for name, tp in types.items()}
    numpy_event = cls(**as_numpy)  # dataclasses do not check types at runtime
    assert encode(numpy_event).payload == encode(event).payload


def _float_fields(cls: type[Event]) -> list[str]:
    return [name for name, tp in field_types(cls).items() if tp is float]


@pytest.mark.parametrize("cls", [c for c in EVENT_TYPES if _float_fields(c)], ids=lambda c: c.KIND)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_non_finite_floats_do_not_encode(cls: type[Event], bad: float, data: st.DataObject) -> None:
    event = data.draw(events_of(cls))
    change: dict[str, Any] = {_float_fields(cls)[0]: bad}
    broken = dataclasses.replace(event, **change)
    with pytest.raises(ValueError):
        encode(broken)


# --- upcasting -------------------------------------------------------------------------

KIND = TransitionEvicted.KIND


def _old(version: int, payload: str) -> EncodedEvent:
    return EncodedEvent(kind=KIND, version=version, cycle=3, t_ns=42, entity="t:5", payload=payload)


def test_decode_applies_the_upcaster_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """v1 ``{"tid"}`` -> v2 ``{"id"}`` -> v3 ``{"transition_id"}`` (the current version)."""
    calls: list[int] = []

    def v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {"id": p["tid"]}

    def v2_to_v3(p: dict[str, Any]) -> dict[str, Any]:
        calls.append(2)
        return {"transition_id": p["id"]}

    monkeypatch.setattr(TransitionEvicted, "VERSION", 3)
    monkeypatch.setattr(TransitionEvicted, "UPCASTS", {1: v1_to_v2, 2: v2_to_v3})
    want = TransitionEvicted(cycle=3, t_ns=42, entity="t:5", transition_id=5)

    assert decode(_old(1, '{"tid":5}')) == want
    assert calls == [1, 2]
    calls.clear()
    assert decode(_old(2, '{"id":5}')) == want
    assert calls == [2]
    calls.clear()
    assert decode(_old(3, '{"transition_id":5}')) == want
    assert calls == []
    # What is written is always the current version.
    assert encode(want).version == 3


def test_missing_upcaster_is_a_codec_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TransitionEvicted, "VERSION", 2)
    with pytest.raises(CodecError, match=f"{KIND} v1 -> v2"):
        decode(_old(1, '{"tid":5}'))


def test_upcasters_are_restored_after_monkeypatch() -> None:
    """The chain test above must not leak its temporary upcasters or version."""
    assert 1 not in TransitionEvicted.UPCASTS
    assert TransitionEvicted.VERSION == 1


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=KIND_IDS)
def test_every_old_version_has_its_upcaster(cls: type[Event]) -> None:
    """A class at version n carries exactly the steps v1 -> v2 ... v(n-1) -> vn."""
    assert sorted(cls.UPCASTS) == list(range(1, cls.VERSION))
    assert all(callable(step) for step in cls.UPCASTS.values())


def _encoded(event: Event, version: int, payload: dict[str, Any]) -> EncodedEvent:
    return EncodedEvent(
        event.KIND, version, event.cycle, event.t_ns, event.entity, canonical_json(payload)
    )


def test_state_checkpoint_v1_reads_with_no_scaler_and_nothing_held_back() -> None:
    row = SchemaRow("schema-1-0", (0.5, -1.0), ((0.6, 0.0), (0.0, 0.6)), 3, 0.25, 5, 9, 0.6, ())
    want = StateCheckpoint(
        cycle=1, t_ns=10, entity="state", position=2, replay_iterations=7, day_date="d",
        day_transitions=4, regime_names=("calm",), buffer_oldest_id=0, buffer_next_id=4,
        buffer_oldest_t_ns=1, priorities=(1.0,) * 4, params=((0.0, 1.0),), sep_weights=(),
        sep_bias=(), schemas=(row,), generators=(("agent", "{}"),),
    )  # fmt: skip
    v1 = json.loads(encode(want).payload)
    for name in ("held_back", "scaler_mean", "scaler_scale"):
        del v1[name]
    back = decode(_encoded(want, 1, v1))
    assert isinstance(back, StateCheckpoint) and back == want
    assert type(back.schemas[0]) is SchemaRow


@pytest.mark.parametrize(("passed", "want_passed"), [(True, 5), (False, 0)])
def test_consolidation_gated_v1_gates_the_whole_day(passed: bool, want_passed: int) -> None:
    want = ConsolidationGated(
        cycle=2, t_ns=20, entity="gates", candidates=5, recall_passed=4, logic_gate=0.8,
        logic_passed=want_passed, consolidated=3, recall_calibration=(),
    )  # fmt: skip
    v1 = json.loads(encode(want).payload)
    del v1["recall_calibration"], v1["held_back"]
    v1 |= {"logic_passed": passed, "prototype": [0.1, 0.2]}
    assert decode(_encoded(want, 1, v1)) == want


def test_projection_fitted_v1_reads_with_no_members_stability_or_trust() -> None:
    want = ProjectionFitted(
        cycle=2, t_ns=20, entity="map", method="pca", params=(("n_points", 2.0),),
        point_ids=("schema:a", "transition:3"), coords=((0.0, 1.0, 2.0), (1.0, 0.0, 0.5)),
        labels=(-1, -1), centres=(), center=(0.5, 0.5, 1.25), scale=1.0, projector="",
        projector_rmse=0.0, assigned_schema=("a", "a"),
    )  # fmt: skip
    v1 = json.loads(encode(want).payload)
    for name in ("members", "stability", "trust"):
        del v1[name]
    assert decode(_encoded(want, 1, v1)) == want


def _schema_updated(**changes: Any) -> SchemaUpdated:
    fields: dict[str, Any] = dict(
        cycle=2, t_ns=20, entity="schema:schema-1-0", schema_id="schema-1-0", mean=(0.5, -1.0),
        cov=((0.6, 0.0), (0.0, 0.6)), n_points=5, avg_reward=0.25, points_added=2,
        mean_shift=0.1, regime_counts=(("calm", 5),), joined=(7, 9),
        joined_mahalanobis_sq=(1.5, 2.25),
    )  # fmt: skip
    return SchemaUpdated(**(fields | changes))


def test_schema_updated_v1_reads_with_membership_unknown() -> None:
    """A v1 update did not record who joined: v2 says unknown (None), not nobody (())."""
    v2 = _schema_updated()
    v1 = json.loads(encode(v2).payload)
    del v1["joined"], v1["joined_mahalanobis_sq"]
    assert SchemaUpdated.upcast_v1(dict(v1)) == v1 | {"joined": None, "joined_mahalanobis_sq": None}
    back = decode(_encoded(v2, 1, v1))
    assert back == _schema_updated(joined=None, joined_mahalanobis_sq=None)
    assert isinstance(back, SchemaUpdated) and not back.membership_known
    assert back.points_added == 2  # the count v1 did record survives
    assert decode(encode(v2)) == v2 and v2.membership_known
    # A known empty membership is not the unknown one.
    empty = _schema_updated(points_added=0, joined=(), joined_mahalanobis_sq=())
    back = decode(encode(empty))
    assert isinstance(back, SchemaUpdated) and back.membership_known and back.joined == ()


def test_schema_updated_v1_with_a_broken_payload_is_a_codec_error() -> None:
    v1 = json.loads(encode(_schema_updated()).payload)
    del v1["joined"], v1["joined_mahalanobis_sq"], v1["n_points"]
    with pytest.raises(CodecError, match=r"^schema_updated v1: payload does not fit"):
        decode(_encoded(_schema_updated(), 1, v1))


# --- errors ----------------------------------------------------------------------------


def test_unknown_kind() -> None:
    with pytest.raises(CodecError, match="'no_such_event'"):
        decode(EncodedEvent("no_such_event", 1, 0, 0, "e", "{}"))


def test_future_version() -> None:
    record = _old(TransitionEvicted.VERSION + 1, '{"transition_id":5}')
    with pytest.raises(CodecError, match=f"{KIND} payload v2 is newer"):
        decode(record)


@pytest.mark.parametrize(
    "payload",
    ['{"transition_id":', "not json", "", "[1, 2]", "null", "7"],
    ids=["truncated", "text", "empty", "array", "null", "number"],
)
def test_payload_that_is_not_a_json_object(payload: str) -> None:
    with pytest.raises(CodecError, match=f"^{KIND}: payload is not"):
        decode(_old(1, payload))


@pytest.mark.parametrize(
    "payload",
    ["{}", '{"transition_id":5,"extra":1}', '{"transition_id":5,"cycle":9}'],
    ids=["missing", "extra", "envelope"],
)
def test_payload_that_does_not_fit_the_class(payload: str) -> None:
    with pytest.raises(CodecError, match=f"^{KIND} v1: payload does not fit"):
        decode(_old(1, payload))
