"""The sleep cycle at 1k, 10k and 100k transitions: time, peak memory, growth exponents.

Each size runs in its own fresh process (``night.py --warmup``: a tiny run first, so the
night measured is warm) with the buffer's capacity raised to the size and the day holding
that many transitions (the heaviest night; 100k is 99,999 transitions, a calendar day's
bar limit). ``n_replays`` stays at 1,000 at every size. Peak memory is the process's peak
resident set (``resource.getrusage``) after the night, which includes the awake day and
the imports; ``above_import_mb`` subtracts what the process held after its imports.

The growth exponents are least-squares slopes of log(value) against log(transitions):
1 is linear. ``--quick``: 1k and 3k transitions, 100 replay iterations.
"""

from __future__ import annotations

import math
from typing import Any

from fresh import figure, night

GOALS_S = {10_000: 3.0, 100_000: 15.0}
"""Issue 18's bounds on the warm night (the five phases): 10k <= 3 s, 100k <= 15 s."""


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(ys) on log(xs); None without two positive points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    return round(sxy / sxx, 3)


def run(quick: bool = False) -> list[dict[str, Any]]:
    sizes, replays = ([1_000, 3_000], 100) if quick else ([1_000, 10_000, 100_000], None)
    figures: list[dict[str, Any]] = []
    xs: list[float] = []
    times: list[float] = []
    peaks: list[float] = []
    above: list[float] = []
    for n in sizes:
        out = night(n, replays=replays, warmup=True)
        (result,) = out["runs"]
        rec = result["night"]
        label = f"{n // 1000}k"
        peak = result["peak_rss_mb_after_night"]
        extra = round(peak - out["import_rss_mb"], 1)
        ctx = {
            "transitions": result["transitions"],
            "capacity": result["capacity"],
            "n_replays": result["n_replays"],
            "consolidated": result["consolidated"],
            "schemas": result["n_schemas"],
        }
        phases = {k: v for k, v in rec.items() if k.startswith("phase") or k == "separation"}
        figures.append(
            figure(
                f"scaling_sleep_{label}",
                rec["five_phases"],
                "s",
                GOALS_S.get(n),
                night_total=rec["night"],
                **phases,
                **ctx,
            )
        )
        figures.append(
            figure(
                f"scaling_peak_rss_{label}",
                peak,
                "MiB",
                before_night=result["peak_rss_mb_before_night"],
                above_import_mb=extra,
                **ctx,
            )
        )
        xs.append(result["transitions"])
        times.append(rec["five_phases"])
        peaks.append(peak)
        above.append(extra)
    figures += [
        figure("scaling_time_exponent", slope(xs, times), "log-log slope", sizes=xs),
        figure("scaling_peak_rss_exponent", slope(xs, peaks), "log-log slope", sizes=xs),
        figure("scaling_rss_above_import_exponent", slope(xs, above), "log-log slope", sizes=xs),
    ]
    return figures
