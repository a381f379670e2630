"""The progress bars of ``janus-sim run`` (an engine ``Observer``), apart from the tables
in ``render`` so that commands which only read a store do not import the engine."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from janus_sim.app.run_outcome import Observer


class ProgressObserver(Observer):
    """Two bars: trading days, and the current night's replay iterations."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._days = self.progress.add_task("days", total=None, visible=False)
        self._replay = self.progress.add_task("replay", total=None, visible=False)

    def __enter__(self) -> ProgressObserver:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def run_started(self, run_id: str, n_days: int, n_replays: int) -> None:
        self.progress.update(self._days, total=n_days, visible=True, description="days")
        self.progress.update(self._replay, total=n_replays, visible=True)

    def day_started(self, day: int, date: str) -> None:
        self.progress.update(self._days, description=f"day {date}")
        self.progress.update(self._replay, completed=0, description="  replay (phase 1)")

    def replay_progress(self, done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            self.progress.update(self._replay, completed=done)

    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None:
        self.progress.advance(self._days)
