"""Proof that the digest does not depend on the machine's numerics, on one machine.

Runs one scenario in fresh processes, each under another numerics setting that changes
what a CPU-dependent computation would give, and collects the digests:

* numpy's SIMD dispatch, from everything this CPU has down to the baseline
  (``NPY_DISABLE_CPU_FEATURES``);
* OpenBLAS kernels this CPU can execute (``OPENBLAS_CORETYPE``: Prescott, Sandybridge,
  Haswell, SkylakeX);
* numba compiling for a generic x86-64 instead of this CPU (``NUMBA_CPU_NAME``);
* the C library's math without FMA and AVX (``GLIBC_TUNABLES=glibc.cpu.hwcaps=...``: glibc
  then loads the exp, log, pow and sin that a CPU without FMA would run, which round
  differently from the FMA variants);
* one thread, and many, for BLAS, OpenMP and numba.

A portable digest is the same in every row. ``tests/e2e/test_portable_digest.py`` runs
this in CI; ``python -m janus_sim.portable_check SCENARIO`` prints one process's
digest and numerics profile as JSON (what each fresh process runs).

``janus-sim doctor`` runs the same way (``doctor_settings``: thread counts, the hash
seed, a fresh process against its own), each process writing its log to a store so that
a different digest can be traced to its first divergent event; ``RunOptions`` adjusts
the scenario identically in every process (seed, first N days, projection forced on).
A check that is interrupted (Ctrl-C) kills the processes it started.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from janus_sim.app.run_inputs import ScenarioInput

_CORETYPES = (
    ("Prescott", ""),
    ("Sandybridge", "avx"),
    ("Haswell", "avx2"),
    ("SkylakeX", "avx512f"),
)
_NO_FMA = "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX,-AVX512F"
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The variables that size the BLAS and OpenMP thread pools (OpenBLAS, OpenMP, MKL)."""
IN_PROCESS = "in-process"
"""The doctor's reference: the run in the doctor's own process, environment as it is."""


@dataclass(frozen=True)
class Setting:
    name: str
    env: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    setting: Setting
    digest: str
    n_events: int
    error: str = ""
    store: str = ""
    """The store the run wrote its log to (run ``RUN_ID``); empty when it kept none."""

    @property
    def name(self) -> str:
        return self.setting.name


RUN_ID = "doctor"
"""The run id of a run written to a store by this module."""


@dataclass(frozen=True)
class RunOptions:
    """How every process adjusts the scenario before it runs (all of them the same way):
    ``seed`` overrides the file's, ``days`` keeps the first N trading days, ``projection``
    forces phase 3 on."""

    seed: int | None = None
    days: int | None = None
    projection: bool = False

    def argv(self) -> list[str]:
        out = [] if self.seed is None else ["--seed", str(self.seed)]
        out += [] if self.days is None else ["--days", str(self.days)]
        return out + (["--projection"] if self.projection else [])


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def _numpy_dispatch() -> list[str]:
    """numpy's dispatch targets this CPU supports, lowest first."""
    import importlib

    mu = importlib.import_module("numpy._core._multiarray_umath")
    found = getattr(mu, "__cpu_features__", {})
    return [f for f in getattr(mu, "__cpu_dispatch__", []) if found.get(f)]


def settings() -> list[Setting]:
    """The numerics settings this machine can run (see the module doc), default first."""
    out = [Setting("default", {})]
    dispatch = _numpy_dispatch()
    # Disabling a feature disables nothing below it: each prefix drops the top targets.
    for k in range(len(dispatch)):
        off = dispatch[k:]
        out.append(
            Setting(f"numpy without {','.join(off)}", {"NPY_DISABLE_CPU_FEATURES": ",".join(off)})
        )
    flags = _cpu_flags()
    machine = os.uname().machine
    if machine in ("x86_64", "AMD64"):
        for core, needs in _CORETYPES:
            if not needs or needs in flags:
                out.append(Setting(f"OpenBLAS {core}", {"OPENBLAS_CORETYPE": core}))
        out.append(Setting("libm without FMA/AVX", {"GLIBC_TUNABLES": _NO_FMA}))
    out.append(Setting("numba generic target", {"NUMBA_CPU_NAME": "generic"}))
    one = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    many = {k: "8" for k in one}
    out += [Setting("one thread", one), Setting("eight threads", many)]
    return out


