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

from janus_sim.app.chain_check import check_chain
from janus_sim.app.divergence import Divergence
from janus_sim.app.engine import Engine
from janus_sim.app.log_sink import ReplayMismatch
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.app.scenario_identity import ConfigChange
from janus_sim.core.codec import CodecError, decode
from janus_sim.core.state import SimState, apply
from janus_sim.eventlog import EventBatch, digest_of
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
    _check_sequence(report, batch)
    for finding in check_chain(batch, info):
        if finding.note:
            report.notes.append(finding.text)
        else:
            report.fail(finding.seq, finding.text)

    state = SimState()
    for stored in batch.records():
        try:
            apply(decode(stored.record), state)
        except (CodecError, ValueError, TypeError) as e:
            report.fail(stored.seq, f"{stored.record.kind} does not fold ({e})")
            break

    if "run_finished" in batch.kind[:-1]:
        after = batch.kind.index("run_finished") + 1
        report.fail(int(batch.seq[after]), "follows run_finished: the run had ended")
    if info.status == "finished":
        if info.n_events > len(batch):
            report.fail(
                len(batch),
                f"is missing: the run row counts {info.n_events} events, the log holds "
                f"{len(batch)}",
            )
        elif info.n_events < len(batch):
            report.fail(
                info.n_events,
                f"is extra: the run row counts {info.n_events} events, the log holds {len(batch)}",
            )
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


def _check_sequence(report: VerifyReport, batch: EventBatch) -> None:
    """Sequence numbers 0, 1, 2, ...: the first one out of place is named by the seq that
    is wrong (a missing one, or one stored twice), as ``--replay`` names it."""
    expected = np.arange(len(batch), dtype=np.int64)
    if np.array_equal(batch.seq, expected):
        return
    bad = int(np.flatnonzero(batch.seq != expected)[0])
    found = int(batch.seq[bad])
    if bad and found == int(batch.seq[bad - 1]):
        report.fail(found, "is stored twice: the sequence is not gap-free from 0")
    elif found > bad:
        report.fail(bad, f"is missing: the sequence is not gap-free from 0 (next is {found})")
    else:
        report.fail(bad, f"sequence is not gap-free from 0 (found seq {found} at row {bad})")
