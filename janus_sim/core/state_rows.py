"""The state as event rows: its schemas as checkpoint rows, and back, and the fields a
``StateCheckpoint`` holds.

The fold (``state.apply``) compares a checkpoint event with the state built before it
through these, and ``checkpoint`` takes and restores checkpoints with them, so a
checkpoint is written and checked by one definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core.neocortex import Schema

if TYPE_CHECKING:
    from janus_sim.core.state import SimState


def schema_rows_of(state: SimState) -> tuple[ev.SchemaRow, ...]:
    """The live schemas as checkpoint rows (see ``events.SchemaCheckpoint``)."""
    return tuple(
        ev.SchemaRow(
            schema_id=sid,
            mean=tuple(s.mean.tolist()),
            cov=ev.as_matrix(s.cov),
            n_points=s.n_points,
            avg_reward=s.avg_reward,
            created_ns=s.created_ns,
            updated_ns=s.updated_ns,
            eps=s.eps,
            regime_counts=tuple(sorted(state.schema_regimes.get(sid, {}).items())),
        )
        for sid, s in state.schemas.items()
    )


def restore_schemas(state: SimState, event: ev.SchemaCheckpoint | ev.StateCheckpoint) -> None:
    """Replace the state's schemas with the checkpoint's (the fast path of ``at``)."""
    state.schemas = {}
    state.schema_regimes = {}
    for row in event.schemas:
        state.schemas[row.schema_id] = Schema(
            row.schema_id,
            np.array(row.mean),
            np.array(row.cov),
            row.n_points,
            row.avg_reward,
            row.created_ns,
            row.updated_ns,
            row.eps,
        )
        state.schema_regimes[row.schema_id] = dict(row.regime_counts)


def checkpoint_fields(state: SimState) -> dict[str, object]:
    """The state's part of a ``StateCheckpoint`` (all but the generators), as event fields."""
    buf, _ = state.require_buffer()
    slots = buf.chronological_slots()
    oldest_t = int(buf.t_ns[slots[0]]) if len(slots) else state.t_ns
    return {
        "position": state.position,
        "replay_iterations": state.replay_iterations,
        "day_date": state.day_date or "",
        "day_transitions": state.day_transitions,
        "regime_names": tuple(state.regime_names),
        "buffer_oldest_id": buf.oldest_id,
        "buffer_next_id": buf.next_id,
        "buffer_oldest_t_ns": oldest_t,
        "priorities": tuple(state.priorities[slots].tolist()),
        "params": ev.as_matrix(state.params),
        "sep_weights": ev.as_matrix(state.sep_weights),
        "sep_bias": tuple(state.sep_bias.tolist()),
        "schemas": schema_rows_of(state),
        "held_back": state.held_back,
        "scaler_mean": () if state.scaler is None else tuple(state.scaler.mean.tolist()),
        "scaler_scale": () if state.scaler is None else tuple(state.scaler.scale.tolist()),
    }
