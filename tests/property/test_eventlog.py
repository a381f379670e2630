"""``eventlog.first_difference``: the one rule for where two logs part (used by the
engine's resume and replay checks and by ``compare``)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from janus_sim.core.codec import EncodedEvent
from janus_sim.eventlog import ROW_FIELDS, EventBatch, first_difference
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
