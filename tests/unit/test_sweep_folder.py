"""The sweep folder's attempt log: a line torn by a kill loses that record only."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from janus_sim.sweep.folder import ATTEMPTS, SweepFolder

records = st.lists(
    st.fixed_dictionaries(
        {
            "trial_id": st.text(min_size=1, max_size=12),
            "status": st.sampled_from(["finished", "failed"]),
            "elapsed_s": st.none() | st.floats(0, 1e4),
        }
    ),
    max_size=5,
)


@given(before=records, torn=records.filter(bool), cut=st.integers(1, 10_000), after=records)
def test_a_torn_line_loses_only_its_own_record(
    before: list[dict[str, object]],
    torn: list[dict[str, object]],
    cut: int,
    after: list[dict[str, object]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = SweepFolder(Path(tmp))
        for r in before:
            folder.log_attempt(r)
        partial = json.dumps(torn[0], sort_keys=True)
        partial = partial[: 1 + cut % (len(partial) - 1)]  # a strict prefix: no newline
        with open(Path(tmp) / ATTEMPTS, "a", encoding="utf-8") as f:
            f.write(partial)
        for r in after:
            folder.log_attempt(r)
        assert list(folder.attempts()) == before + after
