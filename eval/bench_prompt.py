"""How long the local LLM takes to read its prompt: whole passages against excerpts (QA_LLM_CONTEXT), in one run.

For the first PIAF test pairs (French question and its English translation, as eval/bench_generate.py takes
them), the extractive answer's top citations are put in the prompt whole and as excerpts of N sentences either
side of their focus (qa/generation/prompt.excerpt). Each prompt is read from scratch (no prefix kept from the
one before) up to the first token: the time to the first word, without the words. Variants alternate per
question, so load on the machine falls on both alike. Writes eval/reports/bench_prompt.json and .png.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from benchlib import REPORTS, pyplot, save_report

from qa.core.config import Settings
from qa.engine import Engine, load_model
from qa.evaluation.piaf import PIAF_PATH, english_questions, load_piaf, load_translations, model_tag
from qa.generation.prompt import build_messages
from qa.generation.weights import LOCAL_MODEL, provision_local_llm
from qa.retrieval.query import question_language

# The PIAF index eval/bench_piaf.py builds (benchlib's CACHE holds the scale benchmarks' indexes).
PIAF_CACHE = Path(__file__).resolve().parent / "cache"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10, help="PIAF test pairs [%(default)s]")
    ap.add_argument("--context", type=int, nargs="+", default=[0, 1], help="excerpt sizes to time [%(default)s]")
    ap.add_argument("--passages", type=int, default=Settings().llm_passages, help="citations in the prompt [%(default)s]")
    args = ap.parse_args(argv)

    from llama_cpp import Llama

    settings = Settings()
    encoder = load_model(settings, progress=True)
    index = PIAF_CACHE / f"piaf-index-{model_tag(encoder.info)}"
    if not (index / "manifest.json").exists():
        print(f"no PIAF index at {index}: run eval/bench_piaf.py first", file=sys.stderr)
        return 2
    engine = Engine.open(settings.with_overrides(index_dir=index), encoder)
    piaf = load_piaf(PIAF_PATH)
    pairs = sorted(english_questions(piaf, load_translations(), split="test"), key=lambda p: p[0].id)[: args.n]
    llm = Llama(
        model_path=str(provision_local_llm(settings.cache_dir)), n_ctx=4096, n_threads=settings.threads, seed=0, verbose=False
    )
    variants: list[int | None] = [None, *args.context]
    names = ["passage" if v is None else f"context {v}" for v in variants]
    times: dict[str, list[float]] = {n: [] for n in names}
    tokens: dict[str, list[int]] = {n: [] for n in names}
    asked = 0
    for q in [q for pair in pairs for q in pair]:
        answer = engine.ask(q.question)
        if answer.answer is None:
            continue
        asked += 1
        cited = answer.citations[: args.passages]
        for variant, name in zip(variants, names, strict=True):
            messages = build_messages(answer.question, question_language(answer.question), cited, around=variant)
            llm.reset()  # read from scratch: a kept prefix would favour whichever variant comes second
            start = time.perf_counter()
            llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
            times[name].append(time.perf_counter() - start)
            tokens[name].append(len(llm.tokenize("".join(m["content"] for m in messages).encode())))
        print(q.id, " ".join(f"{n}={times[n][-1]:.2f}s/{tokens[n][-1]}" for n in names), file=sys.stderr)
    summary = {
        n: {
            "p50_s": round(statistics.median(times[n]), 2),
            "mean_tokens": round(statistics.mean(tokens[n])),
            "ratio_to_passage": round(statistics.median(t / w for t, w in zip(times[n], times["passage"], strict=True)), 3),
        }
        for n in names
    }
    report = {
        "llm": LOCAL_MODEL,
        "passages": args.passages,
        "questions": asked,
        "summary": summary,
        "times_s": times,
        "tokens": tokens,
    }
    save_report("bench_prompt", report)
    for n, got in summary.items():
        share = got["ratio_to_passage"]
        print(f"{n:>10}: first token p50 {got['p50_s']:5.2f} s, {got['mean_tokens']} tokens, x{share} of whole passages")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(names, [summary[n]["p50_s"] for n in names], color=["#888", "#3a7", "#37a", "#a73"][: len(names)])
    for i, n in enumerate(names):
        ax.text(
            i,
            summary[n]["p50_s"],
            f"{summary[n]['p50_s']} s\n{summary[n]['mean_tokens']} tok",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("time to the first token, p50 (s)")
    ax.set_title(f"Local LLM reading its prompt: {asked} PIAF questions, {args.passages} passages")
    ax.set_ylim(0, max(summary[n]["p50_s"] for n in names) * 1.3)
    fig.tight_layout()
    fig.savefig(REPORTS / "bench_prompt.png", dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
