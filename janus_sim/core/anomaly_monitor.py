"""The awake anomaly monitor (spec eq. 32): last night's map against today's states.

During the day, ``AnomalyMonitor`` projects each state the agent records with last night's
projector (``projection_fitted.projector``) and flags it when its projection lies farther
than ``tau_anomaly`` (normalized map units) from every reference point. The reference
points are ``Projection.anomaly_reference``'s:

* ``memory`` (the default): every transition the episodic buffer holds at the day's open
  (what last night consolidated and mapped), placed by the same projector. Far from all
  of them is "outside all known schemas" read as outside what the memory holds, and
  comparing a projection with projections leaves the projector's own fitting error out
  of the distance;
* ``map``: the night's embedded points (schema centroids and the sampled states) at their
  map coordinates;
* ``schemas``: the schema centroids' positions on the map (eq. 32 read literally);
* ``clusters``: the DBSCAN cluster centres.

A flag needs ``anomaly_persistence`` consecutive states of the day beyond the threshold
(2 by default: one far state alone is more often a familiar regime's tail than a new
regime; 1 is eq. 32 state by state). BENCHMARKS.md ("Does the monitor see what is new?")
measures the four references and the persistence. A map with no
reference point or no projector flags nothing, and nothing is flagged before the first
night. Distances are elementwise numpy and projections portable kernels: the same flags on
every CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core import projector as pj
from janus_sim.core.map_phase import distances

REFERENCES = ("memory", "map", "schemas", "clusters")


def reference_points(fitted: ev.ProjectionFitted, reference: str) -> np.ndarray:
    """The map coordinates of last night's points eq. 32 measures against, for the
    references that the event holds: every embedded point (``map``), the schema
    centroids (``schemas``) or the cluster centres (``clusters``); (k, 3). (``memory``
    needs the buffer: ``AnomalyMonitor.of``.)"""
    if reference == "clusters":
        rows = list(fitted.centres)
    elif reference == "schemas":
        rows = [
            c
            for c, key in zip(fitted.coords, fitted.point_ids, strict=True)
            if key.startswith("schema:")
        ]
    elif reference == "map":
        rows = list(fitted.coords)
    else:
        raise ValueError(f"unknown anomaly reference {reference!r}")
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


@dataclass(eq=False)
class AnomalyMonitor:
    """Eq. 32 against one night's map, for one day: see the module docstring. It counts
    the day's consecutive states beyond the threshold (``streak``)."""

    projector: pj.Projector
    points: np.ndarray
    scale: float
    threshold: float
    persistence: int = 1
    streak: int = 0

    @classmethod
    def of(
        cls,
        fitted: ev.ProjectionFitted | None,
        threshold: float,
        reference: str = "memory",
        memory: np.ndarray | None = None,
        persistence: int = 1,
    ) -> AnomalyMonitor | None:
        """The monitor of ``fitted``; None when it cannot flag anything (no map, no
        projector or nothing to measure against). ``memory`` (n, d): the buffered states
        as the projector reads them, required by the ``memory`` reference."""
        if reference not in REFERENCES:
            raise ValueError(f"unknown anomaly reference {reference!r}: one of {REFERENCES}")
        if fitted is None:
            return None
        net = pj.decode(fitted.projector)
        if net is None:
            return None
        if reference == "memory":
            if memory is None:
                raise ValueError("the memory reference needs the buffered states")
            points = net.project(memory) if len(memory) else np.zeros((0, 3))
        else:
            points = reference_points(fitted, reference)
        if not len(points):
            return None
        return cls(net, points, fitted.scale, threshold, persistence)

    def check(self, state: np.ndarray) -> tuple[np.ndarray, float, int]:
        """(map coordinates, normalized distance to the nearest reference point, its
        index)."""
        y = self.projector.project(state)
        dist = distances(self.points, y) / self.scale
        k = int(np.argmin(dist))
        return y, float(dist[k]), k

    def flag(
        self, state: np.ndarray, *, cycle: int, t_ns: int, transition_id: int
    ) -> ev.AnomalyFlagged | None:
        """The ``anomaly_flagged`` event of the day's next state if eq. 32 holds for it
        and for the ``persistence - 1`` states before it, else None."""
        y, dist, k = self.check(state)
        self.streak = self.streak + 1 if dist > self.threshold else 0
        if self.streak < self.persistence:
            return None
        return ev.AnomalyFlagged(
            cycle=cycle,
            t_ns=t_ns,
            entity=f"transition:{transition_id}",
            transition_id=transition_id,
            coords=tuple(y.tolist()),
            distance=dist,
            threshold=self.threshold,
            nearest_cluster=k,
        )
