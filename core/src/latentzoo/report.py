"""Aggregating a sweep: per arm mean ± std of every metric, claims checked, a figure.

``latentzoo report DIR`` reads ``DIR/sweep.json`` and each run's ``metrics.json`` and writes
``report.md``, ``report.json`` and, when the sweep has an axis, ``report.png`` (each metric
against the axis value, mean ± std over seeds).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from latentzoo.errors import UserError
from latentzoo.runs import atomic_write_json, atomic_write_text


def flatten(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{stage}.{name}": value for stage, values in metrics.items()
            for name, value in values.items()}


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def aggregate(parent: Path) -> dict[str, Any]:
    sweep_file = parent / "sweep.json"
    if not sweep_file.exists():
        raise UserError(f"{parent} is not a sweep directory (no sweep.json); "
                        "`latentzoo report` aggregates the runs of a sweep")
    sweep = json.loads(sweep_file.read_text())
    arms: dict[str, dict[str, Any]] = {}
    for run in sweep["runs"]:
        arm = arms.setdefault(run["arm"], {"x": run.get("x"), "seeds": [], "values": {},
                                           "missing": []})
        metrics_path = parent / run["path"] / "metrics.json"
        if not metrics_path.exists():
            arm["missing"].append(run["seed"])
            continue
        arm["seeds"].append(run["seed"])
        for key, value in flatten(json.loads(metrics_path.read_text())).items():
            arm["values"].setdefault(key, []).append(value)
    table = {}
    for name, arm in arms.items():
        table[name] = {
            "x": arm["x"],
            "seeds": arm["seeds"],
            "missing_seeds": arm["missing"],
            "metrics": {key: dict(zip(("mean", "std"), _mean_std(values), strict=True)) | {"n": len(values)}
                        for key, values in sorted(arm["values"].items())},
        }
    claims = [check_claim(claim, table, sweep.get("axis", "")) for claim in sweep.get("claims", [])]
    return {"name": sweep["name"], "quick": sweep.get("quick", False), "axis": sweep.get("axis", ""),
            "arms": table, "arm_order": list(table),  # report.json's keys are sorted
            "claims": claims, "created": time.strftime("%Y-%m-%d %H:%M")}


def _side(text, table: dict) -> tuple[float | None, str]:
    """A claim's side: a number, ``arm:stage.metric`` (mean over seeds), or ``x / y``, ``x - y``."""
    if isinstance(text, (int, float)):
        return float(text), f"{text:g}"
    for symbol, combine in ((" / ", lambda a, b: a / b if b else None), (" - ", lambda a, b: a - b)):
        if symbol in text:
            (a, a_text), (b, b_text) = (_side(part.strip(), table) for part in text.split(symbol, 1))
            value = combine(a, b) if a is not None and b is not None else None
            shown = f"({a_text}){symbol}({b_text})"
            return value, shown if value is None else f"{shown} = {value:.4g}"
    try:
        return float(text), text
    except ValueError:
        pass
    arm, _, metric = text.partition(":")
    arm, metric = arm.strip(), metric.strip()
    if arm not in table:  # e.g. an axis value left out of a --quick run
        return None, f"{arm}:{metric} (arm not run)"
    stats = table[arm]["metrics"].get(metric)
    if stats is None:
        return None, text
    return stats["mean"], f"{arm}:{metric} = {stats['mean']:.4g} ± {stats['std']:.2g}"


def series_name(arm: str, axis: str) -> str:
    """The line an axis point belongs to: ``infonce@temperature=0.1`` -> ``infonce``; without arms,
    ``temperature=0.1`` -> ``temperature`` (the axis' last part)."""
    return arm.split("@", 1)[0] if "@" in arm else axis.rsplit(".", 1)[-1]


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation (ties get their average rank); 0 when either side is constant."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
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

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def check_trend(claim: dict, table: dict, axis: str) -> dict[str, Any]:
    """``lhs`` rises (falls) along the axis: Spearman ρ(x, seed means) ≥ rhs (≤ −rhs)."""
    series, _, metric = claim["lhs"].partition(":")
    points = sorted((arm["x"], arm["metrics"][metric]["mean"]) for name, arm in table.items()
                    if arm.get("x") is not None and series_name(name, axis) == series.strip()
                    and metric in arm["metrics"])
    result = {"text": claim["text"], "op": claim["op"], "rhs": claim["rhs"]}
    if len(points) < 2:
        return result | {"lhs": f"{claim['lhs']} ({len(points)} axis values)", "holds": None,
                         "verdict": "not measured (fewer than 2 axis values)"}
    rho = spearman([x for x, _ in points], [y for _, y in points])
    shown = ", ".join(f"{y:.3g}" for _, y in points)
    threshold = float(claim["rhs"])
    holds = rho >= threshold if claim["op"] == "increases" else rho <= -threshold
    return result | {"lhs": f"{claim['lhs']} = {shown} at {axis.rsplit('.', 1)[-1]} = "
                            f"{', '.join(f'{x:g}' for x, _ in points)}; Spearman ρ = {rho:.2f}",
                     "lhs_value": rho, "bound": threshold if claim["op"] == "increases" else -threshold,
                     "holds": bool(holds), "verdict": "holds" if holds else "does not hold"}


