"""Whole-state checkpoints: taking one after a night, and rebuilding a state from one.

A checkpoint (``events.StateCheckpoint``) lets a rebuild or a resume start at the last
night instead of event 0. It never replaces the events: ``restore`` reads the few events
the checkpoint references (the run's start, the transitions still buffered, the day
summaries and metrics, the latest map of phase 3, which the next day's anomaly monitor
reads and the map's chain continues from), applies the checkpoint on top, and finally
folds the checkpoint itself, whose fold rule compares every field with the rebuilt
state — so a restore that disagrees with the log raises instead of returning a wrong
state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core import events as ev
from janus_sim.core.rng import rng_from_state, rng_state
from janus_sim.core.scaler import Scaler
from janus_sim.core.state import SimState, apply
from janus_sim.core.state_rows import checkpoint_fields, restore_schemas

HISTORY_KINDS = ("transition_recorded", "day_closed", "cycle_metrics", "projection_fitted")
"""Besides ``run_started``, the kinds ``restore`` needs up to the checkpoint."""


def take(
    state: SimState, generators: Mapping[str, np.random.Generator], *, entity: str = "run"
) -> ev.StateCheckpoint:
    """A checkpoint of ``state`` and the engine's generators, at the state's cycle and time."""
    gens = tuple(
        (name, json.dumps(rng_state(generators[name]), sort_keys=True, separators=(",", ":")))
        for name in sorted(generators)
    )
    return ev.StateCheckpoint(
        cycle=state.cycle,
        t_ns=state.t_ns,
        entity=entity,
        generators=gens,
        **checkpoint_fields(state),  # type: ignore[arg-type]
    )


def generators_of(checkpoint: ev.StateCheckpoint) -> dict[str, np.random.Generator]:
    """The generators as they were when the checkpoint was taken."""
    return {name: rng_from_state(json.loads(text)) for name, text in checkpoint.generators}


def restore(
    started: ev.RunStarted, checkpoint: ev.StateCheckpoint, history: Iterable[ev.Event]
) -> SimState:
    """The state at ``checkpoint``.

    ``history`` is, in sequence order, every event of ``HISTORY_KINDS`` between the run's
    start and the checkpoint (transitions older than ``buffer_oldest_t_ns`` may be left
    out, and so may every ``projection_fitted`` but the latest and the latest laid out by
    UMAP, which the map's chain resumes from). Raises ValueError when the
    pieces do not add up to the checkpoint.
    """
    state = SimState()
    apply(started, state)
    buf, tree = state.require_buffer()
    # Regime indices in the buffer refer to this list: restore its order first.
    state.regime_names = list(checkpoint.regime_names)
    # The buffer restarts at the window's first id (nothing older is needed).
    buf.next_id = checkpoint.buffer_oldest_id
    for event in history:
        if isinstance(event, ev.TransitionRecorded):
            tid = event.transition_id
            if tid < checkpoint.buffer_oldest_id:
                continue
            if tid >= checkpoint.buffer_next_id:
                raise ValueError(f"transition {tid} is newer than the checkpoint")
        elif not isinstance(event, ev.DayClosed | ev.CycleMetrics | ev.ProjectionFitted):
            raise ValueError(f"restore does not take {event.KIND} events")
        apply(event, state)
    if buf.next_id != checkpoint.buffer_next_id:
        raise ValueError(
            f"the log holds transitions up to {buf.next_id - 1}, "
            f"the checkpoint expects {checkpoint.buffer_next_id - 1}"
        )
    slots = buf.chronological_slots()
    state.priorities[slots] = np.asarray(checkpoint.priorities, dtype=np.float64)
    tree.update(slots, dm.power(state.priorities[slots], state.alpha))
    state.params = np.array(checkpoint.params, dtype=np.float64)
    state.sep_weights = np.array(checkpoint.sep_weights, dtype=np.float64)
    state.sep_bias = np.array(checkpoint.sep_bias, dtype=np.float64)
    state.replay_iterations = checkpoint.replay_iterations
    state.day_date = checkpoint.day_date or None
    state.day_transitions = checkpoint.day_transitions
    restore_schemas(state, checkpoint)
    state.held_back = tuple(checkpoint.held_back)
    if checkpoint.scaler_mean:
        state.scaler = Scaler(np.array(checkpoint.scaler_mean), np.array(checkpoint.scaler_scale))
    # The fold rule compares every field: those rebuilt from the referenced events (the
    # buffer window, the position) are checked; the copied ones agree by construction.
    apply(checkpoint, state)
    return state
