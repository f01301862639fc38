"""Charts issue #17's fitted steps on every set, before and after, from the reports in eval/reports/: the span
reader (before: QA_SPAN_READER=off, or the int8 reports) in span-reader.png, and its abstention as a calibrated
probability (shipped since session 17, against the rules plus the reader's `low` margin it replaces) in
answerable.png, the choice fitted on PIAF and news questions alike (session 18) in choice-news.png, and the fitted
sentence chooser measured against it (session 19, not shipped) in chooser-news.png."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"

# (label, report before, report after, system); the before reports were written with the span reader off.
SETS = (
    ("PIAF test FR", "piaf-test-int8", "piaf-test-span", "hybrid"),
    ("PIAF test EN", "piaf-en-test-int8", "piaf-en-test-span", "en:hybrid"),
    ("seed gold (in view)", "gold-span-off", "gold-span", "hybrid"),
    ("unseen gold", "gold_unseen-span-off", "gold_unseen-span", "hybrid"),
)
# The same for the abstention: (label, before, after, metric); before is the span reader with the rules plus `low`.
ABSTENTION = (
    ("PIAF test FR\nwrong abstentions", "piaf-test-span", "piaf-test-answerable", "wrong_share"),
    ("PIAF test made\nunanswerable: recall", "piaf-holdout-test-span", "piaf-holdout-test-answerable", "abstention_recall"),
    ("... its wrong\nabstentions", "piaf-holdout-test-span", "piaf-holdout-test-answerable", "wrong_share"),
    ("seed gold (in view)\nrecall", "gold-span", "gold-answerable", "abstention_recall"),
    ("unseen gold\nrecall", "gold_unseen-span", "gold_unseen-answerable", "abstention_recall"),
)

# The sentence choice (k, delta) fitted on PIAF and the news training questions (session 18), against session 17's.
CHOICE = (
    ("PIAF test FR", "piaf-test-answerable", "piaf-test-choice-news", "hybrid"),
    ("PIAF test EN", "piaf-en-test-answerable", "piaf-en-test-choice-news", "en:hybrid"),
    ("news calibration\n(held out)", "news_calib-shipped", "news_calib-choice-news", "hybrid"),
    ("seed gold\n(in view)", "gold-answerable", "gold-choice-news", "hybrid"),
    ("unseen gold", "gold_unseen-answerable", "gold_unseen-choice-news", "hybrid"),
    ("fresh gold", "gold_fresh-answerable", "gold_fresh-choice-news", "hybrid"),
)

# The fitted sentence chooser (session 19: fitted on PIAF and news, with the period-aware pick and the abstention
# refitted; not shipped) against the shipped margin rule; the recall panel reads the sets with unanswerable questions.
CHOOSER = (
    ("PIAF test FR", "piaf-test-choice-news", "piaf-test-chooser-period", "hybrid"),
    ("PIAF test EN", "piaf-en-test-choice-news", "piaf-en-test-chooser-period", "en:hybrid"),
    ("news, held-out\narticles", "news_calib-choice-news", "news_calib-chooser-period", "hybrid"),
    ("seed gold\n(in view)", "gold-choice-news", "gold-chooser-period", "hybrid"),
    ("unseen gold", "gold_unseen-choice-news", "gold_unseen-chooser-period", "hybrid"),
    ("fresh gold", "gold_fresh-choice-news", "gold_fresh-chooser-period", "hybrid"),
)
CHOOSER_RECALL = (
    ("PIAF test made\nunanswerable", "piaf-holdout-test-choice-news", "piaf-holdout-test-chooser-period", "hybrid"),
    *CHOOSER[2:],
)


def system(name: str, which: str) -> dict[str, float]:
    report = json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))
    figures = dict(report.get("systems", report)[which])
    figures["wrong_share"] = figures["wrong_abstentions"] / figures["answerable"]
    return figures


def bars(ax: Any, labels: list[str], before: list[float], after: list[float], names: tuple[str, str], digits: int = 2) -> None:
    """Before and after side by side, the after figures written over their bars."""
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], before, width=0.4, label=names[0], color="lightgrey")
    ax.bar([x + 0.2 for x in xs], after, width=0.4, label=names[1], color="tab:blue")
    for x, v in zip(xs, after, strict=True):
        ax.text(x + 0.2, v + 0.01, f"{v:.{digits}f}", ha="center", fontsize=8)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylim(0, 1)


ANSWER_PANELS = (("answer_accuracy", "answer holds the answer"), ("short_f1", "short answer, SQuAD F1"))


def compare(
    plt: Any,
    sets: tuple[tuple[str, str, str, str], ...],
    panels: tuple[tuple[str, str], ...],
    names: tuple[str, str],
    digits: int,
) -> tuple[Any, Any]:
    """One panel per (metric, title), each set's before and after side by side: the figure and its axes."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5))
    labels = [s[0] for s in sets]
    for ax, (metric, title) in zip(axes, panels, strict=True):
        before = [system(b, w)[metric] for _, b, _, w in sets]
        after = [system(a, w)[metric] for _, _, a, w in sets]
        bars(ax, labels, before, after, names, digits)
        ax.set_title(title)
    return fig, axes


