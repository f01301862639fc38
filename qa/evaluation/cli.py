"""`qa eval`: the gold questions through every retrieval mode and the baseline; table or JSON, plus a chart."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.core.config import Settings
from qa.evaluation.gold import GoldError, load_gold

DEFAULT_GOLD = Path("eval") / "gold.jsonl"
REPORTS_DIR = Path("eval") / "reports"
# The gold file shipped with the project, for `qa eval` run outside the project folder.
_PROJECT_GOLD = Path(__file__).resolve().parents[2] / DEFAULT_GOLD


def default_gold() -> Path:
    """./eval/gold.jsonl when there is one, else the project's own."""
    return DEFAULT_GOLD if DEFAULT_GOLD.exists() else _PROJECT_GOLD


def run_eval_command(settings: Settings, gold: Path | None = None, *, as_json: bool = False) -> None:
    """Evaluate the index in settings against a gold file; prints a table (or one JSON object) and writes
    eval/reports/<gold name>.json and .png."""
    from qa.engine import Engine
    from qa.evaluation.report import format_table, write_chart, write_json
    from qa.evaluation.suite import evaluate

    path = gold or default_gold()
    if not path.exists():
        raise GoldError(f"no gold file at {path}: pass one with --gold FILE")
    questions = load_gold(path)
    engine = Engine.open(settings, progress=not as_json)
    report = evaluate(engine, questions, path.stem, progress=not as_json, meta={"gold": str(path)})
    stem = path.name.removesuffix(".jsonl").removesuffix(".json")
    chart = write_chart(report, REPORTS_DIR / f"{stem}.png")
    report["chart"] = str(chart)
    report["report"] = str(REPORTS_DIR / f"{stem}.json")
    write_json(report, REPORTS_DIR / f"{stem}.json")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(report))
        click.echo(f"report: {report['report']}; chart: {chart}")


def run_timeline_eval(settings: Settings, gold: Path, *, as_json: bool = False) -> None:
    """`qa eval --timeline FILE`: the index's timeline against a gold timeline (no model needed); prints the
    date and event precision/recall/F1 and writes eval/reports/<gold name>.json."""
    from qa.evaluation.timeline import load_timeline_gold, score_timeline
    from qa.timeline.events import index_events

    if not gold.exists():
        raise GoldError(f"no gold timeline at {gold}")
    events_gold = load_timeline_gold(gold)
    report = {
        "benchmark": gold.stem,
        "index": str(settings.index_dir),
        **score_timeline(index_events(settings.index_dir).events, events_gold),
    }
    path = REPORTS_DIR / f"{gold.stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for name in ("dates", "event"):
        m = report[name]
        click.echo(f"{name:6s} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}")
    click.echo(f"{report['events']} events found, {report['gold_events']} in the gold; missed {report['missed']}")
    for extra in report["extra"]:
        click.echo(f"  not in the gold: {extra}")
    click.echo(f"report: {path}")
