"""Charts the span reader's effect on every set, before (QA_SPAN_READER=off, or the int8 reports) and after, from
the reports in eval/reports/: writes eval/reports/span-reader.png."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"

# (label, report before, report after, system); the before reports were written with the span reader off.
SETS = (
    ("PIAF test FR", "piaf-test-int8", "piaf-test-span", "hybrid"),
    ("PIAF test EN", "piaf-en-test-int8", "piaf-en-test-span", "en:hybrid"),
    ("seed gold (in view)", "gold-span-off", "gold", "hybrid"),
    ("unseen gold", "gold_unseen-span-off", "gold_unseen", "hybrid"),
)


def system(name: str, which: str) -> dict[str, float]:
    report = json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))
    return dict(report.get("systems", report)[which])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from benchlib import pyplot  # type: ignore[import-not-found]

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = [s[0] for s in SETS]
    for ax, metric, title in (
        (axes[0], "answer_accuracy", "answer holds the answer"),
        (axes[1], "short_f1", "short answer, SQuAD F1"),
    ):
        before = [system(b, w)[metric] for _, b, _, w in SETS]
        after = [system(a, w)[metric] for _, _, a, w in SETS]
        xs = range(len(SETS))
        ax.bar([x - 0.2 for x in xs], before, width=0.4, label="span model over features (before)", color="lightgrey")
        ax.bar([x + 0.2 for x in xs], after, width=0.4, label="span reader (after)", color="tab:blue")
        for x, v in zip(xs, after, strict=True):
            ax.text(x + 0.2, v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
        ax.set_xticks(list(xs), labels, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(title)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("Issue #17: the fine-tuned span reader, before and after (fitted on PIAF dev-half pages only)")
    fig.tight_layout()
    out = REPORTS / "span-reader.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
