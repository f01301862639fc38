"""Generated answers on gold questions: accuracy, the check's verdicts, language and times, through the Generator /ask uses."""

from __future__ import annotations

import collections
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.evaluation.metrics import answer_matches, percentile_ms
from qa.generation.check import sentence_language, strip_marks

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.evaluation.gold import GoldQuestion
    from qa.generation.generate import Generator

ANSWERS_EN = Path(__file__).resolve().parents[2] / "eval" / "answers_en.jsonl"
# As many passages as /ask cites by default; the generator reads the first `llm_passages` of them.
GENERATE_K = 5


def load_answers_en(path: Path = ANSWERS_EN) -> dict[str, tuple[str, ...]]:
    """The English forms of gold answers, by question id ({"id", "answers_en"} per line)."""
    if not path.exists():
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out[record["id"]] = tuple(record["answers_en"])
    return out


def load_judgments(path: Path) -> dict[str, dict[str, Any]]:
    """A judge's verdicts on generated sentences ({"key", "supported", "why"} per line, eval/audit_generation.py),
    by sentence key."""
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out[record["key"]] = record
    return out


def sentence_identity(sentence: str, passages: Mapping[Any, str]) -> str:
    """What makes two judged sentences the same: their words and their cited passages, by number."""
    return json.dumps([sentence, {str(n): text for n, text in passages.items()}], ensure_ascii=False, sort_keys=True)


