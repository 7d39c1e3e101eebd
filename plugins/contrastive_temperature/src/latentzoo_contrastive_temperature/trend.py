"""Rank correlation of seed-mean metrics with the sweep axis (the spec's C1/C2 Spearman test).

A sweep's claims compare arm means pairwise. The spec states C1 and C2 as Spearman(τ, seed-mean
metric) ≥ 0.9, which is a statement over all the τ values at once. This reads a sweep's
``report.json`` and prints that correlation for every base arm and metric:

    python -m latentzoo_contrastive_temperature.trend RUNS/repro-contrastive_temperature-…/temperature_sweep
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

__all__ = ["ranks", "spearman", "axis_trends"]


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: list[float], y: list[float]) -> float:
    """Pearson correlation of the ranks; NaN with fewer than 2 points or a constant input."""
    if len(x) != len(y):
        raise ValueError(f"spearman needs equal lengths, found {len(x)} and {len(y)}")
    if len(x) < 2:
        return math.nan
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else math.nan


def axis_trends(report: dict) -> dict[str, dict[str, float]]:
    """{base arm: {metric: Spearman(axis value, seed-mean metric)}} of a report with an axis."""
    groups: dict[str, list[tuple[float, dict]]] = {}
    for name, arm in report["arms"].items():
        if arm.get("x") is None:
            continue
        groups.setdefault(name.split("@", 1)[0], []).append((arm["x"], arm["metrics"]))
    trends: dict[str, dict[str, float]] = {}
    for base, points in groups.items():
        points.sort(key=lambda p: p[0])
        metrics = sorted(set.intersection(*(set(m) for _, m in points)))
        trends[base] = {metric: spearman([x for x, _ in points], [m[metric]["mean"] for _, m in points])
                        for metric in metrics}
    return trends


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    path = Path(argv[0])
    path = path / "report.json" if path.is_dir() else path
    if not path.exists():
        print(f"no report.json at {path}", file=sys.stderr)
        return 2
    report = json.loads(path.read_text())
    print(f"| arm | metric | Spearman(axis '{report.get('axis', '')}', seed mean) |\n|---|---|---|")
    for base, values in axis_trends(report).items():
        for metric, value in values.items():
            print(f"| {base} | {metric} | {value:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
