"""Fits the second reading's threshold: the least log-odds of YES at which the sentences kept are judged supported.

The sentences are those a judge read (eval/<report>-judged.jsonl, from eval/audit_generation.py) that the check's
rules kept, each asked again of the local LLM against its cited passages (qa.generation.verify, the prompt the
product uses). The threshold is the lowest at which at least --target of the --fit reports' sentences kept are
judged supported; the --report reports are only scored at it, never used to choose it. With --write the
threshold goes to qa/generation/verifier.json under the LLM's name and prompt version, which QA_LLM_VERIFY=on
applies. Each LLM reading is cached (eval/cache/verifier-scores.jsonl), so a rerun only reads what is new.
Writes eval/reports/verifier-fit.json and .png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.core.config import Settings
from qa.evaluation.generation import load_judgments, sentence_identity
from qa.generation.check import strip_marks
from qa.generation.local import LocalModel
from qa.generation.verify import PARAMS, PROMPT_VERSION, verify_messages
from qa.generation.weights import LOCAL_MODEL, provision_local_llm

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / "reports"
CACHE = ROOT / "cache" / "verifier-scores.jsonl"
IN_VIEW = ["piaf-generate", "piaf-generate-ctx0", "gold-generate"]
UNSEEN = ["piaf-generate-unseen", "piaf-generate-unseen-ctx0", "gold_unseen-generate"]
TIMEOUT_S = 120.0


def judged_rows(name: str) -> list[dict[str, Any]]:
    """The judged sentences of a report that the rules kept, with their cited passages and verdict."""
    report = json.loads((REPORTS / f"{name}.json").read_text(encoding="utf-8"))
    judged = {key: bool(r["supported"]) for key, r in load_judgments(ROOT / f"{name}-judged.jsonl").items()}
    rows = []
    for run in report["runs"]:
        for i, s in enumerate(run["sentences"]):
            key = f"{run['id']}#{i}"
            reason = s["dropped_because"]
            if key in judged and s["citations"] and (reason is None or reason.startswith("read again")):
                cited = {int(n): text for n, text in s["cited"].items()}
                rows.append({"key": key, "sentence": strip_marks(s["text"]), "passages": cited, "supported": judged[key]})
    return rows


def _distinct(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sentence and passages (a sentence written again word for word is judged once)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(sentence_identity(r["sentence"], r["passages"]), r)
    return list(seen.values())


def score_rows(rows: list[dict[str, Any]], llm: LocalModel) -> None:
    """Each row's log-odds, from the cache or read by the LLM (and cached)."""
    from tqdm import tqdm

    cache: dict[str, float] = {}
    if CACHE.exists():
        for line in CACHE.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            cache[record["hash"]] = record["log_odds"]
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("a", encoding="utf-8") as out:
        for r in tqdm(rows, desc="reading again", unit="sentence", file=sys.stderr, dynamic_ncols=True):
            messages = verify_messages(r["sentence"], r["passages"])
            digest = hashlib.sha256(json.dumps([llm.name, messages], ensure_ascii=False).encode()).hexdigest()
            if digest not in cache:
                cache[digest] = llm.yes_log_odds(messages, timeout=TIMEOUT_S)
                out.write(json.dumps({"hash": digest, "log_odds": cache[digest]}) + "\n")
                out.flush()
            r["log_odds"] = cache[digest]


def at(rows: Sequence[dict[str, Any]], bar: float) -> dict[str, Any]:
    """What a threshold keeps of some rows: how many, the share judged supported, the share of supported kept."""
    kept = [r for r in rows if r["log_odds"] >= bar]
    supported = sum(r["supported"] for r in rows)
    good = sum(r["supported"] for r in kept)
    return {
        "sentences": len(rows),
        "kept": len(kept),
        "supported_among_kept": round(good / len(kept), 3) if kept else None,
        "supported_before": round(supported / len(rows), 3) if rows else None,
        "supported_kept": round(good / supported, 3) if supported else None,
    }


