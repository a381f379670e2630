"""Run the CLI and SIGKILL this very process at an exact point (for crash-safety tests).

    python -m tests.e2e.kill_harness POINT N -- janus-sim arguments...

POINT is where the N-th occurrence (1-based) kills the process:

* ``mid-append``: inside an append's transaction, after its rows were inserted and
  before COMMIT (so DuckDB must roll the batch back on the next open);
* ``append-begun``: inside an append's transaction, before the rows are inserted;
* ``after-append``: just after an append committed (between batches);
* ``replay``: inside a night's phase 1, at the N-th policy step of the run;
* ``consolidation``: inside the N-th night's phase 2;
* ``finish``: after the last batch, before the run is marked finished.
"""

from __future__ import annotations

import os
import signal
import sys
from types import ModuleType
from typing import Any

from janus_sim import eventlog
from janus_sim.adapters import duckdb_store
from janus_sim.app import engine
from janus_sim.core import agent, consolidation, sleep


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Counter:
    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def hit(self) -> None:
        self.seen += 1
        if self.seen == self.n:
            _die()


class _KillAtCommit:
    """A connection proxy that dies at the chosen append's COMMIT."""

    def __init__(self, con: Any, counter: _Counter) -> None:
        self._con, self._counter = con, counter

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            self._counter.hit()
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _rebind(module: ModuleType, name: str, new: Any) -> None:
    """Replace the global ``name`` that ``module`` imported and calls at run time.

    The module's own binding is what must change (patching the defining module would miss
    it); ``setattr`` because these are imports the module does not re-export.
    """
    if not hasattr(module, name):
        raise SystemExit(f"{module.__name__} no longer uses {name}: update the kill harness")
    setattr(module, name, new)


def install(point: str, n: int) -> None:
    counter = _Counter(n)
    store_cls = duckdb_store.DuckDBEventStore
    if point == "mid-append":
        writable = store_cls._writable

        def proxy(self: Any) -> Any:
            return _KillAtCommit(writable(self), counter)

        store_cls._writable = proxy  # type: ignore[method-assign]
    elif point == "append-begun":
        chain = eventlog.chain_hashes

        def chain_then_die(prev: bytes, batch: Any, *rest: Any) -> Any:
            counter.hit()
            return chain(prev, batch, *rest)

        _rebind(duckdb_store, "chain_hashes", chain_then_die)
    elif point == "after-append":
        append = store_cls.append

        def append_then_die(self: Any, batch: Any) -> None:
            append(self, batch)
            counter.hit()

        store_cls.append = append_then_die  # type: ignore[method-assign]
    elif point == "replay":
        plain, compiled = agent.policy_step, agent.compiled_policy_step
        inside = [False]  # compiled_policy_step may fall back on policy_step: count once

        def plain_then_die(*args: Any, **kwargs: Any) -> Any:
            if not inside[0]:
                counter.hit()
            return plain(*args, **kwargs)

        def compiled_then_die(*args: Any, **kwargs: Any) -> Any:
            counter.hit()
            inside[0] = True
            try:
                return compiled(*args, **kwargs)
            finally:
                inside[0] = False

        # agent.buffer_step calls one of the two through agent's own globals: every replay
        # step (and the gated update's) passes here once.
        _rebind(agent, "policy_step", plain_then_die)
        _rebind(agent, "compiled_policy_step", compiled_then_die)
    elif point == "consolidation":
        phase = consolidation.consolidation_phase

        def phase_then_die(*args: Any, **kwargs: Any) -> Any:
            out = phase(*args, **kwargs)  # the night's phase-2 events exist, unflushed
            counter.hit()
            return out

        _rebind(sleep, "consolidation_phase", phase_then_die)
    elif point == "finish":
        execute = engine.Engine._execute

        def finish_dies(self: Any, **kwargs: Any) -> Any:
            self.store.finish_run = lambda *a, **k: _die()
            return execute(self, **kwargs)

        engine.Engine._execute = finish_dies  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    point, n, sep, *argv = sys.argv[1:]
    assert sep == "--"
    install(point, int(n))
    from janus_sim.cli.main import main

    main(argv)
    raise SystemExit(f"the process reached the end without dying at {point} #{n}")