def check_claim(claim: dict, table: dict, axis: str = "") -> dict[str, Any]:
    if claim["op"] in ("increases", "decreases"):
        return check_trend(claim, table, axis)
    lhs, lhs_text = _side(claim["lhs"], table)
    rhs, rhs_text = _side(claim["rhs"], table)
    result = {"text": claim["text"], "lhs": lhs_text, "rhs": rhs_text, "op": claim["op"]}
    if lhs is None or rhs is None:
        return result | {"holds": None, "verdict": "not measured (metric missing)"}
    bound = claim.get("scale", 1.0) * rhs + claim.get("offset", 0.0)
    holds = {">": lhs > bound, ">=": lhs >= bound, "<": lhs < bound, "<=": lhs <= bound}[claim["op"]]
    return result | {"lhs_value": lhs, "bound": bound, "holds": bool(holds),
                     "verdict": "holds" if holds else "does not hold"}


def _format(stats: dict) -> str:
    mean, std = stats["mean"], stats["std"]
    if not math.isfinite(mean):
        return str(mean)
    return f"{mean:.4g} ± {std:.2g}"


MAX_COLUMNS = 8


def to_markdown(report: dict[str, Any]) -> str:
    """One table (arms x metrics), or one per stage when there are many metrics; then claims."""
    arms = {name: report["arms"][name] for name in report.get("arm_order", report["arms"])}
    metrics = sorted({key for arm in arms.values() for key in arm["metrics"]})
    lines = [f"## {report['name']}" + (" (quick smoke run)" if report["quick"] else ""), ""]
    groups: dict[str, list[str]] = {"": metrics}
    if len(metrics) > MAX_COLUMNS:
        groups = {}
        for metric in metrics:
            groups.setdefault(metric.split(".", 1)[0], []).append(metric)
    for stage, columns in groups.items():
        if stage:
            lines += [f"Stage `{stage}`:", ""]
        names = [c.split(".", 1)[1] if stage else c for c in columns]
        lines.append("| arm | seeds | " + " | ".join(names) + " |")
        lines.append("|---|---|" + "---|" * len(columns))
        for name, arm in arms.items():
            if stage and not any(m in arm["metrics"] for m in columns):
                continue
            cells = [_format(arm["metrics"][m]) if m in arm["metrics"] else "–" for m in columns]
            seeds = ",".join(str(s) for s in arm["seeds"]) or "none"
            lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.pop()
    if report["claims"]:
        lines += ["", "| claim | measured | verdict |", "|---|---|---|"]
        for claim in report["claims"]:
            measured = f"{claim['lhs']} {claim['op']} {claim['rhs']}"
            if claim["op"] in ("increases", "decreases"):
                sign = "≥" if claim["op"] == "increases" else "≤"
                measured = f"{claim['lhs']} ({claim['op']}: ρ {sign} {claim.get('bound', claim['rhs']):g})"
            elif claim.get("bound") is not None and claim["bound"] != _maybe_float(str(claim["rhs"])):
                measured += f" (bound {claim['bound']:.4g})"
            lines.append(f"| {claim['text']} | {measured} | **{claim['verdict']}** |")
        verdicts = [claim["holds"] for claim in report["claims"]]
        summary = f"{verdicts.count(True)} of {len(verdicts)} claims hold"
        if None in verdicts:
            summary += f", {verdicts.count(None)} not measured"
        lines += ["", summary + "."]
    lines += ["", f"Mean ± sample std over seeds; generated {report['created']}.", ""]
    return "\n".join(lines)


def _maybe_float(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def axis_figure(report: dict[str, Any]):
    """Each metric against the sweep axis, one line per base arm, mean ± std band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = {name: arm for name, arm in report["arms"].items() if arm["x"] is not None}
    metrics = sorted({key for arm in arms.values() for key in arm["metrics"]})
    if not arms or not metrics:
        return None
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    groups: dict[str, list[tuple[float, dict]]] = {}
    for name, arm in arms.items():
        groups.setdefault(series_name(name, report["axis"]), []).append((arm["x"], arm["metrics"]))
    for axis, metric in zip(axes.flat, metrics, strict=False):
        for base, points in groups.items():
            points = sorted((x, m[metric]) for x, m in points if metric in m)
            xs = [x for x, _ in points]
            means = [s["mean"] for _, s in points]
            stds = [s["std"] for _, s in points]
            axis.plot(xs, means, marker="o", label=base)
            axis.fill_between(xs, [m - s for m, s in zip(means, stds, strict=True)],
                              [m + s for m, s in zip(means, stds, strict=True)], alpha=0.2)
        axis.set_xlabel(report["axis"])
        axis.set_title(metric, fontsize=9)
        if xs and min(xs) > 0 and max(xs) / min(xs) >= 20:
            axis.set_xscale("log")
    for axis in list(axes.flat)[len(metrics):]:
        axis.axis("off")
    if len(groups) > 1:
        axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def write_report(parent: str | Path) -> dict[str, Any]:
    parent = Path(parent)
    report = aggregate(parent)
    atomic_write_json(parent / "report.json", report)
    atomic_write_text(parent / "report.md", to_markdown(report))
    figure = axis_figure(report)
    if figure is not None:
        import matplotlib.pyplot as plt

        figure.savefig(parent / "report.png", dpi=110)
        plt.close(figure)
    return report
