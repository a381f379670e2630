"""``eventlog.first_difference``: the one rule for where two logs part (used by the
engine's resume and replay checks and by ``compare``); and the row bytes, digest and
chain built by Arrow kernels, equal to the row-by-row reference definition."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim import eventlog
from janus_sim.core.codec import EncodedEvent
from janus_sim.eventlog import (
    GENESIS,
    ROW_FIELDS,
    EventBatch,
    _row_buffer,
    _rows,
    chain_hashes,
    digest_of,
    first_difference,
)
from tests.store_fixtures import record

CHANGED = {
    "kind": lambda r: replace(r, kind=r.kind + "_x"),
    "version": lambda r: replace(r, version=r.version + 1),
    "cycle": lambda r: replace(r, cycle=r.cycle + 1),
    "t_ns": lambda r: replace(r, t_ns=r.t_ns + 1),
    "entity": lambda r: replace(r, entity=r.entity + "'"),
    "payload": lambda r: replace(r, payload=r.payload + " "),
}


def _batch(records: list[EncodedEvent]) -> EventBatch:
    return EventBatch.from_records("r", 0, records)


def test_every_row_field_can_be_changed_here() -> None:
    assert set(CHANGED) == set(ROW_FIELDS)


@given(
    n=st.integers(1, 40),
    edits=st.dictionaries(
        st.integers(0, 39), st.sets(st.sampled_from(ROW_FIELDS), min_size=1), max_size=4
    ),
    extra=st.integers(0, 3),
)
def test_the_first_changed_row_and_its_first_field_in_row_order(
    n: int, edits: dict[int, set[str]], extra: int
) -> None:
    """Changing some fields of some rows: the answer is the lowest changed row and, in it,
    the field named first in ROW_FIELDS; rows beyond the shorter batch never count."""
    base = [record(i) for i in range(n)]
    other = list(base)
    edits = {row: fields for row, fields in edits.items() if row < n}
    for row, fields in edits.items():
        for name in fields:
            other[row] = CHANGED[name](other[row])
    longer = other + [record(n + i) for i in range(extra)]
    got = first_difference(_batch(base), _batch(longer))
    if not edits:
        assert got is None
    else:
        row = min(edits)
        assert got == (row, next(f for f in ROW_FIELDS if f in edits[row]))
    assert first_difference(_batch(base), _batch(base)) is None
    # Symmetric: which side is "stored" does not move the answer.
    assert first_difference(_batch(longer), _batch(base)) == got


# --- the row bytes at C speed are the reference bytes ----------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_RECORD = st.builds(
    EncodedEvent,
    kind=st.sampled_from(["run_started", "transition_recorded", "é☃\x1f"]) | _TEXT,
    version=st.integers(-(2**15), 2**15 - 1),
    cycle=st.integers(-(2**31), 2**31 - 1),
    t_ns=st.integers(-(2**63), 2**63 - 1),
    entity=_TEXT,
    payload=_TEXT,
)


def _reference_chain(prev: bytes, batch: EventBatch) -> list[bytes]:
    out = []
    for row in _rows(batch):
        prev = hashlib.sha256(prev + row).digest()
        out.append(prev)
    return out


@given(
    records=st.lists(_RECORD, max_size=30),
    first=st.integers(0, 2**40),
    cuts=st.lists(st.integers(0, 30), max_size=4),
)
def test_vectorized_rows_digest_and_chain_are_the_reference_ones(
    records: list[EncodedEvent], first: int, cuts: list[int]
) -> None:
    """``_row_buffer`` (Arrow kernels) builds exactly ``_rows``' bytes; the digest is the
    SHA-256 of them in order however the events are cut into batches; the chain is
    ``h_i = sha256(h_{i-1} || row_i)`` row by row, across batch boundaries too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(eventlog, "_ARROW_FROM", 1)  # the Arrow path even for small batches
        _check_against_reference(records, first, cuts)
    _check_against_reference(records, first, cuts)  # and the reference path itself


def _check_against_reference(records: list[EncodedEvent], first: int, cuts: list[int]) -> None:
    whole = EventBatch.from_records("r", first, records)
    data, offsets = _row_buffer(whole)
    reference = list(_rows(whole))
    assert [bytes(data[a:b]) for a, b in pairwise(offsets)] == reference
    assert digest_of([whole]) == hashlib.sha256(b"".join(reference)).hexdigest()
    bounds = [0, *sorted(c for c in cuts if c <= len(records)), len(records)]
    parts = [
        EventBatch.from_records("r", first + lo, records[lo:hi]) for lo, hi in pairwise(bounds)
    ]
    assert digest_of(parts) == digest_of([whole])
    chained, prev = [], GENESIS
    for part in parts:
        links = chain_hashes(prev, part, part.to_arrow() if len(part) % 2 else None)
        chained += links
        prev = links[-1] if links else prev
    assert chained == _reference_chain(GENESIS, whole)


def test_text_arrow_cannot_hold_fails_as_the_reference_does() -> None:
    """A lone surrogate cannot be encoded: the digest raises what ``str.encode`` raises."""
    bad = EventBatch.from_records(
        "r", 0, [replace(record(i), payload="\ud800") for i in range(300)]
    )
    with pytest.raises(UnicodeEncodeError):
        digest_of([bad])
