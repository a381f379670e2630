"""The store rules every ``EventStore`` implementation shares (the port's side).

They are the single statement of the append rules, the error messages and how wall-clock
metadata is written, so the in-memory store (``memory_store``) and the DuckDB adapter
reject exactly the same things with the same words.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

from janus_sim.errors import NotFoundError, StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventQuery, RunStatus

RUN_STATUSES: frozenset[str] = frozenset(get_args(RunStatus))
ALL_EVENTS = EventQuery()  # the default query: no filter (EventQuery is frozen, so sharing is safe)


def now_utc() -> str:
    """Wall-clock time as ISO 8601 UTC. Metadata only: never enters a digest."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_append(batch: EventBatch, last_seq: int, where: str) -> None:
    """Raise StoreError unless ``batch`` may follow a run whose last sequence is ``last_seq``.

    The rules: all columns have the same length, sequence numbers are contiguous and
    the first one is ``last_seq + 1``. ``where`` names the store in the message.
    An empty batch is always acceptable (it appends nothing).
    """
    n = len(batch)
    columns = (batch.seq, batch.cycle, batch.t_ns, batch.entity, batch.version, batch.payload)
    lengths = {n, *(len(c) for c in columns)}
    if len(lengths) != 1:
        raise StoreError(
            f"{where}: batch for run {batch.run_id!r} has columns of unequal length "
            f"{sorted(lengths)}; nothing written"
        )
    if n == 0:
        return
    if not batch.is_contiguous():
        raise StoreError(
            f"{where}: batch for run {batch.run_id!r} has non-contiguous sequence numbers "
            f"({int(batch.seq[0])}..{int(batch.seq[-1])} over {n} events); nothing written"
        )
    first = int(batch.seq[0])
    if first != last_seq + 1:
        raise StoreError(
            f"{where}: batch for run {batch.run_id!r} starts at seq {first} but the run's "
            f"next seq is {last_seq + 1} (sequence numbers are gap-free); nothing written"
        )


def check_status(status: str, where: str) -> None:
    if status not in RUN_STATUSES:
        raise StoreError(
            f"{where}: unknown run status {status!r}; expected one of {sorted(RUN_STATUSES)}"
        )


def check_query(query: EventQuery, where: str) -> None:
    """Reject queries that cannot mean anything (a bare string as ``kinds``, limit < 0, a
    bound no BIGINT column can hold)."""
    if isinstance(query.kinds, str):
        raise StoreError(f"{where}: EventQuery.kinds must be a sequence of kinds, not a string")
    if query.limit is not None and query.limit < 0:
        raise StoreError(f"{where}: EventQuery.limit must be >= 0, got {query.limit}")
    for name in ("cycle_min", "cycle_max", "t_min", "t_max", "seq_min", "seq_max", "limit"):
        value = getattr(query, name)
        if value is not None and not -(2**63) <= value < 2**63:  # the columns are BIGINT
            raise StoreError(f"{where}: EventQuery.{name} {value} is outside 64-bit integers")


def unknown_run(run_id: str, where: str, known: list[str]) -> NotFoundError:
    shown = ", ".join(repr(r) for r in known[:10]) if known else "none"
    if len(known) > 10:
        shown += f", ... ({len(known)} in all)"
    return NotFoundError(f"no run {run_id!r} in {where}; known runs: {shown}")