def thread_settings(many: int = 4) -> list[Setting]:
    """BLAS/OpenMP/MKL and numba thread pools at one thread and at ``many``, separately."""
    out = []
    for n in (1, many):
        unit = "thread" if n == 1 else "threads"
        out.append(Setting(f"BLAS/OpenMP {n} {unit}", {k: str(n) for k in BLAS_THREADS}))
    for n in (1, many):
        unit = "thread" if n == 1 else "threads"
        out.append(Setting(f"numba {n} {unit}", {"NUMBA_NUM_THREADS": str(n)}))
    return out


def doctor_settings(many_threads: int = 4) -> list[Setting]:
    """What ``janus-sim doctor`` runs, reference first: the doctor's own process, a fresh
    process as it is, each thread pool at 1 and ``many_threads`` threads, and two hash
    seeds (none of which may change the digest)."""
    out = [Setting(IN_PROCESS, {}), Setting("fresh process", {})]
    out += thread_settings(many_threads)
    out += [Setting(f"PYTHONHASHSEED={v}", {"PYTHONHASHSEED": v}) for v in ("0", "4242")]
    return out


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # Start from this project's defaults, not from whatever the caller's shell pinned.
    for key in (
        "NPY_DISABLE_CPU_FEATURES",
        "NPY_ENABLE_CPU_FEATURES",
        "NUMBA_CPU_NAME",
        "NUMBA_CPU_FEATURES",
        "GLIBC_TUNABLES",
    ):
        env.pop(key, None)
    if "OPENBLAS_CORETYPE" in extra:
        env.pop("OPENBLAS_L2_SIZE", None)
    env.update(extra)
    return env


def adjusted_input(path: str | Path, options: RunOptions) -> tuple[ScenarioInput, tuple[str, ...]]:
    """The scenario at ``path`` loaded (``wiring.load_scenario``) and adjusted by
    ``options``, with a note for each adjustment that changed it. A changed scenario
    carries its canonical JSON as its text (what a sweep trial stores); ConfigError for
    a bad file, as ``run`` gives."""
    from janus_sim.adapters.bars_file import load_market_data
    from janus_sim.app.run_inputs import ScenarioInput
    from janus_sim.wiring import load_scenario

    inputs = load_scenario(path).with_seed(options.seed)
    sc, bars, notes = inputs.scenario, inputs.bars, []
    if options.projection and not sc.projection.enabled:
        sc = sc.model_copy(
            update={"projection": sc.projection.model_copy(update={"enabled": True})}
        )
        notes.append("projection forced on (the scenario has projection.enabled: false)")
    if options.days is not None:
        dates = bars.dates if bars is not None else sc.calendar.trading_days()
        if options.days < len(dates):
            end = dates[options.days - 1]
            sc = sc.model_copy(update={"calendar": sc.calendar.model_copy(update={"end": end})})
            if bars is not None:  # clip the bars to the shorter calendar
                sc, bars = load_market_data(sc, Path(path).parent, str(path))
            notes.append(f"the first {options.days} of {len(dates)} trading days (to {end})")
    if not notes:
        return inputs, ()
    return ScenarioInput(sc, sc.canonical_json(), inputs.source, bars), tuple(notes)


