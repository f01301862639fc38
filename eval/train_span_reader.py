"""Fine-tunes the span reader (multilingual-e5-small with LoRA adapters and a start/end head) on PIAF, and writes
what the product loads: qa/answering/params/span-reader/ (or --out).

Questions come from the pages of PIAF's dev half that qa.evaluation.piaf.fit_split puts in "train"; its
"calibrate" pages score each epoch; the test half, where the test sample is drawn, is never read. Two stages:
1. the answer's own windows: the question and the sentence that holds the answer, with a neighbour either
   side half the time; one question in two also gets a sentence of its paragraph without the answer, whose
   target is "no answer" (the first token);
2. the retrieved windows: what the product reads, the rules' best --hard-k windows over the passages the real
   pipeline retrieves from the PIAF index (the one eval/bench_piaf.py builds), each with the answer where it
   holds one, else "no answer", so that margins compare across windows.
3. with --news-epochs, news: the rules' best --hard-k windows over the archive of the news training questions
   (eval/news.py: helper-written questions over OrangeSum articles, their "train" articles; unanswerable ones
   give only "no answer" windows), mixed with as many retrieved PIAF windows again so that PIAF is not
   forgotten. News questions that a news article's subject invites but it does not answer are what PIAF's
   windows never show the reader.
Seeded, each stage on its own seed: rerun it to get the same files (on the same torch build and thread count);
--init resumes at stage 2 from a saved stage 1 (with --hard-epochs 0, at stage 3 from a saved stage 2). The
adapters are saved after each epoch.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.config import Settings
from qa.evaluation.metrics import span_f1
from qa.evaluation.piaf import PIAF_PATH, PiafQuestion, fit_split, load_piaf
from qa.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Example:
    """One training or scoring example: a question, a window of text, and the answer's offsets in it (or none)."""

    question: str
    context: str
    answers: tuple[tuple[int, int], ...]  # (start, end) in context; empty: the window does not answer


def windows(q: PiafQuestion, text: str, rng: random.Random, negative: bool) -> list[Example]:
    """The answer's window, and one window of the same paragraph without the answer when `negative`."""
    spans = split_sentences(text)
    start = q.answers[0][1]
    end = start + len(q.answers[0][0])
    hit = [i for i, s in enumerate(spans) if s.start < end and s.end > start]
    if not hit:
        return []
    lo, hi = hit[0], hit[-1]
    if rng.random() < 0.5:
        lo, hi = max(0, lo - rng.randint(0, 1)), min(len(spans) - 1, hi + rng.randint(0, 1))
    w0, w1 = spans[lo].start, spans[hi].end
    answers = tuple((a - w0, a - w0 + len(t)) for t, a in q.answers if a >= w0 and a + len(t) <= w1 and text[a : a + len(t)] == t)
    out = [Example(q.question, text[w0:w1], answers)] if answers else []
    if negative:
        free = [s for s in spans if all(not (s.start < a + len(t) and s.end > a) for t, a in q.answers)]
        if free:
            s = rng.choice(free)
            out.append(Example(q.question, text[s.start : s.end], ()))
    return out


def examples(questions: Sequence[PiafQuestion], texts: dict[str, str], seed: int, negatives: bool) -> list[Example]:
    rng = random.Random(seed)
    out: list[Example] = []
    for i, q in enumerate(questions):
        out.extend(windows(q, texts[q.paragraph_id], rng, negatives and i % 2 == 0))
    return out


def encode(tokenizer, batch: Sequence[Example], max_length: int):  # type: ignore[no-untyped-def]
    """Token ids and the start/end token of each answer (0, 0: no answer, or one cut off by the length)."""
    import torch

    from qa.answering.span_reader import tokenize

    enc = tokenize(tokenizer, [e.question for e in batch], [e.context for e in batch], max_length, tensors="pt")
    starts, ends = [], []
    for b, e in enumerate(batch):
        seq = enc.sequence_ids(b)
        offsets = enc["offset_mapping"][b].tolist()
        s_tok = e_tok = 0
        if e.answers:
            a0, a1 = e.answers[0]
            inside = [i for i, sid in enumerate(seq) if sid == 1]
            first = next((i for i in inside if offsets[i][1] > a0), None)
            last = next((i for i in reversed(inside) if offsets[i][0] < a1), None)
            if first is not None and last is not None and first <= last and offsets[last][1] >= a1:
                s_tok, e_tok = first, last
        starts.append(s_tok)
        ends.append(e_tok)
    enc.pop("offset_mapping")
    return enc, torch.tensor(starts), torch.tensor(ends)


