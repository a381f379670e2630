"""Where a sweep's trials run: in this process, in local worker processes, or on Ray.

Each executor takes ``TrialTask``s and hands back ``TrialOutcome``s as they finish, in
whatever order they finish; the sweep itself (``sweep/run.py``) keeps the order, the
retries and the tables. A worker that dies (killed, out of memory) is a failed outcome
for the trials it held, never an exception that sinks the sweep.

- ``InlineExecutor``: one trial at a time in this process (debugging, the serial
  baseline of the benchmark).
- ``LocalExecutor``: a pool of ``spawn``ed processes, one trial each at a time. Spawn,
  not fork: a forked child would inherit the parent's threads (numba, DuckDB) mid-state.
  Each worker dies with the sweep's process (a parent-death signal), even a ``kill -9``.
- ``RayExecutor``: one Ray task per trial, one CPU each, on a local Ray (started here)
  or the cluster at ``address``. Ray is an optional extra: ``pip install
  'janus-sim[ray]'``. Every node must see the sweep folder (a shared filesystem) and
  have the same janus-sim installed.

Determinism does not depend on the executor: a run pins BLAS to one thread and draws
only from its own seeded generators, so a trial's digest is the same wherever it runs.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from janus_sim.adapters.stop_signals import StopCheck
from janus_sim.errors import ConfigError
from janus_sim.sweep.trial import TrialOutcome, TrialTask, run_trial

POLL_S = 0.2
"""How often a waiting executor looks at the stop flag (seconds)."""


class Executor(Protocol):
    workers: int
    name: str

    def run(self, tasks: Sequence[TrialTask], should_stop: StopCheck) -> Iterator[TrialOutcome]:
        """Yields one outcome per task as each finishes; at most ``workers`` run at once.
        Ends early, without error, once ``should_stop()`` names a signal (the sweep's stop
        flag, read at least every ``POLL_S``); closing the iterator early cancels the
        tasks that have not started."""
        ...

    def close(self) -> None:
        """Release the workers once every task has finished."""
        ...

    def abort(self) -> None:
        """Stop at once: cancel what has not started, stop what runs (a stopped trial
        is resumed by the next sweep)."""
        ...


PR_SET_PDEATHSIG = 1
"""Linux prctl(2): the signal a process gets when its parent dies."""


def _die_with(parent: int) -> None:
    """In a worker: be killed when the sweep's process dies, however it dies (a SIGKILL
    included, which runs no cleanup), so no worker outlives its driver; and with the
    workers gone the multiprocessing resource tracker, which waits for every holder of
    its pipe to exit, ends too. Linux only (prctl); elsewhere the pool's own shutdown is
    all there is. The parent may have died before prctl took effect: then exit now."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the check below still covers a driver already gone
    if os.getppid() != parent:
        os._exit(1)


def _leave_sigint_to_the_sweep(parent: int | None = None) -> None:
    """In a worker: ignore Ctrl-C, which the terminal sends to the whole process group.
    The sweep's process holds the stop flag and stops the workers itself (``abort``).
    With ``parent`` (the driver's PID), also die with it (``_die_with``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with(parent)


def _died(task: TrialTask, why: str) -> TrialOutcome:
    return TrialOutcome(trial_id=task.trial_id, status="failed", error=why)


class InlineExecutor:
    name = "inline"
    workers = 1

    def run(self, tasks: Sequence[TrialTask], should_stop: StopCheck) -> Iterator[TrialOutcome]:
        for task in tasks:
            if should_stop() is not None:
                return
            # In this process the trial's engine reads the flag itself, at every batch.
            yield run_trial(task, should_stop)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None

    def _fresh_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_leave_sigint_to_the_sweep,
            initargs=(os.getpid(),),
        )
        return self._pool

    def run(self, tasks: Sequence[TrialTask], should_stop: StopCheck) -> Iterator[TrialOutcome]:
        pool = self._pool or self._fresh_pool()
        todo = list(tasks)
        running: dict[cf.Future[TrialOutcome], TrialTask] = {}
        try:
            while todo or running:
                # Submit only what can start now, so a broken pool loses few tasks and a
                # cancelled sweep leaves nothing queued.
                while todo and len(running) < self.workers:
                    task = todo.pop(0)
                    running[pool.submit(run_trial, task)] = task
                done, _ = cf.wait(running, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
                if should_stop() is not None:
                    return
                for fut in sorted(done, key=lambda f: running[f].trial_id):
                    if fut not in running:  # requeued below when the pool broke
                        continue
                    task = running.pop(fut)
                    try:
                        yield fut.result()
                    except cf.process.BrokenProcessPool:
                        yield _died(task, "worker process died (killed or out of memory)")
                        # Every other task of the broken pool died with it: requeue them.
                        todo = [running.pop(f) for f in list(running)] + todo
                        pool = self._fresh_pool()
        finally:
            for fut in running:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The pool offers no public way to stop a running task; its workers are plain
        # multiprocessing processes, and a SIGTERMed trial is resumable.
        workers = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.join(timeout=10)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--executor", "ray", "Ray is not installed: pip install 'janus-sim[ray]'"
            ) from None
        self._ray: Any = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            try:
                ray.init(**kwargs)
            except Exception as e:  # ConnectionError, RuntimeError... one line either way
                where = address or "a local Ray"
                raise ConfigError("--address", where, f"cannot start or reach Ray ({e})") from e
        self.workers = workers or int(self._ray.cluster_resources().get("CPU", 1))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)

    def run(self, tasks: Sequence[TrialTask], should_stop: StopCheck) -> Iterator[TrialOutcome]:
        ray = self._ray
        todo = list(tasks)
        running: dict[Any, TrialTask] = {}
        try:
            while todo or running:
                while todo and len(running) < self.workers:
                    task = todo.pop(0)
                    running[self._remote.remote(task)] = task
                done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                if should_stop() is not None:
                    return
                for ref in done:
                    task = running.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as e:  # the worker died, or Ray lost the task
                        yield _died(task, f"Ray task failed: {type(e).__name__}")
        finally:
            for ref in running:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()

    def abort(self) -> None:
        self.close()  # shutting Ray down stops its workers


def make_executor(kind: str, *, workers: int | None, address: str | None) -> Executor:
    if kind == "ray":
        return RayExecutor(address, workers)
    if address:
        raise ConfigError("--address", address, "only applies with --executor ray")
    if kind == "inline":
        return InlineExecutor()
    return LocalExecutor(workers)
