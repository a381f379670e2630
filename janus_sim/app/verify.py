"""Integrity of a stored run: gap-free sequence, an unbroken hash chain, decodable
events, a fold that holds (every checkpoint included), the recorded digest, and
(optionally) a replay that regenerates every event.

Every check runs; the report keeps each problem and the lowest bad sequence number.
The fold catches semantic damage (a FIFO eviction out of order, time going backwards,
a priority for a transition that is not buffered); the digest catches any change to any
stored field; the replay
(``--replay``, same janus-sim version) names the first event that differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from janus_sim.app.divergence import Divergence
from janus_sim.app.engine import Engine
from janus_sim.app.log_sink import ReplayMismatch
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.app.scenario_identity import ConfigChange
from janus_sim.core.codec import CodecError, decode
from janus_sim.core.state import SimState, apply
from janus_sim.eventlog import digest_of, first_broken_link
from janus_sim.ports import EventStore, RunStatus


@dataclass
class VerifyReport:
    run_id: str
    status: RunStatus
    n_events: int
    stored_digest: str | None
    recomputed_digest: str
    replayed: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    divergence: Divergence | None = None
    """With ``--replay``: the first divergent event (field diff, cycles reached)."""
    config_changes: tuple[ConfigChange, ...] = ()
    """With ``--replay``: settings this code resolves differently from the stored run."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, seq: int | None, problem: str) -> None:
        self.problems.append(problem if seq is None else f"event {seq}: {problem}")
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq


def verify_run(
    store: EventStore, run_id: str, *, replay: ScenarioInput | None = None
) -> VerifyReport:
    """Every check of the module docstring on run ``run_id``; with ``replay`` (the run's
    scenario and bars, as ``wiring.stored_scenario`` loads them) also the re-simulation."""
    info = store.get_run(run_id)
    batch = store.read(run_id)
    report = VerifyReport(
        run_id=run_id,
        status=info.status,
        n_events=len(batch),
        stored_digest=info.digest,
        recomputed_digest=digest_of([batch]),
    )
    expected = np.arange(len(batch), dtype=np.int64)
    if not np.array_equal(batch.seq, expected):
        bad = int(np.flatnonzero(batch.seq != expected)[0])
        report.fail(bad, f"sequence is not gap-free from 0 (found seq {int(batch.seq[bad])})")

    if batch.chain is not None and len(batch) and all(h is None for h in batch.chain):
        report.notes.append("written before hash chains existed: the chain was not checked")
    else:
        broken = first_broken_link(batch)
        if broken is not None:
            report.fail(
                int(batch.seq[broken]),
                "breaks the hash chain: it, or an event before it, was altered, inserted, "
                "removed or moved",
            )

    state = SimState()
    for stored in batch.records():
        try:
            apply(decode(stored.record), state)
        except (CodecError, ValueError, TypeError) as e:
            report.fail(stored.seq, f"{stored.record.kind} does not fold ({e})")
            break

    if info.status == "finished":
        if not len(batch) or batch.kind[-1] != "run_finished":
            report.fail(None, "the run is marked finished but its log has no run_finished event")
        if info.digest != report.recomputed_digest:
            report.fail(
                None, "the recorded digest does not match the events (a stored event changed)"
            )
    else:
        report.fail(None, f"the run is {info.status}, not finished (resume it with run --resume)")

    if replay is not None:
        # A changed bars file fails the engine's scenario-hash check (its sha256 is in it).
        engine = Engine(
            replay.scenario,
            store,
            run_id=run_id,
            scenario_text=replay.text,
            market_data=replay.bars,
        )
        report.replayed = True
        try:
            engine.replay_check()
        except ReplayMismatch as e:
            report.fail(e.seq, e.problem)
            report.divergence = e.divergence
            report.config_changes = e.changes
    return report