def score(reader, batch_size: int, data: Sequence[Example]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Span F1 on the answering windows, and how well the margin tells them from the others (AUC)."""
    from qa.answering.span_reader import null_margin_auc

    f1s, margins, labels = [], [], []
    for i in range(0, len(data), batch_size):
        batch = data[i : i + batch_size]
        for e, found in zip(batch, reader.read([e.question for e in batch], [e.context for e in batch]), strict=True):
            if e.answers:
                f1s.append(span_f1(e.context[found.start : found.end], [e.context[a:b] for a, b in e.answers]))
            margins.append(found.margin)
            labels.append(bool(e.answers))
    return {"span_f1": sum(f1s) / max(1, len(f1s)), "answers": len(f1s), "no_answer_auc": null_margin_auc(margins, labels)}


def hard_windows(engine: Any, questions: Sequence[PiafQuestion], vectors: Any, k: int) -> list[Example]:
    """What the product gives the reader: the rules' best `k` windows over the retrieved passages, each with the
    answer's offsets where it holds one of the gold answers, else as "no answer"."""
    from benchlib import reader_windows  # type: ignore[import-not-found]
    from tqdm import tqdm

    out = []
    for q, qvec in tqdm(list(zip(questions, vectors, strict=True)), desc="retrieving", unit="q", file=sys.stderr):
        for text in reader_windows(engine, q.question, qvec, k):
            found = [(i, i + len(a)) for a, _ in q.answers if (i := text.find(a)) >= 0]
            out.append(Example(q.question, text, tuple(found)))
    return out


def news_windows(engine: Any, questions: Sequence[Any], vectors: Any, k: int) -> list[Example]:
    """The rules' best `k` windows of each news question over its archive, with the gold answers' offsets where a
    window holds one, else as "no answer" (always, for an unanswerable question)."""
    from benchlib import reader_windows  # type: ignore[import-not-found]

    out = []
    for q, qvec in zip(questions, vectors, strict=True):
        for text in reader_windows(engine, q.question, qvec, k):
            found = [(i, i + len(a)) for a in q.answers if (i := text.find(a)) >= 0] if q.answerable else []
            out.append(Example(q.question, text, tuple(found[:1])))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH, help="PIAF SQuAD-format file [%(default)s]")
    ap.add_argument("--out", type=Path, default=None, help="where to write the reader [qa/answering/params/span-reader]")
    ap.add_argument("--cache", type=Path, default=ROOT / "cache", help="PIAF index and question vectors [%(default)s]")
    ap.add_argument("--limit", type=int, default=0, help="only this many training and scoring questions (a smoke run)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs over the answer's own windows [%(default)s]")
    ap.add_argument("--hard-epochs", type=int, default=1, help="then epochs over the retrieved windows [%(default)s]")
    ap.add_argument("--hard-k", type=int, default=3, help="the rules' best windows taken per question [%(default)s]")
    ap.add_argument("--news-epochs", type=int, default=0, help="then epochs over news windows, PIAF's mixed in [%(default)s]")
    ap.add_argument("--news-lr", type=float, default=1e-4)
    ap.add_argument("--init", type=Path, default=None, help="start from the adapters of a first stage saved there")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--hard-lr", type=float, default=2e-4)
    ap.add_argument("--rank", type=int, default=16, help="LoRA rank [%(default)s]")
    ap.add_argument("--max-length", type=int, default=192, help="tokens of question and window [%(default)s]")
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args(argv)

    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.answering.span_reader import DEFAULT_DIR, base_folder

    out: Path = args.out or DEFAULT_DIR
    piaf = load_piaf(args.piaf)
    texts = {p.id: p.text for p in piaf.paragraphs}
    train_q = [q for q in piaf.questions if fit_split(q.title) == "train"]
    calib_q = [q for q in piaf.questions if fit_split(q.title) == "calibrate"]
    if args.limit:
        train_q, calib_q = train_q[: args.limit], calib_q[: args.limit]
    train = examples(train_q, texts, args.seed, negatives=True)
    calib = examples(calib_q, texts, args.seed + 1, negatives=True)
    print(f"{len(train)} training windows from {len(train_q)} questions, {len(calib)} calibration windows", file=sys.stderr)

    base = base_folder(Settings().cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    fit: dict[str, Any] = {
        "seed": args.seed,
        "rank": args.rank,
        "batch_size": args.batch_size,
        "train_questions": len(train_q),
        "calibration_windows": len(calib),
        "history": [],
    }
    stage = Stage(tokenizer, calib, out, args.batch_size, args.max_length, fit)
    if args.init is not None:
        # The first stage as saved: its own record is kept, the second stage starts from its adapters.
        model = PeftModel.from_pretrained(model, str(args.init), is_trainable=True)
        first = json.loads((args.init / "reader.json").read_text(encoding="utf-8"))["fit"]
        fit.update({k: v for k, v in first.items() if k != "calibration"})
    else:
        config = LoraConfig(
            r=args.rank,
            lora_alpha=2 * args.rank,
            lora_dropout=0.1,
            target_modules=["query", "key", "value", "dense"],
            modules_to_save=["qa_outputs"],
        )
        model = get_peft_model(model, config)
        torch.manual_seed(args.seed)
        stage.run(model, "answer windows", train, args.epochs, args.lr, args.seed)
        fit.update({"epochs": args.epochs, "lr": args.lr, "train_windows": len(train)})
    hard: list[Example] = []
    if args.hard_epochs or args.news_epochs:
        paragraphs = piaf.paragraphs
        tag = ""
        if args.limit:
            asked = {q.paragraph_id for q in (*train_q, *calib_q)}
            paragraphs, tag = tuple(p for p in piaf.paragraphs if p.id in asked), f"-{args.limit}"
        sys.path.insert(0, str(ROOT))
        from benchlib import piaf_engine  # type: ignore[import-not-found]
        from train_reader import embed_cached  # type: ignore[import-not-found]

        engine = piaf_engine(paragraphs, args.cache, tag)
        vectors = embed_cached(engine, train_q, args.cache / f"question-vectors-{engine.manifest.model.name}.npz")  # type: ignore[arg-type]
        hard = hard_windows(engine, train_q, vectors, args.hard_k)
        print(f"{len(hard)} retrieved windows, {sum(bool(e.answers) for e in hard)} holding the answer", file=sys.stderr)
    if args.hard_epochs:
        # Seeded on its own, so a run resumed with --init trains the second stage as a whole run does.
        torch.manual_seed(args.seed + 1)
        stage.run(model, "retrieved windows", hard, args.hard_epochs, args.hard_lr, args.seed + 1)
        fit.update({"hard_epochs": args.hard_epochs, "hard_lr": args.hard_lr, "hard_k": args.hard_k, "hard_windows": len(hard)})
    if args.news_epochs:
        from news import news_sides, news_vectors  # type: ignore[import-not-found]

        sides, news = news_sides(args.cache, args.limit)
        fresh = {side: news_windows(news, qs, news_vectors(news, qs, args.cache), args.hard_k) for side, qs in sides.items()}
        mixed = fresh["train"] + random.Random(args.seed + 2).sample(hard, min(len(hard), len(fresh["train"])))
        print(f"{len(fresh['train'])} news windows, {len(mixed)} with PIAF's", file=sys.stderr)
        torch.manual_seed(args.seed + 2)
        stage.run(model, "news windows", mixed, args.news_epochs, args.news_lr, args.seed + 2)
        with torch.no_grad():
            from qa.answering.span_reader import SpanReader

            news_figures = score(SpanReader.load(out, Settings().cache_dir), 32, fresh["calibrate"])
        print(json.dumps({"news_calibration": news_figures}), file=sys.stderr)
        fit.update(
            {
                "news_epochs": args.news_epochs,
                "news_lr": args.news_lr,
                "news_windows": len(fresh["train"]),
                "news_questions": len(sides["train"]),
                "news_calibration": news_figures,
            }
        )
    stage.save(model)
    print(f"span reader written to {out}", file=sys.stderr)
    return 0


@dataclass
class Stage:
    """Trains the model over some windows for some epochs, saving and scoring it on the calibration windows after each."""

    tokenizer: Any
    calib: Sequence[Example]
    out: Path
    batch_size: int
    max_length: int
    fit: dict[str, Any]

    def save(self, model: Any) -> None:
        from qa.answering.span_reader import save_reader

        save_reader(model, self.out, self.max_length, self.fit)

    def run(self, model: Any, name: str, data: Sequence[Example], epochs: int, lr: float, seed: int) -> None:
        import torch
        from tqdm import tqdm
        from transformers import get_linear_schedule_with_warmup

        from qa.answering.span_reader import SpanReader

        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
        steps = epochs * ((len(data) + self.batch_size - 1) // self.batch_size)
        schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
        rng = random.Random(seed)
        started = time.monotonic()
        for epoch in range(1, epochs + 1):
            model.train()
            # Batches of similar length waste less padding; their order is shuffled.
            order = sorted(range(len(data)), key=lambda i: (len(data[i].context) + len(data[i].question), rng.random()))
            batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            rng.shuffle(batches)
            total = 0.0
            bar = tqdm(batches, desc=f"{name}, epoch {epoch}/{epochs}", unit="batch", file=sys.stderr)
            for n, idx in enumerate(bar, start=1):
                enc, starts, ends = encode(self.tokenizer, [data[i] for i in idx], self.max_length)
                loss = model(**enc, start_positions=starts, end_positions=ends).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                total += loss.item()
                bar.set_postfix(loss=f"{total / n:.3f}")
            model.eval()
            self.save(model)
            with torch.no_grad():
                figures = score(SpanReader.load(self.out, Settings().cache_dir), 32, self.calib)
            minutes = (time.monotonic() - started) / 60
            self.fit["history"].append(
                {"stage": name, "epoch": epoch, "loss": total / max(1, len(batches)), **figures, "minutes": minutes}
            )
            self.fit["calibration"] = figures
            print(json.dumps(self.fit["history"][-1]), file=sys.stderr)
            self.save(model)


if __name__ == "__main__":
    sys.exit(main())
