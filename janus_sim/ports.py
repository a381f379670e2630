"""The ports the application talks to; adapters implement them.

``EventStore`` is the event log. Contract (tested once for every adapter in
``tests/contract``):

* runs are created once; a second ``create_run`` with the same id is a StoreError;
* ``append`` is atomic: the whole batch becomes visible or none of it does;
* sequence numbers of a run are gap-free from 0: a batch must start at
  ``last_seq(run) + 1`` and be contiguous, else StoreError and nothing is written;
* reads return events in sequence order;
* unknown run ids raise NotFoundError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from janus_sim.eventlog import EventBatch

RunStatus = Literal["running", "finished", "failed", "interrupted"]


@dataclass(frozen=True)
class RunInfo:
    """A row of the runs table. Wall-clock fields are metadata: never hashed."""

    run_id: str
    scenario_name: str
    scenario_source: str
    scenario_text: str
    scenario_hash: str
    seed: int
    code_version: str
    versions: dict[str, str] = field(default_factory=dict)
    status: RunStatus = "running"
    digest: str | None = None
    n_events: int = 0
    started_at: str = ""
    finished_at: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class EventQuery:
    """Filters for ``EventStore.read``; ``None`` means no filter. Bounds are inclusive.

    ``tail`` keeps the last ``limit`` matches instead of the first (still in seq order).
    """

    kinds: Sequence[str] | None = None
    cycle_min: int | None = None
    cycle_max: int | None = None
    t_min: int | None = None
    t_max: int | None = None
    seq_min: int | None = None
    seq_max: int | None = None
    entity: str | None = None
    limit: int | None = None
    tail: bool = False


class EventStore(Protocol):
    def create_run(self, info: RunInfo) -> None: ...

    def append(self, batch: EventBatch) -> None: ...

    def finish_run(
        self, run_id: str, status: RunStatus, digest: str | None, message: str | None = None
    ) -> None: ...

    def get_run(self, run_id: str) -> RunInfo: ...

    def list_runs(self) -> list[RunInfo]:
        """All runs, oldest first."""
        ...

    def last_seq(self, run_id: str) -> int:
        """The highest sequence number of the run, or -1 when it has no events."""
        ...

    def read(self, run_id: str, query: EventQuery = EventQuery()) -> EventBatch: ...

    def close(self) -> None: ...