def run_into_store(inputs: ScenarioInput, store: Path) -> tuple[str, int]:
    """(digest, event count) of the run of ``inputs`` written to a new store at ``store``
    as run ``RUN_ID``, without a schema collection (the composition root's run)."""
    from janus_sim.wiring import open_run

    with open_run(inputs, store, run_id=RUN_ID, keep_vectors=False) as opened:
        result = opened.engine.run()
    return result.digest, result.n_events


class _Children:
    """The processes a check started and that still run: ``stop`` kills them and keeps
    any more from starting (an interrupted check leaves nothing behind)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[subprocess.Popen[str]] = []
        self._stopped = False

    def run(self, argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of ``argv``; status -1 when it timed out or the
        check was stopped."""
        with self._lock:
            if self._stopped:
                return -1, "", "stopped"
            proc = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            self._running.append(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return -1, out, f"timed out after {timeout:g} s"
        finally:
            with self._lock:
                self._running.remove(proc)
        return proc.returncode, out, err

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for proc in self._running:
                proc.kill()


def run_one(
    scenario: Path,
    setting: Setting,
    timeout: float = 600.0,
    *,
    options: RunOptions | None = None,
    store: Path | None = None,
    children: _Children | None = None,
) -> Outcome:
    """The digest of ``scenario`` (adjusted by ``options``) from a fresh process under
    ``setting``; with ``store``, the process writes its log there (run ``RUN_ID``)."""
    argv = [sys.executable, "-m", "janus_sim.portable_check", str(scenario)]
    argv += (options or RunOptions()).argv()
    argv += [] if store is None else ["--store", str(store)]
    code, out, err = (children or _Children()).run(argv, _env(setting.env), timeout)
    if code != 0:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        return Outcome(setting, "", 0, f"exit {code}: {tail}" if code > 0 else tail)
    doc = json.loads(out.strip().splitlines()[-1])
    return Outcome(setting, str(doc["digest"]), int(doc["n_events"]), store=str(store or ""))


def check(
    scenario: Path,
    chosen: Sequence[Setting] | None = None,
    *,
    workers: int = 2,
    progress: Callable[[Outcome], None] | None = None,
    options: RunOptions | None = None,
    stores: Path | None = None,
) -> list[Outcome]:
    """Every setting's outcome, in the order of ``chosen`` (default: ``settings()``); with
    ``stores``, setting i's process writes its log to the store ``stores/<i>``.

    An exception here (KeyboardInterrupt included) kills the processes still running
    before it propagates."""
    todo = list(chosen if chosen is not None else settings())
    children = _Children()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = [
            pool.submit(
                run_one,
                scenario,
                s,
                options=options,
                store=None if stores is None else stores / f"{i:02d}",
                children=children,
            )
            for i, s in enumerate(todo)
        ]
        outcomes = []
        for f in futures:
            outcomes.append(f.result())
            if progress is not None:
                progress(outcomes[-1])
    except BaseException:
        children.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return outcomes


def in_process(inputs: ScenarioInput, store: Path) -> Outcome:
    """The ``IN_PROCESS`` outcome: ``inputs`` run here, its log written to ``store``."""
    digest, n_events = run_into_store(inputs, store)
    return Outcome(Setting(IN_PROCESS, {}), digest, n_events, store=str(store))


def _main(argv: Sequence[str]) -> int:
    from janus_sim import numerics
    from janus_sim.app.baseline import record

    parser = argparse.ArgumentParser(prog="python -m janus_sim.portable_check")
    parser.add_argument("scenario")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--projection", action="store_true")
    parser.add_argument("--store", type=Path, help="write the log there (run 'doctor')")
    args = parser.parse_args(argv)
    options = RunOptions(args.seed, args.days, args.projection)
    inputs, _ = adjusted_input(args.scenario, options)
    if args.store is None:
        base = record(inputs)
        digest, n_events = base.digest, base.n_events
    else:
        digest, n_events = run_into_store(inputs, args.store)
    doc = {"digest": digest, "n_events": n_events, "numerics": numerics.profile()}
    print(json.dumps(doc, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