def run_generation(
    engine: Engine,
    generator: Generator,
    questions: Sequence[GoldQuestion],
    answers_en: Mapping[str, tuple[str, ...]],
    *,
    replies: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Each question asked and generated for, as /ask with "generate": true does; one record per question. With
    `replies` (the runs of an earlier report, by id), the LLM's replies there are checked again instead."""
    from tqdm import tqdm

    support = engine.support()
    runs = []
    for q in tqdm(questions, desc="generating", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True):
        answer = engine.ask(q.question, GENERATE_K)
        saved = replies.get(q.id) if replies is not None else None
        if saved is None:
            outcome = generator.run(answer, support)
        else:
            outcome = generator.recheck(
                answer, saved["reply"], saved["first_piece_s"], saved["total_s"], saved["because"], support
            )
        # An English answer may keep a French name or number: the French forms count too.
        forms = (*answers_en.get(q.id, ()), *q.answers) if q.lang == "en" else q.answers
        text = outcome.generated.text if outcome.generated is not None else None
        by_n = {c.n: c.text for c in answer.citations}
        runs.append(
            {
                "id": q.id,
                "lang": q.lang,
                "answerable": q.answerable,
                "question": q.question,
                "extractive": answer.answer,
                "extractive_hit": answer_matches(answer.answer, q.answers) if q.answerable else None,
                "generated": text,
                "because": outcome.because,
                "hit": answer_matches(strip_marks(text), forms) if q.answerable and text else False,
                "written_in": sentence_language(strip_marks(text)) if text else None,
                "reply": outcome.reply,
                "sentences": [
                    {
                        "text": s.text,
                        "citations": list(s.citations),
                        "dropped_because": s.dropped_because,
                        "log_odds": None if s.log_odds is None else round(s.log_odds, 4),
                        "cited": {str(n): by_n.get(n, "") for n in s.citations},
                    }
                    for s in outcome.sentences
                ],
                "first_piece_s": outcome.first_piece_s,
                "total_s": outcome.total_s if outcome.reply or outcome.first_piece_s is not None else None,
            }
        )
    return runs


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def score_generation(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of a run: per language and in all."""
    out: dict[str, Any] = {}
    for lang in ("fr", "en", "all"):
        rs = [r for r in runs if lang == "all" or r["lang"] == lang]
        if not rs:
            continue
        answerable = [r for r in rs if r["answerable"]]
        generated = [r for r in rs if r["generated"]]
        sentences = [s for r in rs for s in r["sentences"]]
        kept = [s for s in sentences if s["dropped_because"] is None]
        timed = [r for r in rs if r["total_s"] is not None]
        firsts = [r["first_piece_s"] for r in timed if r["first_piece_s"] is not None]
        reasons = collections.Counter(_reason_kind(s["dropped_because"]) for s in sentences if s["dropped_because"])
        out[lang] = {
            "questions": len(rs),
            "answerable": len(answerable),
            "generated_accuracy": _share(sum(r["hit"] for r in answerable), len(answerable)),
            "extractive_accuracy": _share(sum(bool(r["extractive_hit"]) for r in answerable), len(answerable)),
            "generated_share": _share(sum(bool(r["generated"]) for r in answerable), len(answerable)),
            "accuracy_when_generated": _share(
                sum(r["hit"] for r in answerable if r["generated"]), sum(bool(r["generated"]) for r in answerable)
            ),
            "unanswerable_not_generated": _share(
                sum(not r["generated"] for r in rs if not r["answerable"]), sum(not r["answerable"] for r in rs)
            ),
            "sentences": len(sentences),
            "sentences_kept_by_check": _share(len(kept), len(sentences)),
            "dropped_because": dict(reasons.most_common()),
            "in_question_language": _share(sum(r["written_in"] in (None, r["lang"]) for r in generated), len(generated)),
            "language_undetermined": sum(r["written_in"] is None for r in generated),
            "generations_timed": len(timed),
            "first_piece_ms": {"p50": percentile_ms(firsts, 50), "p95": percentile_ms(firsts, 95)},
            "total_ms": {
                "p50": percentile_ms([r["total_s"] for r in timed], 50),
                "p95": percentile_ms([r["total_s"] for r in timed], 95),
            },
        }
    return out


def _reason_kind(reason: str) -> str:
    """A drop reason without its particulars ("'tianjin' is not in [1]" -> "a name or number is not in the passage")."""
    if " is not in [" in reason and reason.startswith("'"):
        return "a name or number is not in the passage"
    if reason.startswith("it is in "):
        return "wrong language"
    if reason.startswith("it cites ["):
        return "cites a passage not given"
    if reason.startswith("a date"):
        return "a date is not in the passage"
    if reason.startswith("none of its words"):
        return "no word of it is in the passage"
    if reason.startswith("read again"):
        return "read again, its passage does not state it"
    return reason


def write_generation_chart(score: Mapping[str, Any], path: Path, title: str, audit: Mapping[str, Any] | None = None) -> Path:
    """Accuracy (generated and extractive), the check's pass rate, the language share and (once a judge has read
    them, eval/audit_generation.py) the share of kept sentences judged supported, per language, beside the times
    to the first piece and in all."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = [lang for lang in ("fr", "en", "all") if lang in score]
    metrics = [
        ("generated_accuracy", "generated: holds the answer"),
        ("extractive_accuracy", "extractive: holds the answer"),
        ("sentences_kept_by_check", "sentences kept by the check"),
        ("in_question_language", "in the question's language"),
    ]
    judged = {}
    if audit is not None:
        judged = {lang: (audit["by_language"].get(lang) or {}).get("supported") for lang in ("fr", "en")}
        judged["all"] = audit["kept"]["supported"]
        metrics.append(("judged", "kept sentences judged supported"))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [2, 1]})
    width = 0.8 / len(metrics)
    for i, (key, label) in enumerate(metrics):
        values = [(judged.get(lang) if key == "judged" else score[lang][key]) or 0 for lang in langs]
        bars = left.bar([x + i * width for x in range(len(langs))], values, width, label=label)
        left.bar_label(bars, fmt="%.2f", fontsize=7)
    left.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(langs))], langs)
    left.set_ylim(0, 1.35)
    left.legend(fontsize=8, loc="upper left", ncol=3)
    left.set_title(title)
    for i, key in enumerate(("first_piece_ms", "total_ms")):
        p50 = [(score[lang][key]["p50"] or 0) / 1000 for lang in langs]
        p95 = [(score[lang][key]["p95"] or 0) / 1000 for lang in langs]
        xs = [x + i * 0.4 for x in range(len(langs))]
        right.bar(xs, p95, 0.38, color="#ccc", label=f"{key[:-3].replace('_', ' ')} p95" if i == 0 else "total p95")
        right.bar(xs, p50, 0.38, label="first piece p50" if i == 0 else "total p50")
    right.set_xticks([x + 0.2 for x in range(len(langs))], langs)
    right.set_ylabel("seconds")
    right.legend(fontsize=8)
    right.set_title("time per generation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def format_generation(score: Mapping[str, Any]) -> str:
    """The figures as a small table."""
    lines = [f"{'':4s} {'gen acc':>8s} {'extr acc':>8s} {'kept':>6s} {'lang':>6s} {'first p50':>10s} {'total p50/p95':>14s}"]
    for lang, s in score.items():
        total = f"{(s['total_ms']['p50'] or 0) / 1000:.1f}/{(s['total_ms']['p95'] or 0) / 1000:.1f} s"
        lines.append(
            f"{lang:4s} {s['generated_accuracy'] or 0:8.3f} {s['extractive_accuracy'] or 0:8.3f} "
            f"{s['sentences_kept_by_check'] or 0:6.3f} {s['in_question_language'] or 0:6.3f} "
            f"{(s['first_piece_ms']['p50'] or 0) / 1000:8.1f} s {total:>14s}"
        )
    return "\n".join(lines)