def save(fig: Any, name: str) -> None:
    fig.tight_layout()
    out = REPORTS / name
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from benchlib import pyplot  # type: ignore[import-not-found]

    plt = pyplot()
    fig, axes = compare(plt, SETS, ANSWER_PANELS, ("span model over features (before)", "span reader (after)"), 2)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Issue #17: the fine-tuned span reader, before and after (fitted on PIAF dev-half pages only)")
    save(fig, "span-reader.png")

    fig, ax = plt.subplots(figsize=(10, 4.5))
    before = [system(b, "hybrid")[m] for _, b, _, m in ABSTENTION]
    after = [system(a, "hybrid")[m] for _, _, a, m in ABSTENTION]
    bars(
        ax,
        [a[0] for a in ABSTENTION],
        before,
        after,
        ("rules plus the reader's low margin (before)", "calibrated probability (shipped)"),
        digits=3,
    )
    ax.axhline(0.03, color="grey", linestyle=":", label="3% wrong abstentions (#17)")
    ax.axhline(0.60, color="grey", linestyle="--", label="0.60 recall (#17)")
    ax.set_ylim(0, 1.15)
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_title("Issue #17: abstention as a calibrated probability, with the rules of fact as vetoes")
    save(fig, "answerable.png")

    panels = (*ANSWER_PANELS, ("wrong_share", "wrong abstentions (share of answerable)"))
    fig, axes = compare(plt, CHOICE, panels, ("k=4, delta=4 on PIAF (session 17)", "k=3, delta=2 on PIAF and news"), 3)
    axes[2].set_ylim(0, 0.2)
    axes[2].axhline(0.03, color="grey", linestyle=":", label="3% (#17)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Issue #17: the span reader's sentence choice fitted on PIAF and news questions alike (session 18)")
    save(fig, "choice-news.png")

    names = ("margin rule k=3, delta=2 (shipped)", "fitted chooser, k=3 (not shipped)")
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.5))
    for ax, (metric, title) in zip(axes[:2], ANSWER_PANELS, strict=True):
        shipped = [system(b, w)[metric] for _, b, _, w in CHOOSER]
        fitted = [system(a, w)[metric] for _, _, a, w in CHOOSER]
        bars(ax, [c[0] for c in CHOOSER], shipped, fitted, names, 3)
        ax.set_title(title)
    shipped = [system(b, w)["abstention_recall"] for _, b, _, w in CHOOSER_RECALL]
    fitted = [system(a, w)["abstention_recall"] for _, _, a, w in CHOOSER_RECALL]
    bars(axes[2], [c[0] for c in CHOOSER_RECALL], shipped, fitted, names, 3)
    axes[2].set_title("abstention recall (unanswerable questions abstained on)")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Issue #17: a sentence chooser fitted on PIAF and news (session 19): more answers, fewer abstentions on news")
    save(fig, "chooser-news.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
