"""Reports of an evaluation: one JSON-ready dict, a terminal table and a matplotlib chart (PNG)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa.evaluation.metrics import percentile
from qa.evaluation.scoring import SystemScore

# (label, path into a system's dict): the rows of the table, in order.
ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("article R@1", ("article", "recall_1")),
    ("article R@5", ("article", "recall_5")),
    ("article R@10", ("article", "recall_10")),
    ("article MRR@10", ("article", "mrr_10")),
    ("article nDCG@10", ("article", "ndcg_10")),
    ("evidence R@1", ("evidence", "recall_1")),
    ("evidence R@5", ("evidence", "recall_5")),
    ("evidence R@10", ("evidence", "recall_10")),
    ("evidence MRR@10", ("evidence", "mrr_10")),
    ("evidence nDCG@10", ("evidence", "ndcg_10")),
    ("answer accuracy", ("answer_accuracy",)),
    ("short answer F1", ("short_f1",)),
    ("abstention precision", ("abstention_precision",)),
    ("abstention recall", ("abstention_recall",)),
    ("wrong abstentions", ("wrong_abstentions",)),
    ("latency p50 (ms)", ("latency_p50_ms",)),
    ("latency p95 (ms)", ("latency_p95_ms",)),
)
# The system every ratio is taken against the baseline for.
MAIN = "hybrid"


def _get(d: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = d
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _ratio(a: Any, b: Any) -> float | None:
    return round(a / b, 3) if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def build_report(
    name: str,
    scores: Sequence[SystemScore],
    *,
    embed_seconds: Sequence[float] = (),
    baseline: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole evaluation as one JSON-ready dict: systems, the question-embedding floor and the ratios."""
    systems = {s.system: s.to_dict() for s in scores}
    embed_p50 = percentile(embed_seconds, 50)
    embed_p95 = percentile(embed_seconds, 95)
    report: dict[str, Any] = {
        "benchmark": name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(meta or {}),
        "systems": systems,
        "embed_question_p50_ms": None if embed_p50 is None else round(embed_p50 * 1000, 2),
        "embed_question_p95_ms": None if embed_p95 is None else round(embed_p95 * 1000, 2),
    }
    main = systems.get(MAIN)
    ratios: dict[str, Any] = {}
    if main is not None and report["embed_question_p50_ms"]:
        # The latency target: a warm answer within twice the time the question's embedding takes alone.
        ratios["ask_p50_over_embed_p50"] = _ratio(main["latency_p50_ms"], report["embed_question_p50_ms"])
    if main is not None and baseline in systems:
        base = systems[baseline]
        ratios[f"{MAIN}_over_{baseline}"] = {
            label.replace(" ", "_").replace("@", "_at_").replace("(ms)", "").strip("_"): _ratio(
                _get(main, path), _get(base, path)
            )
            for label, path in ROWS
            if path[0] in ("article", "evidence") or path[0].startswith("latency")
        }
    report["ratios"] = ratios
    return report


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def format_table(report: Mapping[str, Any]) -> str:
    """The report as an aligned text table: one row per metric, one column per system."""
    systems: Mapping[str, Any] = report["systems"]
    names = list(systems)
    header = ["metric", *names]
    rows = [[label, *(_cell(_get(systems[n], path)) for n in names)] for label, path in ROWS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    first = systems[names[0]] if names else {}
    title = f"{report['benchmark']}: {first.get('questions', 0)} questions, {first.get('answerable', 0)} answerable"
    out = [title, line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    if report.get("embed_question_p50_ms") is not None:
        p50, p95 = report["embed_question_p50_ms"], report["embed_question_p95_ms"]
        out.append(f"question embedding alone: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    for key, value in report.get("ratios", {}).items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k} {_cell(v)}" for k, v in value.items() if v is not None)
            out.append(f"{key}: {shown}")
        else:
            out.append(f"{key}: {_cell(value)}")
    return "\n".join(out)


def write_json(report: Mapping[str, Any], path: Path) -> Path:
    """The report as pretty JSON (UTF-8); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


CHART_METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("art R@1", ("article", "recall_1")),
    ("art R@5", ("article", "recall_5")),
    ("art MRR", ("article", "mrr_10")),
    ("ev R@1", ("evidence", "recall_1")),
    ("ev R@5", ("evidence", "recall_5")),
    ("ev R@10", ("evidence", "recall_10")),
    ("ev MRR", ("evidence", "mrr_10")),
    ("ev nDCG", ("evidence", "ndcg_10")),
    ("answer acc", ("answer_accuracy",)),
    ("short F1", ("short_f1",)),
    ("abst recall", ("abstention_recall",)),
)


def write_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Quality per system (grouped bars) beside latency p50/p95 per system, as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to a file
    import matplotlib.pyplot as plt

    systems: Mapping[str, Any] = report["systems"]
    names = list(systems)
    fig, (ax_q, ax_t) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        values = [_get(systems[name], p) for _, p in CHART_METRICS]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(CHART_METRICS))]
        ax_q.bar(xs, [v if isinstance(v, int | float) else 0.0 for v in values], width, label=name)
    ax_q.set_xticks(range(len(CHART_METRICS)), [label for label, _ in CHART_METRICS])
    ax_q.set_ylim(0, 1.05)
    ax_q.set_ylabel("score")
    ax_q.grid(axis="y", alpha=0.3)
    # Below the plot: inside it the legend hides the bars it names.
    ax_q.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=max(len(names), 1), fontsize="small", frameon=False)
    ax_q.set_title(f"{report['benchmark']}: quality ({systems[names[0]]['questions'] if names else 0} questions)")
    p50 = [systems[n].get("latency_p50_ms") or 0.0 for n in names]
    p95 = [systems[n].get("latency_p95_ms") or 0.0 for n in names]
    xs_t = range(len(names))
    ax_t.bar([x - 0.2 for x in xs_t], p50, 0.4, label="p50")
    ax_t.bar([x + 0.2 for x in xs_t], p95, 0.4, label="p95")
    if report.get("embed_question_p50_ms"):
        ax_t.axhline(report["embed_question_p50_ms"], color="grey", linestyle="--", label="embed question p50")
    ax_t.set_xticks(list(xs_t), names, rotation=20)
    ax_t.set_ylabel("ms per question")
    ax_t.set_title("latency")
    ax_t.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