def fit(rows: Sequence[dict[str, Any]], target: float) -> float | None:
    """The lowest threshold (one of the rows' log-odds) keeping at least `target` judged supported."""
    ranked = sorted(rows, key=lambda r: -r["log_odds"])
    best = None
    good = 0
    for k, r in enumerate(ranked, start=1):
        good += r["supported"]
        if good / k >= target and (k == len(ranked) or ranked[k]["log_odds"] < r["log_odds"]):
            best = r["log_odds"]
    return best


def write_chart(sets: dict[str, list[dict[str, Any]]], bar: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [x / 10 for x in range(-40, 61)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, rows in sets.items():
        points = [at(rows, b) for b in bars]
        left.plot(bars, [p["supported_among_kept"] for p in points], label=label)
        right.plot(bars, [p["supported_kept"] for p in points], label=label)
    for ax, title in ((left, "kept sentences judged supported"), (right, "supported sentences kept")):
        ax.axvline(0.0, color="grey", lw=0.6, ls=":")
        if bar is not None:
            ax.axvline(bar, color="black", lw=0.8, ls="--", label=f"fitted {bar:+.2f}")
        ax.set_xlabel("least log-odds of YES (second reading)")
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
        ax.legend(fontsize=8)
    left.axhline(0.95, color="red", lw=0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", nargs="+", default=IN_VIEW, help="reports whose judged sentences choose it [%(default)s]")
    ap.add_argument("--report", nargs="*", default=UNSEEN, help="reports only scored at it [%(default)s]")
    ap.add_argument("--target", type=float, default=0.95, help="share of kept sentences judged supported [%(default)s]")
    ap.add_argument("--write", action="store_true", help="write the threshold to qa/generation/verifier.json")
    args = ap.parse_args(argv)

    llm = LocalModel(provision_local_llm(Settings().cache_dir, True))
    fit_rows = _distinct([r for name in args.fit for r in judged_rows(name)])
    fitted = {sentence_identity(r["sentence"], r["passages"]) for r in fit_rows}
    # A sentence of a scored report that is also in the fit (written again word for word) is not unseen.
    held = {
        name: [r for r in _distinct(judged_rows(name)) if sentence_identity(r["sentence"], r["passages"]) not in fitted]
        for name in args.report
    }
    score_rows(fit_rows, llm)
    for rows in held.values():
        score_rows(rows, llm)
    bar = fit(fit_rows, args.target)
    sets = {"fit (" + ", ".join(args.fit) + ")": fit_rows, **held}
    if held:
        sets["all scored"] = [r for rows in held.values() for r in rows]
    shown = bar if bar is not None else 0.0
    result = {
        "llm": LOCAL_MODEL,
        "prompt_version": PROMPT_VERSION,
        "target": args.target,
        "min_log_odds": bar,
        "fitted_on": args.fit,
        "at_threshold": {label: at(rows, shown) for label, rows in sets.items()},
        "at_zero": {label: at(rows, 0.0) for label, rows in sets.items()},
        "rows": {
            label: [{"key": r["key"], "supported": r["supported"], "log_odds": round(r["log_odds"], 4)} for r in rows]
            for label, rows in sets.items()
        },
    }
    (REPORTS / "verifier-fit.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    write_chart(sets, bar, REPORTS / "verifier-fit.png")
    for label, rows in sets.items():
        print(f"{label}: at {shown:+.2f} {at(rows, shown)}; at 0: {at(rows, 0.0)}")
    if bar is None:
        print(f"no threshold keeps {args.target} supported on the fit", file=sys.stderr)
        return 1
    if args.write:
        params = json.loads(PARAMS.read_text(encoding="utf-8")) if PARAMS.exists() else {}
        params[LOCAL_MODEL] = {
            "min_log_odds": round(bar, 4),
            "prompt_version": PROMPT_VERSION,
            "target": args.target,
            "fitted_on": [f"eval/reports/{name}.json with eval/{name}-judged.jsonl" for name in args.fit],
            "on_fit": at(fit_rows, bar),
        }
        PARAMS.write_text(json.dumps(params, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"written to {PARAMS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
